# Ring and mesh topologies of four replicas: each writes its own files and
# edits shared ones in turn; changes go round the ring, then all pairs sync;
# every tree ends identical, with no conflict.
. "$(dirname "$0")/synclib.sh"

mkrep A B C D
R=(A B C D)

mkdir -p A/shared
printf 'v0\n' >A/shared/doc
expect_rc 0 mm -C B pull A
expect_rc 0 mm -C C pull B
expect_rc 0 mm -C D pull C
same_trees A B C D

# Ring A -> B -> C -> D -> A with sync, two laps; each replica adds a file and
# deletes the one it added in the lap before; the shared file is edited by
# whoever holds the newest version (causal order: never a conflict).
for lap in 1 2; do
	for i in 0 1 2 3; do
		r=${R[i]} next=${R[(i + 1) % 4]}
		printf '%s lap %s\n' "$r" "$lap" >"$r/own-$r-$lap"
		[ "$lap" = 1 ] || rm "$r/own-$r-$((lap - 1))"
		printf '%s edit %s\n' "$r" "$lap" >>"$r/shared/doc"
		expect_rc 0 mm -C "$r" sync "$next"
	done
done
# One more lap brings everything everywhere.
for i in 0 1 2 3; do
	expect_rc 0 mm -C "${R[i]}" sync "${R[(i + 1) % 4]}"
done
same_trees A B C D
expect_tree A <<'X'
own-A-2 f 0644
own-B-2 f 0644
own-C-2 f 0644
own-D-2 f 0644
shared d 0755
shared/doc f 0644
X
[ "$(wc -l <A/shared/doc)" = 9 ] || fail "the shared file lost edits: $(cat A/shared/doc)"

# Mesh: everyone changes something of their own, then all pairs sync (in both
# orders), with pull and push mixed; no conflicts, all identical.
for r in A B C D; do
	mkdir -p "$r/mesh-$r"
	printf '%s\n' "$r" >"$r/mesh-$r/f"
done
rm A/own-B-2 # A deletes B's file
chmod 0600 C/own-A-2
expect_rc 0 mm -C A sync B C D
expect_rc 0 mm -C B pull C
expect_rc 0 mm -C B push D
expect_rc 0 mm -C C sync D A
expect_rc 0 mm -C D sync B
expect_rc 0 mm -C D sync A C
expect_rc 0 mm -C B sync A C D
expect_rc 0 mm -C A sync B C D
same_trees A B C D
[ ! -e D/own-B-2 ] || fail "A's deletion did not reach D"
[ "$(stat -c %a A/own-A-2)" = 600 ] || fail "C's chmod did not reach A"
for r in A B C D; do
	expect_rc 0 mm -C "$r" conflicts
	[ -z "$(conflict_copies "$r")" ] || fail "conflict copies on $r: $(conflict_copies "$r")"
done
