# Faults over TLS, on a tree of 2,000 files and 20 MB: (a) the client killed
# (kill -9) mid-transfer, as receiver (pull) and as sender (push): the
# server keeps serving, nothing is lost, the next sync completes; (b) the
# server killed mid-transfer, while it sends (pull) and while it applies
# (push): the client exits 3 with a message; a server restarted on another
# port then completes the sync.  After each fault every file holds a version
# its path really had, and after the next sync both trees are identical with
# no conflict and no temporary file.  Then two clients at once (both exit 0,
# or the second 3 saying "busy"); silent TCP clients that do not stop the
# server from serving others (and `--timeout` drops them); and a client that
# stalls mid-session, dropped after `--timeout` while another is served.
. "$(dirname "$0")/tlslib.sh"

command -v pgrep >/dev/null || fail "pgrep is needed"
on_tmpfs t67 r

mkrep A B C
for r in A B C; do
	fp_of $r
	eval "FP$r=\$FP HEX$r=\$HEX"
done
expect_rc 0 mm -C A trust "$FPB"
expect_rc 0 mm -C A trust "$FPC"
$TREE build A --seed 67 --files 2000 --dirs 30 --links 10 --big 10M,10M || fail "cannot build the tree"
mkdir B/own
for i in 1 2 3 4 5; do printf 'B own %d\n' $i >B/own/f$i; done
versions=$T/versions.json
$TREE versions-add "$versions" A
$TREE versions-add "$versions" B
snapA=$T/A.snap
$TREE snap A "$snapA"

start_server A
# final_check CMD...: the clean sync CMD exits 0; then A and B are the same,
# clean (no conflict copy, no temporary file), with no open conflict
final_check() {
	expect_rc 0 "$@"
	out=$($TREE final A B) || fail "after '$*': $out"
	for r in A B; do
		expect_rc 0 mm -C $r conflicts
		expect_out_empty
	done
}
# no_work URL: one more sync has nothing to do
no_work() {
	expect_rc 0 mm --json -C B sync --fingerprint "$FPA" "$1"
	expect_json 'files_in == 0' 'files_out == 0' 'conflicts == 0' 'deleted == 0'
}

# --- (a1) the client killed while it pulls (paused after its first rename)
server_mark
bg_client a1 env MMSYNC_PAUSE=apply-rename:4000 "$MMSYNC" -C B pull --fingerprint "$FPA" "$SRV_URL"
cl=$BG_PID
wait_pause $cl 15
kill -9 $cl
wait_exit $cl 5
[ "$WRC" = 137 ] || fail "the client ended with $WRC before it was killed: $(cat "$T/a1.err")"
echo "(a1) killed the pulling client; B holds $(find B -type f ! -path 'B/.mmsync/*' | wc -l) files"
expect_alive
out=$($TREE versions-check "$versions" B) || fail "after the client was killed: $out"
$TREE snap A "$T/A.after" && cmp -s "$snapA" "$T/A.after" || fail "A changed when its pulling client was killed"
server_says "$HEXB" || fail "the server does not log the killed session of $FPB: $(server_text)"
final_check mm -C B sync --fingerprint "$FPA" "$SRV_URL"
for i in 1 2 3 4 5; do [ "$(cat A/own/f$i)" = "B own $i" ] || fail "B's own files did not reach A"; done
no_work "$SRV_URL"

# --- (a2) the client killed while it pushes (paused after it queued its first data)
$TREE touch B --seed 2 --count 600 --big 1 || fail "cannot change B"
$TREE versions-add "$versions" B
bg_client a2 env MMSYNC_PAUSE=send-data:4000 "$MMSYNC" -C B push --fingerprint "$FPA" "$SRV_URL"
cl=$BG_PID
wait_pause $cl 15
kill -9 $cl
wait_exit $cl 5
[ "$WRC" = 137 ] || fail "the pushing client ended with $WRC before it was killed: $(cat "$T/a2.err")"
expect_alive
out=$($TREE versions-check "$versions" A) || fail "after the pushing client was killed: $out"
final_check mm -C B sync --fingerprint "$FPA" "$SRV_URL"
no_work "$SRV_URL"
stop_server TERM

