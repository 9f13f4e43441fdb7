# Concurrent edits of different lines of a text file merge cleanly: exit 0,
# `merged` 1 in --json and in `mmsync log`, both edits in the result, no
# conflict copy.  A replica that holds one side then takes the merge as a
# plain fast-forward (no conflict, no second merge); two replicas that merge
# the same pair independently reach the same content and then meet with no
# conflict.  A merge found by the far side of a push counts too.
. "$(dirname "$0")/synclib.sh"

base=$'one\ntwo\nthree\nfour\nfive\nsix\nseven\n'
a_side=$'one (A)\ntwo\nthree\nfour\nfive\nsix\nseven\n'
b_side=$'one\ntwo\nthree\nfour\nfive\nsix\nseven (B)\n'
merged=$'one (A)\ntwo\nthree\nfour\nfive\nsix\nseven (B)\n'

# expect_file R PATH CONTENT: R/PATH holds exactly CONTENT (trailing newlines count)
expect_file() {
	local got
	got=$(cat "$1/$2"; printf x)
	[ "${got%x}" = "$3" ] || fail "$1/$2 holds:
$(cat -A "$1/$2")
want:
$(printf '%s' "$3" | cat -A)"
}

mkrep A B C D E
printf '%s' "$base" >A/notes.txt
chmod 0640 A/notes.txt
for r in B C D E; do
	expect_rc 0 mm -C $r sync A
done

printf '%s' "$a_side" >A/notes.txt
printf '%s' "$b_side" >B/notes.txt
# C and D take A's side, E takes B's
expect_rc 0 mm -C C sync A
expect_rc 0 mm -C D sync A
expect_rc 0 mm -C E sync B
expect_file C notes.txt "$a_side"
expect_file E notes.txt "$b_side"

# 1. A merges with B
expect_rc 0 mm -C A --json sync B
expect_json 'merged == 1' 'conflicts == 0' 'failed == 0' 'ok == True'
expect_file A notes.txt "$merged"
expect_file B notes.txt "$merged"
[ "$(stat -c %a A/notes.txt)" = 640 ] || fail "the merge changed the mode: $(stat -c %a A/notes.txt)"
[ "$(stat -c %a B/notes.txt)" = 640 ] || fail "the merge changed B's mode: $(stat -c %a B/notes.txt)"
[ -z "$(conflict_copies A)$(conflict_copies B)" ] || fail "a clean merge made a conflict copy: $(conflict_copies A) $(conflict_copies B)"
expect_rc 0 mm -C A log
grep -qE '(^| )merged notes\.txt( |$)' "$OUT" || fail "$(_shown "A's log has no 'merged notes.txt' line")"
grep -qE 'sync peer=B .*merged=1' "$OUT" || fail "$(_shown "A's log does not count the merge in the sync line")"
expect_rc 0 mm -C A conflicts
expect_out_empty
expect_rc 0 mm -C B conflicts
expect_rc 0 mm -C A status
# nothing left to do: a second sync moves nothing and merges nothing
expect_rc 0 mm -C A --json sync B
expect_json 'merged == 0' 'conflicts == 0' 'files_in == 0' 'files_out == 0'

# 2. C (A's side) syncs with B (the merge): a plain fast-forward
expect_rc 0 mm -C C --json sync B
expect_json 'merged == 0' 'conflicts == 0' 'files_in == 1' 'files_out == 0'
expect_file C notes.txt "$merged"
[ -z "$(conflict_copies C)" ] || fail "C has conflict copies: $(conflict_copies C)"
expect_rc 0 mm -C C log
grep -qE '(^| )merged notes\.txt' "$OUT" && fail "$(_shown "C logged a second merge of notes.txt")"
expect_rc 0 mm -C C conflicts

# 3. D (A's side) and E (B's side) merge the same pair on their own
expect_rc 0 mm -C D --json sync E
expect_json 'merged == 1' 'conflicts == 0'
expect_file D notes.txt "$merged"
expect_file E notes.txt "$merged"
cmp -s A/notes.txt D/notes.txt || fail "two independent merges of the same pair differ"
# the two merges are concurrent versions with the same content: no conflict
# (at most their mtimes are aligned), and then nothing more to do
expect_rc 0 mm -C D --json sync A
expect_json 'merged == 0' 'conflicts == 0' 'files_in + files_out <= 1'
expect_rc 0 mm -C E --json sync C
expect_json 'merged == 0' 'conflicts == 0' 'files_in + files_out <= 1'
expect_rc 0 mm -C D --json sync A
expect_json 'merged == 0' 'conflicts == 0' 'files_in == 0' 'files_out == 0'
for r in A B C D E; do
	expect_file $r notes.txt "$merged"
	[ -z "$(conflict_copies $r)" ] || fail "$r has conflict copies: $(conflict_copies $r)"
	expect_rc 0 mm -C $r conflicts
done
# every replica ends with the same content (mtimes of independent merges may differ)
for r in B C D E; do
	cmp -s A/notes.txt $r/notes.txt || fail "A and $r differ"
done

# 4. A merge made by the far side of a push is counted in the pusher's summary
printf 'one (A)\ntwo (A2)\nthree\nfour\nfive\nsix\nseven (B)\n' >A/notes.txt
printf 'one (A)\ntwo\nthree\nfour\nfive\nsix (B2)\nseven (B)\n' >B/notes.txt
expect_rc 0 mm -C A --json push B
expect_json 'merged == 1' 'conflicts == 0'
expect_file B notes.txt $'one (A)\ntwo (A2)\nthree\nfour\nfive\nsix (B2)\nseven (B)\n'
expect_rc 0 mm -C B log
grep -qE '(^| )merged notes\.txt' "$OUT" || fail "$(_shown "B's log does not record the merge it made")"
# A pulls the merge as is
expect_rc 0 mm -C A --json pull B
expect_json 'merged == 0' 'conflicts == 0' 'files_in == 1'
cmp -s A/notes.txt B/notes.txt || fail "A did not take B's merge"

# 5. A permission change on one side is a change too: the merge keeps it,
# whichever side's mtime is later (here B's content edit is the later one).
printf '%s' "$base" >A/run.sh
printf '%s' "$base" >A/mode-only.sh
expect_rc 0 mm -C B sync A
printf '%s' "$a_side" >A/run.sh
chmod 0755 A/run.sh A/mode-only.sh
touch -d '2024-01-01 00:00:01 UTC' A/run.sh A/mode-only.sh
printf '%s' "$b_side" >B/run.sh
printf '%s' "$b_side" >B/mode-only.sh
touch -d '2024-01-01 00:00:02 UTC' B/run.sh B/mode-only.sh
expect_rc 0 mm -C A --json sync B
expect_json 'conflicts == 0'
for r in A B; do
	expect_file $r run.sh "$merged"
	expect_file $r mode-only.sh "$b_side"
	for f in run.sh mode-only.sh; do
		[ "$(stat -c %a $r/$f)" = 755 ] || fail_later "$r/$f: A's chmod 0755 was lost in the merge (mode $(stat -c %a $r/$f))"
	done
done
