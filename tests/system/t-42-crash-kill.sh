# Crash safety under kill -9: a large transfer (2,000 files, links, dirs and
# files of 5, 10 and 20 MB) from A into B is started and, after a random
# time from 0.05 s to as long as a whole transfer takes (at least 0.5 s),
# the client and its child `mmsync serve --stdio` are both killed
# with SIGKILL; ten times, mostly pulls, some pushes, with A changed before
# each round after the first (1,500 small files and two big ones rewritten).
# Right after each kill, every file of B must hold a version its path had at
# some time on A (never a partial or mixed file; temporary files aside), and
# the next run must not find the replica locked.  Then a clean sync must exit 0 and leave A and B
# identical, with no temporary file (.mmsync-tmp.*), no conflict copy,
# `mmsync conflicts` empty on both, and nothing left for one more sync.
#
# Some 100 MB are written each round: on a disk, syncfs() makes that slow,
# so the replicas live on a tmpfs (/dev/shm) when there is one (a killed
# process leaves the same state on any file system).  Set
# MMSYNC_CRASH_ON_DISK=1 to keep them in the test's directory.
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
TREE="python3 $here/model_tree.py"
command -v python3 >/dev/null || fail "python3 is needed"
command -v pgrep >/dev/null || fail "pgrep is needed"

if [ "${MMSYNC_CRASH_ON_DISK:-0}" != 1 ] && on_tmpfs t42; then
	echo "working in $PWD (tmpfs)"
fi

seed=${MMSYNC_KILL_SEED:-$((RANDOM * 32768 + RANDOM))}
echo "seed $seed (set MMSYNC_KILL_SEED=$seed to choose the same random moments again)"
RANDOM=$seed

cur=
child=
at_exit 'kill -9 $cur $child 2>/dev/null'

expect_rc 0 mm init A --name A
expect_rc 0 mm init B --name B
$TREE build A --seed 42 --files 2000 --dirs 40 --links 20 --big 5M,10M,20M || fail "cannot build the tree"
versions=$PWD/versions.json
$TREE versions-add "$versions" A

# How long a whole transfer takes here: the kills land anywhere in it.
expect_rc 0 mm init C --name C
t0=$(date +%s%N)
expect_rc 0 mm -q -C C pull A
span=$((($(date +%s%N) - t0) / 1000000))
rm -rf C
[ "$span" -ge 500 ] || span=500
echo "a whole transfer takes $span ms here; each run is killed after 50-$span ms"

killed=0
finished=0
for round in 1 2 3 4 5 6 7 8 9 10; do
	if [ "$round" -gt 1 ]; then
		# A changes, so that every run has work: the file versions B may hold grow
		$TREE touch A --seed "$round" --count 1500 --big 2 || fail "cannot change A"
		$TREE versions-add "$versions" A
	fi
	if [ $((round % 4)) = 2 ]; then
		what="push from A to B"
		"$MMSYNC" -q -C A push B >"$OUT" 2>"$ERR" &
	else
		what="pull into B from A"
		"$MMSYNC" -q -C B pull A >"$OUT" 2>"$ERR" &
	fi
	cur=$!
	ms=$((RANDOM % (span - 49) + 50))
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	# stopped first, so that it cannot start its child between pgrep and kill
	kill -STOP "$cur" 2>/dev/null
	child=$(pgrep -P "$cur" | tr '\n' ' ')
	kill -9 $cur $child 2>/dev/null
	{ wait "$cur"; } 2>/dev/null
	rc=$?
	if [ "$rc" = 137 ]; then
		killed=$((killed + 1))
		state="killed after ${ms} ms"
	else
		finished=$((finished + 1))
		state="ended before the kill at ${ms} ms"
	fi
	# the child is not ours to wait for: let it go
	for c in $child; do
		wait_until "! kill -0 $c 2>/dev/null" || fail "round $round: the serve process $c does not go away"
	done
	cur=
	child=
	echo "round $round: $what: $state, exit $rc; B holds $(find B -path B/.mmsync -prune -o -type f ! -name '.mmsync-tmp.*' -print | wc -l) files and $(find B -path B/.mmsync -prune -o -type f -name '.mmsync-tmp.*' -print | wc -l) temporary files"
	if grep -qE 'Sanitizer|runtime error:|Segmentation|Assertion' "$ERR"; then
		fail_later "round $round: $what: crash report: $(cat "$ERR")"
	fi
	case $rc in
	137 | 0) ;;
	*) fail_later "round $round: $what: exit $rc; stderr: $(cat "$ERR")" ;;
	esac
	out=$($TREE versions-check "$versions" B) || fail_later "round $round: $what, $state: $out"
done
echo "$killed kills, $finished runs ended before their kill"

# No stale lock, and a clean run completes the work.
run mm -q -C B sync A
[ "$RC" = 0 ] || fail "$(_shown "the clean sync after the kills: exit $RC, want 0")"
out=$($TREE same A B) || fail "after the clean sync: $out"
out=$($TREE clean A B) || fail "after the clean sync: $out"
for r in A B; do
	expect_rc 0 mm -C $r conflicts
	expect_out_empty
done
expect_rc 0 mm --json -C B sync A
json_val '[j["files_in"], j["files_out"], j["deleted"], j["conflicts"]]'
expect_eq "$JV" "[0, 0, 0, 0]" "a second clean sync still had work"
