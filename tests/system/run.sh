#!/bin/sh
# mmsync's system tests: runs every t-*.sh of this directory in order (or
# only those whose name matches the shell pattern *PATTERN*, e.g. "scan" or
# "0[1-3]") against the binary named by $MMSYNC (default: ../../mmsync from
# here), each with bash in its own fresh temporary directory.  Several
# PATTERNs run the tests that match any of them.  Exit 0 passes
# a test; a failing test's output is shown.
# Ends with one line "system: N passed, N failed" and exits 1 if any failed.
#
# usage: [MMSYNC=/path/to/mmsync] sh tests/system/run.sh [PATTERN...]
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
patterns=("$@")
[ ${#patterns[@]} -gt 0 ] || patterns=("")

if [ -z "${MMSYNC:-}" ]; then
	MMSYNC=$here/../../mmsync
fi
case $MMSYNC in /*) ;; *) MMSYNC=$PWD/$MMSYNC ;; esac
if [ ! -x "$MMSYNC" ]; then
	echo "run.sh: MMSYNC='$MMSYNC' is not an executable (build it with 'make mmsync')" >&2
	echo "system: 0 passed, 1 failed"
	exit 1
fi
MMSYNC=$(cd "$(dirname "$MMSYNC")" && pwd)/$(basename "$MMSYNC")
export MMSYNC

# A test that hangs is stopped after this many seconds and fails.
per_test_timeout=${MMSYNC_TEST_TIMEOUT:-60}
timeout=$(command -v timeout)

passed=0
failed=0
failed_names=
log=$(mktemp "${TMPDIR:-/tmp}/mmsync-system-log.XXXXXX")
trap 'rm -f "$log"' EXIT
trap 'exit 130' INT TERM

for t in "$here"/t-*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	match=
	for p in "${patterns[@]}"; do
		case $name in *$p*) match=1 ;; esac
	done
	[ -n "$match" ] || continue
	work=$(mktemp -d "${TMPDIR:-/tmp}/mmsync-$name.XXXXXX")
	start=$(date +%s.%N)
	if [ -n "$timeout" ]; then
		(cd "$work" && exec timeout -k 5 "$per_test_timeout" bash "$t") </dev/null >"$log" 2>&1
	else
		(cd "$work" && exec bash "$t") </dev/null >"$log" 2>&1
	fi
	rc=$?
	secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
	# Tests may leave unreadable or foreign-owned files behind.
	chmod -R u+rwx "$work" 2>/dev/null
	rm -rf "$work"
	if [ "$rc" = 0 ]; then
		passed=$((passed + 1))
		echo "ok   $name (${secs}s)"
		grep '^SKIP: ' "$log" | sed 's/^/     /'
	else
		failed=$((failed + 1))
		failed_names="$failed_names $name"
		[ "$rc" = 124 ] && echo "     (stopped after ${per_test_timeout}s)" >>"$log"
		echo "FAIL $name (exit $rc, ${secs}s)"
		sed 's/^/     | /' "$log"
	fi
done

[ "$failed" = 0 ] || echo "failed:$failed_names"
echo "system: $passed passed, $failed failed"
[ "$failed" = 0 ]
