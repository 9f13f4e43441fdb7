# Helpers for the TLS tests (t-65 .. t-67); sources synclib.sh.
#
#   fp_of DIR                  sets FP to DIR's fingerprint ("SHA256:" and 64 hex
#                              digits, from `mmsync id`) and HEX to the hex digits
#   start_server DIR [ARGS...] starts `mmsync -C DIR serve --tls --listen
#                              127.0.0.1:0 ARGS` in the background (with SIGINT and
#                              SIGTERM at their defaults; variables set before the
#                              call, e.g. `MMSYNC_PAUSE=send-data:4000 start_server A`,
#                              reach it), stdout and stderr in files; waits (10 s at
#                              most) for its "listening on 127.0.0.1:PORT" line.
#                              Sets SRV_PID, SRV_PORT, SRV_URL (tls://127.0.0.1:PORT),
#                              SRV_ERR (its stderr file), SRV_DIR.  The test's end
#                              kills it (and its children) if it still runs.
#   stop_server [SIG [PID]]    sends SIG (default TERM) to the server (default: the
#                              last started); fails unless it exits 0 within 5 s
#   kill_server [PID]          kill -9 of the server's children and of the server
#   alive PID                  0 while PID runs (a zombie does not)
#   expect_alive [PID]         fails unless the server still runs
#   wait_exit PID SECS         waits (SECS at most) for our child PID to end; sets
#                              WRC to its exit status (or fails)
#   server_mark                notes how far the server's stderr and log go now
#   server_says TEXT [ERRFILE [DIR]]
#                              waits (5 s at most) until the server's stderr or
#                              DIR/.mmsync/log holds TEXT (case-insensitive) in a line
#                              written after the last server_mark; 1 if never
#   server_text [ERRFILE [DIR]]  the server's stderr and log, for messages
#   in_pause PID               0 when PID or one of its children sleeps in a
#                              failpoint pause (MMSYNC_PAUSE: nanosleep)
#   wait_pause PID [SECS]      waits (default 10 s) until in_pause PID, or fails
#   bg_client NAME CMD...      runs CMD in the background, stdout/stderr in
#                              $T/NAME.out / $T/NAME.err; sets BG_PID; killed at the end
#   snapshot DIR...            a listing of the trees with hashes, inodes and ctimes
#   TREE="python3 .../model_tree.py"

. "$(dirname "${BASH_SOURCE[0]}")/synclib.sh"

_tls_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TREE="python3 $_tls_here/model_tree.py"

_SRV_N=0
_SRV_ALL=
_BG_ALL=
at_exit '_tls_cleanup'
_tls_cleanup() {
	local p
	for p in $_BG_ALL $_SRV_ALL; do
		pkill -9 -P "$p" 2>/dev/null
		kill -9 "$p" 2>/dev/null
	done
	wait $_BG_ALL $_SRV_ALL 2>/dev/null
}

fp_of() {
	local out
	out=$("$MMSYNC" -C "$1" id 2>&1) || fail "'mmsync -C $1 id' failed: $out"
	FP=$(sed -n 's/^fingerprint: //p' <<<"$out")
	[[ $FP =~ ^SHA256:[0-9a-f]{64}$ ]] || fail "'mmsync -C $1 id' gives no fingerprint line 'fingerprint: SHA256:<64 hex>': $out"
	HEX=${FP#SHA256:}
}

alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "${st:0:1}" != Z ]
}

wait_exit() {
	local pid=$1 secs=$2 i
	for ((i = 0; i < secs * 20; i++)); do
		alive "$pid" || break
		sleep 0.05
	done
	alive "$pid" && fail "process $pid ($(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null)) still runs after $secs s"
	{ wait "$pid"; } 2>/dev/null
	WRC=$?
}

