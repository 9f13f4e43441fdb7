# id: name, id and TLS fingerprint, as text and JSON, found from anywhere in the replica.
. "$(dirname "$0")/lib.sh"

expect_rc 0 mm init one --name first
expect_rc 0 mm init two --name second

# Text: exactly three lines, in this order.
expect_rc 0 mm -C one id
expect_err_empty
[ "$(wc -l <"$OUT")" = 3 ] || fail "id printed $(wc -l <"$OUT") lines, want 3: $(cat "$OUT")"
sed -n 1p "$OUT" | grep -qx 'name: first' || fail "id line 1 is '$(sed -n 1p "$OUT")', want 'name: first'"
sed -n 2p "$OUT" | grep -qxE 'id: [A-Z2-7]{13}' || fail "id line 2 is '$(sed -n 2p "$OUT")', want 'id: ' and 13 base32 characters"
sed -n 3p "$OUT" | grep -qxE 'fingerprint: SHA256:[0-9a-f]{64}' ||
	fail "id line 3 is '$(sed -n 3p "$OUT")', want 'fingerprint: SHA256:' and 64 hex digits"
id1=$(sed -n 's/^id: //p' "$OUT")
fp1=$(sed -n 's/^fingerprint: SHA256://p' "$OUT")
cp "$OUT" "$T/id-one"

# The fingerprint is the SHA-256 of the certificate's DER encoding.
want=$(openssl x509 -in one/.mmsync/cert.pem -outform DER | sha256sum | cut -c1-64)
expect_eq "$fp1" "$want" "fingerprint of one vs. openssl x509 -outform DER | sha256sum"

# Stable: asking again gives the same answer; and after a scan too.
expect_rc 0 mm -C one id
cmp -s "$OUT" "$T/id-one" || fail "a second 'id' differs: $(cat "$OUT")"

# Another replica: another id, another certificate.
expect_rc 0 mm -C two id
expect_out_line "name: second"
id2=$(sed -n 's/^id: //p' "$OUT")
fp2=$(sed -n 's/^fingerprint: SHA256://p' "$OUT")
[ "$id1" != "$id2" ] || fail "two replicas have the same id $id1"
[ "$fp1" != "$fp2" ] || fail "two replicas have the same fingerprint $fp1"
want=$(openssl x509 -in two/.mmsync/cert.pem -outform DER | sha256sum | cut -c1-64)
expect_eq "$fp2" "$want" "fingerprint of two"

# --json: one object with the same values.
expect_rc 0 mm --json -C one id
python3 -c 'import json,sys; json.load(sys.stdin)' <"$OUT" || fail "'--json id' is not JSON: $(cat "$OUT")"
json_val 'j["name"]'
expect_eq "$JV" first "JSON name"
json_val 'j["id"]'
expect_eq "$JV" "$id1" "JSON id"
json_val 'j["fingerprint"]'
expect_eq "$JV" "SHA256:$fp1" "JSON fingerprint"

# Found from a subdirectory (any depth) of the replica, and with -C to a subdirectory.
mkdir -p one/a/b/c
expect_rc 0 in_dir one/a/b/c mm id
cmp -s "$OUT" "$T/id-one" || fail "id in a subdirectory differs: $(cat "$OUT")"
expect_rc 0 mm -C one/a/b id
cmp -s "$OUT" "$T/id-one" || fail "'-C one/a/b id' differs: $(cat "$OUT")"
expect_rc 0 mm -C "$T/one" id
cmp -s "$OUT" "$T/id-one" || fail "'-C /abs/one id' differs"
# ... -C taken relative to the working directory.
expect_rc 0 in_dir one/a mm -C b id
cmp -s "$OUT" "$T/id-one" || fail "'-C b id' from one/a differs"
# ... and through a symbolic link to the replica.
ln -s one link
expect_rc 0 mm -C link id
expect_out_line "id: $id1"
# -C beats the working directory.
expect_rc 0 in_dir one mm -C ../two id
expect_out_line "id: $id2"

# Outside any replica: exit 3 with a message, nothing on stdout.
mkdir -p outside/deeper
expect_rc 3 in_dir outside/deeper mm id
expect_out_empty
grep -qi 'replica' "$ERR" || fail "id outside a replica: message does not say why: $(cat "$ERR")"
expect_rc 3 mm -C outside id
expect_err_contains "outside"
expect_rc 3 mm -C does-not-exist id
expect_err_contains "does-not-exist"
# Same for the other commands that need a replica.
expect_rc 3 mm -C outside scan
expect_rc 3 mm -C outside status
[ ! -e outside/.mmsync ] || fail "a command outside a replica created .mmsync"
