# Write and fsync errors (MMSYNC_FAILERR=NAME[:N[:ENOSPC]] makes the N-th pass
# through an error point of sync/failpoint.h fail as if the system call had
# failed): for each point, at each of its passes in a pull (of the many writes
# and closes, passes 1, 2, 3, 5, 8, 13, ...) until the pull no longer meets
# it, the pull exits 3 naming what failed (one write fails with ENOSPC, the
# others with EIO); the batch that was not made durable is not committed (the
# store records exactly what it did before, or for a single file that failed
# alone, only what the tree holds); no temporary file is left, the source is
# untouched, every path holds its old or its new version; then a pull without
# the error finishes with identical trees, no conflict and a clean `mmsync
# check`.  A batch renamed in whose syncfs failed is journaled; the next run
# commits the journal's rows only after a syncfs of its own (and fails when
# that fails).  Two change sets: new content (small files, a new file and a
# large file that moves as a delta), and changes without content (deletions, a
# new directory and link, a chmod: a batch with no new file must be made
# durable before its rows are committed too).
. "$(dirname "$0")/synclib.sh"

here=$(cd "$(dirname "$0")" && pwd)
TREE="python3 $here/model_tree.py"
STORE="python3 $here/store_check.py"
# syncfs() on a disk makes each pull slow: the replicas live on a tmpfs when there is one
on_tmpfs t45

mkrep A B
$TREE build A --seed 45 --files 40 --dirs 4 --links 2 --big 600K || fail "cannot build the tree"
expect_rc 0 mm -C B pull "$PWD/A"
$TREE same A B || fail "the first pull did not copy A"

# what the message of a failure at each point says
said() {
	case $1 in
	apply-write) echo "cannot write a temporary file for '[^']+'" ;;
	apply-close) echo "cannot write '[^']+'" ;;
	apply-sync-*) echo "cannot make '[^']+' durable" ;;
	store-commit) echo "metadata store '[^']+': cannot commit" ;;
	esac
}

# walk CASE POINT...: the error walk described above, from the state B has now
walk() {
	local case=$1 point n spec
	shift
	$TREE snap B "$T/base.json"
	$TREE snap A "$T/src.json"
	rm -rf "$T/B.orig"
	cp -a B "$T/B.orig"
	for point in "$@"; do
		# every pass; of the many writes and closes, a spread of them
		passes="1 2 3 4 5 6 7 8 9 10 11 12"
		case $point in apply-write | apply-close) passes="1 2 3 5 8 13 21 34 55 89 144 233" ;; esac
		for n in $passes done; do
			[ "$n" != done ] || fail "$case: the pull still meets $point after $(echo $passes | wc -w) tries"
			spec=$point:$n
			[ "$point" = apply-write ] && [ "$n" = 2 ] && spec=$point:$n:ENOSPC
			rm -rf B
			cp -a "$T/B.orig" B
			# the copy's new inodes are recorded before the measured pull
			expect_rc 0 mm -C B scan
			$STORE dump B "$T/store.json" || fail "cannot read B's store"
			MMSYNC_FAILERR=$spec run mm -C B pull "$PWD/A"
			if [ "$RC" = 0 ]; then
				[ "$n" -gt 1 ] || fail "$case: the pull never met the error point $point"
				break
			fi
			[ "$RC" = 3 ] || fail "$(_shown "$case, MMSYNC_FAILERR=$spec: pull exits $RC, want 3")"
			! grep -qE 'Sanitizer|runtime error:' "$ERR" || fail "$(_shown "$case, MMSYNC_FAILERR=$spec: a sanitizer report")"
			case $spec in
			*:ENOSPC) expect_err_contains "No space left on device" ;;
			*) expect_err_contains "Input/output error" ;;
			esac
			grep -qE "$(said "$point")" "$ERR" ||
				fail "$(_shown "$case, MMSYNC_FAILERR=$spec: the message does not say what failed ($(said "$point"))")"
			# the local peer's serve saw the client go: it must not say so (it blurred the real error)
			expect_err_lacks "Broken pipe"
			expect_err_lacks "cannot send to peer 'client'"
			if [ "$point" = apply-close ]; then
				# one file that could not be written fails alone: the others are committed
				expect_err_contains "1 path could not be applied"
				out=$($STORE agrees B "$T/store.json") || fail "$case, MMSYNC_FAILERR=$spec: $out"
			elif [ "$case" = metadata ] && [ "$n" -gt 1 ]; then
				# the batches before the one that failed were committed, and rightly
				out=$($STORE agrees B "$T/store.json") || fail "$case, MMSYNC_FAILERR=$spec: $out"
			else
				out=$($STORE same B "$T/store.json") ||
					fail "$case, MMSYNC_FAILERR=$spec: the failed pull committed rows: $out"
			fi
			out=$($TREE crashcheck B "$T/base.json" "$T/base.json" "$T/src.json") ||
				fail "$case, MMSYNC_FAILERR=$spec: $out"
			left=$(find B -name '.mmsync-tmp.*')
			[ -z "$left" ] || fail "$case, MMSYNC_FAILERR=$spec left temporary files: $left"
			expect_rc 0 mm -C B pull "$PWD/A"
			out=$($TREE final A B) || fail "$case, after MMSYNC_FAILERR=$spec and a pull: $out"
			expect_rc 0 mm -C B check
			expect_rc 0 mm -C B conflicts
			expect_out_empty
			echo "$case: $spec ok"
		done
	done
	$TREE snap A "$T/src.now" && cmp -s "$T/src.json" "$T/src.now" || fail "$case: A changed"

	# leave B as A for the next case
	expect_rc 0 mm -C B pull "$PWD/A"
	$TREE final A B || fail "$case: B is not A at the end"
}

