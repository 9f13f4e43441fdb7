# Peers over ssh (a real sshd on 127.0.0.1): pull, push, sync and clone with
# ssh://USER@HOST:PORT/PATH, USER@HOST:PATH (absolute, and relative to the
# remote home) and ssh://HOST/~/PATH; --ssh CMD (split like a shell would) or
# MMSYNC_SSH; the ssh command gets -p / -l from the URL and -o BatchMode=yes;
# merges and conflicts work as with a local peer; the remote's stderr reaches
# the user; the stream is compressed on ssh (bytes_out / bytes_in of --json
# well below the content) but not with a local peer.
. "$(dirname "$0")/synclib.sh"
. "$(dirname "$0")/sshlib.sh"

start_sshd
mkrep A B

# a bit of everything
mkdir -p A/sub/deeper A/empty
printf 'one\n' >A/one
printf 'base line 1\nbase line 2\nbase line 3\nbase line 4\nbase line 5\n' >A/text.txt
bin_content bin >A/sub/deeper/bin
chmod 0600 A/sub/deeper/bin
ln -s sub/deeper A/link
touch -d '2020-02-02 02:02:02.2' A/one
printf 'on B\n' >B/fromb

URL_B=$(ssh_url "$T/B")
expect_rc 0 mm -C A sync "${SSH_OPTS[@]}" "$URL_B"
same_trees A B
[ "$(cat A/fromb)" = 'on B' ] && [ "$(cat B/one)" = one ] || fail "sync over ssh did not carry both ways"

# pull and push, each one way only
printf 'edited on B\n' >B/one
printf 'new on B\n' >B/sub/newb
rm A/fromb
printf 'new on A\n' >A/newa
expect_rc 0 mm -C A pull "${SSH_OPTS[@]}" "$URL_B"
[ "$(cat A/one)" = 'edited on B' ] && [ -f A/sub/newb ] || fail "pull over ssh did not bring B's changes"
[ -f B/fromb ] && [ ! -e B/newa ] || fail "pull over ssh changed B"
expect_rc 0 mm -C A push "${SSH_OPTS[@]}" "$URL_B"
[ ! -e B/fromb ] && [ "$(cat B/newa)" = 'new on A' ] || fail "push over ssh did not send A's changes"
same_trees A B

# MMSYNC_SSH instead of --ssh; options after the peer too
printf 'via env\n' >A/env
MMSYNC_SSH=$SSH_CMD expect_rc 0 mm -C A sync "$URL_B" --remote-mmsync "$MMSYNC"
[ "$(cat B/env)" = 'via env' ] || fail "sync with MMSYNC_SSH did not carry A/env"

# concurrent edits of different lines of a text file: merged over ssh, no conflict
sed -i 's/base line 1/line 1 from A/' A/text.txt
sed -i 's/base line 5/line 5 from B/' B/text.txt
expect_rc 0 mm -C A -v sync "${SSH_OPTS[@]}" "$URL_B"
expect_out_contains merged
for r in A B; do
	grep -qx 'line 1 from A' $r/text.txt && grep -qx 'line 5 from B' $r/text.txt ||
		fail "$r/text.txt is not the merge of both edits: $(cat $r/text.txt)"
done
same_trees A B
[ -z "$(conflict_copies A)" ] || fail "a clean merge over ssh left conflict copies"

# binary conflict: both kept, on both sides, exit 1
bin_content A >A/c.bin
touch -d '2021-01-01 UTC' A/c.bin
bin_content B >B/c.bin
touch -d '2020-01-01 UTC' B/c.bin
expect_rc 1 mm -C A sync "${SSH_OPTS[@]}" "$URL_B"
copy=$(stamp_name c.bin '2020-01-01 UTC' B)
[ "$(conflict_copies A)" = "$copy" ] || fail "conflict over ssh: copies in A are '$(conflict_copies A)', want '$copy'"
same_trees A B
cmp -s A/c.bin <(bin_content A) && cmp -s A/"$copy" <(bin_content B) || fail "conflict over ssh: wrong contents"
expect_rc 0 mm -C A conflicts resolve c.bin --ours
expect_rc 0 mm -C A sync "${SSH_OPTS[@]}" "$URL_B"
same_trees A B
expect_rc 0 mm -C B conflicts

