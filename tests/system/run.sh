#!/bin/sh
# mmsync's system tests: runs the t-*.sh of this directory (or only those
# whose name matches the shell pattern *PATTERN*, e.g. "scan" or "0[1-3]";
# several PATTERNs run the tests that match any of them) against the binary
# named by $MMSYNC (default: build/test/mmsync, the build with test hooks),
# each with bash in its own fresh temporary directory.
#
# Tests run JOBS at a time (-j JOBS, or $MMSYNC_TEST_JOBS; default: the
# number of processors, at least 2), the slow ones (the list below) first,
# so that the last to finish are short; the few that must have the machine
# to themselves run one at a time after the others.  Each test's lines are
# printed whole when it ends (its seconds, SKIP notes; a failing test's
# whole output).  --quick leaves the slow tests out (make check-quick).
# Exit 0 passes a test.  Ends with one line "system: N passed, N failed"
# and exits 1 if any failed.
#
# usage: [MMSYNC=/path/to/mmsync] sh tests/system/run.sh [-j JOBS] [--quick] [PATTERN...]
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)

# The slowest tests, slowest first (as measured at -j2 on 2 loaded cores,
# 2026-12-08): they start first, so that the last to end are short ones.
slow=(
	t-40 # model: random syncs against a Python model
	t-43 # model: text merges
	t-68 # TLS sessions cut through a proxy
	t-80 # the hostile peer's cases
	t-57 # deltas
	t-83 # an honest session cut at every offset
	t-67 # TLS faults
	t-41 # a crash at every failpoint
	t-42 # kill -9 at random moments
	t-46 # disk full
	t-45 # an I/O error at every write, close, syncfs and commit
	t-82
	t-81
	t-58 # a crash while deltas apply
)
# Tests that must not share the machine, run one at a time after the others.
# None so far: every port is a free one (sshd-start, serve --listen :0, the
# proxy), every directory from mktemp, t-46 mounts beneath its own, and the
# few timed checks have a wide margin.
alone=()

usage() {
	echo "usage: [MMSYNC=BINARY] sh tests/system/run.sh [-j JOBS] [--quick] [PATTERN...]" >&2
	echo "system: 0 passed, 1 failed"
	exit 2
}

jobs=${MMSYNC_TEST_JOBS:-}
quick=
while [ $# -gt 0 ]; do
	case $1 in
	-j) [ $# -ge 2 ] || usage; jobs=$2; shift 2 ;;
	-j*) jobs=${1#-j}; shift ;;
	--quick) quick=1; shift ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
if [ -z "$jobs" ]; then
	jobs=$(nproc 2>/dev/null || echo 2)
	[ "$jobs" -ge 2 ] 2>/dev/null || jobs=2
