# The progress line: on a terminal, scan and transfers show one line on
# stderr redrawn in place ("\r", the line, ESC [K) and erased at the end;
# never with -q (even with --progress), never when stderr is not a terminal
# unless --progress (then whole lines, no escape sequences); stdout (the
# summary, --json) never holds any of it.
. "$(dirname "$0")/synclib.sh"

# on_tty OUTFILE ERRFILE CMD...: runs CMD with stderr on a pseudo-terminal and
# stdout into OUTFILE; what reached the terminal goes to ERRFILE.  Sets RC.
on_tty() {
	python3 - "$@" <<'PY'
import os, pty, subprocess, sys
out, err, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
m, s = pty.openpty()
with open(out, "wb") as o:
    p = subprocess.Popen(cmd, stdout=o, stderr=s, stdin=subprocess.DEVNULL)
os.close(s)
got = b""
while True:
    try:
        d = os.read(m, 65536)
    except OSError:  # EIO: every writer closed the terminal
        break
    if not d:
        break
    got += d
rc = p.wait()
with open(err, "wb") as e:
    e.write(got)
sys.exit(rc)
PY
	RC=$?
}
CR=$'\r'
ESC=$'\033'
TOUT=$T/tty.out
TERR=$T/tty.err
# shows a run's outputs for a failure message
shown() { printf '%s\n--- stdout:\n%s\n--- stderr:\n%s' "$1" "$(cat -v "$2")" "$(cat -v "$3")"; }

# A has two thousand files; each pull below brings them all to a new replica,
# slowed once (at the first file written) so that the line has time to show.
mkrep A
python3 - <<'PY'
import os
for i in range(2000):
    d = "A/d%02d" % (i % 30)
    os.makedirs(d, exist_ok=True)
    with open("%s/f%04d" % (d, i), "wb") as f:
        f.write((b"%d " % i) * (200 + i % 700))
PY
expect_rc 0 mm -C A scan
export TERM=xterm
SLOW=apply-tmp-written:1200

# --- a terminal: the line is drawn in place, then erased; the summary is on stdout
mkrep B
MMSYNC_PAUSE=$SLOW on_tty "$TOUT" "$TERR" "$MMSYNC" -C B pull A
[ "$RC" = 0 ] || fail "$(shown "pull on a terminal: exit $RC" "$TOUT" "$TERR")"
grep -q "${CR}pull with A: [0-9]*/2030 files, .* left${ESC}\[K" "$TERR" ||
	fail "$(shown "pull on a terminal: no progress line redrawn with \\r and ESC [K" "$TOUT" "$TERR")"
grep -qE '[0-9.]+ (B|KiB|MiB)/s' "$TERR" || fail "$(shown "pull on a terminal: no rate in the line" "$TOUT" "$TERR")"
[ "$(tail -c 4 "$TERR")" = "${CR}${ESC}[K" ] ||
	fail "$(shown "pull on a terminal: the line is not erased at the end" "$TOUT" "$TERR")"
grep -qE '^pull with A: 2030 in, 0 out, 0 deleted, 0 conflicts; [0-9]+ bytes in, [0-9]+ bytes out, [0-9.]+ s$' "$TOUT" ||
	fail "$(shown "pull on a terminal: stdout is not the summary line alone" "$TOUT" "$TERR")"
[ "$(wc -l <"$TOUT")" = 1 ] || fail "$(shown "pull on a terminal: stdout holds more than the summary" "$TOUT" "$TERR")"
same_trees A B

# --- with --json, stdout holds the JSON object only
mkrep C
MMSYNC_PAUSE=$SLOW on_tty "$OUT" "$TERR" "$MMSYNC" -C C --json pull A
[ "$RC" = 0 ] || fail "$(shown "--json pull on a terminal: exit $RC" "$OUT" "$TERR")"
grep -q "${CR}pull with A: " "$TERR" || fail "$(shown "--json pull on a terminal: no progress line" "$OUT" "$TERR")"
expect_eq "$(jcount)" 1 "--json pull on a terminal: JSON objects on stdout"
expect_json 'files_in == 2030' 'ok == True'
expect_lacks "$OUT" "$CR"

# --- -q: nothing, even with --progress
mkrep D E
MMSYNC_PAUSE=$SLOW on_tty "$TOUT" "$TERR" "$MMSYNC" -q -C D pull A
[ "$RC" = 0 ] || fail "$(shown "-q pull on a terminal: exit $RC" "$TOUT" "$TERR")"
[ ! -s "$TERR" ] || fail "$(shown "-q pull on a terminal: something on stderr" "$TOUT" "$TERR")"
[ ! -s "$TOUT" ] || fail "$(shown "-q pull on a terminal: something on stdout" "$TOUT" "$TERR")"
MMSYNC_PAUSE=$SLOW on_tty "$TOUT" "$TERR" "$MMSYNC" -q -C E pull --progress A
[ "$RC" = 0 ] || fail "$(shown "-q pull --progress: exit $RC" "$TOUT" "$TERR")"
[ ! -s "$TERR" ] || fail "$(shown "-q pull --progress on a terminal: something on stderr" "$TOUT" "$TERR")"

# --- stderr a file: nothing without --progress
mkrep F G
MMSYNC_PAUSE=$SLOW expect_rc 0 mm -C F pull A
expect_err_empty
expect_out_contains 'pull with A: 2030 in, 0 out'

# --- ... and whole lines with it: no \r, no escape sequence
MMSYNC_PAUSE=$SLOW expect_rc 0 mm -C G --json pull --progress A
grep -qE '^pull with A: [0-9]+/2030 files, [0-9.]+ (B|KiB|MiB)/[0-9.]+ (KiB|MiB), .* left$' "$ERR" ||
	fail "$(_shown "pull --progress into a file: no progress line")"
expect_err_lacks "$CR"
expect_err_lacks "$ESC"
expect_eq "$(jcount)" 1 "pull --progress --json: JSON objects on stdout"
same_trees A G

# --- scan: the files seen and the bytes hashed; a large (sparse) file keeps it
# moving, and the warning about a fifo met after it erases the line first
truncate -s 1G A/big
mkfifo A/fifo
on_tty "$TOUT" "$TERR" "$MMSYNC" -C A scan
[ "$RC" = 0 ] || fail "$(shown "scan on a terminal: exit $RC" "$TOUT" "$TERR")"
grep -qE "${CR}scan: [0-9]+ files.*, [0-9]+ hashed, [0-9.]+ (B|KiB|MiB|GiB), [0-9.]+ (B|KiB|MiB|GiB)/s${ESC}\[K" "$TERR" ||
	fail "$(shown "scan on a terminal: no progress line" "$TOUT" "$TERR")"
grep -q "${CR}${ESC}\[Kmmsync: warning: 'fifo': " "$TERR" ||
	fail "$(shown "scan on a terminal: the warning does not erase the line first" "$TOUT" "$TERR")"
grep -qx 'scanned 2001 files, 30 directories, 0 links: 1 added, 0 modified, 0 deleted' "$TOUT" ||
	fail "$(shown "scan on a terminal: stdout is not the summary" "$TOUT" "$TERR")"
rm A/fifo
