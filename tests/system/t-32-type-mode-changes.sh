# A path that changes its type propagates: file -> dir, dir -> file,
# file -> symlink, dir -> symlink, symlink -> file, symlink -> dir; by push,
# then back by pull; no conflicts.
# Part 2 (in part2/): a change of permission bits alone propagates (files and directories, no
# content sent); a change of mtime alone (touch) travels as metadata (the later-set wins): no content
# bytes are sent.
. "$(dirname "$0")/synclib.sh"

mkrep A B C

setup() {
	local r=$1 w=$2
	printf 'f %s\n' "$w" >"$r/f2d"
	mkdir -p "$r/d2f/sub"
	printf 'x %s\n' "$w" >"$r/d2f/sub/x"
	printf 'f %s\n' "$w" >"$r/f2l"
	mkdir -p "$r/d2l/inner"
	printf 'y %s\n' "$w" >"$r/d2l/inner/y"
	ln -s "somewhere-$w" "$r/l2f"
	ln -s "elsewhere-$w" "$r/l2d"
	mkdir "$r/emptyd2f"
}
setup A 1
expect_rc 0 mm -C B sync A
expect_rc 0 mm -C C sync A

change() {
	local r=$1
	rm "$r/f2d"
	mkdir -p "$r/f2d/nested"
	printf 'now a dir\n' >"$r/f2d/nested/n"
	rm -r "$r/d2f"
	printf 'now a file\n' >"$r/d2f"
	chmod 0640 "$r/d2f"
	rm "$r/f2l"
	ln -s d2f "$r/f2l"
	rm -r "$r/d2l"
	ln -s /tmp "$r/d2l"
	rm "$r/l2f"
	printf 'was a link\n' >"$r/l2f"
	rm "$r/l2d"
	mkdir -m 0700 "$r/l2d"
	printf 'z\n' >"$r/l2d/z"
	rmdir "$r/emptyd2f"
	: >"$r/emptyd2f"
}
change A
expect_rc 0 mm -C A --json push B
expect_json 'conflicts == 0'
same_trees A B
expect_tree B <<'X'
d2f f 0640
d2l l -
emptyd2f f 0644
f2d d 0755
f2d/nested d 0755
f2d/nested/n f 0644
f2l l -
l2d d 0700
l2d/z f 0644
l2f f 0644
X

# and back to the first types (new content), on B; A and C pull (C from A,
# C never saw the middle versions).
rm -r B/*
setup B 2
expect_rc 0 mm -C A pull B
expect_rc 0 mm -C C pull A
same_trees A B C
expect_rc 0 mm -C C sync B
same_trees A B C
for r in A B C; do
	expect_rc 0 mm -C "$r" conflicts
	[ -z "$(conflict_copies "$r")" ] || fail "conflict copies on $r"
done

# ---- Part 2: mode-only and mtime-only changes.
mkdir part2
cd part2 || fail "no part2"

umask 022
mkrep A B
mkdir -p A/dir A/priv
head -c 300000 /dev/urandom >A/big
printf 'script\n' >A/run
printf 'data\n' >A/dir/data
expect_rc 0 mm -C B sync A
same_trees A B

# mode only
chmod 0755 A/run
chmod 0600 A/big
chmod 0640 A/dir/data
chmod 0700 A/priv
chmod 0750 A/dir
expect_rc 0 mm -C A --json push B
expect_json 'conflicts == 0' 'files_out >= 3' 'bytes_out < 65536'
same_trees A B
[ "$(stat -c %a B/run B/big B/dir/data B/priv B/dir | tr '\n' ' ')" = "755 600 640 700 750 " ] ||
	fail "modes on B: $(stat -c '%a %n' B/run B/big B/dir/data B/priv B/dir)"
# and back, by pull on the other side
chmod 0644 B/big
chmod 0755 B/priv
expect_rc 0 mm -C A --json pull B
expect_json 'conflicts == 0' 'bytes_in < 65536'
same_trees A B

# mtime only: a touch on A (content and mode as they were) travels as metadata:
# no content bytes, no conflict, B takes the touched time (the later-set time wins).
touch -d '2001-02-03 04:05:06' A/big A/run
expect_rc 0 mm -C A --json sync B
expect_json 'files_in == 0' 'files_out == 2' 'conflicts == 0' 'bytes_out < 65536'
[ "$(stat -c %Y B/big)" = "$(date -d '2001-02-03 04:05:06' +%s)" ] || fail "B did not take A's touched mtime"
[ "$(stat -c %Y B/run)" = "$(date -d '2001-02-03 04:05:06' +%s)" ] || fail "B did not take A's touched mtime (run)"
expect_rc 0 mm -C B --json sync A
expect_json 'files_in == 0' 'files_out == 0' 'conflicts == 0'
expect_rc 0 mm -C A conflicts
[ "$(stat -c %Y A/big)" = "$(date -d '2001-02-03 04:05:06' +%s)" ] || fail "A's own touch was undone"
same_trees A B
# touches on both sides: the one made later wins on both, with no conflict
touch -d '2003-03-03 03:03:03' B/big
sleep 1
touch -d '2001-01-01 01:01:01' A/big
expect_rc 0 mm -C B sync A
expect_rc 0 mm -C A sync B
[ "$(stat -c %Y B/big)" = "$(date -d '2001-01-01 01:01:01' +%s)" ] || fail "the later touch (A's) did not win on B"
[ "$(stat -c %Y A/big)" = "$(date -d '2001-01-01 01:01:01' +%s)" ] || fail "the later touch (A's) did not stay on A"
same_trees A B

# Yet a content change after the touch carries its mtime along.
printf 'script v2\n' >A/run
touch -d '2002-02-02 02:02:02' A/run
expect_rc 0 mm -C A sync B
[ "$(stat -c %Y B/run)" = "$(date -d '2002-02-02 02:02:02' +%s)" ] || fail "the mtime of a changed file did not travel"
[ "$(stat -c %a B/run)" = 755 ] || fail "B/run lost its mode"
