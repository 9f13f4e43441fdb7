# A deletion against a concurrent edit: the edit wins, nothing is deleted, it
# is not a conflict (exit 0), and `mmsync log` records it ("kept").  Whichever
# side detects it (pull, push, sync), and for files, links and modes.
. "$(dirname "$0")/synclib.sh"

mkrep A B C
for f in f1 f2 f3 f4 f5; do
	bin_content "base $f" >"A/$f"
done
ln -s f1 A/lnk
expect_rc 0 mm -C B sync A
expect_rc 0 mm -C C sync A

# 1. A deletes f1, B edits it; B pulls: B keeps its edit.
rm A/f1
bin_content "B edit f1" >B/f1
expect_rc 0 mm -C B --json pull A
expect_json 'conflicts == 0' 'deleted == 0'
cmp -s B/f1 <(bin_content "B edit f1") || fail "B's edit of f1 was not kept"
expect_rc 0 mm -C B log
grep -q 'kept.*f1' "$OUT" || fail_later "$(_shown "B's log does not record f1 as kept")"
expect_rc 0 mm -C B conflicts
# and A, pulling from B, gets the edit back
expect_rc 0 mm -C A pull B
cmp -s A/f1 <(bin_content "B edit f1") || fail "the edit of f1 did not come back to A"

# 2. A edits f2, B deletes it; B pulls: the edit comes back to B.
bin_content "A edit f2" >A/f2
rm B/f2
expect_rc 0 mm -C B pull A
cmp -s B/f2 <(bin_content "A edit f2") || fail "A's edit of f2 did not come back to B"
expect_rc 0 mm -C B log
grep -q 'kept.*f2' "$OUT" || fail_later "$(_shown "B's log does not record that A's edit of f2 was kept over B's deletion")"

# 3. detected by the peer during a push: A deletes f3, B edits it, A pushes.
rm A/f3
bin_content "B edit f3" >B/f3
expect_rc 0 mm -C A --json push B
expect_json 'conflicts == 0'
cmp -s B/f3 <(bin_content "B edit f3") || fail "push deleted B's edit of f3"
expect_rc 0 mm -C B log
grep -q 'kept.*f3' "$OUT" || fail_later "$(_shown "B's log does not record f3 as kept after A's push")"

# 4. with sync, on both sides at once: A deletes f4 and edits f5; B the reverse.
rm A/f4
bin_content "A edit f5" >A/f5
bin_content "B edit f4" >B/f4
rm B/f5
expect_rc 0 mm -C A sync B
for r in A B; do
	cmp -s "$r/f4" <(bin_content "B edit f4") || fail "$r lost B's edit of f4"
	cmp -s "$r/f5" <(bin_content "A edit f5") || fail "$r lost A's edit of f5"
done
expect_rc 0 mm -C A log
# A is the side that deleted f4: receiving the edit instead is the same event
grep -q 'kept.*f4' "$OUT" || fail_later "$(_shown "A's log does not record that B's edit of f4 was kept over A's deletion")"

# 5. a link changed on one side and deleted on the other; a mode change against a deletion.
rm A/lnk
ln -sf f2 B/lnk
rm B/f2
chmod 0600 A/f2
expect_rc 0 mm -C A sync B
for r in A B; do
	[ "$(readlink "$r/lnk")" = f2 ] || fail "$r lost the changed link"
	[ "$(stat -c %a "$r/f2")" = 600 ] || fail "$r lost the mode change of f2"
done

# C, which saw nothing of it, ends with the edits, and nobody has a conflict.
expect_rc 0 mm -C C sync A
expect_rc 0 mm -C B sync C
same_trees A B C
for r in A B C; do
	expect_rc 0 mm -C "$r" conflicts
	[ -z "$(conflict_copies "$r")" ] || fail "conflict copies on $r"
done
