# Disk full (needs root: the test mounts small tmpfs file systems, and skips
# when it cannot).  (1) A replica whose whole root, its .mmsync/ store
# included, lives on a small tmpfs: a first pull that does not fit; a sync
# with changes on both sides onto a disk left almost full; a scan and a pull
# that fill the disk with store rows only (SQLite meets ENOSPC: new empty
# files take no data blocks).  (2) A replica whose store fits but whose data/
# directory is a small tmpfs of its own.  Each failing run exits 3 with a
# message naming what it was writing and "No space left on device" (or the
# store's "disk is full"); it leaves no temporary file, the source is
# untouched, every path holds its old or its new version, and the store
# records nothing the tree does not hold.  Once space is freed (a ballast file
# removed, or the tmpfs remounted bigger) the next run completes with
# identical trees, no conflict and a clean `mmsync check`.  In (2) also: a
# batch written into data/ is made durable with a syncfs() of data/'s own file
# system (the root's does not cover it), and a failure there fails the pull.
. "$(dirname "$0")/synclib.sh"

here=$(cd "$(dirname "$0")" && pwd)
TREE="python3 $here/model_tree.py"
STORE="python3 $here/store_check.py"
# the replicas that are not on a small tmpfs live on a big one when there is one: syncfs() is slow on a disk
on_tmpfs t46

# small_fs DIR SIZE [MODE]: mounts a tmpfs of SIZE at DIR (made), unmounted at the end
small_fs() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2,mode=${3:-0755}" tmpfs "$1" 2>"$T/mount.err" || return 1
	at_exit "umount -l '$(cd "$1" && pwd)'"
}
if ! small_fs B 1m; then
	skip "cannot mount a tmpfs (needs root): $(cat "$T/mount.err")"
	exit 0
fi
expect_rc 0 mm init B --name B
mkrep A

# before: what B and A hold, and what B's store records, before a run that must fail
before() {
	$TREE snap B "$T/b.json"
	$TREE snap A "$T/a.json"
	$STORE dump B "$T/store.json" || fail "cannot read B's store"
}
# failed WHAT TEXT...: the run of $OUT/$ERR failed as a full disk must (its stderr holds a TEXT)
failed() {
	local what=$1 text found=0 left
	shift
	[ "$RC" = 3 ] || fail "$(_shown "$what: exit $RC, want 3")"
	for text in "$@"; do grep -qF -- "$text" "$ERR" && found=1; done
	[ "$found" = 1 ] || fail "$(_shown "$what: the message lacks all of: $*")"
	left=$(find B A -name '.mmsync-tmp.*')
	[ -z "$left" ] || fail "$what left temporary files: $left"
	$TREE snap A "$T/a.now" && cmp -s "$T/a.json" "$T/a.now" || fail "$what: A changed"
	out=$($TREE crashcheck B "$T/b.json" "$T/b.json" "$T/a.json") || fail "$what: $out"
	out=$($STORE agrees B "$T/store.json") || fail "$what: $out"
	! grep -qE 'Sanitizer|runtime error:' "$ERR" || fail "$(_shown "$what: a sanitizer report")"
	echo "$what: exit 3 as it should: $(grep -v 'Broken pipe' "$ERR" | head -n 1)"
}
# converged CMD...: CMD exits 0 and leaves A and B the same, clean, with no conflict
converged() {
	expect_rc 0 "$@"
	out=$($TREE final A B) || fail "after '$*': $out"
	for r in A B; do
		expect_rc 0 mm -C $r conflicts
		expect_out_empty
		expect_rc 0 mm -C $r check
	done
}
# ballast FREE_KB: fills B's file system (in .mmsync/, which is never synced) until FREE_KB are left
ballast() {
	local avail
	rm -f B/.mmsync/ballast
	avail=$(df -k --output=avail B | tail -n 1)
	[ "$avail" -gt "$1" ] || fail "B's file system has only $avail KiB free"
	head -c $(((avail - $1) * 1024)) /dev/zero >B/.mmsync/ballast 2>/dev/null
}

