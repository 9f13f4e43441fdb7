# Names that are hard to carry: spaces, newlines, tabs, non-UTF-8 bytes,
# leading dashes, backslashes, quotes, UTF-8; as files, directories and link
# targets; by push, pull and sync, and their deletion too.
. "$(dirname "$0")/synclib.sh"

mkrep A B C D

nl=$'\n'
names=("with space" "two  spaces " "new${nl}line" $'tab\there' $'\xff\xfe-latin1-\xe9' "-dash" "--double"
	'back\slash' "quote\"s'" "ütf8-Ωmega" "*star?" "#hash" " leading-space")
for n in "${names[@]}"; do
	printf '%s\n' "$n" >"A/$n"
done
mkdir -p "A/dir with space/sub${nl}dir" $'A/\x80dir'
printf 'x\n' >"A/dir with space/sub${nl}dir/file $'\x81'"
printf 'y\n' >$'A/\x80dir/\xc3\x28'
ln -s "dir with space/sub${nl}dir" "A/link${nl}name"
ln -s $'\xff\xfe-latin1-\xe9' "A/link to latin1"

expect_rc 0 mm -C A push B
same_trees A B
[ "$(cat "B/new${nl}line")" = "new${nl}line" ] || fail "the file with a newline in its name lost its content"
expect_rc 0 mm -C C pull A
same_trees A C
expect_rc 0 mm -C D sync A
same_trees A D

# Changes and deletions of such names travel too.
rm -r "B/dir with space" "B/new${nl}line"
printf 'changed\n' >$'B/\xff\xfe-latin1-\xe9'
mv "B/with space" "B/renamed with${nl}newline"
expect_rc 0 mm -C B sync A
expect_rc 0 mm -C C sync A
expect_rc 0 mm -C D pull C
same_trees A B C D
[ ! -e "D/dir with space" ] && [ ! -e "D/new${nl}line" ] || fail "deletions of odd names did not travel"
[ "$(cat $'D/\xff\xfe-latin1-\xe9')" = changed ] || fail "the change to the non-UTF-8 name did not travel"
