# Deletions propagate (files, links, empty and full directories); a deleted
# file never comes back from a replica that had not heard of the deletion
# (it gets deleted there instead); a file created anew after a deletion is
# kept and propagates.
# Part 2 (in part2/): deleting a directory whose subtree changed concurrently on the other side:
# the changed and new files survive (with the directories above them); the
# unchanged rest is deleted; no conflict; both sides end identical.
. "$(dirname "$0")/synclib.sh"

mkrep A B C
no_delete_guard A B C # most of these small trees is deleted on purpose (t-18 tests the guard)
mkdir -p A/tree/a/b A/empty A/keep
printf '1\n' >A/tree/a/b/f
printf '2\n' >A/tree/a/g
printf 'f\n' >A/f
printf 'old\n' >A/stale
printf 'k\n' >A/keep/k
ln -s f A/lnk
expect_rc 0 mm -C B sync A
expect_rc 0 mm -C C sync A
same_trees A B C

# A deletes a file, a link, an empty directory and a whole tree.
rm -r A/f A/lnk A/empty A/tree
expect_rc 0 mm -C B --json pull A
expect_json 'deleted >= 4' 'conflicts == 0'
same_trees A B
expect_tree B <<'X'
keep d 0755
keep/k f 0644
stale f 0644
X

# C (stale: it still has everything) syncs with B, not with A: nothing comes
# back to B, and C loses what was deleted.
expect_rc 0 mm -C C sync B
same_trees A B C
expect_rc 0 mm -C C sync A
same_trees A B C

# A deletion through a chain, met by a replica with the old version: A deletes
# 'stale', B pulls A; C (old version) pushes to B and then pulls: still gone.
rm A/stale
expect_rc 0 mm -C B pull A
expect_rc 0 mm -C C push B
[ ! -e B/stale ] || fail "a push from a stale replica brought 'stale' back to B"
expect_rc 0 mm -C C pull B
[ ! -e C/stale ] || fail "'stale' was not deleted on C"
expect_rc 0 mm -C A sync C
same_trees A B C

# A file created anew after its deletion (same path, same or new content) is
# kept and reaches everyone, also a replica that learns of both at once.
printf 'old\n' >B/stale
printf 'f anew\n' >B/f
mkdir -p B/tree/a
printf 'new tree\n' >B/tree/a/g
expect_rc 0 mm -C B push A
expect_rc 0 mm -C C pull A
same_trees A B C
[ "$(cat C/stale)" = old ] && [ "$(cat C/tree/a/g)" = "new tree" ] || fail "re-created files did not arrive"

# ... and deleted again, and created again: each step travels.
rm -r C/f C/tree
expect_rc 0 mm -C C sync B
printf 'third\n' >A/f
expect_rc 0 mm -C A sync B
expect_rc 0 mm -C C sync B
expect_rc 0 mm -C A sync C
same_trees A B C
[ "$(cat B/f)" = third ] && [ ! -e B/tree ] || fail "delete / re-create cycle went wrong"
for r in A B C; do
	expect_rc 0 mm -C "$r" conflicts
done

# ---- Part 2: a directory deleted while its subtree changed on the other side.
mkdir part2
cd part2 || fail "no part2"

mkrep A B
no_delete_guard A B
mkdir -p A/proj/src/deep A/proj/doc A/other/x
printf 'main\n' >A/proj/src/main.c
printf 'util\n' >A/proj/src/util.c
printf 'deep\n' >A/proj/src/deep/d
printf 'doc\n' >A/proj/doc/readme
printf 'x\n' >A/other/x/f
expect_rc 0 mm -C B sync A

# A deletes proj/ and other/; B edits one file deep down, adds one, and adds a
# file in a new subdirectory of other/.
rm -r A/proj A/other
printf 'main edited on B\n' >B/proj/src/main.c
printf 'new on B\n' >B/proj/doc/new
mkdir B/other/x/newsub
printf 'n\n' >B/other/x/newsub/n

# B pulls: B keeps its changes.
expect_rc 0 mm -C B --json pull A
expect_json 'conflicts == 0'
[ "$(cat B/proj/src/main.c)" = "main edited on B" ] || fail "B's edit under the deleted directory is lost"
[ "$(cat B/proj/doc/new)" = "new on B" ] || fail "B's new file under the deleted directory is lost"
[ -f B/other/x/newsub/n ] || fail "B's new file in a new subdirectory is lost"
[ ! -e B/proj/src/util.c ] && [ ! -e B/proj/src/deep ] && [ ! -e B/proj/doc/readme ] && [ ! -e B/other/x/f ] ||
	fail "unchanged files under the deleted directory were not deleted on B:
$(tree_list B)"
expect_tree B <<'X'
other d 0755
other/x d 0755
other/x/newsub d 0755
other/x/newsub/n f 0644
proj d 0755
proj/doc d 0755
proj/doc/new f 0644
proj/src d 0755
proj/src/main.c f 0644
X
expect_rc 0 mm -C B conflicts

# A pulls: it gets the surviving files back, under their directories.
expect_rc 0 mm -C A pull B
same_trees A B

# The same with the deleting side pulling: A deletes again, B changes again, A pulls from B.
rm -r A/proj
printf 'edited again\n' >B/proj/src/main.c
expect_rc 0 mm -C A pull B
[ "$(cat A/proj/src/main.c 2>/dev/null)" = "edited again" ] || fail "A did not get B's newer edit under the directory A deleted"
expect_rc 0 mm -C B sync A
same_trees A B
[ ! -e A/proj/doc/new ] || fail "A's deletion of the unchanged proj/doc/new was undone"
expect_rc 0 mm -C A conflicts
expect_rc 0 mm -C B conflicts
