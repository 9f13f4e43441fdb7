# Edits of the same lines of a text file do not merge: a conflict (exit 1)
# of kind `content`, the later version at the path and the other beside it
# as STEM.conflict-YYYYMMDD-HHMMSS-REPLICA.EXT; `conflicts show` prints both
# versions (writer, time, size) and a diff3 view against the common
# ancestor.  Binary files give kind `binary`, a file against a directory
# kind `type`, on every replica that has the conflict.  A `conflicts resolve
# --theirs` killed before its commit loses nothing and finishes when run again.
. "$(dirname "$0")/synclib.sh"

t1='2024-05-06 07:08:09 UTC'
t2='2024-05-06 07:08:10 UTC'

mkrep A B C
printf 'alpha\nbeta\ngamma\n' >A/s.txt
printf 'alpha\nbeta\ngamma\n' >A/r.md
printf 'one\ntwo\n' >A/t
bin_content base >A/b.bin
printf 'text base\n' >A/mixed.dat
for r in B C; do
	expect_rc 0 mm -C $r sync A
done

# s.txt: A's edit is older, so B's stays at the path and A's goes beside (named after A)
printf 'alpha\nbeta by A\ngamma\n' >A/s.txt
printf 'alpha\nbeta by B\ngamma\n' >B/s.txt
touch -d "$t1" A/s.txt
touch -d "$t2" B/s.txt
# r.md: A's edit is newer: it stays, B's goes beside (named after B); more lines than the overlap
printf 'alpha by A\nbeta\ngamma by A\n' >A/r.md
printf 'alpha\nbeta\ngamma by B\n' >B/r.md
touch -d "$t2" A/r.md
touch -d "$t1" B/r.md
# binary against binary, and text against binary
bin_content A-bin >A/b.bin
bin_content B-bin >B/b.bin
touch -d "$t1" A/b.bin
touch -d "$t2" B/b.bin
printf 'text by A\n' >A/mixed.dat
bin_content B-mixed >B/mixed.dat
touch -d "$t2" A/mixed.dat
touch -d "$t1" B/mixed.dat
# file against directory: the directory stays whatever the times
rm A/t
mkdir A/t
printf 'inside\n' >A/t/inner
printf 'one\ntwo by B\n' >B/t
touch -d "$t1" B/t

expect_rc 1 mm -C A --json sync B
expect_json 'conflicts == 5' 'merged == 0' 'ok == True'

s_copy=$(stamp_name s.txt "$t1" A)
r_copy=$(stamp_name r.md "$t1" B)
b_copy=$(stamp_name b.bin "$t1" A)
m_copy=$(stamp_name mixed.dat "$t1" B)
t_copy=$(stamp_name t "$t1" B)
[ "$s_copy" = s.conflict-20240506-070809-A.txt ] || fail "stamp_name: $s_copy"
[ "$t_copy" = t.conflict-20240506-070809-B ] || fail "stamp_name: $t_copy"

for r in A B; do
	[ "$(cat $r/s.txt)" = $'alpha\nbeta by B\ngamma' ] || fail "$r/s.txt is not B's (later) version: $(cat $r/s.txt)"
	[ "$(cat "$r/$s_copy")" = $'alpha\nbeta by A\ngamma' ] || fail "$r: A's version is not in $s_copy; copies: $(conflict_copies $r)"
	[ "$(mtime_ns "$r/$s_copy")" = "$(date -d "$t1" +%s)000000000" ] || fail "$r/$s_copy has not A's mtime"
	[ "$(cat $r/r.md)" = $'alpha by A\nbeta\ngamma by A' ] || fail "$r/r.md is not A's (later) version"
	[ "$(cat "$r/$r_copy")" = $'alpha\nbeta\ngamma by B' ] || fail "$r: B's version is not in $r_copy"
	cmp -s $r/b.bin <(bin_content B-bin) || fail "$r/b.bin is not B's version"
	cmp -s "$r/$b_copy" <(bin_content A-bin) || fail "$r: A's b.bin is not in $b_copy"
	[ "$(cat $r/mixed.dat)" = 'text by A' ] || fail "$r/mixed.dat is not A's version"
	cmp -s "$r/$m_copy" <(bin_content B-mixed) || fail "$r: B's mixed.dat is not in $m_copy"
	[ -d $r/t ] && [ "$(cat $r/t/inner)" = inside ] || fail "$r: the directory t did not stay at the path"
	[ "$(cat "$r/$t_copy")" = $'one\ntwo by B' ] || fail "$r: B's file t is not in $t_copy"
	want=$(printf '%s\n' "$b_copy" "$m_copy" "$r_copy" "$s_copy" "$t_copy" | LC_ALL=C sort)
	[ "$(conflict_copies $r)" = "$want" ] || fail "$r has other copies than expected:
$(conflict_copies $r)"
done

# the list: PATH<TAB>KIND<TAB>DETAIL, on A (which found them) and B (which got the copies)
for r in A B; do
	expect_rc 1 mm -C $r conflicts
	[ "$(wc -l <"$OUT")" = 5 ] || fail "$(_shown "$r: 'conflicts' does not list 5 conflicts")"
	for pk in s.txt:content r.md:content b.bin:binary mixed.dat:binary t:type; do
		grep -q "^${pk%%:*}	${pk#*:}	" "$OUT" ||
			fail_later "$(_shown "$r: 'conflicts' lacks '${pk%%:*}<TAB>${pk#*:}<TAB>...'")"
	done
	grep "^s.txt	" "$OUT" | grep -qF "$s_copy" || fail "$(_shown "$r: the s.txt line does not name $s_copy")"
	expect_rc 1 mm -C $r --json conflicts
	json_val '[(c["path"], c["kind"], c["copies"]) for c in j]'
	[ "$JV" = "[[\"b.bin\", \"binary\", [\"$b_copy\"]], [\"mixed.dat\", \"binary\", [\"$m_copy\"]], [\"r.md\", \"content\", [\"$r_copy\"]], [\"s.txt\", \"content\", [\"$s_copy\"]], [\"t\", \"type\", [\"$t_copy\"]]]" ] ||
		fail_later "$r: conflicts --json: $JV"
done

# show: both versions and the diff3 view against the common ancestor
expect_rc 1 mm -C A conflicts show s.txt
expect_out_line 'content conflict at s.txt'
expect_out_line '  at the path: s.txt'
expect_out_line '    written by B, modified 2024-05-06 07:08:10 UTC, file of 22 bytes, mode 0644'
expect_out_line "  conflict copy: $s_copy"
expect_out_line '    written by A, modified 2024-05-06 07:08:09 UTC, file of 22 bytes, mode 0644'
diff3_want=$'alpha\n<<<<<<< at the path\nbeta by B\n||||||| common ancestor\nbeta\n=======\nbeta by A\n>>>>>>> conflict copy\ngamma'
got=$(sed -n '/diff3 view/,$p' "$OUT" | tail -n +2)
[ "$got" = "$diff3_want" ] || fail "$(_shown "A: the diff3 view of s.txt is not as expected; want:
$diff3_want")"
expect_out_lacks 'no common ancestor'
# the copy's name works too, with the same output
cp "$OUT" "$_LIB_TMP/show-path"
expect_rc 1 mm -C A conflicts show "$s_copy"
cmp -s "$OUT" "$_LIB_TMP/show-path" || fail "$(_shown "'show COPY' differs from 'show PATH'")"
# from a subdirectory of another replica, relative to the root
expect_rc 1 mm -C A conflicts show r.md
expect_out_line '    written by A, modified 2024-05-06 07:08:10 UTC, file of 27 bytes, mode 0644'
expect_out_line '    written by B, modified 2024-05-06 07:08:09 UTC, file of 22 bytes, mode 0644'
got=$(sed -n '/diff3 view/,$p' "$OUT" | tail -n +2)
want=$'alpha by A\nbeta\n<<<<<<< at the path\ngamma by A\n||||||| common ancestor\ngamma\n=======\ngamma by B\n>>>>>>> conflict copy'
[ "$got" = "$want" ] || fail "$(_shown "A: the diff3 view of r.md is not as expected; want:
$want")"

# B holds the same common ancestor in its own store: its view shows it too
expect_rc 1 mm -C B conflicts show s.txt
expect_out_line '    written by B, modified 2024-05-06 07:08:10 UTC, file of 22 bytes, mode 0644'
expect_out_line '    written by A, modified 2024-05-06 07:08:09 UTC, file of 22 bytes, mode 0644'
got=$(sed -n '/diff3 view/,$p' "$OUT" | tail -n +2)
[ "$got" = "$diff3_want" ] || fail_later "$(_shown "B (which got the copy): the diff3 view of s.txt lacks the common ancestor; want:
$diff3_want")"