fi
case $jobs in '' | *[!0-9]* | 0) echo "run.sh: -j '$jobs': want a number of jobs" >&2; usage ;; esac
patterns=("$@")
[ ${#patterns[@]} -gt 0 ] || patterns=("")

if [ -z "${MMSYNC:-}" ]; then
	MMSYNC=$here/../../build/test/mmsync
fi
case $MMSYNC in /*) ;; *) MMSYNC=$PWD/$MMSYNC ;; esac
if [ ! -x "$MMSYNC" ]; then
	echo "run.sh: MMSYNC='$MMSYNC' is not an executable (build it with 'make build/test/mmsync')" >&2
	echo "system: 0 passed, 1 failed"
	exit 1
fi
MMSYNC=$(cd "$(dirname "$MMSYNC")" && pwd)/$(basename "$MMSYNC")
export MMSYNC

# A test that hangs is stopped after this many seconds and fails.
per_test_timeout=${MMSYNC_TEST_TIMEOUT:-60}
timeout=$(command -v timeout)

# in_list NAME LIST...: NAME (t-NN-what) is one of the t-NN of LIST
in_list() {
	local n=$1 x
	shift
	for x in "$@"; do
		case $n in "$x" | "$x"-*) return 0 ;; esac
	done
	return 1
}

# The tests to run: the slow ones in their order, then the others by name;
# those that must run alone apart.
first=()
rest=()
solo=()
for t in "$here"/t-*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	match=
	for p in "${patterns[@]}"; do
		case $name in *$p*) match=1 ;; esac
	done
	[ -n "$match" ] || continue
	if in_list "$name" "${slow[@]}"; then
		[ -n "$quick" ] && continue
		first+=("$name")
	elif in_list "$name" "${alone[@]}"; then
		solo+=("$name")
	else
		rest+=("$name")
	fi
done
queue=()
for s in "${slow[@]}"; do
	for n in "${first[@]}"; do
		case $n in "$s" | "$s"-*) in_list "$n" "${alone[@]}" && solo+=("$n") || queue+=("$n") ;; esac
	done
done
queue+=("${rest[@]}")

state=$(mktemp -d "${TMPDIR:-/tmp}/mmsync-system-run.XXXXXX")
# Each job ends by writing its name to this fifo (held open here both ways,
# so that writers never block and reads wait for the next job to end).
mkfifo "$state/done"
exec 3<>"$state/done"
declare -A pid_of=()
running=0
passed=0
failed=0
failed_names=

# start NAME: runs the test in the background; its output goes to
# $state/NAME.log, "RC SECONDS" to $state/NAME.status, then NAME to the fifo.
start() {
	local name=$1
	(
		trap - INT TERM
		work=$(mktemp -d "${TMPDIR:-/tmp}/mmsync-$name.XXXXXX")
		began=$(date +%s.%N)
		if [ -n "$timeout" ]; then
			(cd "$work" && exec timeout -k 5 "$per_test_timeout" bash "$here/$name.sh") </dev/null >"$state/$name.log" 2>&1 &
		else
			(cd "$work" && exec bash "$here/$name.sh") </dev/null >"$state/$name.log" 2>&1 &
		fi
		echo $! >"$state/$name.pid"
		wait $!
		rc=$?
		secs=$(awk -v s="$began" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
		# Tests may leave unreadable or foreign-owned files behind.
		chmod -R u+rwx "$work" 2>/dev/null
		rm -rf "$work"
		echo "$rc $secs" >"$state/$name.status"
		echo "$name" >"$state/done"
	) &
	pid_of[$name]=$!
	running=$((running + 1))
}

# finish: waits for a job to end and prints its lines.
finish() {
	local name rc secs
	read -r name <&3 || return 1
	wait "${pid_of[$name]}" 2>/dev/null
	unset "pid_of[$name]"
	running=$((running - 1))
	read -r rc secs <"$state/$name.status"
	if [ "$rc" = 0 ]; then
		passed=$((passed + 1))
		echo "ok   $name (${secs}s)"
		grep '^SKIP: ' "$state/$name.log" | sed 's/^/     /'
	else
		failed=$((failed + 1))
		failed_names="$failed_names $name"
		[ "$rc" = 124 ] && echo "     (stopped after ${per_test_timeout}s)" >>"$state/$name.log"
		echo "FAIL $name (exit $rc, ${secs}s)"
		sed 's/^/     | /' "$state/$name.log"
	fi
	rm -f "$state/$name".*
}

# On INT or TERM: stop the running tests (each timeout passes the signal on)
# and wait for their jobs to remove their directories.
stop_all() {
	local n p
	trap '' INT TERM
	for n in "${!pid_of[@]}"; do
		p=$(cat "$state/$n.pid" 2>/dev/null) && kill -TERM "$p" 2>/dev/null
	done
	wait
	exit 130
}
trap 'rm -rf "$state"' EXIT
trap stop_all INT TERM

# run_queue JOBS NAME...: runs the tests, JOBS at a time, in this order
run_queue() {
	local max=$1 name
	shift
	for name in "$@"; do
		while [ "$running" -ge "$max" ]; do finish || break; done
		start "$name"
	done
	while [ "$running" -gt 0 ]; do finish || break; done
}

total=$((${#queue[@]} + ${#solo[@]}))
[ "$total" -gt 1 ] && echo "run.sh: $total tests, up to $jobs at a time${solo[*]:+ (${solo[*]} alone, at the end)}"
run_queue "$jobs" "${queue[@]}"
[ ${#solo[@]} -eq 0 ] || run_queue 1 "${solo[@]}"

# shellcheck disable=SC2086
[ "$failed" = 0 ] || echo "failed: $(printf '%s\n' $failed_names | sort | tr '\n' ' ' | sed 's/ $//')"
echo "system: $passed passed, $failed failed"
[ "$failed" = 0 ]
