# init refuses: an existing replica, a directory inside one, bad names, bad paths.
. "$(dirname "$0")/lib.sh"

# A fingerprint of everything under DIR: paths, types, modes, sizes, contents.
snapshot() {
	(cd "$1" && find . -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' p; do
		if [ -f "$p" ] && [ ! -L "$p" ]; then
			printf '%s %s %s\n' "$p" "$(stat -c '%F %a %s %Y' "$p")" "$(sha256sum <"$p" | cut -c1-64)"
		else
			printf '%s %s\n' "$p" "$(stat -c '%F %a' "$p")"
		fi
	done)
}

expect_rc 0 mm init r --name orig
echo data >r/file
mkdir r/sub
expect_rc 0 mm -C r scan
expect_rc 0 mm -C r id
cp "$OUT" "$T/id.before"
real_r=$(cd r && pwd -P)
before=$(snapshot r)

# An existing replica: refused, with a message naming it, nothing changed.
for args in "init r" "init r --name other" "-C r init" "-C r init ." "init $T/r"; do
	expect_rc 3 mm $args
	expect_err_contains "$real_r"
	expect_err_contains "already a replica"
	[ "$(snapshot r)" = "$before" ] || fail "'mm $args' changed the replica:
$(diff <(echo "$before") <(snapshot r))"
done
expect_rc 3 in_dir r mm init
expect_err_contains "$real_r"
[ "$(snapshot r)" = "$before" ] || fail "'init' in the root changed the replica"

# A directory inside a replica: refused, naming the replica, no .mmsync made.
expect_rc 3 mm init r/sub
expect_err_contains "$real_r"
[ ! -e r/sub/.mmsync ] || fail "init r/sub made a replica inside a replica"
expect_rc 3 in_dir r/sub mm init --name x
[ ! -e r/sub/.mmsync ] || fail "init in r/sub made a replica inside a replica"
expect_rc 3 mm -C r/sub init
[ ! -e r/sub/.mmsync ] || fail "-C r/sub init made a replica inside a replica"
expect_rc 3 mm -C r init sub
[ ! -e r/sub/.mmsync ] || fail "-C r init sub made a replica inside a replica"
[ "$(snapshot r)" = "$before" ] || fail "refused inits inside the replica changed it:
$(diff <(echo "$before") <(snapshot r))"

# The replica is as it was and still works.
expect_rc 0 mm -C r id
cmp -s "$OUT" "$T/id.before" || fail "the replica's id changed after refused inits"
expect_scan -C r </dev/null

# Invalid names: exit 2, a message, and nothing created.
n65=$(printf 'n%.0s' $(seq 65))
i=0
for name in "" ".hidden" "." ".." "a/b" "/abs" "sub/" "$n65" "with space" "tab	in" "new
line" "nul$(printf '\001')ctl"; do
	i=$((i + 1))
	expect_rc 2 mm init "bad$i" --name "$name"
	expect_err_contains "name"
	[ ! -e "bad$i" ] || fail "init with the invalid name '$name' created bad$i"
	expect_rc 2 mm init "bad$i" "--name=$name"
	[ ! -e "bad$i" ] || fail "init with the invalid name '$name' created bad$i"
done
# A missing value for --name is a usage error that says which option.
expect_rc 2 mm init nameless --name
head -n1 "$ERR" | grep -qF -- "--name" || fail_later "'init nameless --name': the message does not name the option --name: $(head -n1 "$ERR")"
[ ! -e nameless ] || fail "'init nameless --name' created nameless"

# A path that is a file, or lies under one: failure, file untouched.
echo content >afile
run mm init afile
[ "$RC" != 0 ] || fail "init on a regular file succeeded"
expect_err_contains "afile"
[ "$(cat afile)" = content ] && [ -f afile ] || fail "init on a file changed it"
run mm init afile/sub
[ "$RC" != 0 ] || fail "init under a regular file succeeded"
[ "$(cat afile)" = content ] && [ -f afile ] || fail "init under a file changed it"
# No temporary state directory is left anywhere at the top.
leftover=$(ls -A | grep -v -x -e r -e afile -e id.before)
[ -z "$leftover" ] || fail "refused inits left behind: $leftover"

# ... also when the directory does not exist yet: refused, and not created
# (a refused command leaves the replica's tree as it was).
expect_rc 3 mm init r/new/deeper
expect_err_contains "$real_r"
[ ! -e r/new/deeper/.mmsync ] || fail "init r/new/deeper made a replica inside a replica"
[ ! -e r/new ] || fail "refused 'init r/new/deeper' still created r/new inside the replica ($(find r/new | tr '\n' ' '))"
