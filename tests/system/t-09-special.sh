# scan: fifos and sockets are skipped with a warning; the scan goes on and exits 0.
. "$(dirname "$0")/lib.sh"

expect_rc 0 mm init r --name sp
cd r || fail "no r"
mkdir d
echo a >d/a
echo b >b
expect_rc 0 mm -q scan

mkfifo d/pipe
echo changed >d/a
echo new >new
# A scan that tried to read the fifo would block: give it 10 s at most.
run timeout 10 "$MMSYNC" -v scan
[ "$RC" != 124 ] || fail "scan hung on a fifo"
[ "$RC" = 0 ] || fail "$(_shown "scan with a fifo exited $RC, want 0")"
expect_err_contains "warning"
expect_err_contains "d/pipe"
got=$(scan_changes)
expect_eq "$got" "$(printf 'added new\nmodified d/a')" "changes found next to a fifo"
expect_out_lacks "pipe"
# The fifo is not recorded: the next scan warns again but reports no change.
expect_scan </dev/null
expect_err_contains "d/pipe"
# --json: stdout is only JSON, the warning goes to stderr.
expect_rc 0 mm --json scan
json_val '[j["added"], j["modified"], j["deleted"], j["skipped"]]'
expect_eq "$JV" "[0, 0, 0, 0]" "--json scan with a fifo: [added, modified, deleted, skipped]"
expect_err_contains "d/pipe"
# status too: warns, exits 0, lists nothing for the fifo.
expect_rc 0 mm status
expect_out_lacks "pipe"
expect_out_contains "no changes"
# -q: nothing on stdout, exit 0.
expect_rc 0 mm -q scan
expect_out_empty

# A unix socket: the same.
if python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$T/r/sock" 2>/dev/null; then
	echo more >>b
	expect_rc 0 mm -v scan
	expect_err_contains "sock"
	expect_eq "$(scan_changes)" "modified b" "changes found next to a socket"
	expect_rc 0 mm -v scan
	expect_eq "$(scan_changes)" "" "changes on a rescan with a socket"
else
	skip "cannot make a unix socket here"
fi

# Removing the fifo (and socket) changes nothing recorded.
rm -f d/pipe sock
expect_scan </dev/null
expect_err_empty
# The fifo itself was never touched (still a fifo, had it stayed).
mkfifo again
expect_rc 0 mm -q scan
[ -p again ] || fail "the fifo 'again' is no longer a fifo"
