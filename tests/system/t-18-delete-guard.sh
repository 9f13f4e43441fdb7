# The deletion guard: a scan that would record the deletion of more than
# sync.maxDelete (default 50%) of a replica's paths, or that finds its root
# emptied (an unmounted disk), records no deletion and stops the command
# with exit 3 and a message naming the replica and --force; the other side
# loses nothing.  --force (scan, pull, push, sync, bundle create/apply)
# records them.  Paths that appear make up for paths gone (a renamed
# directory passes).  sync.maxDelete takes N% or a number of paths; 100%
# turns the guard off; a bad value is an error.
. "$(dirname "$0")/synclib.sh"

# ten files in two directories, all old enough not to be racy
mktree() {
	mkdir -p "$1/d1" "$1/d2"
	for i in 1 2 3 4 5; do
		printf 'one %s\n' "$i" >"$1/d1/f$i"
		printf 'two %s\n' "$i" >"$1/d2/f$i"
	done
}

mkrep A B
mktree A
expect_rc 0 mm -C B sync A
same_trees A B

# 1. More than half gone (d1 and three of d2: 5 + 1 dir + 3 = 9 of 12 paths): refused.
rm -r A/d1 A/d2/f1 A/d2/f2 A/d2/f3
expect_rc 3 mm -C A sync B
expect_err_contains "9 of its 12 paths are gone"
expect_err_contains "sync.maxDelete (50%)"
expect_err_contains "scan --force"
expect_err_contains "$T/A"
[ -f B/d1/f1 ] && [ -f B/d2/f3 ] || fail "B lost files while A's deletions were refused"
# nothing was recorded as deleted: status still shows them as changes to record
expect_rc 0 mm -C A status
expect_out_contains "deleted   d1/f1"
expect_rc 3 mm -C A scan
expect_rc 3 mm -C A push B
expect_rc 3 mm -C A bundle create "$T/a.bundle"
[ -e "$T/a.bundle" ] && fail "a refused bundle create left a file"
# the peer's side of the guard: B pulling from A is refused by A's scan, and says so
expect_rc 3 mm -C B pull A
expect_err_contains "peer 'A'"
expect_err_contains "sync.maxDelete"
[ -f B/d1/f1 ] || fail "B lost files"
# --force records and propagates them
expect_rc 0 mm -C A sync --force B
same_trees A B
[ -e B/d1 ] && fail "d1 was not deleted in B after --force"

# 2. Exactly half is not more than half: 2 of B's remaining 4 paths (d2, f4, f5, and...)
mktree B
expect_rc 0 mm -C B sync A
same_trees A B
rm -r B/d1
# 6 of 12 paths
expect_rc 0 mm -C B sync A
same_trees A B

# 3. A renamed directory: every path gone, as many appear: passes.
mv A/d2 A/renamed
expect_rc 0 mm -C A sync B
same_trees A B
expect_tree B <<'X'
renamed d 0755
renamed/f1 f 0644
renamed/f2 f 0644
renamed/f3 f 0644
renamed/f4 f 0644
renamed/f5 f 0644
X

# 4. An emptied root (an unmounted disk), even with a limit that would let it pass.
printf '[sync]\n\tmaxDelete = 10\n' >>A/.mmsync/config
mv A/renamed "$T/unmounted"
expect_rc 3 mm -C B sync A
expect_err_contains "is empty but 6 paths were recorded in it"
expect_err_contains "not mounted"
[ -f B/renamed/f5 ] || fail "B lost files to an emptied A"
expect_rc 3 mm -C A scan
# the disk is back: nothing to do
mv "$T/unmounted" A/renamed
expect_rc 0 mm -C A sync B
expect_rc 0 mm -C A -v scan
expect_out_line "scanned 5 files, 1 directories, 0 links: 0 added, 0 modified, 0 deleted"
same_trees A B

# 5. A count: sync.maxDelete = 10 lets 6 go; = 3 refuses 4, lets 3 go.
rm -r A/renamed
touch A/keep
expect_rc 0 mm -C A sync B
same_trees A B
mktree A
expect_rc 0 mm -C A sync B
printf '[sync]\n\tmaxDelete = 3\n' >>A/.mmsync/config
rm A/d1/f1 A/d1/f2 A/d1/f3 A/d1/f4
expect_rc 3 mm -C A sync B
expect_err_contains "4 of its 13 paths are gone, more than sync.maxDelete (3 paths) allows"
touch A/d1/f4
expect_rc 0 mm -C A sync B
same_trees A B

# 6. 100% turns the guard off, emptied root included; a bad value is an error naming the key.
printf '[sync]\n\tmaxDelete = 100%%\n' >>A/.mmsync/config
rm -r A/*
expect_rc 0 mm -C A sync B
same_trees A B
[ -z "$(ls B)" ] || fail "B not emptied"
printf '[sync]\n\tmaxDelete = lots\n' >>B/.mmsync/config
touch B/x
expect_rc 3 mm -C B sync A
expect_err_contains "sync.maxDelete is 'lots'"
printf '[sync]\n\tmaxDelete = 150%%\n' >>B/.mmsync/config
expect_rc 3 mm -C B scan
expect_err_contains "sync.maxDelete is '150%'"
printf '[sync]\n\tmaxDelete = 50%%\n' >>B/.mmsync/config
expect_rc 0 mm -C B scan

# 7. bundles: create refuses and is forced; apply scans the applier and is forced too
mkrep C D
mktree C
expect_rc 0 mm -C D sync C
rm -r C/d1 C/d2/f1
expect_rc 3 mm -C C bundle create "$T/c.bundle"
expect_rc 0 mm -C C bundle create --force "$T/c.bundle"
rm -r D/d2 D/d1/f1
expect_rc 3 mm -C D bundle apply "$T/c.bundle"
expect_err_contains "sync.maxDelete"
expect_rc 0 mm -C D bundle apply --force "$T/c.bundle"
expect_rc 0 mm -C C sync D
same_trees C D
expect_rc 2 mm -C C bundle list --force "$T/c.bundle"
