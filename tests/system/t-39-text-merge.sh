# Concurrent edits of a text file are merged against their common ancestor:
# edits of different lines merge cleanly (exit 0, no copy, `merged` counted
# and logged, the same result on every replica); edits of the same line are a
# conflict that keeps both versions.
. "$(dirname "$0")/synclib.sh"

mkrep A B C
printf 'one\ntwo\nthree\nfour\nfive\n' >A/notes.txt
printf 'alpha\nbeta\ngamma\n' >A/same-line.txt
expect_rc 0 mm -C B sync A
expect_rc 0 mm -C C sync A

# different lines: clean merge
printf 'ONE (A)\ntwo\nthree\nfour\nfive\n' >A/notes.txt
printf 'one\ntwo\nthree\nfour\nFIVE (B)\n' >B/notes.txt
# the same line: conflict
printf 'alpha\nbeta by A\ngamma\n' >A/same-line.txt
printf 'alpha\nbeta by B\ngamma\n' >B/same-line.txt
touch -d '2024-01-01 00:00:00 UTC' B/same-line.txt

run mm -C A --json sync B
_LAST_CMD="mm -C A --json sync B"
[ "$RC" = 1 ] || fail_later "$(_shown "'A sync B' with one clean merge and one conflict: exit $RC, want 1")"
want=$'ONE (A)\ntwo\nthree\nfour\nFIVE (B)'
for r in A B; do
	[ "$(cat "$r/notes.txt")" = "$want" ] || fail_later "$r/notes.txt is not the merge of both edits:
$(cat "$r/notes.txt")"
done
[ -z "$(conflict_copies A | grep notes)" ] || fail_later "a clean merge made a conflict copy: $(conflict_copies A)"
later expect_json 'merged == 1' 'conflicts == 1'
expect_rc 0 mm -C A log
grep -q 'merged.*notes.txt' "$OUT" || fail_later "$(_shown "A's log does not record notes.txt as merged")"
expect_rc 1 mm -C A conflicts
grep -q '^notes.txt	' "$OUT" && fail_later "$(_shown "the clean merge is listed as a conflict")"
grep -q '^same-line.txt	' "$OUT" || fail "$(_shown "same-line.txt is not listed as a conflict")"
c=$(stamp_name same-line.txt '2024-01-01 00:00:00 UTC' B)
[ "$(cat "A/$c")" = $'alpha\nbeta by B\ngamma' ] || fail "B's version is not kept as $c: $(conflict_copies A)"
[ "$(cat A/same-line.txt)" = $'alpha\nbeta by A\ngamma' ] || fail "A's (later) version is not at the path"

# every replica ends the same: the merge is a new version, not a conflict
run mm -C C sync A
run mm -C B sync A
same_trees A B C
