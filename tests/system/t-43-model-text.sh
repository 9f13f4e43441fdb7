# Randomized model test of three-way text merges (model.py --text): files hold
# 8-20 lines of UTF-8 text, every line ever written unique; besides whole-file
# writes, deletes, renames, chmods, touches and pairwise pull/push/sync, a
# "line edit" replaces one line of a file on one replica.  Concurrent edits
# of different lines merge cleanly; of the same or adjacent lines, conflict
# (both kept).  At the end, after all-pairs syncs until nothing changes,
# every line that no user replaced (on a replica whose file held it) must be
# in its file or in a conflict copy of it, all trees identical, every file
# whole lines that were written, every conflict copy listed.
#   random, natural and distinct mtimes, alternately, for each seed
#   causal (each change made after syncing with the previous changer): no
#   conflict, no exit 1, nothing merged, for the first two seeds
# and in random mode most runs must have merged something ("merged" of the
# --json summaries, summed: printed as merged=N), or the test proves nothing.
# Seeds 13, 19 and 98 were found to fail: 13 loses lines (two files re-created
# at one path after its deletion are merged against the content from before
# the deletion), 19 exits 3 (content copied locally from a file whose mtime
# the same sync changed: "its local copy changed during the sync"), 98 does
# not converge (a merge leaves the merging replica's file with the time of
# the merge, the others with the older mtime).  They stay until it is fixed.
# Rerun one with
#   MMSYNC=... python3 tests/system/model.py --text --seed N --mode M --mtimes T --trace
# (add --shrink to look for fewer steps).  MMSYNC_MODEL_TEXT_SEEDS and
# MMSYNC_MODEL_TEXT_STEPS change the seeds (default "1 2 19 59 98") and steps (200;
# MMSYNC_MODEL_TEXT_CAUSAL_STEPS those of the causal runs, 120).
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null || fail "python3 is needed"

seeds=${MMSYNC_MODEL_TEXT_SEEDS:-1 2 19 59 98}
steps=${MMSYNC_MODEL_TEXT_STEPS:-200}
# a causal step syncs first: about twice as slow
causal_steps=${MMSYNC_MODEL_TEXT_CAUSAL_STEPS:-120}
driver=
at_exit '[ -z "$driver" ] || kill -9 $driver'
res=$T/model-text.out

runs=0
failed=0
failed_runs=
random_runs=0
merging_runs=0
model() {
	runs=$((runs + 1))
	python3 "$here/model.py" --text --steps "$steps" "$@" >"$res" 2>&1 &
	driver=$!
	wait "$driver"
	local rc=$?
	driver=
	cat "$res"
	if [ "$rc" != 0 ]; then
		failed=$((failed + 1))
		failed_runs="$failed_runs
  python3 $here/model.py --text --steps $steps $*"
	fi
	case " $* " in
	*" --mode random "*)
		random_runs=$((random_runs + 1))
		local m
		m=$(sed -n '1s/.* merged=\([0-9][0-9]*\).*/\1/p' "$res")
		[ "${m:-0}" -gt 0 ] && merging_runs=$((merging_runs + 1))
		;;
	esac
}

i=0
for s in $seeds; do
	if [ $((i % 2)) = 0 ]; then
		model --seed "$s" --mode random --mtimes natural
	else
		model --seed "$s" --mode random --mtimes distinct
	fi
	i=$((i + 1))
done
i=0
for s in $seeds; do
	[ "$i" -lt 2 ] || break
	if [ "$i" = 0 ]; then
		model --seed "$s" --mode causal --mtimes natural --steps "$causal_steps"
	else
		model --seed "$s" --mode causal --mtimes distinct --steps "$causal_steps"
	fi
	i=$((i + 1))
done

echo "model --text: $runs runs, $failed failed; $merging_runs of $random_runs random runs merged text"
[ $((2 * merging_runs)) -gt "$random_runs" ] || fail_later "most random text runs should merge concurrent edits, but only $merging_runs of $random_runs did"
[ "$failed" = 0 ] || fail "model --text runs that failed (rerun with --trace to see each step):$failed_runs"
