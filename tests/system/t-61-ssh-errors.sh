# ssh peers that fail: a host that cannot be reached, authentication refused,
# no mmsync on the far side, a remote path that is no replica (or missing), a
# host key that does not match: pull, push, sync and clone exit 3 with a
# clear message, print nothing on stdout, and change nothing on either side;
# a clone leaves no replica behind.  Afterwards the same peer still syncs.
. "$(dirname "$0")/synclib.sh"
. "$(dirname "$0")/sshlib.sh"

start_sshd
mkrep A B
URL_B=$(ssh_url "$T/B")
printf 'a\n' >A/a
printf 'b\n' >B/b
expect_rc 0 mm -C A sync "${SSH_OPTS[@]}" "$URL_B"
same_trees A B
# changes on both sides that a sync would carry
printf 'a2\n' >A/a
printf 'new on A\n' >A/newa
rm B/b
printf 'new on B\n' >B/newb
mkdir notrep
printf 'x\n' >notrep/x

before=$(snapshot A B notrep)

# want_fail TEXT CMD...: CMD exits 3, says TEXT on stderr, nothing on stdout,
# changes nothing; the test goes on after a mismatch and fails at its end.
want_fail() {
	local text=$1
	shift
	_LAST_CMD="$*"
	run "$@"
	[ "$RC" = 3 ] || fail_later "$(_shown "'$*': expected exit 3, got $RC")"
	grep -qiF -- "$text" "$ERR" || fail_later "$(_shown "'$*': stderr lacks '$text'")"
	[ ! -s "$OUT" ] || fail_later "$(_shown "'$*': stdout should be empty")"
	unchanged A B notrep
}

# want_clone_fail TEXT ARGS... URL: `clone ARGS URL DIR` fails like want_fail
# and leaves no replica in DIR
N=0
want_clone_fail() {
	local text=$1
	shift
	N=$((N + 1))
	want_fail "$text" mm clone "$@" "$T/clone$N" --name "C$N"
	[ ! -e "$T/clone$N/.mmsync" ] || fail_later "a failed clone left a replica in clone$N"
}

# a host that cannot be reached: a closed port
CLOSED=$(closed_port)
URL_CLOSED="ssh://$SSH_USER@127.0.0.1:$CLOSED$T/B"
for cmd in pull push sync; do
	want_fail 'cannot reach' mm -C A $cmd "${SSH_OPTS[@]}" "$URL_CLOSED"
done
want_clone_fail 'cannot reach' "${SSH_OPTS[@]}" "$URL_CLOSED"

# authentication refused: a key the server does not know
ssh_cmd_wrong_key
for cmd in pull push sync; do
	want_fail 'authentication refused' mm -C A $cmd --ssh "$SSH_CMD_BADKEY" --remote-mmsync "$MMSYNC" "$URL_B"
done
want_clone_fail 'authentication refused' --ssh "$SSH_CMD_BADKEY" --remote-mmsync "$MMSYNC" "$URL_B"
# ... also through MMSYNC_SSH, with the scp-like form
MMSYNC_SSH=$SSH_CMD_BADKEY want_fail 'authentication refused' mm -C A sync --remote-mmsync "$MMSYNC" "$SSH_USER@127.0.0.1:$T/B"

# no mmsync on the far side
for cmd in pull push sync; do
	want_fail 'no mmsync' mm -C A $cmd --ssh "$SSH_CMD" --remote-mmsync /nonexistent/mmsync "$URL_B"
done
want_clone_fail 'no mmsync' --ssh "$SSH_CMD" --remote-mmsync /nonexistent/mmsync "$URL_B"

# the remote path is no replica, or does not exist: the message names it
for p in "$T/notrep" "$T/missing"; do
	for cmd in pull push sync; do
		want_fail "$p" mm -C A $cmd "${SSH_OPTS[@]}" "$(ssh_url "$p")"
	done
	want_clone_fail "$p" "${SSH_OPTS[@]}" "$(ssh_url "$p")"
done
[ ! -e missing ] || fail "a failed sync created the remote directory"
[ ! -e notrep/.mmsync ] || fail "a failed sync made the remote directory a replica"

# a host key that does not match the known one: refused (ssh says why)
sed "s|^\([[:space:]]*UserKnownHostsFile \).*|\1$SSHD_DIR/known_hosts_wrong|" "$SSHD_DIR/ssh_config" >"$SSHD_DIR/ssh_config_wronghost"
ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/wrong_host_key" </dev/null >/dev/null || fail "ssh-keygen failed"
printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1,2 "$SSHD_DIR/wrong_host_key.pub")" >"$SSHD_DIR/known_hosts_wrong"
run mm -C A sync --ssh "ssh -F $SSHD_DIR/ssh_config_wronghost" --remote-mmsync "$MMSYNC" "$URL_B"
[ "$RC" = 3 ] || fail_later "$(_shown "sync with a host key that does not match: expected exit 3, got $RC")"
[ -s "$ERR" ] || fail_later "a host key that does not match gave no message"
unchanged A B notrep