start_server() {
	local dir=$1 i
	shift
	_SRV_N=$((_SRV_N + 1))
	SRV_ERR=$T/server$_SRV_N.err
	SRV_DIR=$dir
	: >"$SRV_ERR"
	env --default-signal=INT,TERM "$MMSYNC" -C "$dir" serve --tls --listen 127.0.0.1:0 "$@" \
		>"$T/server$_SRV_N.out" 2>"$SRV_ERR" </dev/null &
	SRV_PID=$!
	_SRV_ALL="$_SRV_ALL $SRV_PID"
	SRV_PORT=
	for ((i = 0; i < 200; i++)); do
		SRV_PORT=$(grep -o 'listening on 127\.0\.0\.1:[0-9][0-9]*' "$SRV_ERR" | head -n 1 | sed 's/.*://')
		[ -n "$SRV_PORT" ] && break
		alive "$SRV_PID" || break
		sleep 0.05
	done
	[ -n "$SRV_PORT" ] || fail "'mmsync -C $dir serve --tls --listen 127.0.0.1:0 $*' did not say 'listening on 127.0.0.1:PORT' within 10 s (running: $(alive "$SRV_PID" && echo yes || echo no)); stderr:
$(cat -v "$SRV_ERR")"
	[ "$SRV_PORT" -gt 0 ] || fail "the server says it listens on port $SRV_PORT"
	SRV_URL=tls://127.0.0.1:$SRV_PORT
	_MARK_ERR=0 _MARK_LOG=0
	alive "$SRV_PID" || fail "the server ended right after saying it listens: $(cat -v "$SRV_ERR")"
}

stop_server() {
	local sig=${1:-TERM} pid=${2:-$SRV_PID}
	alive "$pid" || fail "the server $pid is not running any more; stderr: $(cat -v "$SRV_ERR")"
	kill -"$sig" "$pid"
	wait_exit "$pid" 5
	[ "$WRC" = 0 ] || fail "the server exited $WRC on SIG$sig, want 0; stderr: $(cat -v "$SRV_ERR")"
}

kill_server() {
	local pid=${1:-$SRV_PID}
	kill -STOP "$pid" 2>/dev/null
	pkill -9 -P "$pid" 2>/dev/null
	kill -9 "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	return 0
}

expect_alive() {
	alive "${1:-$SRV_PID}" || fail "the server stopped (it should keep serving); stderr: $(cat -v "$SRV_ERR")"
}

server_text() {
	local err=${1:-$SRV_ERR} dir=${2:-$SRV_DIR}
	printf -- '--- server stderr:\n%s\n--- %s/.mmsync/log:\n%s\n' "$(cat -v "$err" 2>/dev/null)" "$dir" \
		"$(tail -n 30 "$dir/.mmsync/log" 2>/dev/null | cat -v)"
}

server_mark() {
	_MARK_ERR=$(wc -l <"$SRV_ERR")
	_MARK_LOG=$(wc -l <"$SRV_DIR/.mmsync/log" 2>/dev/null || echo 0)
}

server_says() {
	local text=$1 err=${2:-$SRV_ERR} dir=${3:-$SRV_DIR}
	wait_until "{ tail -n +$((${_MARK_ERR:-0} + 1)) '$err'; tail -n +$((${_MARK_LOG:-0} + 1)) '$dir/.mmsync/log'; } 2>/dev/null | grep -qiF -- '$text'"
}

in_pause() {
	local p t
	for p in "$1" $(pgrep -P "$1"); do
		for t in /proc/"$p"/task/*/wchan; do
			grep -q nanosleep "$t" 2>/dev/null && return 0
		done
	done
	return 1
}

wait_pause() {
	local pid=$1 secs=${2:-10} i
	for ((i = 0; i < secs * 20; i++)); do
		in_pause "$pid" && return 0
		alive "$pid" || fail "process $pid ended before reaching its pause"
		sleep 0.05
	done
	fail "process $pid did not reach its pause (MMSYNC_PAUSE) within $secs s"
}

bg_client() {
	local name=$1
	shift
	"$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null &
	BG_PID=$!
	_BG_ALL="$_BG_ALL $BG_PID"
}

