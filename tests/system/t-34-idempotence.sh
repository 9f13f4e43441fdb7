# Idempotence: right after a sync, another sync (or pull, or push) moves
# nothing (files_in 0, files_out 0, deleted 0) and touches nothing on either
# side (same inodes, ctimes, mtimes, modes, content); also with an open
# conflict and with three replicas.
. "$(dirname "$0")/synclib.sh"

mkrep A B C
mkdir -p A/d/e A/empty
printf 'a\n' >A/a
: >A/zero
bin_content bin >A/d/bin
chmod 0600 A/d/bin
chmod 0700 A/d/e
ln -s a A/lnk
ln -s nowhere A/dangling
printf 'b\n' >B/b
mkdir B/bdir
expect_rc 0 mm -C A sync B
same_trees A B

nothing_moves() {
	local a=$1 b=$2 cmd before after
	before=$(TREE_STRICT=1 tree_list "$a" "$b")
	: >"$T/json"
	for cmd in sync pull push sync; do
		run mm -C "$a" --json $cmd "$b"
		[ "$RC" = 0 ] || [ "$RC" = 1 ] || fail "$(_shown "'$cmd' exited $RC")"
		cat "$OUT" >>"$T/json"
	done
	cp "$T/json" "$OUT"
	_LAST_CMD="mm -C $a --json sync/pull/push/sync $b"
	expect_json -n all 'files_in == 0' 'files_out == 0' 'deleted == 0' 'conflicts == 0' 'failed == 0'
	after=$(TREE_STRICT=1 tree_list "$a" "$b")
	[ "$before" = "$after" ] || fail "syncs with nothing to do changed $a or $b:
$(diff <(echo "$before") <(echo "$after"))"
}
nothing_moves A B
nothing_moves B A

# After changes on both sides (edits, deletions, a rename, a mode change).
printf 'a2\n' >A/a
rm B/b
mv A/d/bin A/d/bin2
chmod 0755 B/bdir
expect_rc 0 mm -C B sync A
nothing_moves A B

# With an open conflict (exit 1 all along, but nothing moves).
bin_content A-side >A/c
bin_content B-side >B/c
touch -d '2020-01-01 UTC' A/c
expect_rc 1 mm -C A sync B
nothing_moves A B
expect_rc 1 mm -C A sync B

# A third replica in the mix (whether it lists the conflict is t-26's business).
for p in A B; do
	run mm -C C sync $p
	[ "$RC" = 0 ] || [ "$RC" = 1 ] || fail "$(_shown "'mm -C C sync $p' exited $RC")"
done
nothing_moves C A
nothing_moves B C
same_trees A B C
