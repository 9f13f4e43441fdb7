# A chain A - B - C: changes travel A -> B -> C with pulls (C never talks to
# A), and C -> B -> A with pushes; deletions and edits of the same file on
# the way do not conflict; all trees end identical.
. "$(dirname "$0")/synclib.sh"

mkrep A B C

# A's new tree reaches C through B, with pulls.
mkdir -p A/docs/sub A/empty
printf 'readme\n' >A/docs/readme
printf 'sub\n' >A/docs/sub/file
ln -s docs/readme A/link
chmod 0600 A/docs/sub/file
expect_rc 0 mm -C B pull A
expect_rc 0 mm -C C pull B
same_trees A B C

# C edits and adds; pushes carry it to B, then B's push to A.
printf 'readme v2 from C\n' >C/docs/readme
printf 'new on C\n' >C/docs/c-file
rm C/link
ln -s docs/c-file C/link
expect_rc 0 mm -C C push B
expect_rc 0 mm -C B push A
same_trees A B C
[ "$(cat A/docs/readme)" = "readme v2 from C" ] || fail "C's edit did not reach A through B"

# A edits the file C wrote and deletes a directory; back along the chain by pulls.
printf 'readme v3 from A\n' >A/docs/readme
rm -r A/docs/sub A/empty
expect_rc 0 mm -C B pull A
expect_rc 0 mm -C C pull B
same_trees A B C
[ ! -e C/docs/sub ] && [ ! -e C/empty ] || fail "A's deletions did not reach C"

# The ends meet directly: nothing to do, no conflict.
expect_rc 0 mm -C C --json sync A
expect_json 'files_in == 0' 'files_out == 0' 'conflicts == 0'
expect_rc 0 mm -C A conflicts
expect_rc 0 mm -C C conflicts
same_trees A B C

# A longer run in both directions at once: A pushes to B while C pulls from B.
for i in 1 2 3; do
	printf 'round %s\n' "$i" >>A/docs/readme
	printf 'c %s\n' "$i" >"C/c-$i"
	expect_rc 0 mm -C A push B
	expect_rc 0 mm -C C pull B
	expect_rc 0 mm -C C push B
	expect_rc 0 mm -C A pull B
done
same_trees A B C
[ -z "$(conflict_copies A)$(conflict_copies C)" ] || fail "conflict copies in a chain with no concurrent edits"
