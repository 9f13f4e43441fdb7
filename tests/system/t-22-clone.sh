# clone URL DIR [--name N]: init DIR then pull URL; DIR may be missing or
# empty; a non-empty DIR is refused and left as it was; a peer that is not a
# replica fails with exit 3 and changes nothing.
. "$(dirname "$0")/synclib.sh"

mkrep A
mkdir -p A/sub/deeper A/empty
printf 'one\n' >A/one
bin_content b >A/sub/deeper/bin
chmod 0600 A/sub/deeper/bin
ln -s sub/deeper A/link
touch -d '2020-02-02 02:02:02.2' A/one

# into a directory that does not exist (two levels)
expect_rc 0 mm clone A new/clone1 --name C1
same_trees A new/clone1
expect_rc 0 mm -C new/clone1 id
expect_out_contains "name: C1"

# into an existing empty directory, with a relative peer path from elsewhere
mkdir empty-dir work
expect_rc 0 in_dir work mm clone ../A ../empty-dir --name C2
same_trees A empty-dir

# into a directory that is not empty: refused, nothing touched
mkdir full
printf 'mine\n' >full/mine
tree_list full >"$T/full.before"
run mm clone A full --name C3
[ "$RC" != 0 ] || fail "clone into a non-empty directory succeeded"
[ -s "$ERR" ] || fail "clone into a non-empty directory gave no message"
expect_err_contains full
[ ! -e full/.mmsync ] || fail "clone into a non-empty directory made it a replica"
tree_list full | cmp -s - "$T/full.before" || fail "clone changed the non-empty directory"
# a file alone is not an empty directory either
printf 'f\n' >plainfile
run mm clone A plainfile --name C4
[ "$RC" != 0 ] || fail "clone onto a plain file succeeded"
[ "$(cat plainfile)" = f ] || fail "clone changed a plain file"

# a clone is a full replica: changes go both ways, no conflict
printf 'from clone\n' >new/clone1/added
rm A/one
expect_rc 0 mm -C new/clone1 sync A
expect_rc 0 mm -C empty-dir sync A
same_trees A new/clone1 empty-dir
[ -f empty-dir/added ] && [ ! -e empty-dir/one ] || fail "changes did not travel between clones"

# a peer that is not a replica / does not exist: exit 3, no replica left behind
mkdir notrep
expect_rc 3 mm clone notrep c5 --name C5
expect_err_contains notrep
expect_rc 3 mm clone missing c6 --name C6
expect_err_contains missing
for d in c5 c6; do
	[ ! -e "$d/.mmsync" ] || fail "a failed clone left a replica in '$d' (exit 3 means nothing changed; 'clone A $d' again would be refused)"
done
