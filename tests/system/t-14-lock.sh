# The replica lock: a second scan exits 75 while the lock is held; a killed
# holder leaves no stale lock; read-only commands do not need the lock.
. "$(dirname "$0")/lib.sh"

expect_rc 0 mm init r --name lk
cd r || fail "no r"
echo a >a
expect_rc 0 mm -q scan

# Whatever this test started in the background is killed when it ends
# (only jobs still running: no pid that may have been reused).
at_exit 'kill -9 $(jobs -p); wait'

# holders and hold_lock (lib.sh) look at /proc/locks: a probe with flock -n
# could make mmsync exit 75.
[ -r /proc/locks ] || fail "this test needs /proc/locks"
held_by() { holders | grep -qx "$1"; }

hold_lock
echo b >b
expect_rc 75 mm scan
expect_err_contains "another mmsync"
expect_out_empty
expect_rc 75 mm -q scan
[ -s "$ERR" ] || fail "-q scan while locked printed no error"
expect_rc 75 mm --json scan
# Read-only commands work while the lock is held.
expect_rc 0 mm status
expect_out_line "  added     b"
expect_rc 0 mm id
expect_out_contains "name: lk"
expect_rc 0 mm --json status
# The holder is killed hard: the lock goes with it, at once.
kill -9 "$HOLDER"
wait "$HOLDER" 2>/dev/null
expect_scan <<'X'
added b
X

# flock(1) the usual way (flock FILE CMD): 75 while it runs, fine once it is gone.
flock .mmsync/lock sleep 5 &
FL=$!
wait_until '[ -n "$(holders)" ]' || fail "flock FILE sleep did not take the lock"
echo c >c
expect_rc 75 mm scan
# flock(1)'s child (sleep) holds the lock too: kill both.
child=$(pgrep -P "$FL")
kill -9 "$FL" $child
wait "$FL" 2>/dev/null
wait_until '[ -z "$(holders)" ]' || fail "the lock stayed held after its holders were killed: $(holders)"
expect_scan <<'X'
added c
X

# mmsync itself killed -9 while scanning, lock held: no stale lock, and the
# store is as before that scan (the interrupted scan recorded nothing).
truncate -s 2G big
echo d >d
"$MMSYNC" -q scan >/dev/null 2>&1 &
SCAN=$!
if wait_until 'held_by $SCAN' && kill -9 "$SCAN" 2>/dev/null; then
	wait "$SCAN" 2>/dev/null
	[ -z "$(holders)" ] || fail "a lock is still held after mmsync was killed: $(holders)"
	rm big
	expect_scan <<'X'
added d
X
	expect_scan </dev/null
else
	wait "$SCAN" 2>/dev/null
	skip "the scan of a 2 GB file ended before it could be killed"
	rm big
	expect_rc 0 mm -v scan
fi

# Two scans at once: one runs, the other exits 75 or waits its turn; never both at once, never an error.
for i in $(seq 10); do echo "$i" >"n$i"; done
"$MMSYNC" -q scan >"$T/s1.out" 2>&1 &
S1=$!
"$MMSYNC" -q scan >"$T/s2.out" 2>&1
rc2=$?
wait "$S1"
rc1=$?
for rc in $rc1 $rc2; do
	case $rc in 0 | 75) ;; *) fail "concurrent scans: exit $rc1 and $rc2 ($(cat "$T/s1.out" "$T/s2.out"))" ;; esac
done
expect_rc 0 mm -q scan
expect_scan </dev/null