# binary and type conflicts: both versions, no diff3 view
expect_rc 1 mm -C A conflicts show b.bin
expect_out_line 'binary conflict at b.bin'
expect_out_line "  conflict copy: $b_copy"
expect_out_lacks 'diff3'
expect_out_lacks '<<<<<<<'
expect_rc 1 mm -C A conflicts show t
expect_out_line 'type conflict at t'
grep -q '^    written by A, .*, directory of ' "$OUT" || fail "$(_shown "show t: the directory side is not described")"
grep -q "^    written by B, modified 2024-05-06 07:08:09 UTC, file of 13 bytes, mode 0644" "$OUT" ||
	fail "$(_shown "show t: the file side is not described")"

# no conflict at a path: exit 3 and a message
expect_rc 3 mm -C A conflicts show nothing-here.txt
expect_err_contains 'no open conflict'

# C syncs with B and gets every conflict too, of the same kinds
expect_rc 1 mm -C C sync B
expect_rc 1 mm -C C conflicts
[ "$(wc -l <"$OUT")" = 5 ] || fail "$(_shown "C: 'conflicts' does not list 5 conflicts")"
for pk in s.txt:content r.md:content b.bin:binary mixed.dat:binary t:type; do
	grep -q "^${pk%%:*}	${pk#*:}	" "$OUT" || fail_later "$(_shown "C: 'conflicts' lacks '${pk%%:*}<TAB>${pk#*:}<TAB>...'")"
done
same_trees A B C

# the same path added on two replicas with no common history: a conflict, the view shows every line
printf 'new on A\nshared\n' >A/fresh.txt
printf 'new on B\nshared\n' >B/fresh.txt
touch -d "$t2" A/fresh.txt
touch -d "$t1" B/fresh.txt
expect_rc 1 mm -C A --json sync B
expect_json 'conflicts == 1' 'merged == 0'
f_copy=$(stamp_name fresh.txt "$t1" B)
[ "$(cat "A/$f_copy")" = $'new on B\nshared' ] || fail "B's fresh.txt is not in $f_copy"
expect_rc 1 mm -C A conflicts show fresh.txt
expect_out_contains 'no common ancestor is known'
expect_out_line 'new on A'
expect_out_line 'new on B'

# resolve --theirs killed after its move, before its commit (MMSYNC_FAILPOINT):
# nothing is lost, the same command again finishes it, and B takes the resolution
_LAST_CMD="MMSYNC_FAILPOINT=apply-before-commit mm -C A conflicts resolve fresh.txt --theirs"
MMSYNC_FAILPOINT=apply-before-commit run mm -C A conflicts resolve fresh.txt --theirs
[ "$RC" = 99 ] || fail "$(_shown "resolve with MMSYNC_FAILPOINT=apply-before-commit did not stop there")"
[ "$(cat A/fresh.txt)" = $'new on B\nshared' ] || [ "$(cat "A/$f_copy" 2>/dev/null)" = $'new on B\nshared' ] ||
	fail "the killed resolve lost B's fresh.txt on A"
expect_rc 1 mm -C A conflicts resolve fresh.txt --theirs
expect_out_line 'resolved fresh.txt (took the conflict copy)'
[ "$(cat A/fresh.txt)" = $'new on B\nshared' ] || fail "A/fresh.txt is not the copy taken: $(cat A/fresh.txt)"
[ ! -e "A/$f_copy" ] || fail "the resolve run again left $f_copy on A"
expect_rc 1 mm -C A conflicts
! grep -q '^fresh.txt	' "$OUT" || fail "$(_shown "fresh.txt is still open on A")"
expect_rc 1 mm -C B sync A
[ "$(cat B/fresh.txt)" = $'new on B\nshared' ] || fail "B did not take A's resolution of fresh.txt: $(cat B/fresh.txt)"
[ ! -e "B/$f_copy" ] || fail "B kept $f_copy after A's resolution"
expect_rc 1 mm -C B conflicts
! grep -q '^fresh.txt	' "$OUT" || fail "$(_shown "fresh.txt is still open on B")"
