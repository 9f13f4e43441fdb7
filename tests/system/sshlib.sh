# Helpers for the ssh tests (t-60 ..); sourced after lib.sh (or synclib.sh).
#
#   start_sshd             starts a throw-away sshd on 127.0.0.1 (tests/sshd-start),
#                          in a directory outside $T, stopped and removed when the
#                          test ends; fails the test when it cannot start.  Sets
#                          SSHD_DIR, SSH_PORT, SSH_CMD ('ssh -F DIR/ssh_config': the
#                          command for --ssh / MMSYNC_SSH, with no port), SSH_USER
#                          (the user running the test: the server takes only it),
#                          SSH_OPTS (an array: --ssh "$SSH_CMD" --remote-mmsync "$MMSYNC")
#   ssh_url PATH           prints ssh://USER@127.0.0.1:PORT/PATH (PATH absolute)
#   closed_port            prints a port of 127.0.0.1 that nothing listens on
#   ssh_cmd_wrong_key      sets SSH_CMD_BADKEY: like SSH_CMD, with a key the server
#                          does not accept
#   remote_home_scratch    makes a scratch directory in the remote user's home
#                          (removed at the end); sets RHOME (the home), RHOME_REL
#                          (the scratch directory relative to it) and RHOME_ABS
#   script NAME BODY       writes an executable /bin/sh script NAME (BODY after the
#                          #! line) outside $T, and prints its path

_SSHLIB_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SSHD_START=$_SSHLIB_HERE/../sshd-start

start_sshd() {
	local out
	SSHD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mmsync-sshd.XXXXXX") || fail "mktemp failed"
	at_exit "'$SSHD_START' --stop '$SSHD_DIR'; rm -rf '$SSHD_DIR'"
	out=$("$SSHD_START" "$SSHD_DIR" 2>"$_LIB_TMP/sshd-start.err") ||
		fail "cannot start sshd (tests/sshd-start $SSHD_DIR; install openssh-server):
$(cat "$_LIB_TMP/sshd-start.err")"
	eval "$out"
	[ -n "${SSH_PORT:-}" ] && [ -n "${SSH_CMD:-}" ] || fail "tests/sshd-start printed '$out'"
	SSH_USER=$(id -un)
	SSH_OPTS=(--ssh "$SSH_CMD" --remote-mmsync "$MMSYNC")
	export SSHD_DIR SSH_PORT SSH_CMD SSH_USER
}

ssh_url() {
	case $1 in
	/*) printf 'ssh://%s@127.0.0.1:%s%s\n' "$SSH_USER" "$SSH_PORT" "$1" ;;
	*) fail "ssh_url: '$1' is not absolute" ;;
	esac
}

closed_port() {
	python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

ssh_cmd_wrong_key() {
	[ -f "$SSHD_DIR/other_key" ] ||
		ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/other_key" </dev/null >/dev/null ||
		fail "ssh-keygen failed"
	sed "s|^\([[:space:]]*IdentityFile \).*|\1$SSHD_DIR/other_key|" "$SSHD_DIR/ssh_config" >"$SSHD_DIR/ssh_config_badkey"
	grep -q "IdentityFile $SSHD_DIR/other_key" "$SSHD_DIR/ssh_config_badkey" || fail "could not write ssh_config_badkey"
	SSH_CMD_BADKEY="ssh -F $SSHD_DIR/ssh_config_badkey"
}

remote_home_scratch() {
	RHOME=$(getent passwd "$SSH_USER" | cut -d: -f6)
	[ -n "$RHOME" ] && [ -d "$RHOME" ] || fail "no home directory for $SSH_USER"
	RHOME_ABS=$(mktemp -d "$RHOME/.mmsync-test.XXXXXX") || fail "cannot make a directory in $RHOME"
	at_exit "rm -rf '$RHOME_ABS'"
	RHOME_REL=${RHOME_ABS#"$RHOME"/}
}

# script NAME BODY: an executable /bin/sh script NAME in a directory outside
# the replicas (removed with the test's outputs); prints its path.
script() {
	mkdir -p "$_LIB_TMP/bin"
	printf '#!/bin/sh\n%s\n' "$2" >"$_LIB_TMP/bin/$1"
	chmod +x "$_LIB_TMP/bin/$1"
	printf '%s\n' "$_LIB_TMP/bin/$1"
}
