# Randomized model test of the sync engine (model.py): 3-5 replicas, random
# writes, deletes, renames, chmods, touches, mkdirs, rmdirs and pairwise
# pull/push/sync on a small namespace, then all-pairs syncs until nothing
# changes.  Nothing written may be lost unless a user replaced or deleted it
# where it was; all trees must end identical.  In "causal" mode every change
# descends from the previous one: no conflict at all.
#   random, natural mtimes   (conflict copies may share a second)
#   random, distinct mtimes  (every write its own second, as if touched)
#   causal, both
# On a failure, model.py prints the seed, the check that failed and the steps
# as a shell script; rerun one with
#   MMSYNC=... python3 tests/system/model.py --seed N --mode M --mtimes T --trace
# (add --shrink to look for fewer steps).  MMSYNC_MODEL_SEEDS and
# MMSYNC_MODEL_STEPS change the seeds (default "1 2 3 4") and steps (150).
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null || fail "python3 is needed"

seeds=${MMSYNC_MODEL_SEEDS:-1 2 3 4}
steps=${MMSYNC_MODEL_STEPS:-150}
driver=
at_exit '[ -z "$driver" ] || kill -9 $driver'

runs=0
failed=0
failed_runs=
model() {
	runs=$((runs + 1))
	python3 "$here/model.py" --steps "$steps" "$@" &
	driver=$!
	if ! wait "$driver"; then
		failed=$((failed + 1))
		failed_runs="$failed_runs
  python3 $here/model.py --steps $steps $*"
	fi
	driver=
}

i=0
for s in $seeds; do
	# alternate natural and distinct mtimes
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
		model --seed "$s" --mode causal --mtimes natural
	else
		model --seed "$s" --mode causal --mtimes distinct
	fi
	i=$((i + 1))
done

echo "model: $runs runs, $failed failed"
[ "$failed" = 0 ] || fail "model runs that failed (rerun with --trace to see each step):$failed_runs"
