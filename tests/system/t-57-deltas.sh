# Content deltas: a large file updated at a path the receiver holds moves as a
# librsync delta against its version.  A 20 MiB random file: 50 scattered
# 100-byte overwrites, then 1 KiB inserted near the start, each move far less
# than the file; 100 KiB appended moves about the tail; a small file moves
# whole.  A delta spoiled by its sender (MMSYNC_GARBLE=delta) fails its hash
# check and the file is fetched whole in the same run.  The basis changed on
# the receiving side while the delta is under way corrupts nothing.
. "$(dirname "$0")/synclib.sh"

MIB=1048576
SIZE=$((20 * MIB))

# overwrite FILE COUNT LEN SEED: COUNT random overwrites of LEN bytes, in place
overwrite() {
	python3 - "$@" <<'EOF'
import os, random, sys
path, count, length, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(seed)
size = os.path.getsize(path)
with open(path, "r+b") as f:
    for _ in range(count):
        f.seek(rnd.randrange(0, size - length))
        f.write(rnd.randbytes(length))
EOF
}

# insert FILE AT LEN SEED: LEN random bytes inserted at offset AT
insert() {
	python3 - "$@" <<'EOF'
import random, sys
path, at, length, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
data = open(path, "rb").read()
open(path, "wb").write(data[:at] + random.Random(seed).randbytes(length) + data[at:])
EOF
}

# moved: bytes_in + bytes_out of the JSON summary in $OUT
moved() {
	python3 -c 'import json,sys; j=json.loads(open(sys.argv[1]).read().splitlines()[0]); print(j["bytes_in"] + j["bytes_out"])' "$OUT"
}

# the whole file, then nothing to do
mkrep A B
head -c "$SIZE" /dev/urandom >A/big
head -c 5000 /dev/urandom >A/small
expect_rc 0 mm -C B --json pull A
expect_json 'files_in == 2' "bytes_in > $SIZE"
same_trees A B

# 50 scattered 100-byte overwrites: far less than the file moves
overwrite A/big 50 100 1
expect_rc 0 mm -C B --json pull A
expect_json 'files_in == 1' 'failed == 0' "bytes_in + bytes_out < $MIB"
same_trees A B
echo "overwrites: $(moved) bytes moved"

# the same the other way, by sync: B's edits go to A as a delta
overwrite B/big 50 100 2
expect_rc 0 mm -C A --json sync B
expect_json 'files_in == 1' 'failed == 0' "bytes_in + bytes_out < $MIB"
same_trees A B

# 1 KiB inserted near the start: every later block moved, the rolling checksum finds them
insert A/big 3000 1024 3
expect_rc 0 mm -C B --json pull A
expect_json 'files_in == 1' 'failed == 0' "bytes_in + bytes_out < $MIB"
same_trees A B
echo "insertion: $(moved) bytes moved"

# 100 KiB appended: about the tail moves (plus the signature and framing)
head -c 102400 /dev/urandom >>A/big
expect_rc 0 mm -C B --json pull A
expect_json 'files_in == 1' 'failed == 0' 'bytes_in >= 102400' "bytes_in + bytes_out < 102400 + 400000"
same_trees A B
echo "append: $(moved) bytes moved"

# cut short: the new version is a prefix of the old one
truncate -s $((15 * MIB + 12345)) A/big
expect_rc 0 mm -C B --json pull A
expect_json 'files_in == 1' 'failed == 0' "bytes_in + bytes_out < $MIB"
same_trees A B

# a small file (below DELTA_MIN_SIZE) moves whole, and right
head -c 5000 /dev/urandom >A/small
expect_rc 0 mm -C B --json pull A
expect_json 'files_in == 1' 'failed == 0' 'bytes_in >= 5000'
same_trees A B

# a file that grows from small to large: no delta basis worth it (below DELTA_MIN_SIZE / 4), moves whole
head -c $((2 * MIB)) /dev/urandom >>A/small
expect_rc 0 mm -C B --json pull A
expect_json 'files_in == 1' 'failed == 0' "bytes_in >= 2 * $MIB"
same_trees A B

# a large file made small: right too
truncate -s 1000 A/small
expect_rc 0 mm -C B --json pull A
expect_json 'files_in == 1' 'failed == 0'
same_trees A B

# A delta spoiled by its sender: the child serving A inherits MMSYNC_GARBLE
# from the client.  The patch fails or does not reproduce the hash: the file
# is fetched whole in the same run (exit 0, right content, about the file moved).
overwrite A/big 20 100 4
SIZE_NOW=$(stat -c %s A/big)
MMSYNC_GARBLE=delta expect_rc 0 mm -C B --json pull A
expect_json 'files_in == 1' 'failed == 0' 'ok' "bytes_in > $SIZE_NOW" "bytes_in < 2 * $SIZE_NOW"
same_trees A B
# and nothing is left to do
expect_rc 0 mm -C B --json pull A
expect_json 'files_in == 0' 'failed == 0' "bytes_in + bytes_out < 65536"

# several large files spoiled at once (more than the delta requests outstanding at a time), with a small one between
for i in 1 2 3 4 5 6; do
	head -c $((300 * 1024)) /dev/urandom >"A/m$i"
done
expect_rc 0 mm -C B pull A
for i in 1 2 3 4 5 6; do
	overwrite "A/m$i" 3 50 "1$i"
done
head -c 100 /dev/urandom >A/m3a
MMSYNC_GARBLE=delta expect_rc 0 mm -C B --json pull A
expect_json 'files_in == 7' 'failed == 0'
same_trees A B
# the same without the garbling: small deltas
for i in 1 2 3 4 5 6; do
	overwrite "A/m$i" 3 50 "2$i"