# --ssh is split like a shell would: quoted words stay one argument.  The
# wrapper records its arguments, one a line, then runs ssh without --tag X.
LOGSSH=$(script logssh '
log=$1; shift
for a in "$@"; do printf "%s\n" "$a"; done >"$log"
[ "$1" = --tag ] && shift 2
exec ssh "$@"')
ARGS=$_LIB_TMP/ssh-args
printf 'args\n' >A/args
expect_rc 0 mm -C A push --ssh "$LOGSSH $ARGS --tag 'two words' -F $SSHD_DIR/ssh_config" \
	--remote-mmsync "$MMSYNC" "$URL_B"
[ "$(cat B/args 2>/dev/null)" = args ] || fail "push through a wrapping --ssh did not carry A/args"
[ "$(sed -n 2p "$ARGS")" = 'two words' ] || fail "--ssh was not split like a shell would: arguments
$(cat "$ARGS")"
# -p PORT and -l USER from the URL, BatchMode (stdin is not a terminal here)
grep -qx -- '-p' "$ARGS" && grep -qx -- "$SSH_PORT" "$ARGS" || fail "ssh did not get -p $SSH_PORT: $(cat "$ARGS")"
grep -qx -- '-l' "$ARGS" && grep -qx -- "$SSH_USER" "$ARGS" || fail "ssh did not get -l $SSH_USER: $(cat "$ARGS")"
grep -qx -- 'BatchMode=yes' "$ARGS" || grep -qx -- '-oBatchMode=yes' "$ARGS" ||
	fail "ssh did not get -o BatchMode=yes: $(cat "$ARGS")"
grep -q -- 'serve --stdio' "$ARGS" || grep -qx -- '--stdio' "$ARGS" || fail "no 'serve --stdio' in the remote command: $(cat "$ARGS")"
grep -qF -- "$MMSYNC" "$ARGS" || fail "the remote command does not run --remote-mmsync: $(cat "$ARGS")"
# without -l when the URL names no user
rm -f "$ARGS"
expect_rc 0 mm -C A sync --ssh "$LOGSSH $ARGS -F $SSHD_DIR/ssh_config" --remote-mmsync "$MMSYNC" \
	"ssh://127.0.0.1:$SSH_PORT$T/B"
! grep -qx -- '-l' "$ARGS" || fail "ssh got -l for a URL without a user: $(cat "$ARGS")"

# the remote's stderr reaches the user: a remote program that talks, and a
# warning of the remote side (a fifo it does not sync)
TALK=$(script talk "echo 'remote-says-hello' >&2; exec '$MMSYNC' \"\$@\"")
expect_rc 0 mm -C A sync --ssh "$SSH_CMD" --remote-mmsync "$TALK" "$URL_B"
expect_err_contains remote-says-hello
mkfifo B/fifo
run mm -C A sync "${SSH_OPTS[@]}" "$URL_B"
[ "$RC" = 0 ] || [ "$RC" = 3 ] || fail "$(_shown "sync with a fifo on the remote side: exit $RC")"
expect_err_contains fifo
rm B/fifo

# scp-like URLs: USER@HOST:/abs (the port comes from the ssh config), and
# HOST:PATH relative to the remote home; ssh://HOST/~/PATH too
printf 'scp-like\n' >A/scp
expect_rc 0 mm -C A sync "${SSH_OPTS[@]}" "$SSH_USER@127.0.0.1:$T/B"
[ "$(cat B/scp)" = scp-like ] || fail "sync with USER@HOST:/PATH did not carry A/scp"
same_trees A B
remote_home_scratch
expect_rc 0 mm clone "${SSH_OPTS[@]}" "$URL_B" "$RHOME_ABS/H" --name H
same_trees A "$RHOME_ABS/H"
printf 'home relative\n' >A/home
expect_rc 0 mm -C A push "${SSH_OPTS[@]}" "127.0.0.1:$RHOME_REL/H"
[ "$(cat "$RHOME_ABS/H/home" 2>/dev/null)" = 'home relative' ] || fail "push to HOST:RELATIVE did not land under the remote home"
printf 'tilde\n' >A/tilde
expect_rc 0 mm -C A push "${SSH_OPTS[@]}" "ssh://$SSH_USER@127.0.0.1:$SSH_PORT/~/$RHOME_REL/H"
[ "$(cat "$RHOME_ABS/H/tilde" 2>/dev/null)" = tilde ] || fail "push to ssh://HOST/~/PATH did not land under the remote home"
expect_rc 0 mm -C A sync "${SSH_OPTS[@]}" "$URL_B"
same_trees A B "$RHOME_ABS/H"

# clone over ssh: a full replica, changes flow both ways
expect_rc 0 mm clone "${SSH_OPTS[@]}" "$URL_B" D --name D
expect_rc 0 mm -C D sync "${SSH_OPTS[@]}" "$URL_B"
same_trees B D
printf 'from D\n' >D/fromd
expect_rc 0 mm -C D sync "${SSH_OPTS[@]}" "$URL_B"
expect_rc 0 mm -C A sync "${SSH_OPTS[@]}" "$URL_B"
same_trees A B D

# a remote path with a space, a quote and a dollar sign reaches the far side intact
ODD="$T/odd dir's \$x"
expect_rc 0 mm init "$ODD" --name odd
printf 'odd\n' >"$ODD/oddfile"
expect_rc 0 mm -C A sync "${SSH_OPTS[@]}" "$(ssh_url "$ODD")"
same_trees A "$ODD"
printf 'odd2\n' >A/odd2
expect_rc 0 mm -C A push "${SSH_OPTS[@]}" "$SSH_USER@127.0.0.1:$ODD"
same_trees A "$ODD"
expect_rc 0 mm -C A sync "${SSH_OPTS[@]}" "$URL_B"

# compression: 2 MB of highly compressible text over ssh moves far fewer
# bytes; to a local peer (no compression) more than 2 MB
yes 'All work and no play makes Jack a dull boy.' | head -c 2000000 >A/big.txt
cp A/big.txt "$_LIB_TMP/big.txt"
expect_rc 0 mm -C A --json push "${SSH_OPTS[@]}" "$URL_B"
[ "$(jcount)" = 1 ] || fail "$(_shown "push --json: not one JSON object")"
expect_json "peer == '$URL_B'" 'files_out == 1' 'bytes_out < 500000'
cmp -s A/big.txt B/big.txt || fail "B/big.txt differs after the push"
mkrep L
expect_rc 0 mm -C A --json push L
expect_json 'bytes_out > 2000000'
# and the other way: pulled from the ssh peer
yes 'Dull boy, dull boy, dull boy.' | head -c 2000000 >B/big2.txt
expect_rc 0 mm -C A --json pull "${SSH_OPTS[@]}" "$URL_B"
expect_json 'files_in == 1' 'bytes_in < 500000'
cmp -s A/big2.txt B/big2.txt || fail "A/big2.txt differs after the pull"
expect_rc 0 mm -C L --json pull A
expect_json 'files_in == 1' 'bytes_in > 2000000'
# incompressible content costs little more than its size
head -c 2000000 /dev/urandom >A/random
expect_rc 0 mm -C A --json push "${SSH_OPTS[@]}" "$URL_B"
expect_json 'files_out == 1' 'bytes_out > 2000000' 'bytes_out < 2100000'
same_trees A B
