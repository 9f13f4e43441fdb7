# Sync over mutual TLS (`serve --tls`, tls:// peers): the fingerprint of
# `id` (text and JSON); `trust` / `untrust` and their fingerprint forms (with
# or without "SHA256:", any case; malformed: exit 2); sync, pull and push both
# ways with files created, edited and deleted on each side, a clean merge and
# a conflict; a named peer with a pin (`peer add ... --fingerprint`, `sync
# --all`); clone over TLS; the stream compressed (the JSON byte counts); and
# the server stopping with exit 0 on SIGTERM and on SIGINT, idle or not.
. "$(dirname "$0")/tlslib.sh"

mkrep A B
fp_of A
FPA=$FP HEXA=$HEX
fp_of B
FPB=$FP HEXB=$HEX
[ "$FPA" != "$FPB" ] || fail "two replicas have the same fingerprint"
expect_rc 0 mm --json -C A id
json_val 'j["fingerprint"]'
expect_eq "$JV" "$FPA" "the fingerprint of 'mmsync --json id'"

upper() { tr a-f A-F <<<"$1"; }

# --- trust / untrust: forms of a fingerprint, and malformed ones (exit 2)
for bad in "SHA256:" "SHA256:xyz" "SHA256:${HEXB:0:63}" "SHA256:${HEXB}0" "SHA256:${HEXB:0:63}g" \
	"MD5:$HEXB" "SHA1:$HEXB" "${HEXB:0:32}" "not-a-fingerprint" ""; do
	expect_rc 2 mm -C A trust "$bad"
	[ -s "$ERR" ] || fail "'trust $bad' (malformed): exit 2 but no message"
	expect_rc 2 mm -C A untrust "$bad"
done
expect_rc 2 mm -C A untrust
expect_rc 2 mm -C A trust "$FPB" "$FPA"
# `trust` alone lists the trusted clients: none yet (the malformed ones were not kept)
expect_rc 0 mm -C A trust
expect_out_empty
expect_rc 0 mm -C A trust "$(upper "$HEXB")" --name laptop
expect_rc 0 mm -C A trust
expect_out_contains "$FPB"
expect_out_contains laptop
[ "$(wc -l <"$OUT")" = 1 ] || fail "$(_shown "one client trusted, listed on more than one line")"
expect_rc 0 mm --json -C A trust
json_val '[x["fingerprint"] for x in j]'
expect_eq "$JV" "[\"$FPB\"]" "'--json trust'"
# trusting again (other form, other name) keeps one entry
expect_rc 0 mm -C A trust "$FPB" --name laptop
expect_rc 0 mm -C A trust
[ "$(wc -l <"$OUT")" = 1 ] || fail "$(_shown "a client trusted twice is listed twice")"

start_server A
expect_alive

# --- first sync, both ways: files, modes, mtimes, a binary, a link, empty directories
mkdir -p A/dir/sub A/emptyA B/emptyB B/dir
printf 'from A\n' >A/a.txt
printf 'deep in A\n' >A/dir/sub/deep.txt
bin_content A >A/bin
chmod 0600 A/bin
printf '#!/bin/sh\necho hi\n' >A/script
chmod 0755 A/script
touch -d '2021-03-04 05:06:07.123456789' A/script
ln -s dir/sub A/link
printf 'from B\n' >B/b.txt
printf 'B in dir\n' >B/dir/fromB.txt
touch -d '2019-01-01 00:00:00' B/b.txt

server_mark
expect_rc 0 mm -C B sync --fingerprint "$FPA" "$SRV_URL"
same_trees A B
# the session: one line on the server's stderr naming the client, and in its log
wait_until "[ \$(tail -n +$((_MARK_ERR + 1)) '$SRV_ERR' | grep -ciF '$HEXB') = 1 ]" ||
	fail "the server's stderr does not have one line naming the client $FPB for its session: $(server_text)"
grep -qiF "$HEXB" A/.mmsync/log || fail "the server's log does not name the client $FPB: $(server_text)"
# an idle server does not hold its replica: local commands work
expect_rc 0 mm -C A scan
expect_rc 0 mm -C A status
expect_tree B <<'EOF'
a.txt f 0644
b.txt f 0644
bin f 0600
dir d 0755
dir/fromB.txt f 0644
dir/sub d 0755
dir/sub/deep.txt f 0644
emptyA d 0755
emptyB d 0755
link l -
script f 0755
EOF
[ "$(readlink B/link)" = dir/sub ] || fail "the link arrived as '$(readlink B/link)'"
cmp -s A/bin B/bin || fail "the binary file differs"
expect_alive