# --- new content (one batch): rewrites, a new file, a large file (a delta)
$TREE touch A --seed 3 --count 8 --big 1 || fail "cannot change A"
printf 'new\n' >A/t0/newfile
walk content apply-write apply-close apply-sync-data store-commit apply-sync-renames

# --- the journal of a batch renamed in whose syncfs failed: the next run
# commits its rows only once a syncfs succeeds
$TREE touch A --seed 9 --count 5 || fail "cannot change A"
$STORE dump B "$T/store.json" || fail "cannot read B's store"
MMSYNC_FAILERR=apply-sync-renames run mm -C B pull "$PWD/A"
[ "$RC" = 3 ] || fail "$(_shown "journal: pull whose renames' syncfs fails: exit $RC, want 3")"
[ "$($STORE pending B)" -gt 0 ] || fail "journal: no rows journaled for the batch renamed in"
MMSYNC_FAILERR=apply-sync-recover run mm -C B pull "$PWD/A"
[ "$RC" = 3 ] || fail "$(_shown "journal: pull whose recovery's syncfs fails: exit $RC, want 3")"
expect_err_contains "durable (syncfs): Input/output error"
out=$($STORE same B "$T/store.json") || fail "journal: rows committed though not durable: $out"
[ "$($STORE pending B)" -gt 0 ] || fail "journal: the journal is gone though its rows were not committed"
expect_rc 0 mm -C B pull "$PWD/A"
out=$($TREE final A B) || fail "journal: after a pull: $out"
expect_rc 0 mm -C B check
[ "$($STORE pending B)" = 0 ] || fail "journal: rows remain after a pull that finished"
expect_rc 0 mm -C B conflicts
expect_out_empty

# --- no content (a batch of creations, then one of deletions): deletions, a new directory and link, a chmod
rm -f A/f0019 A/t1/f0004.tar.gz
mkdir A/t2/newdir
ln -s ../f0036.tar.gz A/t2/newlink
chmod 0600 A/t3/f0033
walk metadata apply-sync-renames store-commit
