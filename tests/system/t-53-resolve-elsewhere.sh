# Conflicts resolved on a replica other than the one that found them, with
# --ours, --theirs and by editing the file (no flag): after syncs everywhere
# the conflict is closed on every replica (`conflicts` exits 0), the copy is
# gone everywhere, the resolution's content is at the path everywhere, and
# no new conflict appears.
. "$(dirname "$0")/synclib.sh"

t_a='2024-01-01 00:00:02 UTC'
t_b='2024-01-01 00:00:01 UTC'

mkrep A B C D
for f in ours theirs edit bin; do
	printf 'first\nsecond\nthird\n' >A/$f.txt
done
bin_content base >A/pic.bin
for r in B C D; do
	expect_rc 0 mm -C $r sync A
done
for f in ours theirs edit; do
	printf 'first\nsecond by A\nthird\n' >A/$f.txt
	printf 'first\nsecond by B\nthird\n' >B/$f.txt
	touch -d "$t_a" A/$f.txt
	touch -d "$t_b" B/$f.txt
done
bin_content pic-A >A/pic.bin
bin_content pic-B >B/pic.bin
touch -d "$t_a" A/pic.bin
touch -d "$t_b" B/pic.bin

# A finds the conflicts; B gets them with A's push, C and D through A
expect_rc 1 mm -C A --json sync B
expect_json 'conflicts == 4'
expect_rc 1 mm -C C sync A
expect_rc 1 mm -C D sync A
for r in A B C D; do
	expect_rc 1 mm -C $r conflicts
	[ "$(wc -l <"$OUT")" = 4 ] || fail "$(_shown "$r does not list the 4 conflicts")"
	[ "$(cat $r/ours.txt)" = $'first\nsecond by A\nthird' ] || fail "$r/ours.txt is not A's (later) version"
done
copy() { stamp_name "$1" "$t_b" B; }
[ "$(cat "C/$(copy theirs.txt)")" = $'first\nsecond by B\nthird' ] || fail "C lacks B's version in $(copy theirs.txt)"

# B: --ours (the version at the path: A's); C: --theirs (the copy: B's);
# B: an edit; D: --theirs on a binary file
expect_rc 1 mm -C B conflicts resolve ours.txt --ours
expect_out_line 'resolved ours.txt (kept the version at the path)'
[ ! -e "B/$(copy ours.txt)" ] || fail "resolve --ours left the copy on B"
[ "$(cat B/ours.txt)" = $'first\nsecond by A\nthird' ] || fail "resolve --ours changed B/ours.txt"
expect_rc 1 mm -C C conflicts resolve theirs.txt --theirs
expect_out_line 'resolved theirs.txt (took the conflict copy)'
[ ! -e "C/$(copy theirs.txt)" ] || fail "resolve --theirs left the copy on C"
[ "$(cat C/theirs.txt)" = $'first\nsecond by B\nthird' ] || fail "resolve --theirs did not put the copy at the path on C"
printf 'first\nsecond by A and B\nthird\n' >B/edit.txt
expect_rc 1 mm -C B conflicts resolve "$(copy edit.txt)"
expect_out_line 'resolved edit.txt (the file as it stands)'
[ ! -e "B/$(copy edit.txt)" ] || fail "resolve (no flag) left the copy on B"
bin_copy=$(stamp_name pic.bin "$t_b" B)
expect_rc 1 mm -C D conflicts resolve pic.bin --theirs
cmp -s D/pic.bin <(bin_content pic-B) || fail "resolve --theirs of pic.bin on D"
# each resolver now lists only the conflicts it has not resolved
expect_rc 1 mm -C B conflicts
[ "$(cut -f1 "$OUT" | sort | tr '\n' ' ')" = 'pic.bin theirs.txt ' ] || fail "$(_shown "B's open conflicts")"
expect_rc 1 mm -C C conflicts
[ "$(cut -f1 "$OUT" | sort | tr '\n' ' ')" = 'edit.txt ours.txt pic.bin ' ] || fail "$(_shown "C's open conflicts")"
expect_rc 0 mm -C A log
expect_rc 0 mm -C B log
grep -q 'resolved ours.txt (--ours)' "$OUT" || fail "$(_shown "B's log lacks the resolution of ours.txt")"
grep -q 'resolved edit.txt (as it stands)' "$OUT" || fail "$(_shown "B's log lacks the resolution of edit.txt")"

# sync everywhere (a ring, twice around); no sync makes a new conflict
declare -A loglen
for r in A B C D; do
	loglen[$r]=$(wc -l <$r/.mmsync/log)
done
for round in 1 2; do
	for pair in 'A B' 'B C' 'C D' 'D A'; do
		set -- $pair
		run mm -C $1 --json sync $2
		_LAST_CMD="mm -C $1 --json sync $2"
		[ "$RC" = 0 ] || [ "$RC" = 1 ] || fail "$(_shown "sync failed")"
		expect_json 'conflicts == 0' 'merged == 0' 'failed == 0'
	done
done
for r in A B C D; do
	expect_rc 0 mm -C $r conflicts
	expect_out_empty
	[ -z "$(conflict_copies $r)" ] || fail "$r still has conflict copies: $(conflict_copies $r)"
	[ "$(cat $r/ours.txt)" = $'first\nsecond by A\nthird' ] || fail "$r/ours.txt is not the --ours resolution: $(cat $r/ours.txt)"
	[ "$(cat $r/theirs.txt)" = $'first\nsecond by B\nthird' ] || fail "$r/theirs.txt is not the --theirs resolution: $(cat $r/theirs.txt)"
	[ "$(cat $r/edit.txt)" = $'first\nsecond by A and B\nthird' ] || fail "$r/edit.txt is not the edited resolution: $(cat $r/edit.txt)"
	cmp -s $r/pic.bin <(bin_content pic-B) || fail "$r/pic.bin is not the --theirs resolution"
	expect_rc 0 mm -C $r status
	new=$(tail -n +$((loglen[$r] + 1)) $r/.mmsync/log)
	! grep -qE ' (conflict|merged|failed) ' <<<"$new" || fail "$r logged a conflict, merge or failure after the resolutions:
$new"
done
same_trees A B C D
# the trees are quiet: one more round moves nothing
expect_rc 0 mm -C A --json sync C
expect_json 'files_in == 0' 'files_out == 0' 'conflicts == 0'

# A later edit on the replica that found the conflict syncs as a plain change
printf 'first\nsecond by A and B\nthird, later\n' >A/edit.txt
expect_rc 0 mm -C A --json sync D
expect_json 'files_out == 1' 'conflicts == 0' 'merged == 0'
[ "$(cat D/edit.txt)" = $'first\nsecond by A and B\nthird, later' ] || fail "D did not take A's later edit"