# an ssh command that does not exist
run mm -C A sync --ssh /nonexistent/ssh --remote-mmsync "$MMSYNC" "$URL_B"
[ "$RC" = 3 ] || [ "$RC" = 2 ] || fail_later "$(_shown "sync with --ssh /nonexistent/ssh: expected exit 3 (or 2), got $RC")"
grep -qF /nonexistent/ssh "$ERR" || fail_later "$(_shown "sync with --ssh /nonexistent/ssh: the message does not name it")"
! grep -qi 'no mmsync' "$ERR" || fail_later "$(_shown "sync with --ssh /nonexistent/ssh: blames the remote mmsync, which was never reached")"
unchanged A B notrep

# after all that, the peer syncs as if nothing had happened, with no conflict
[ "$_LIB_FAILED" = 0 ] || fail "see above"
expect_rc 0 mm -C A sync "${SSH_OPTS[@]}" "$URL_B"
same_trees A B
[ "$(cat B/a)" = a2 ] && [ -f B/newa ] && [ -f A/newb ] && [ ! -e A/b ] || fail "the sync after the failures did not carry every change"
[ -z "$(conflict_copies A)" ] || fail "conflict copies after the failures: $(conflict_copies A)"

# --- the connection breaks mid-sync
head -c 3000000 /dev/urandom >A/big
for i in 1 2 3 4 5 6 7 8 9 10; do printf '%s\n' "$i" >A/small$i; done
# the local side killed while it sends: the far side ends and frees B's lock;
# the next sync completes, with no conflict
(MMSYNC_PAUSE=send-data:10000 exec "$MMSYNC" -C A push "${SSH_OPTS[@]}" "$URL_B") >/dev/null 2>&1 &
BG=$!
at_exit "kill -9 $BG"
wait_until '[ -n "$(holders B)" ]' || fail "the remote serve never took B's lock"
kill -0 $BG 2>/dev/null || fail "the push ended before it could be killed"
sleep 0.5
kill -9 $BG
wait $BG 2>/dev/null
wait_until '[ -z "$(holders B)" ]' || wait_until '[ -z "$(holders B)" ]' ||
	fail "B's lock is still held (pid $(holders B)) 10 s after the client was killed: the remote serve did not end"
expect_rc 0 mm -C A sync "${SSH_OPTS[@]}" "$URL_B"
same_trees A B
[ -z "$(conflict_copies A)" ] || fail "conflict copies after a killed push: $(conflict_copies A)"

# the far side killed while it sends (a pull): exit 3 with a message, and
# the next pull completes, with no conflict
head -c 3000000 /dev/urandom >B/big2
for i in 1 2 3 4 5 6 7 8 9 10; do printf 'b%s\n' "$i" >B/smallb$i; done
PAUSING=$(script pausing "MMSYNC_PAUSE=send-data:10000 exec '$MMSYNC' \"\$@\"")
(exec "$MMSYNC" -C A pull --ssh "$SSH_CMD" --remote-mmsync "$PAUSING" "$URL_B") >"$_LIB_TMP/bg.out" 2>"$_LIB_TMP/bg.err" &
BG=$!
at_exit "kill -9 $BG"
wait_until '[ -n "$(holders B)" ]' || fail "the remote serve never took B's lock"
sleep 0.5
SERVE=$(holders B | head -n 1)
[ -n "$SERVE" ] && grep -q serve "/proc/$SERVE/cmdline" 2>/dev/null || fail "B's lock is not held by a serve process ($SERVE)"
kill -9 "$SERVE"
wait $BG
rc=$?
[ "$rc" = 3 ] || fail "pull whose far side was killed: exit $rc, want 3; stderr: $(cat "$_LIB_TMP/bg.err")"
[ -s "$_LIB_TMP/bg.err" ] || fail "pull whose far side was killed: no message"
expect_rc 0 mm -C A pull "${SSH_OPTS[@]}" "$URL_B"
same_trees A B
[ -z "$(conflict_copies A)" ] || fail "conflict copies after a broken pull: $(conflict_copies A)"

# What the far side writes on stderr is shown, but no escape sequence or
# other control byte of it reaches the terminal.
cat >"$T/noisy-ssh" <<'X'
#!/bin/sh
printf 'banner \033[2J\033]0;owned\007 here\n' >&2
exit 255
X
chmod +x "$T/noisy-ssh"
expect_rc 3 mm -C A pull --ssh "$T/noisy-ssh" host:/x
expect_err_contains "banner ?[2J?]0;owned? here"
! grep -q "$(printf '\033')" "$ERR" || fail "$(_shown "an escape byte from the far side reached the terminal")"
