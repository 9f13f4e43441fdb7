# A file changed while a sync runs is never overwritten: a file edited, and a
# file created at a path the sync is creating, while a pull waits before its
# renames (MMSYNC_PAUSE=apply-sync-data) keep the local version; the next
# syncs meet both versions as concurrent changes and lose neither.
. "$(dirname "$0")/synclib.sh"

mkrep A B
bin_content base >A/F
printf 'other\n' >A/other
expect_rc 0 mm -C B sync A

bin_content A-edit >A/F
bin_content A-new >A/N
printf 'other 2\n' >A/other

at_exit 'kill -9 $(jobs -p); wait'
MMSYNC_PAUSE=apply-sync-data:2000 mm -C B pull A >"$T/bg.out" 2>"$T/bg.err" &
BG=$!
# the received contents are in temporary files: the pull now waits before renaming them in
wait_until '[ "$(find B -name ".mmsync-tmp.*" | wc -l)" -ge 3 ]' ||
	fail "the pull did not get to its pause: $(cat "$T/bg.err")"
kill -0 "$BG" 2>/dev/null || fail "the pull ended before its pause"
bin_content B-edit-during-sync >B/F
bin_content B-created-during-sync >B/N
wait "$BG"
bgrc=$?
[ "$bgrc" = 0 ] || [ "$bgrc" = 1 ] || [ "$bgrc" = 3 ] || fail "the paused pull exited $bgrc: $(cat "$T/bg.err")"
cmp -s B/F <(bin_content B-edit-during-sync) || fail "a file edited during the pull was overwritten: $(tr -d '\0' <B/F)"
cmp -s B/N <(bin_content B-created-during-sync) || fail "a file created during the pull was overwritten: $(tr -d '\0' <B/N)"
[ "$(cat B/other)" = "other 2" ] || fail "the pull did not apply the file nobody touched"
[ -z "$(find B -name '.mmsync-tmp.*')" ] || fail "temporary files left: $(find B -name '.mmsync-tmp.*')"

# The next syncs meet the versions; each replica ends with all four.
run mm -C B sync A
[ "$RC" = 0 ] || [ "$RC" = 1 ] || fail "$(_shown "next sync exited $RC")"
run mm -C A sync B
[ "$RC" = 1 ] || fail "$(_shown "after the concurrent change, 'A sync B' exited $RC, not 1 (open conflicts)")"
expect_rc 1 mm -C B sync A
same_trees A B
for r in A B; do
	for w in A-edit B-edit-during-sync A-new B-created-during-sync; do
		grep -rlaF "$w" "$r" --exclude-dir=.mmsync >/dev/null || fail "version '$w' was lost on $r:
$(tree_list "$r")"
	done
	expect_rc 1 mm -C "$r" conflicts
	grep -q '^F	' "$OUT" && grep -q '^N	' "$OUT" || fail "$(_shown "$r does not list the conflicts on F and N")"
done
