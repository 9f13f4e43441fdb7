# The base of a merge is the true common ancestor, not the previous version:
# A writes v1 and syncs it to B and C; A edits v2 and syncs it to B only;
# B edits v2 into v3, C edits v1 into v4.  When B and C meet, v3 and v4
# merge against v1.  Merged against v2 (B's previous version), c1.txt would
# conflict (C's v4 "reverts" line 5 that B edited again) and c2.txt would
# merge cleanly but silently lose A's edit of line 5.  Run twice: once with
# C merging (pulling from B), once with B merging (pulling from C), where
# v2 is in B's own history.
. "$(dirname "$0")/synclib.sh"

v1=$'one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n'

# expect_file R PATH CONTENT
expect_file() {
	local got
	got=$(cat "$1/$2"; printf x)
	[ "${got%x}" = "$3" ] || fail "$1/$2 holds:
$(cat "$1/$2")
want:
$3"
}

# scenario A B C DIRECTION [SAME]: DIRECTION "C" (C syncs with B) or "B" (B
# syncs with C); with SAME=same, C's two files end with the same content
# (so that content for one may be copied locally from the other).
scenario() {
	local a=$1 b=$2 c=$3 dir=$4 same=${5:-} r n1='nine (C)' n2='nine (C2)'
	[ "$same" = same ] && n2=$n1
	mkrep "$a" "$b" "$c"
	printf '%s' "$v1" >"$a/c1.txt"
	printf '%s' "$v1" >"$a/c2.txt"
	expect_rc 0 mm -C "$b" sync "$a"
	expect_rc 0 mm -C "$c" sync "$a"

	# v2 on A, synced to B only
	sed -i 's/^five$/five (A)/' "$a/c1.txt" "$a/c2.txt"
	expect_rc 0 mm -C "$b" sync "$a"
	expect_file "$b" c1.txt $'one\ntwo\nthree\nfour\nfive (A)\nsix\nseven\neight\nnine\n'

	# v3 on B from v2: c1 edits A's line again, c2 edits line 1
	sed -i 's/^five (A)$/five (A) and (B)/' "$b/c1.txt"
	sed -i 's/^one$/one (B)/' "$b/c2.txt"
	# v4 on C from v1: both edit line 9
	sed -i "s/^nine\$/$n1/" "$c/c1.txt"
	sed -i "s/^nine\$/$n2/" "$c/c2.txt"
	expect_scan -C "$b" <<-EOF
		modified c1.txt
		modified c2.txt
	EOF
	expect_scan -C "$c" <<-EOF
		modified c1.txt
		modified c2.txt
	EOF

	if [ "$dir" = C ]; then
		expect_rc 0 mm -C "$c" --json sync "$b"
	else
		expect_rc 0 mm -C "$b" --json sync "$c"
	fi
	expect_json 'merged == 2' 'conflicts == 0' 'failed == 0'
	for r in "$b" "$c"; do
		expect_file "$r" c1.txt $'one\ntwo\nthree\nfour\nfive (A) and (B)\nsix\nseven\neight\nnine (C)\n'
		expect_file "$r" c2.txt "one (B)"$'\ntwo\nthree\nfour\nfive (A)\nsix\nseven\neight\n'"$n2"$'\n'
		[ -z "$(conflict_copies "$r")" ] || fail "$r has conflict copies: $(conflict_copies "$r")"
		expect_rc 0 mm -C "$r" conflicts
	done
	# A (v2) takes the merge as a plain update: it descends from v2
	expect_rc 0 mm -C "$a" --json sync "$c"
	expect_json 'merged == 0' 'conflicts == 0' 'files_in == 2' 'files_out == 0'
	expect_file "$a" c1.txt $'one\ntwo\nthree\nfour\nfive (A) and (B)\nsix\nseven\neight\nnine (C)\n'
	expect_file "$a" c2.txt "one (B)"$'\ntwo\nthree\nfour\nfive (A)\nsix\nseven\neight\n'"$n2"$'\n'
	expect_rc 0 mm -C "$a" sync "$b"
	same_trees "$b" "$c"
}

scenario A B C C
scenario A2 B2 C2 B

# A longer chain: the common ancestor is three versions back on one side.
mkrep P Q
printf '%s' "$v1" >P/deep.txt
expect_rc 0 mm -C Q sync P
# Q edits three times in a row (each recorded as its own version), P once
for w in two four six; do
	sed -i "s/^$w\$/$w (Q)/" Q/deep.txt
	expect_scan -C Q <<-EOF
		modified deep.txt
	EOF
done
sed -i 's/^nine$/nine (P)/' P/deep.txt
expect_rc 0 mm -C P --json sync Q
expect_json 'merged == 1' 'conflicts == 0'
for r in P Q; do
	expect_file $r deep.txt $'one\ntwo (Q)\nthree\nfour (Q)\nfive\nsix (Q)\nseven\neight\nnine (P)\n'
done

# The same, where C's two files hold the same content: B, merging c1.txt,
# must not lose the local source it would copy c2.txt's content from.
scenario A3 B3 C3 B same
