# Conflict policies and merge settings in .mmsync/config:
#  - conflict.policy prefer-newer and conflict.PATTERN.policy "prefer NAME"
#    settle conflicts that do not merge: no copy, exit 0, nothing left open,
#    the log names the loser's blob id, and the loser's content can be read
#    back from the bases store;
#  - a policy never applies to a file against a directory, and "prefer NAME"
#    with neither side written by NAME keeps both;
#  - merge.markers=true writes the diff3 result with markers at the path, the
#    other version beside it, and the conflict stays open;
#  - merge.exclude and merge.maxSize keep files from being merged.
. "$(dirname "$0")/synclib.sh"

t1='2024-02-02 02:02:01 UTC'
t2='2024-02-02 02:02:02 UTC'

# blob ID in REPLICA: prints the content of blob ID in REPLICA's bases store
GD=$_LIB_TMP/git
git init -q --bare "$GD" || fail "git init --bare"
blob() {
	GIT_DIR=$GD GIT_OBJECT_DIRECTORY=$PWD/$1/.mmsync/bases git cat-file -p "$2"
}
# log_blob REPLICA PATH: the blob id the last policy line of PATH names
log_blob() {
	grep -E "[0-9]Z kept $2 " "$1/.mmsync/log" | tail -1 | sed -n 's/.* is kept as base \([0-9a-f]\{40\}\)$/\1/p'
}

# ---- 1. policies
mkrep A B
for f in newer-ours.bin newer-theirs.bin data.log pref-ours.log text.txt odd.bin; do
	bin_content "base $f" >A/$f
done
printf 'a\nb\nc\n' >A/text.txt
printf 'shared\n' >A/kind
expect_rc 0 mm -C B sync A
git config -f A/.mmsync/config conflict.policy prefer-newer
git config -f A/.mmsync/config 'conflict.*.log.policy' 'prefer B'
git config -f A/.mmsync/config 'conflict.odd.bin.policy' 'prefer nobody'
[ "$(git config -f A/.mmsync/config --get 'conflict.*.log.policy')" = 'prefer B' ] || fail "git config did not write the rule"

# prefer-newer, ours newer: A keeps its own
bin_content A-no >A/newer-ours.bin
bin_content B-no >B/newer-ours.bin
touch -d "$t2" A/newer-ours.bin
touch -d "$t1" B/newer-ours.bin
# prefer-newer, theirs newer: B's replaces A's
bin_content A-nt >A/newer-theirs.bin
bin_content B-nt >B/newer-theirs.bin
touch -d "$t1" A/newer-theirs.bin
touch -d "$t2" B/newer-theirs.bin
# *.log: prefer B even though A's is newer
bin_content A-log >A/data.log
bin_content B-log >B/data.log
touch -d "$t2" A/data.log
touch -d "$t1" B/data.log
# a text edit that does not merge is settled by prefer-newer too
printf 'a\nb by A\nc\n' >A/text.txt
printf 'a\nb by B\nc\n' >B/text.txt
touch -d "$t1" A/text.txt
touch -d "$t2" B/text.txt
# prefer nobody: neither side is 'nobody', so both are kept
bin_content A-odd >A/odd.bin
bin_content B-odd >B/odd.bin
touch -d "$t2" A/odd.bin
touch -d "$t1" B/odd.bin
# a file against a directory: never settled by a policy
rm A/kind
mkdir A/kind
printf 'in dir\n' >A/kind/f
printf 'edited\n' >B/kind
touch -d "$t1" B/kind

run mm -C A --json sync B
_LAST_CMD='mm -C A --json sync B'
[ "$RC" = 1 ] || fail "$(_shown "sync with two conflicts the policies do not settle: want exit 1")"
expect_json 'conflicts == 2' 'failed == 0' 'merged == 0'
for r in A B; do
	cmp -s $r/newer-ours.bin <(bin_content A-no) || fail "$r/newer-ours.bin: prefer-newer did not keep A's newer version"
	cmp -s $r/newer-theirs.bin <(bin_content B-nt) || fail "$r/newer-theirs.bin: prefer-newer did not take B's newer version"
	cmp -s $r/data.log <(bin_content B-log) || fail "$r/data.log: 'prefer B' did not keep B's version"
	[ "$(cat $r/text.txt)" = $'a\nb by B\nc' ] || fail "$r/text.txt: prefer-newer did not take B's newer version"
	cmp -s $r/odd.bin <(bin_content A-odd) || fail "$r/odd.bin: the later version is not at the path"
	[ -d $r/kind ] || fail "$r/kind: the directory did not stay"
	want=$(printf '%s\n' "$(stamp_name kind "$t1" B)" "$(stamp_name odd.bin "$t1" B)" | LC_ALL=C sort)
	[ "$(conflict_copies $r)" = "$want" ] || fail "$r: copies are not just those of odd.bin and kind:
$(conflict_copies $r)"
done
expect_rc 1 mm -C A conflicts
[ "$(cut -f1,2 "$OUT" | tr '\t\n' ': ')" = 'kind:type odd.bin:binary ' ] || fail "$(_shown "A's open conflicts")"

# the log names each loser's blob, which the bases store holds
expect_rc 0 mm -C A log
for p in newer-ours.bin newer-theirs.bin data.log text.txt; do
	grep -qE "[0-9]Z kept $p peer=B policy " "$OUT" || fail "$(_shown "A's log has no policy line for $p")"
done
expect_out_contains 'kept newer-ours.bin peer=B policy prefer-newer: kept A'"'"'s version; B'"'"'s is kept as base '
expect_out_contains 'kept newer-theirs.bin peer=B policy prefer-newer: kept B'"'"'s version; A'"'"'s is kept as base '
expect_out_contains 'kept data.log peer=B policy prefer: kept B'"'"'s version; A'"'"'s is kept as base '
check_loser() { # PATH LOSER-CONTENT-CMD...
	local p=$1 oid
	shift
	oid=$(log_blob A "$p")
	[ -n "$oid" ] || fail "no blob id in A's log line for $p"
	[ "$oid" = "$("$@" | git hash-object --stdin)" ] || fail "the blob id logged for $p is not the loser's content"
	cmp -s <(blob A "$oid") <("$@") || fail "blob $oid ($p's loser) cannot be read back from A's bases store"
}
check_loser newer-ours.bin bin_content B-no
check_loser newer-theirs.bin bin_content A-nt
check_loser data.log bin_content A-log
check_loser text.txt printf 'a\nb by A\nc\n'
# settled conflicts stay settled: a second sync changes nothing
expect_rc 1 mm -C A --json sync B
expect_json 'conflicts == 0' 'files_in == 0' 'files_out == 0'
expect_rc 1 mm -C B conflicts
[ "$(cut -f1 "$OUT" | tr '\n' ' ')" = 'kind odd.bin ' ] || fail "$(_shown "B's open conflicts")"

# only policies: exit 0 and nothing open
bin_content A-2 >A/newer-ours.bin
bin_content B-2 >B/newer-ours.bin
touch -d "$t1" A/newer-ours.bin
touch -d "$t2" B/newer-ours.bin
bin_content A-log2 >A/data.log
bin_content B-log2 >B/data.log
touch -d "$t2" A/data.log
touch -d "$t1" B/data.log
expect_rc 1 mm -C A conflicts resolve odd.bin --ours
expect_rc 0 mm -C A conflicts resolve kind --ours
expect_rc 0 mm -C A --json sync B
expect_json 'conflicts == 0' 'merged == 0'
for r in A B; do
	cmp -s $r/newer-ours.bin <(bin_content B-2) || fail "$r: prefer-newer (2nd round) did not take B's newer version"
	cmp -s $r/data.log <(bin_content B-log2) || fail "$r: 'prefer B' (2nd round) did not keep B's version"
done
[ -z "$(conflict_copies A)$(conflict_copies B)" ] || fail "copies left: $(conflict_copies A) $(conflict_copies B)"
expect_rc 0 mm -C B conflicts
check_loser newer-ours.bin bin_content A-2
check_loser data.log bin_content A-log2

# ---- 2. merge.markers
mkrep M N
printf 'a\nb\nc\n' >M/m1.txt
printf 'a\nb\nc\n' >M/m2.txt
expect_rc 0 mm -C N sync M
git config -f M/.mmsync/config merge.markers true
# m1: M's version is newer; m2: N's is newer
printf 'a\nb by M\nc\n' >M/m1.txt
printf 'a\nb by N\nc\n' >N/m1.txt
touch -d "$t2" M/m1.txt
touch -d "$t1" N/m1.txt
printf 'a\nb by M\nc\nd\n' >M/m2.txt
printf 'a\nb by N\nc\n' >N/m2.txt
touch -d "$t1" M/m2.txt
touch -d "$t2" N/m2.txt
expect_rc 1 mm -C M --json sync N
expect_json 'conflicts == 2' 'merged == 0'
# markers_of M-CONTENT N-CONTENT-LINE...: the diff3 text, sides ordered by SHA-256 as mmsync orders them
markers() { # FILE M_CONTENT N_CONTENT M_LINE N_LINE TAIL
	local hm hn first second fl sl
	hm=$(printf '%s' "$2" | sha256sum | cut -c1-64)
	hn=$(printf '%s' "$3" | sha256sum | cut -c1-64)
	if [[ $hm < $hn ]]; then
		first=M second=N fl=$4 sl=$5
	else
		first=N second=M fl=$5 sl=$4
	fi
	printf 'a\n<<<<<<< %s\n%s\n||||||| base\nb\n=======\n%s\n>>>>>>> %s\nc\n%s' "$first" "$fl" "$sl" "$second" "$6"
}
want1=$(markers m1.txt $'a\nb by M\nc\n' $'a\nb by N\nc\n' 'b by M' 'b by N' '')
want2=$(markers m2.txt $'a\nb by M\nc\nd\n' $'a\nb by N\nc\n' 'b by M' 'b by N' 'd')
for r in M N; do
	[ "$(cat $r/m1.txt)" = "$want1" ] || fail "$r/m1.txt does not hold the diff3 markers:
