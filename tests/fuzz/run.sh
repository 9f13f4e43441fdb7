#!/bin/sh
# Runs each libFuzzer target for SECONDS over its seed corpus and regression
# inputs, which it only reads: new inputs go to BUILD/work/TARGET/, a crash
# to BUILD/artifacts/TARGET/.  One summary line per target:
#   fuzz: TARGET: N runs in S s, cov C ft F, corpus K: clean|CRASH (input)
# Exits 1 when any target crashed or an input ran for more than 30 s (a
# hang).  Extra libFuzzer flags: $FUZZ_FLAGS.
#
# usage: sh tests/fuzz/run.sh BUILD SECONDS TARGET...
set -u
build=$1
seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
failed=0
for t in "$@"; do
	work=$build/work/$t
	art=$build/artifacts/$t
	log=$build/$t.log
	mkdir -p "$work" "$art"
	# a target with no regression input has no directory for them (git keeps no empty one)
	regress=
	[ -d "$here/regress/$t" ] && regress=$here/regress/$t
	# shellcheck disable=SC2086
	"$build/fuzz_$t" -max_total_time="$seconds" -timeout=30 -print_final_stats=1 -artifact_prefix="$art/" \
		${FUZZ_FLAGS:-} "$work" "$here/corpus/$t" $regress >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$log" | tail -n 1)
	# a crash ends the run without its "Done" line: the last status line's count
	[ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\)[[:space:]].*/stopped after \1 runs/p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*' "$log" | tail -n 1 |
		sed 's/cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\)/cov \1 ft \2, corpus \3/')
	if [ "$rc" -eq 0 ]; then
		echo "fuzz: $t: ${runs:-? runs}, ${cov:-no coverage line}: clean"
	else
		crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
		echo "fuzz: $t: ${runs:-stopped at once}, ${cov:-no coverage line}: CRASH (${crash:-see $log})"
		failed=1
	fi
done
exit $failed