# --- (b1) the server killed while it sends (B pulls)
$TREE touch A --seed 3 --count 800 --big 2 || fail "cannot change A"
$TREE versions-add "$versions" A
MMSYNC_PAUSE=send-data:4000 start_server A
bg_client b1 "$MMSYNC" -C B pull --fingerprint "$FPA" "$SRV_URL"
cl=$BG_PID
wait_pause $SRV_PID 15
kill_server $SRV_PID
wait_exit $cl 15
[ "$WRC" = 3 ] || fail "the client, its server killed: exit $WRC, want 3; stderr: $(cat -v "$T/b1.err")"
[ -s "$T/b1.err" ] || fail "the client, its server killed, exits 3 with no message"
echo "(b1) client: $(head -n 3 "$T/b1.err")"
out=$($TREE versions-check "$versions" B) || fail "after the server was killed: $out"
out=$($TREE versions-check "$versions" A) || fail "after the server was killed: $out"
start_server A
final_check mm -C B sync --fingerprint "$FPA" "$SRV_URL"
no_work "$SRV_URL"
stop_server TERM

# --- (b2) the server killed while it applies (B pushes; paused after its first rename)
$TREE touch B --seed 4 --count 800 --big 2 || fail "cannot change B"
$TREE versions-add "$versions" B
MMSYNC_PAUSE=apply-rename:4000 start_server A
bg_client b2 "$MMSYNC" -C B push --fingerprint "$FPA" "$SRV_URL"
cl=$BG_PID
wait_pause $SRV_PID 15
kill_server $SRV_PID
wait_exit $cl 15
[ "$WRC" = 3 ] || fail "the pushing client, its server killed: exit $WRC, want 3; stderr: $(cat -v "$T/b2.err")"
[ -s "$T/b2.err" ] || fail "the pushing client, its server killed, exits 3 with no message"
out=$($TREE versions-check "$versions" A) || fail "after the server was killed while applying: $out"
start_server A
final_check mm -C B sync --fingerprint "$FPA" "$SRV_URL"
no_work "$SRV_URL"

# --- two clients at once: B holds the session (paused), C comes meanwhile
printf 'for both\n' >A/for-both
expect_rc 0 mm -C C sync --fingerprint "$FPA" "$SRV_URL" # C's first sync: the whole tree
printf 'for both, again\n' >A/for-both
printf 'from C\n' >C/from-c
bg_client busyB env MMSYNC_PAUSE=apply-rename:3000 "$MMSYNC" -C B sync --fingerprint "$FPA" "$SRV_URL"
pb=$BG_PID
wait_pause $pb 15
bg_client busyC "$MMSYNC" -C C sync --fingerprint "$FPA" "$SRV_URL"
pc=$BG_PID
wait_exit $pb 25
rcb=$WRC
wait_exit $pc 25
rcc=$WRC
[ "$rcb" = 0 ] || fail "the first of two clients: exit $rcb, want 0: $(cat -v "$T/busyB.err")"
case $rcc in
0) echo "the second client waited and synced" ;;
3) grep -qi busy "$T/busyC.err" || fail "the second client: exit 3 without saying 'busy': $(cat -v "$T/busyC.err")"
	echo "the second client was refused: $(cat "$T/busyC.err")"
	expect_rc 0 mm -C C sync --fingerprint "$FPA" "$SRV_URL" ;;
*) fail "the second of two clients: exit $rcc, want 0 or 3 ('busy'): $(cat -v "$T/busyC.err")" ;;
esac
expect_alive
expect_rc 0 mm -C B sync --fingerprint "$FPA" "$SRV_URL"
same_trees A B C
[ "$(cat B/from-c)" = "from C" ] && [ "$(cat C/for-both)" = "for both, again" ] || fail "the two clients' changes did not all arrive"
stop_server TERM