done
expect_rc 0 mm -C B --json pull A
expect_json 'files_in == 6' 'failed == 0' "bytes_in + bytes_out < 6 * 300 * 1024 / 2"
same_trees A B

# garbled by push: the sender is the client itself
overwrite B/big 10 100 5
MMSYNC_GARBLE=delta expect_rc 0 mm -C B --json push A
expect_json 'files_out == 1' 'failed == 0' "bytes_out > $SIZE_NOW"
same_trees A B

# The basis changes on the receiving side while the delta is under way: the
# sender pauses on the small file it serves first (MMSYNC_PAUSE=send-data),
# after the receiver has sent the signature of B/big; B/big is then rewritten
# in place (same size).  The patch reads the changed basis: the result does not
# match, and the edit on B must not be lost nor anything half-patched kept.
overwrite A/big 30 100 6
head -c 3000 /dev/urandom >A/a-first
expect_rc 0 mm -C B pull A
overwrite A/big 30 100 7
head -c 3000 /dev/urandom >A/a-first
at_exit 'kill -9 $(jobs -p) 2>/dev/null; wait'
MMSYNC_PAUSE=send-data:2500 mm -C B --json pull A >"$T/bg.out" 2>"$T/bg.err" &
BG=$!
sleep 1
kill -0 "$BG" 2>/dev/null || fail "the pull ended before its pause: $(cat "$T/bg.err")"
overwrite B/big 5 4096 8
cp B/big "$T/b-edit"
wait "$BG"
bgrc=$?
[ "$bgrc" = 0 ] || [ "$bgrc" = 1 ] || [ "$bgrc" = 3 ] || fail "the paused pull exited $bgrc: $(cat "$T/bg.err")"
echo "basis rewritten during the pull: exit $bgrc: $(cat "$T/bg.out") $(cat "$T/bg.err")"
cmp -s A/a-first B/a-first || fail "the small file did not arrive"
if ! cmp -s B/big "$T/b-edit"; then
	cmp -s B/big A/big || fail "B/big is neither B's edit nor A's version: corrupted"
fi
[ -z "$(find B -name '.mmsync-tmp.*')" ] || fail "temporary files left: $(find B -name '.mmsync-tmp.*')"
# the edit made on B during the sync is somewhere on B (kept, or as a conflict copy after the next syncs)
run mm -C B sync A
[ "$RC" = 0 ] || [ "$RC" = 1 ] || fail "$(_shown "next sync exited $RC")"
run mm -C A sync B
[ "$RC" = 0 ] || [ "$RC" = 1 ] || fail "$(_shown "next sync exited $RC")"
run mm -C B sync A
same_trees A B
found=0
for f in B/big B/big.conflict-*; do
	[ -e "$f" ] && cmp -s "$f" "$T/b-edit" && found=1
done
[ "$found" = 1 ] || fail "the edit made on B during the pull was lost: $(ls B)"
found=0
for f in B/big B/big.conflict-*; do
	[ -e "$f" ] && cmp -s "$f" A/big && found=1
done
[ "$found" = 1 ] || fail "A's version was lost"

# The basis truncated during the delta: the same
rm -f B/big.conflict-* A/big.conflict-*
head -c "$SIZE" /dev/urandom >A/big
expect_rc 0 mm -C B sync A
same_trees A B
overwrite A/big 30 100 9
head -c 3000 /dev/urandom >A/a-first
MMSYNC_PAUSE=send-data:2500 mm -C B --json pull A >"$T/bg.out" 2>"$T/bg.err" &
BG=$!
sleep 1
truncate -s $((3 * MIB)) B/big
cp B/big "$T/b-edit"
wait "$BG"
bgrc=$?
[ "$bgrc" = 0 ] || [ "$bgrc" = 1 ] || [ "$bgrc" = 3 ] || fail "the paused pull exited $bgrc: $(cat "$T/bg.err")"
echo "basis truncated during the pull: exit $bgrc: $(cat "$T/bg.out") $(cat "$T/bg.err")"
if ! cmp -s B/big "$T/b-edit"; then
	cmp -s B/big A/big || fail "B/big is neither B's edit nor A's version after a truncation: corrupted"
fi
[ -z "$(find B -name '.mmsync-tmp.*')" ] || fail "temporary files left: $(find B -name '.mmsync-tmp.*')"

# A delta over ssh (when an sshd can be started here): the 20 MiB file
# updated on D, pulled by C over ssh, moves as a delta; pushed likewise.
if [ -x "$(dirname "$0")/../sshd-start" ] && command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ]; then
	. "$(dirname "$0")/sshlib.sh"
	start_sshd
	mkrep C D
	head -c "$SIZE" /dev/urandom >D/big
	expect_rc 0 mm -C C pull "${SSH_OPTS[@]}" "$(ssh_url "$T/D")"
	same_trees C D
	overwrite D/big 50 100 10
	expect_rc 0 mm -C C --json pull "${SSH_OPTS[@]}" "$(ssh_url "$T/D")"
	expect_json 'files_in == 1' 'failed == 0' "bytes_in + bytes_out < $MIB"
	same_trees C D
	# (MMSYNC_GARBLE does not reach the remote side: ssh does not pass the environment)
	# by push over ssh: C's edits go to D as a delta
	overwrite C/big 50 100 12
	expect_rc 0 mm -C C --json push "${SSH_OPTS[@]}" "$(ssh_url "$T/D")"
	expect_json 'files_out == 1' 'failed == 0' "bytes_in + bytes_out < $MIB"
	same_trees C D
else
	skip "no sshd: the delta over ssh is not tested"
fi
