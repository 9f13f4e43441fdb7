# Concurrent file and symbolic link at one path: the later mtime stays, the
# other goes beside it (a link stays a link); then both replicas sync on and
# end identical.
. "$(dirname "$0")/synclib.sh"

mkrep A B
t1='2024-06-01 10:00:00 UTC'
t2='2024-06-01 10:00:01 UTC'

# z: A's file is later; w.lnk: A's link is later.
bin_content A-file-z >A/z
touch -d "$t2" A/z
ln -s target-of-B B/z
touch -h -d "$t1" B/z
ln -s target-of-A A/w.lnk
touch -h -d "$t2" A/w.lnk
bin_content B-file-w >B/w.lnk
touch -d "$t1" B/w.lnk

expect_rc 1 mm -C A --json pull B
expect_json 'conflicts == 2'
[ -f A/z ] && [ ! -L A/z ] && cmp -s A/z <(bin_content A-file-z) || fail "A's later file z did not stay"
c=$(stamp_name z "$t1" B)
[ -L "A/$c" ] && [ "$(readlink "A/$c")" = target-of-B ] || fail "B's link z is not kept as the link $c"
[ -L A/w.lnk ] && [ "$(readlink A/w.lnk)" = target-of-A ] || fail "A's later link w.lnk did not stay"
c=$(stamp_name w.lnk "$t1" B)
cmp -s "A/$c" <(bin_content B-file-w) || fail "B's file w.lnk is not kept as $c; copies: $(conflict_copies A)"
expect_rc 1 mm -C A conflicts
grep -q '^z	[a-z]*	' "$OUT" && grep -q '^w.lnk	[a-z]*	' "$OUT" || fail "$(_shown "'conflicts' lacks z or w.lnk")"

# A can still send everything it has, copies included.
expect_rc 1 mm -C A push B
same_trees A B
expect_rc 1 mm -C B sync A
same_trees A B
[ "$(conflict_copies B | wc -l)" = 2 ] || fail "B: $(conflict_copies B)"

# The same, detected by B during a push from A (the peer decides): later link wins.
ln -s new-link-A A/v
touch -h -d "$t2" A/v
bin_content B-file-v >B/v
touch -d "$t1" B/v
expect_rc 0 mm -C B -q scan
run mm -C A push B
[ "$RC" = 0 ] || [ "$RC" = 1 ] || fail "$(_shown "push: exit $RC")"
[ -L B/v ] && [ "$(readlink B/v)" = new-link-A ] || fail "the later link v did not stay on B"
c=$(stamp_name v "$t1" B)
cmp -s "B/$c" <(bin_content B-file-v) || fail "B's file v is not kept as $c on B; copies: $(conflict_copies B)"
expect_rc 1 mm -C A sync B
same_trees A B
