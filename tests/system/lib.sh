# Helpers for mmsync's system tests; sourced by every t-*.sh (run with bash).
#
# The runner (run.sh) starts each test in a fresh, empty temporary directory
# with MMSYNC set to the absolute path of the binary under test.  A test
# fails by exiting non-zero; `fail` does that with a message.
#
#   mm ARGS...                 runs "$MMSYNC" ARGS...
#   in_dir DIR CMD...          runs CMD in DIR
#   run CMD...                 runs CMD: stdout in file $OUT, stderr in $ERR, status in $RC
#   expect_rc N CMD...         run, then fail (showing both outputs) unless the status is N
#   expect_out_contains TEXT   / expect_err_contains / expect_out_lacks / expect_err_lacks
#   expect_out_line LINE       stdout has exactly this line
#   expect_out_empty / expect_err_empty
#   expect_contains FILE TEXT  / expect_lacks FILE TEXT
#   expect_eq GOT WANT MSG
#   expect_scan <<EOF          `mm -v scan` exits 0 and reports exactly these changes
#   json_val EXPR              sets JV to a python expression on `j`, the JSON in $OUT
#   at_exit CMD                runs the shell command CMD when the test ends
#   skip MSG                   notes that part of a test could not run (shown by run.sh)
#   on_tmpfs NAME [SUBDIR]     goes on in a fresh directory on /dev/shm (returns 1 if none)
#   holders [ROOT]             pids holding ROOT's (default .) .mmsync/lock
#   hold_lock [ROOT]           a background process ($HOLDER) holds ROOT's lock

set -u
export LC_ALL=C
unset MMSYNC_SSH
if [ -z "${MMSYNC:-}" ]; then
	MMSYNC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/test/mmsync