# --- (1a) a first pull of 1.4 MB onto a 1 MB file system
$TREE build A --seed 46 --files 40 --dirs 3 --links 2 --big 300K,300K,300K || fail "cannot build the tree"
before
run mm -C B pull "$PWD/A"
failed "(1a) first pull" "No space left on device"
expect_err_contains "cannot write a temporary file for '"
mount -o remount,size=16m B || fail "cannot remount B bigger"
converged mm -C B pull "$PWD/A"

# --- (1b) changes on both sides, a sync onto a disk with 300 KiB free
$TREE touch A --seed 5 --count 6 --big 3 || fail "cannot change A"
rm -f A/t0/f0001 A/f0005
printf 'new on A\n' >A/t1/new-a
mkdir -p B/b-own
for i in 1 2 3; do printf 'B own %d\n' $i >B/b-own/f$i; done
ballast 300
before
run mm -C B sync "$PWD/A"
failed "(1b) sync onto a full disk" "No space left on device"
rm B/.mmsync/ballast
converged mm -C B sync "$PWD/A"
[ "$(cat A/b-own/f2)" = "B own 2" ] || fail "(1b) B's own files did not reach A"

# --- (1c) the store meets a full disk in a scan: 2,000 new empty files, 48 KiB free
mkdir B/many
for ((i = 0; i < 2000; i++)); do : >B/many/e$i; done
ballast 48
before
run mm -C B scan
failed "(1c) scan" "No space left on device" "disk is full"
expect_err_contains "metadata store '"
run mm -C B sync "$PWD/A"
failed "(1c) sync" "No space left on device" "disk is full"
rm B/.mmsync/ballast
converged mm -C B sync "$PWD/A"

# --- (1d) the store meets a full disk in a pull of 2,000 new empty files
mkdir A/many2
for ((i = 0; i < 2000; i++)); do : >A/many2/e$i; done
ballast 48
before
run mm -C B pull "$PWD/A"
failed "(1d) pull" "No space left on device" "disk is full"
rm B/.mmsync/ballast
converged mm -C B pull "$PWD/A"

# --- (2) the store fits, the tree's data/ does not: a tmpfs of 512 KiB at C/data
mkrep C
small_fs C/data 512k || fail "cannot mount a tmpfs at C/data"
mkdir -p A/data/sub
for i in 1 2 3; do head -c $((250 * 1024)) /dev/urandom >A/data/sub/big$i; done
printf 'top\n' >A/data/top
converged mm -C B pull "$PWD/A"
$TREE snap C "$T/b.json"
$TREE snap A "$T/a.json"
$STORE dump C "$T/store.json" || fail "cannot read C's store"
run mm -C C pull "$PWD/A"
[ "$RC" = 3 ] || fail "$(_shown "(2) pull into C: exit $RC, want 3")"
expect_err_contains "No space left on device"
expect_err_contains "cannot write a temporary file for 'data/"
left=$(find C -name '.mmsync-tmp.*')
[ -z "$left" ] || fail "(2) left temporary files: $left"
out=$($TREE crashcheck C "$T/b.json" "$T/b.json" "$T/a.json") || fail "(2): $out"
out=$($STORE agrees C "$T/store.json") || fail "(2): $out"
mount -o remount,size=16m C/data || fail "cannot remount C/data bigger"
expect_rc 0 mm -C C pull "$PWD/A"
out=$($TREE final A C) || fail "(2) after the space was freed: $out"
expect_rc 0 mm -C C conflicts
expect_out_empty
# ... and a batch written into data/ (a file system of its own) is made
# durable there too: that file system's syncfs is a second pass, and when
# it fails the pull exits 3 and commits nothing
printf 'more\n' >A/data/sub/more
$STORE dump C "$T/store.json" || fail "cannot read C's store"
MMSYNC_FAILERR=apply-sync-data:2 run mm -C C pull "$PWD/A"
[ "$RC" = 3 ] || fail "$(_shown "(2) pull into C/data whose syncfs fails: exit $RC, want 3")"
expect_err_contains "syncfs of a file system mounted beneath it"
out=$($STORE same C "$T/store.json") || fail "(2) the pull whose data/ could not be made durable committed: $out"
expect_rc 0 mm -C C pull "$PWD/A"
out=$($TREE final A C) || fail "(2) after a failed syncfs and a pull: $out"
expect_rc 0 mm -C C check
