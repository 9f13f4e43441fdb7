# No false conflicts: versions that descend from one another never conflict,
# whatever route they took; concurrent versions with the same content and
# mode are not a conflict either.
. "$(dirname "$0")/synclib.sh"

mkrep A B C

no_conflicts() {
	local r
	for r in "$@"; do
		expect_rc 0 mm -C "$r" conflicts
		expect_out_empty
		[ -z "$(conflict_copies "$r")" ] || fail "conflict copies on $r: $(conflict_copies "$r")"
	done
}

bin_content base >A/f
mkdir A/d
printf 'x\n' >A/d/x
expect_rc 0 mm -C B sync A
expect_rc 0 mm -C C sync A

# A edits; A -> B, B -> C; then C meets A directly, both ways.
bin_content edit-by-A >A/f
expect_rc 0 mm -C B pull A
expect_rc 0 mm -C C pull B
expect_rc 0 mm -C C --json sync A
expect_json 'conflicts == 0' 'files_in == 0' 'files_out == 0'
expect_rc 0 mm -C A sync C
no_conflicts A B C
same_trees A B C

# Several rounds, edits on different replicas in causal order, over every route.
bin_content edit-by-B >B/f
printf 'B\n' >B/d/x
expect_rc 0 mm -C C pull B       # B -> C
bin_content edit-by-C >C/f
expect_rc 0 mm -C C push A       # C -> A (A never saw B's version)
expect_rc 0 mm -C B pull A       # A -> B: C's descends from B's
bin_content edit-by-B-again >B/f
rm B/d/x
expect_rc 0 mm -C A sync B       # B -> A
expect_rc 0 mm -C C sync A       # A -> C
expect_rc 0 mm -C B sync C
no_conflicts A B C
same_trees A B C
[ "$(tr -d '\0' <A/f | head -c 30)" = "$(bin_content edit-by-B-again | tr -d '\0' | head -c 30)" ] ||
	fail "the last edit did not win everywhere"
[ ! -e C/d/x ] || fail "B's deletion did not reach C"

# A type change (file -> directory) that travelled A -> B -> C, then C with A.
rm A/f
mkdir A/f
printf 'in dir\n' >A/f/inner
expect_rc 0 mm -C B pull A
expect_rc 0 mm -C C pull B
printf 'C adds\n' >C/f/more
expect_rc 0 mm -C A sync C
expect_rc 0 mm -C B sync C
no_conflicts A B C
same_trees A B C

# Identical concurrent edits (same content, same mode) on two replicas: no conflict.
printf 'same text\n' >A/same
printf 'same text\n' >B/same
touch -d '2020-01-01 10:00:00' A/same
touch -d '2021-01-01 10:00:00' B/same
bin_content identical >A/f/inner
bin_content identical >B/f/inner
mkdir -p A/newdir/sub B/newdir/sub
ln -s same A/samelink
ln -s same B/samelink
expect_rc 0 mm -C A --json sync B
expect_json 'conflicts == 0'
no_conflicts A B
expect_rc 0 mm -C C sync A
expect_rc 0 mm -C B sync C
no_conflicts A B C
[ "$(cat A/same)" = "same text" ] && [ "$(cat C/same)" = "same text" ] || fail "identical edits lost"