# --- second sync: edits, deletions, new files on both sides; the pin without
# its prefix and in upper case
printf 'from A, edited\n' >A/a.txt
rm A/dir/sub/deep.txt
rmdir A/emptyA
printf 'new on A\n' >A/new-on-A
printf 'from B, edited\n' >B/b.txt
rm B/bin
chmod 0700 B/script
mkdir B/newdirB
printf 'new on B\n' >B/newdirB/new-on-B

expect_rc 0 mm -C B sync --fingerprint "$(upper "$HEXA")" "$SRV_URL"
same_trees A B
for r in A B; do
	[ "$(cat $r/a.txt)" = "from A, edited" ] || fail "$r/a.txt: '$(cat $r/a.txt)'"
	[ "$(cat $r/b.txt)" = "from B, edited" ] || fail "$r/b.txt: '$(cat $r/b.txt)'"
	[ "$(cat $r/new-on-A)" = "new on A" ] || fail "$r/new-on-A is missing or wrong"
	[ "$(cat $r/newdirB/new-on-B)" = "new on B" ] || fail "$r/newdirB/new-on-B is missing or wrong"
	[ ! -e $r/bin ] && [ ! -e $r/dir/sub/deep.txt ] && [ ! -e $r/emptyA ] || fail "a deletion did not reach $r"
	[ "$(stat -c %a $r/script)" = 700 ] || fail "the chmod did not reach $r"
done

# --- pull and push, one direction at a time, with --json; a pin in lower-case "sha256:" form
printf 'A v3\n' >A/a.txt
printf 'only B\n' >B/only-B
expect_rc 0 mm --json -C B pull --fingerprint "sha256:$HEXA" "$SRV_URL"
expect_json "peer == '$SRV_URL'" 'files_in == 1' 'files_out == 0' 'conflicts == 0' 'bytes_in > 0' 'bytes_out > 0'
[ "$(cat B/a.txt)" = "A v3" ] || fail "pull did not bring a.txt"
[ ! -e A/only-B ] || fail "pull sent a file to the server"
expect_rc 0 mm --json -C B push --fingerprint "$FPA" "$SRV_URL"
expect_json 'files_in == 0' 'files_out == 1' 'conflicts == 0'
[ "$(cat A/only-B)" = "only B" ] || fail "push did not bring only-B to the server"
same_trees A B

# --- a clean text merge and a binary conflict over TLS (exit 1, a copy on both sides)
printf 'one\ntwo\nthree\nfour\nfive\n' >A/notes.txt
expect_rc 0 mm -C B sync --fingerprint "$FPA" "$SRV_URL"
printf 'ONE (A)\ntwo\nthree\nfour\nfive\n' >A/notes.txt
printf 'one\ntwo\nthree\nfour\nFIVE (B)\n' >B/notes.txt
bin_content A2 >A/clash
bin_content B2 >B/clash
touch -d '2020-01-01 UTC' B/clash
expect_rc 1 mm --json -C B sync --fingerprint "$FPA" "$SRV_URL"
expect_json 'merged == 1' 'conflicts == 1'
same_trees A B
[ "$(cat A/notes.txt)" = $'ONE (A)\ntwo\nthree\nfour\nFIVE (B)' ] || fail "notes.txt is not the merge: $(cat A/notes.txt)"
cmp -s A/clash <(bin_content A2) || fail "the later version of 'clash' is not at the path"
[ "$(conflict_copies A)" = "$(stamp_name clash '2020-01-01 UTC' B)" ] || fail "conflict copies on A: $(conflict_copies A)"
expect_rc 1 mm -C A conflicts
expect_out_contains clash
expect_rc 0 mm -C B conflicts resolve clash --ours
expect_rc 0 mm -C B sync --fingerprint "$FPA" "$SRV_URL"
expect_rc 0 mm -C A conflicts
same_trees A B

# --- a named peer with its pin
expect_rc 0 mm -C B peer add srv "$SRV_URL" --fingerprint "$FPA"
expect_rc 0 mm -C B peer list
expect_out_contains srv
expect_out_contains "$SRV_URL"
printf 'via the named peer\n' >A/named
rm B/only-B
expect_rc 0 mm --json -C B sync srv
expect_json "peer == 'srv'" 'files_in == 1' 'files_out == 0' 'deleted >= 1'
same_trees A B
[ ! -e A/only-B ] && [ "$(cat B/named)" = "via the named peer" ] || fail "sync with the named peer did not carry the changes"
printf 'via --all\n' >B/all
expect_rc 0 mm -q -C B sync --all
expect_out_empty
expect_err_empty
[ "$(cat A/all)" = "via --all" ] || fail "'sync --all' did not reach the TLS peer"
expect_alive

