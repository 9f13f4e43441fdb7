# scan: a path that cannot be read gets a warning naming it, exit 3, and keeps
# its recorded state; once readable it is scanned normally again.
. "$(dirname "$0")/lib.sh"

if ! find_unprivileged; then
	skip "no unprivileged user to run as (root reads everything): unreadable files not tested"
	exit 0
fi
# The unprivileged user must reach the replica.
chmod 755 "$T"
expect_rc 0 mm init r --name u
mkdir -p r/d/e r/x
echo a >r/f
echo b >r/g
echo h >r/h
echo 1 >r/d/one
echo 2 >r/d/e/two
echo x >r/x/inside
[ "$(id -u)" = 0 ] && chown -R nobody "$T/r"
as() { $AS_USER "$@"; }
if ! as test -r "$T/r/f" || ! as test -w "$T/r/.mmsync/meta.db"; then
	skip "the unprivileged user cannot reach $T/r: unreadable files not tested"
	exit 0
fi
cd r || fail "no r"
# nm: mm as the unprivileged user.
nm() { $AS_USER "$MMSYNC" "$@"; }

expect_rc 0 nm -q scan
expect_rc 0 nm -v scan
expect_eq "$(scan_changes)" "" "second scan as the unprivileged user"

# An unreadable file, next to a change that can be recorded.
chmod 000 f
echo changed >g
expect_rc 3 nm -v scan
expect_err_contains "'f'"
expect_err_contains "warning"
expect_eq "$(scan_changes)" "modified g" "changes found with f unreadable"
# The readable change was recorded; f keeps its state (not deleted, not changed).
expect_rc 3 nm -v scan
expect_eq "$(scan_changes)" "" "rescan with f still unreadable"
expect_err_contains "'f'"
# --json says how many were skipped.
expect_rc 3 nm --json scan
json_val 'j["skipped"]'
expect_eq "$JV" 1 "--json scan: skipped"
json_val '[j["added"], j["modified"], j["deleted"]]'
expect_eq "$JV" "[0, 0, 0]" "--json scan with f unreadable"
# -q: the warning is still shown (the exit status says something went wrong).
expect_rc 3 nm -q scan
expect_out_empty
expect_err_contains "'f'"
# status does not report it deleted either.
run nm status
[ "$RC" != 0 ] || fail "status with an unreadable file exited 0"
expect_out_lacks "deleted"
expect_err_contains "'f'"

# Readable again, unchanged: nothing to report.
chmod 644 f
expect_rc 0 nm -v scan
expect_eq "$(scan_changes)" "" "f readable again, unchanged"
expect_err_empty

# Changed while unreadable: reported modified once readable (not added).
chmod 000 f h
echo "new content" >>f
expect_rc 3 nm -v scan
expect_err_contains "'f'"
expect_err_contains "'h'"
expect_eq "$(scan_changes)" "" "scan with f and h unreadable"
chmod 644 f h
expect_rc 0 nm -v scan
expect_eq "$(scan_changes)" "modified f" "f readable again after a change"

# An unreadable directory: its recorded contents are kept, not deleted.
chmod 000 d
expect_rc 3 nm -v scan
expect_err_contains "'d'"
scan_changes | grep -q '^deleted' && fail "$(_shown "paths under an unreadable directory were reported deleted")"
chmod 755 d
expect_rc 0 nm -v scan
scan_changes | grep -qv '^modified d$' && fail "$(_shown "d readable again: unexpected changes")"
expect_rc 0 nm -v scan
expect_eq "$(scan_changes)" "" "rescan with d readable again"
# A directory that can be listed but not entered (no x bit): same.
chmod 644 d
expect_rc 3 nm -v scan
scan_changes | grep -q '^deleted' && fail "$(_shown "paths under a non-searchable directory were reported deleted")"
chmod 755 d
echo 3 >d/three
expect_rc 0 nm -v scan
scan_changes | grep -q '^deleted' && fail "$(_shown "d searchable again: paths reported deleted")"
expect_out_line "added     d/three"
expect_rc 0 nm -v scan
expect_eq "$(scan_changes)" "" "rescan after the directory was restored"