fi
case $MMSYNC in /*) ;; *) MMSYNC=$PWD/$MMSYNC ;; esac
export MMSYNC
[ -x "$MMSYNC" ] || { echo "FAIL: MMSYNC='$MMSYNC' is not an executable" >&2; exit 1; }

# Where the test started: its own scratch directory.
T=$PWD
# Captured outputs live outside the scratch directory, so that they never
# land inside a replica under test.
_LIB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mmsync-lib.XXXXXX")
OUT=$_LIB_TMP/out
ERR=$_LIB_TMP/err
RC=0
: >"$OUT"
: >"$ERR"

_LIB_CLEANUPS=()
at_exit() { _LIB_CLEANUPS+=("$1"); }
_LIB_FAILED=0
_lib_exit() {
	local rc=$? i
	[ "$rc" != 0 ] || [ "$_LIB_FAILED" = 0 ] || rc=1
	for ((i = ${#_LIB_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${_LIB_CLEANUPS[i]}" >/dev/null 2>&1
	done
	rm -rf "$_LIB_TMP"
	exit $rc
}
trap _lib_exit EXIT
trap 'exit 130' INT TERM

fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

# Reports a failure but goes on with the test, which will fail at its end.
fail_later() {
	printf 'FAIL: %s\n' "$*" >&2
	_LIB_FAILED=1
}

skip() {
	printf 'SKIP: %s\n' "$*" >&2
}

mm() { "$MMSYNC" "$@"; }

# in_dir DIR CMD...: runs CMD in DIR (in a subshell), e.g. `expect_rc 0 in_dir sub mm id`.
in_dir() (
	cd "$1" || exit 99
	shift
	"$@"
)

run() {
	"$@" >"$OUT" 2>"$ERR"
	RC=$?
	return 0
}

# Shows the command and what it printed, for failure messages.
_shown() {
	printf '%s\n--- exit: %s\n--- stdout:\n%s\n--- stderr:\n%s' "$1" "$RC" "$(cat -v "$OUT")" "$(cat -v "$ERR")"
}

_LAST_CMD=
expect_rc() {
	local want=$1
	shift
	_LAST_CMD="$*"
	run "$@"
	[ "$RC" = "$want" ] || fail "$(_shown "'$*': expected exit $want, got $RC")"
}

expect_out_contains() {
	grep -qF -- "$1" "$OUT" || fail "$(_shown "'$_LAST_CMD': stdout lacks '$1'")"
}
expect_err_contains() {
	grep -qF -- "$1" "$ERR" || fail "$(_shown "'$_LAST_CMD': stderr lacks '$1'")"
}
expect_out_lacks() {
	! grep -qF -- "$1" "$OUT" || fail "$(_shown "'$_LAST_CMD': stdout should not hold '$1'")"
}
expect_err_lacks() {
	! grep -qF -- "$1" "$ERR" || fail "$(_shown "'$_LAST_CMD': stderr should not hold '$1'")"
}
expect_out_line() {
	grep -qxF -- "$1" "$OUT" || fail "$(_shown "'$_LAST_CMD': stdout lacks the line '$1'")"
}
expect_out_empty() {
	[ ! -s "$OUT" ] || fail "$(_shown "'$_LAST_CMD': stdout should be empty")"
}
expect_err_empty() {
	[ ! -s "$ERR" ] || fail "$(_shown "'$_LAST_CMD': stderr should be empty")"
}

expect_contains() {
	[ -e "$1" ] || fail "$1 does not exist"
	grep -qF -- "$2" "$1" || fail "$1 lacks '$2'; it holds:
$(cat -v "$1")"
}
expect_lacks() {
	[ -e "$1" ] || return 0
	! grep -qF -- "$2" "$1" || fail "$1 should not hold '$2'; it holds:
$(cat -v "$1")"
}

expect_eq() {
	[ "$1" = "$2" ] || fail "${3:-values differ}: got '$1', want '$2'"
}

# The change lines of a `mm -v scan` output in $OUT, as "KIND PATH", sorted.
scan_changes() {
	# The kind is padded to 9 columns, then one space: "added     PATH".
	grep -E '^(added|modified|deleted) ' "$OUT" |
		sed -e 's/^added     /added /' -e 's/^modified  /modified /' -e 's/^deleted   /deleted /' | sort
}

# expect_scan [MM_ARGS...] <<EOF: runs `mm MM_ARGS -v scan`, which must exit 0
# and report exactly the changes on stdin ("KIND PATH" lines, in any order;
# none for an empty stdin), with a summary line whose counts agree.
expect_scan() {
	local want got n_add n_mod n_del
	want=$(sed '/^$/d' | sort)
	expect_rc 0 mm "$@" -v scan
	got=$(scan_changes)
	[ "$got" = "$want" ] || fail "$(_shown "'mm $* -v scan' reported other changes than expected.
--- want:
$want
--- got:
$got")"
	n_add=$(grep -c '^added ' <<<"$want")
	n_mod=$(grep -c '^modified ' <<<"$want")
	n_del=$(grep -c '^deleted ' <<<"$want")
	grep -qE "^scanned [0-9]+ files, [0-9]+ directories, [0-9]+ links: $n_add added, $n_mod modified, $n_del deleted\$" "$OUT" ||
		fail "$(_shown "'mm $* -v scan': summary line does not say $n_add added, $n_mod modified, $n_del deleted")"
}

# json_val EXPR: sets JV to the python expression EXPR evaluated with `j`
# bound to the JSON document in $OUT (dicts and lists as compact JSON,
# booleans as true/false, strings as their bytes); fails when $OUT is not
# exactly one JSON value or EXPR does not apply.
json_val() {
	JV=$(python3 - "$OUT" "$1" <<'PY'
import json, sys
sys.stdout.reconfigure(errors="surrogateescape")
with open(sys.argv[1], "rb") as f:
    j = json.loads(f.read().decode("utf-8"))
v = eval(sys.argv[2])
if isinstance(v, bool):
    print("true" if v else "false")
elif isinstance(v, (dict, list)):
    print(json.dumps(v, sort_keys=True))
else:
    print(v)
PY
) || fail "$(_shown "'$_LAST_CMD': stdout is not the JSON expected (python: $1)")"
}

# Polls (up to ~5 s) until the shell command CMD succeeds.
wait_until() {
	local i
	for ((i = 0; i < 100; i++)); do
		eval "$1" && return 0
		sleep 0.05
	done
	return 1
}

# A user that is not root, to test permissions (root reads anything).
# Sets AS_USER to a command prefix and returns 0, or returns 1.
find_unprivileged() {
	AS_USER=
	if [ "$(id -u)" != 0 ]; then
		AS_USER=" "
		return 0
	fi
	id nobody >/dev/null 2>&1 || return 1
	local grp
	grp=$(id -gn nobody 2>/dev/null) || return 1
	if command -v setpriv >/dev/null 2>&1 &&
		setpriv --reuid=nobody --regid="$grp" --clear-groups true 2>/dev/null; then
		AS_USER="setpriv --reuid=nobody --regid=$grp --clear-groups"
		return 0
	fi
	if command -v runuser >/dev/null 2>&1 && runuser -u nobody -- true 2>/dev/null; then
		AS_USER="runuser -u nobody --"
		return 0
	fi
	return 1
}

# on_tmpfs NAME [SUBDIR]: the test goes on in a fresh directory (NAME in its
# name; its SUBDIR when given) on /dev/shm, a tmpfs where syncfs() costs little
# and a process crash leaves what it leaves on a disk; the directory goes
# after every other cleanup.  Returns 1, staying here, when there is none.
on_tmpfs() {
	local dir
	[ -d /dev/shm ] && [ -w /dev/shm ] && dir=$(mktemp -d "/dev/shm/mmsync-$1.XXXXXX" 2>/dev/null) || return 1
	_LIB_CLEANUPS=("rm -rf '$dir'" "${_LIB_CLEANUPS[@]}")
	dir=$dir${2:+/$2}
	mkdir -p "$dir" && cd "$dir" || fail "cannot enter $dir"
}

# holders [ROOT]: the pids that hold a flock on ROOT/.mmsync/lock (default:
# the current directory's), from /proc/locks: looking must not take the lock
# (as a second mmsync's attempt would).
holders() {
	local id
	id=$(stat -c '%i' "${1:-.}/.mmsync/lock") || return 0
	awk -v ino="$id" '$2 == "FLOCK" && $6 ~ (":" ino "$") { print $5 }' /proc/locks
}

# hold_lock [ROOT]: a background process ($HOLDER; one process, so that
# kill -9 $HOLDER frees the lock) holds ROOT's lock, as
# `flock ROOT/.mmsync/lock sleep 30` would.
hold_lock() {
	local root=${1:-.}
	(
		exec 9>>"$root/.mmsync/lock"
		flock 9 || exit 1
		exec sleep 30
	) &
	HOLDER=$!
	wait_until '[ -n "$(holders '"'$root'"')" ]' || fail "could not take the lock of '$root'"
}