# --- the compressed stream: 2 MB of very compressible text moves in well under 2 MB
python3 -c '
import sys
sys.stdout.write("".join("line %07d: the quick brown fox jumps over the lazy dog, again and again\n" % i for i in range(28000)))
' >A/big.txt
[ "$(stat -c %s A/big.txt)" -ge 2000000 ] || fail "big.txt is too small"
expect_rc 0 mm --json -C B pull --fingerprint "$FPA" "$SRV_URL"
expect_json 'files_in == 1' 'bytes_in < 500000' 'bytes_in > 0'
cmp -s A/big.txt B/big.txt || fail "big.txt arrived different"
sed 's/quick/slow/' A/big.txt >B/big2.txt
expect_rc 0 mm --json -C B push --fingerprint "$FPA" "$SRV_URL"
expect_json 'files_out == 1' 'bytes_out < 500000'
cmp -s A/big2.txt B/big2.txt || fail "big2.txt arrived different"
# ... while random data is not compressible: the counts are real
head -c 1000000 /dev/urandom >A/random.bin
expect_rc 0 mm --json -C B pull --fingerprint "$FPA" "$SRV_URL"
expect_json 'files_in == 1' 'bytes_in >= 1000000' 'bytes_in < 1300000'
same_trees A B

# --- clone over TLS: the new replica's identity is made by clone, so the server
# refuses it (exit 3) until the user trusts the fingerprint it shows; clone keeps
# the new, empty replica with that identity, and a pull then completes the clone.
run mm clone "$SRV_URL" CL --fingerprint "$FPA" --name CL
_LAST_CMD="mm clone $SRV_URL CL --fingerprint $FPA --name CL"
[ "$RC" != 0 ] || fail "$(_shown "clone over TLS succeeded although the server trusts no such client")"
[ "$RC" = 3 ] || fail "$(_shown "clone by an untrusted client: exit $RC, want 3")"
expect_err_contains "not trusted"
[ -d CL/.mmsync ] || fail "$(_shown "the refused clone kept no replica: its fingerprint cannot be trusted before it exists")"
fp_of CL
FPCL=$FP
grep -qiF "$HEX" "$ERR" || fail "$(_shown "the refused clone does not show its own fingerprint $FPCL")"
[ -z "$(ls -A CL | grep -vx .mmsync)" ] || fail "the refused clone left files: $(ls -A CL)"
server_says "$HEX" || fail "the server does not name the refused clone $FPCL: $(server_text)"
cp "$ERR" "$T/clone.err"
expect_rc 0 mm -C A trust "$FPCL" --name CL
# when the refusal tells what to run next, that works as written
advice=$(sed -n "s/.*then '\(mmsync [^']*\)'.*/\1/p" "$T/clone.err" | head -n 1)
if [ -n "$advice" ]; then
	read -ra words <<<"${advice#mmsync }"
	run "$MMSYNC" "${words[@]}"
	_LAST_CMD=$advice
	[ "$RC" = 0 ] || fail_later "$(_shown "the refused clone said to run '$advice' once trusted: that fails")"
fi
expect_rc 0 mm -C CL pull --fingerprint "$FPA" "$SRV_URL"
same_trees A CL
expect_rc 0 mm -C CL id
expect_out_line "name: CL"
printf 'from the clone\n' >CL/from-clone
expect_rc 0 mm -C CL sync --fingerprint "$FPA" "$SRV_URL"
[ "$(cat A/from-clone)" = "from the clone" ] || fail "the clone cannot push over TLS"
# a clone with a wrong pin, or none: exit 3, and nothing is left behind
for pin in "--fingerprint=$FPB" ""; do
	run mm clone "$SRV_URL" CL2 $pin --name CL2
	_LAST_CMD="mm clone $SRV_URL CL2 $pin"
	[ "$RC" = 3 ] || fail "$(_shown "clone with pin '$pin': exit $RC, want 3")"
	grep -qiF "$HEXA" "$ERR" || fail "$(_shown "clone with pin '$pin': the server's fingerprint is not shown")"
	[ ! -e CL2/.mmsync ] || fail "clone with a wrong or no pin left a replica behind"
done

# --- the server ends with exit 0 on SIGTERM (after serving) ...
stop_server TERM
grep -qiE 'Sanitizer|runtime error:' "$SRV_ERR" && fail "the server reported: $(cat "$SRV_ERR")"
grep -qiF "$HEXB" "$SRV_ERR" A/.mmsync/log || fail "the server logged no session of B ($FPB): $(server_text)"
# ... and on SIGINT, idle; its port is free again afterwards
start_server A
old=$SRV_PORT
stop_server INT
run mm -C B sync --fingerprint "$FPA" "tls://127.0.0.1:$old"
[ "$RC" = 3 ] || fail "$(_shown "sync with a stopped server: exit $RC, want 3")"
[ -s "$ERR" ] || fail "sync with a stopped server: no message"
# ... and on SIGTERM while a client is connected but silent
start_server A
bg_client silent python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(30)
' "$SRV_PORT"
sleep 0.5
stop_server TERM
