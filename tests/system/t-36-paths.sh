# PATH arguments limit a sync to subtrees: `pull A sub/dir` brings only that
# subtree (with the directories above it), deletions included; a later full
# pull still brings everything else (nothing was skipped for good).  PATHs
# are relative to the starting directory when that is inside the replica.
. "$(dirname "$0")/synclib.sh"

mkrep A B C D
mkdir -p A/sub/dir/deeper A/sub/other A/sub/dirx
printf 'x\n' >A/sub/dir/x
printf 'y\n' >A/sub/dir/deeper/y
printf 'z\n' >A/sub/other/z
printf 'sibling with a common prefix\n' >A/sub/dirx/p
printf 'top\n' >A/top
ln -s top A/lnk

expect_rc 0 mm -C B pull A sub/dir
expect_tree B <<'X'
sub d 0755
sub/dir d 0755
sub/dir/deeper d 0755
sub/dir/deeper/y f 0644
sub/dir/x f 0644
X
# the rest changes on A meanwhile, and the filtered part too
printf 'z2\n' >A/sub/other/z
printf 'x2\n' >A/sub/dir/x
rm A/sub/dir/deeper/y
printf 'top2\n' >A/top
# two paths at once, one a file
expect_rc 0 mm -C B pull A top sub/other
expect_tree B <<'X'
sub d 0755
sub/dir d 0755
sub/dir/deeper d 0755
sub/dir/deeper/y f 0644
sub/dir/x f 0644
sub/other d 0755
sub/other/z f 0644
top f 0644
X
[ "$(cat B/sub/dir/x)" = x ] || fail "a pull of other paths changed sub/dir/x"
[ "$(cat B/top)" = top2 ] && [ "$(cat B/sub/other/z)" = z2 ] || fail "the filtered pull did not bring the newest versions"

# a full pull now brings everything, also what changed before the filtered pulls
expect_rc 0 mm -C B pull A
same_trees A B
expect_rc 0 mm -C B --json sync A
expect_json 'files_in == 0' 'files_out == 0'

# PATH relative to the starting directory inside the replica; peer path relative to it too
mkdir -p C/sub
expect_rc 0 in_dir C/sub mm pull ../../A dir
expect_tree C <<'X'
sub d 0755
sub/dir d 0755
sub/dir/deeper d 0755
sub/dir/x f 0644
X
# "." from inside a subdirectory means that subdirectory
expect_rc 0 in_dir C/sub/dir mm pull ../../../A .
expect_tree C <<'X'
sub d 0755
sub/dir d 0755
sub/dir/deeper d 0755
sub/dir/x f 0644
X
expect_rc 0 in_dir C/sub mm pull ../../A .
[ -f C/sub/other/z ] && [ -f C/sub/dirx/p ] && [ ! -e C/top ] || fail "'pull ../../A .' in C/sub: $(tree_list C)"
expect_rc 0 mm -C C pull A
same_trees A C

# push with a PATH: only that subtree reaches the peer
printf 'new\n' >A/sub/other/new
printf 'top3\n' >A/top
expect_rc 0 mm -C A push D sub/other
expect_tree D <<'X'
sub d 0755
sub/other d 0755
sub/other/new f 0644
sub/other/z f 0644
X
expect_rc 0 mm -C A push D
same_trees A D

# a PATH outside the replica: usage error, nothing done
expect_rc 2 mm -C B pull A ../outside
expect_rc 2 mm -C B pull A /
same_trees A D
# a PATH longer than any replica path (it overflowed a stack buffer once): usage error, nothing done
long=$(printf 'abcdefghij/%.0s' $(seq 600))
expect_rc 2 mm -C B pull A "$long"
expect_err_contains "is not a path that can be synced"
expect_rc 2 mm -C B pull A "$long../../x"
same_trees A D