# --- silent TCP clients: the default timeout; the server still serves others
silent='
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print("connected", flush=True)
s.settimeout(float(sys.argv[2]))
t = time.time()
try:
    while s.recv(4096):
        pass
    print("closed after %.1f s" % (time.time() - t), flush=True)
except socket.timeout:
    print("still open", flush=True)
except ConnectionError:
    print("closed after %.1f s" % (time.time() - t), flush=True)
'
start_server A
bg_client silent1 python3 -c "$silent" "$SRV_PORT" 30
sl=$BG_PID
wait_until "grep -q connected '$T/silent1.out'" || fail "the silent client could not connect"
printf 'past the silent one\n' >A/past-silent
expect_rc 0 timeout 20 "$MMSYNC" -C B sync --fingerprint "$FPA" "$SRV_URL"
[ "$(cat B/past-silent)" = "past the silent one" ] || fail "the sync past a silent client brought nothing"
expect_alive
# (a server stopped while a silent client is connected: see t-65)
kill $sl
wait_exit $sl 5
stop_server TERM
# ... and with --timeout 2, the silent client is dropped; the server goes on
start_server A --timeout 2
bg_client silent2 python3 -c "$silent" "$SRV_PORT" 15
sl=$BG_PID
wait_until "grep -q connected '$T/silent2.out'" || fail "the silent client could not connect"
wait_exit $sl 20
grep -q 'closed after' "$T/silent2.out" || fail "'serve --timeout 2' did not drop a silent client within 15 s: $(cat "$T/silent2.out")"
secs=$(sed -n 's/closed after \([0-9]*\).*/\1/p' "$T/silent2.out")
[ "$secs" -le 10 ] || fail "'serve --timeout 2' dropped a silent client only after $secs s"
echo "silent client with --timeout 2: $(tail -n 1 "$T/silent2.out")"
expect_alive
printf 'after the timeout\n' >A/after-timeout
expect_rc 0 mm -C B sync --fingerprint "$FPA" "$SRV_URL"
[ "$(cat B/after-timeout)" = "after the timeout" ] || fail "the server did not serve after dropping a silent client"
# ... and a client that stalls mid-session (paused 8 s) is dropped after 2 s:
# another client is served meanwhile; the stalled one then fails or finishes
$TREE touch A --seed 5 --count 300 --big 1 || fail "cannot change A"
$TREE versions-add "$versions" A
bg_client stall env MMSYNC_PAUSE=apply-rename:8000 "$MMSYNC" -C B pull --fingerprint "$FPA" "$SRV_URL"
st=$BG_PID
wait_pause $st 15
printf 'while B stalls\n' >A/while-stall
t0=$(date +%s%N)
expect_rc 0 timeout 7 "$MMSYNC" -C C sync --fingerprint "$FPA" "$SRV_URL"
echo "C synced in $((($(date +%s%N) - t0) / 1000000)) ms while B stalled"
[ "$(cat C/while-stall)" = "while B stalls" ] || fail "C's sync during B's stall brought nothing"
alive $st || fail "B's stalled pull ended before its pause did (exit: $(wait $st; echo $?))"
wait_exit $st 15
[ "$WRC" = 0 ] || [ "$WRC" = 3 ] || fail "the stalled client: exit $WRC, want 3 (or 0): $(cat -v "$T/stall.err")"
echo "the stalled client: exit $WRC: $(head -c 300 "$T/stall.err")"
out=$($TREE versions-check "$versions" B) || fail "after the stalled pull: $out"
expect_rc 0 mm -C B sync --fingerprint "$FPA" "$SRV_URL"
expect_rc 0 mm -C C sync --fingerprint "$FPA" "$SRV_URL"
same_trees A B C
expect_alive
expect_rc 2 timeout 5 "$MMSYNC" -C A serve --tls --listen 127.0.0.1:0 --timeout nope
grep -qE 'Sanitizer|runtime error:' "$T"/server*.err && fail "a server reported: $(cat "$T"/server*.err)"
stop_server TERM
