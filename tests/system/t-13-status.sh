# status: changes not yet recorded, without recording them; --json; exit status.
. "$(dirname "$0")/lib.sh"

expect_rc 0 mm init r --name st
cd r || fail "no r"

# A fresh replica.
expect_rc 0 mm status
expect_out_contains "no changes"
expect_out_contains "no open conflicts"
expect_err_empty

mkdir d
echo 1 >d/one
echo 2 >two
echo 3 >three
expect_rc 0 mm -q scan
expect_rc 0 mm status
expect_out_contains "no changes"

# Changes of every kind, listed by status.
echo changed >d/one
rm two
echo new >four
mkdir e
chmod 600 three
expect_rc 0 mm status
expect_out_line "  added     four"
expect_out_line "  added     e"
expect_out_line "  modified  d/one"
expect_out_line "  modified  three"
expect_out_line "  deleted   two"
expect_out_lacks "no changes"
expect_out_contains "no open conflicts"
[ "$(grep -cE '^  (added|modified|deleted) ' "$OUT")" = 5 ] || fail "status listed other than 5 changes: $(cat "$OUT")"
# It names the replica.
expect_out_contains "st"

# Nothing was recorded: status again says the same, and a scan still finds them all.
cp "$OUT" "$T/status1"
expect_rc 0 mm status
cmp -s "$OUT" "$T/status1" || fail "a second status differs: $(diff "$T/status1" "$OUT")"
before=$(sha256sum <.mmsync/meta.db)

# --json: one object with "changes", each with "path" and "change".
expect_rc 0 mm --json status
python3 -c 'import json,sys; json.load(sys.stdin)' <"$OUT" || fail "'--json status' is not JSON: $(cat "$OUT")"
json_val 'sorted((c["change"], c["path"]) for c in j["changes"])'
expect_eq "$JV" '[["added", "e"], ["added", "four"], ["deleted", "two"], ["modified", "d/one"], ["modified", "three"]]' "--json status changes"
# No open conflicts (whether given as a list or a count).
json_val 'j["conflicts"] in ([], 0)'
expect_eq "$JV" true "--json status: no conflicts"
json_val 'j["name"]'
expect_eq "$JV" st "--json status name"

# status from a subdirectory and with -C report the whole replica.
expect_rc 0 in_dir d mm status
expect_out_line "  deleted   two"
expect_rc 0 mm -C "$T/r/d" status
expect_out_line "  added     four"

# status wrote nothing to the store.
[ "$(sha256sum <.mmsync/meta.db)" = "$before" ] || fail "status changed meta.db"
expect_scan <<'X'
added e
added four
modified d/one
modified three
deleted two
X
expect_rc 0 mm status
expect_out_contains "no changes"
expect_rc 0 mm --json status
json_val 'j["changes"]'
expect_eq "$JV" "[]" "--json status after a scan"

# A deleted tree shows every path.
rm -rf d
expect_rc 0 mm --json status
json_val 'sorted((c["change"], c["path"]) for c in j["changes"])'
expect_eq "$JV" '[["deleted", "d"], ["deleted", "d/one"]]' "--json status after rm -rf d"
expect_rc 0 mm -q scan

# -v makes no difference to what status lists.
echo again >two
expect_rc 0 mm -v status
expect_out_line "  added     two"