$(cat $r/m1.txt)
want:
$want1"
	[ "$(cat $r/m2.txt)" = "$want2" ] || fail "$r/m2.txt does not hold the diff3 markers:
$(cat $r/m2.txt)
want:
$want2"
	# the loser (the older version) is beside it
	[ "$(cat "$r/$(stamp_name m1.txt "$t1" N)")" = $'a\nb by N\nc' ] || fail "$r: N's m1.txt is not beside it; copies: $(conflict_copies $r)"
	[ "$(cat "$r/$(stamp_name m2.txt "$t1" M)")" = $'a\nb by M\nc\nd' ] || fail "$r: M's m2.txt is not beside it; copies: $(conflict_copies $r)"
	[ "$(conflict_copies $r | wc -l)" = 2 ] || fail "$r: other copies: $(conflict_copies $r)"
	expect_rc 1 mm -C $r conflicts
	[ "$(cut -f1,2 "$OUT" | tr '\t\n' ': ')" = 'm1.txt:content m2.txt:content ' ] || fail "$(_shown "$r: the conflicts are not open")"
done
# the markers file does not merge again, nor make new conflicts
expect_rc 1 mm -C M --json sync N
expect_json 'conflicts == 0' 'merged == 0' 'files_in == 0' 'files_out == 0'
# resolved by editing on N: closed on both
printf 'a\nb by M and N\nc\n' >N/m1.txt
expect_rc 1 mm -C N conflicts resolve m1.txt
expect_rc 1 mm -C M sync N
expect_rc 1 mm -C M conflicts
[ "$(cut -f1 "$OUT")" = m2.txt ] || fail "$(_shown "m1.txt is still open on M")"
[ "$(cat M/m1.txt)" = $'a\nb by M and N\nc' ] || fail "M did not take N's resolution of m1.txt"

# ---- 3. merge.exclude and merge.maxSize: disjoint edits that would merge are kept apart
mkrep X Y
small=$'1\n2\n3\n4\n5\n'                  # 10 bytes; edited: 12
big=$'1\n2\n3\n4\n5\n6\n7\n8\n'             # 16 bytes; edited: 18
printf '%s' "$small" >X/lock.json
printf '%s' "$small" >X/ok.txt
printf '%s' "$big" >X/big.txt
expect_rc 0 mm -C Y sync X
git config -f X/.mmsync/config merge.exclude '*.json'
git config -f X/.mmsync/config merge.maxSize 15
for f in lock.json ok.txt; do
	printf '1 X\n2\n3\n4\n5\n' >X/$f
	printf '1\n2\n3\n4\n5 Y\n' >Y/$f
	touch -d "$t2" X/$f
	touch -d "$t1" Y/$f
done
printf '1 X\n2\n3\n4\n5\n6\n7\n8\n' >X/big.txt
printf '1\n2\n3\n4\n5\n6\n7\n8 Y\n' >Y/big.txt
touch -d "$t2" X/big.txt
touch -d "$t1" Y/big.txt
expect_rc 1 mm -C X --json sync Y
expect_json 'merged == 1' 'conflicts == 2'
[ "$(cat X/ok.txt)" = $'1 X\n2\n3\n4\n5 Y' ] || fail "ok.txt did not merge: $(cat X/ok.txt)"
[ "$(cat X/lock.json)" = $'1 X\n2\n3\n4\n5' ] || fail "X/lock.json is not X's (later) version"
[ "$(cat "X/$(stamp_name lock.json "$t1" Y)")" = $'1\n2\n3\n4\n5 Y' ] || fail "Y's lock.json is not beside it"
[ "$(cat X/big.txt)" = $'1 X\n2\n3\n4\n5\n6\n7\n8' ] || fail "X/big.txt is not X's (later) version"
[ "$(cat "X/$(stamp_name big.txt "$t1" Y)")" = $'1\n2\n3\n4\n5\n6\n7\n8 Y' ] || fail "Y's big.txt is not beside it"
expect_rc 1 mm -C X conflicts
[ "$(cut -f1,2 "$OUT" | tr '\t\n' ': ')" = 'big.txt:content lock.json:content ' ] || fail "$(_shown "X's conflicts")"
