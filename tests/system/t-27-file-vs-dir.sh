# Concurrent file and directory at one path: the directory always stays at
# the path (the file goes beside it, whatever the times).  Conflict copies
# named per SPEC, both versions kept, trees identical after syncing both ways.
. "$(dirname "$0")/synclib.sh"

mkrep A B
t1='2024-06-01 10:00:00 UTC'
t2='2024-06-01 10:00:01 UTC'
t3='2030-01-01 00:00:00 UTC'

printf 'shared\n' >A/changed-to-dir
bin_content old >A/edited-vs-dir
expect_rc 0 mm -C B sync A

# 1. new file on A, new directory on B at the same path; the file is newer
#    (t3) but the directory stays; A detects, pulling.
bin_content A-file >A/x.txt
touch -d "$t3" A/x.txt
mkdir -p B/x.txt/sub
printf 'in B dir\n' >B/x.txt/sub/f
# 2. the reverse: directory on A, file on B.
mkdir A/y
printf 'in A dir\n' >A/y/f
bin_content B-file >B/y
touch -d "$t1" B/y
# 3. a shared file replaced by a directory on A, edited on B.
rm A/changed-to-dir
mkdir A/changed-to-dir
printf 'inner\n' >A/changed-to-dir/inner
bin_content B-edit >B/changed-to-dir
touch -d "$t2" B/changed-to-dir
# 4. the other way round: B turns it into a directory, A edits it.
bin_content A-edit >A/edited-vs-dir
touch -d "$t2" A/edited-vs-dir
rm B/edited-vs-dir
mkdir B/edited-vs-dir
printf 'inner B\n' >B/edited-vs-dir/inner

expect_rc 1 mm -C A --json pull B
expect_json 'conflicts == 4'

[ -d A/x.txt ] && [ -f A/x.txt/sub/f ] || fail "B's directory x.txt is not at the path on A"
c=$(stamp_name x.txt "$t3" A)
cmp -s "A/$c" <(bin_content A-file) || fail "A's file x.txt is not kept as $c; copies: $(conflict_copies A)"
[ -d A/y ] && [ -f A/y/f ] || fail "A's directory y did not stay"
c=$(stamp_name y "$t1" B)
cmp -s "A/$c" <(bin_content B-file) || fail "B's file y is not kept as $c; copies: $(conflict_copies A)"
[ -f A/changed-to-dir/inner ] || fail "A's directory changed-to-dir did not stay"
c=$(stamp_name changed-to-dir "$t2" B)
cmp -s "A/$c" <(bin_content B-edit) || fail "B's edit of changed-to-dir is not kept as $c; copies: $(conflict_copies A)"
[ -f A/edited-vs-dir/inner ] || fail "B's directory edited-vs-dir is not at the path on A"
c=$(stamp_name edited-vs-dir "$t2" A)
cmp -s "A/$c" <(bin_content A-edit) || fail "A's edit of edited-vs-dir is not kept as $c; copies: $(conflict_copies A)"
[ "$(conflict_copies A | wc -l)" = 4 ] || fail "A has other copies than the 4 expected: $(conflict_copies A)"

expect_rc 1 mm -C A conflicts
[ "$(wc -l <"$OUT")" = 4 ] || fail "$(_shown "'conflicts' does not list 4 conflicts")"
for p in x.txt y changed-to-dir edited-vs-dir; do
	grep -q "^$p	[a-z]*	" "$OUT" || fail "$(_shown "'conflicts' lacks '$p<TAB>KIND<TAB>'")"
done

# B, which saw nothing yet, gets A's decisions and ends the same, without copies of its own.
expect_rc 1 mm -C A push B
same_trees A B
expect_rc 1 mm -C B sync A
expect_rc 1 mm -C A sync B
same_trees A B
[ "$(conflict_copies B | wc -l)" = 4 ] || fail "B: $(conflict_copies B)"
