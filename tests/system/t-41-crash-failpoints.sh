# Crash safety at every failpoint of sync/failpoint.h (MMSYNC_FAILPOINT=NAME[:N]
# ends a process with _exit(99) at the N-th pass, as kill -9 would): for each,
# at its first pass and at a pass in the middle of the work, a pull into a new
# replica, a push into one, and a pull, push and sync after edits on both
# sides.  The failing command must fail; right after it every path holds its
# old or its new version (never a partial or mixed file) and the sender is
# unchanged; then a clean sync must exit 0 and leave both trees equal to the
# expected tree, with no conflict (copy) and no temporary file, and nothing
# left for one more sync.  See model_crash.py for the details.
#
# Some 85 cases of a few hundred files each: on a disk, syncfs() makes that
# take minutes, so the replicas live on a tmpfs (/dev/shm) when there is one
# (a process crash leaves the same state on any file system).  Set
# MMSYNC_CRASH_ON_DISK=1 to keep them in the test's directory.
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null || fail "python3 is needed"

if [ "${MMSYNC_CRASH_ON_DISK:-0}" != 1 ] && on_tmpfs t41; then
	echo "working in $PWD (tmpfs)"
fi

# model_crash.py runs every mmsync in its own process group and kills that
# group when a command hangs; this kills the driver when the test is stopped.
python3 "$here/model_crash.py" --header "$here/../../sync/failpoint.h" &
driver=$!
at_exit "kill -9 $driver"
wait "$driver" || fail "crash test at failpoints: see the FAIL lines above"
