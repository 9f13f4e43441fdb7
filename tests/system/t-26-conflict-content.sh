# Concurrent, different edits of a binary file: exit 1, the version with the
# later mtime stays at the path, the other is kept beside it as
# STEM.conflict-YYYYMMDD-HHMMSS-REPLICANAME.EXT (time: that version's mtime,
# UTC); `mmsync conflicts` lists it; both trees end identical.
. "$(dirname "$0")/synclib.sh"

mkrep A B C
mkdir A/dir
for f in f.bin notes .bashrc a.tar.gz dir/x.y.dat; do
	bin_content "base $f" >"A/$f"
done
expect_rc 0 mm -C B sync A
expect_rc 0 mm -C C sync A

t1='2024-03-04 05:06:07 UTC'
t2='2024-03-04 05:06:08 UTC'

# expect_conflict R PATH WINNER-CONTENT-WORD COPY LOSER-WORD LOSER-DATE:
# R has WINNER at PATH, the copy COPY with the loser's content and mtime,
# and `mmsync conflicts` on R lists PATH with its copy.
expect_conflict() {
	local r=$1 p=$2 win=$3 copy=$4 lose=$5 date=$6
	cmp -s "$r/$p" <(bin_content "$win") || fail "$r/$p does not hold the winner '$win': $(tr -d '\0' <"$r/$p")"
	[ -f "$r/$copy" ] || fail "no conflict copy '$copy' on $r; copies: $(conflict_copies "$r")"
	cmp -s "$r/$copy" <(bin_content "$lose") || fail "$r/$copy does not hold the loser '$lose'"
	[ "$(mtime_ns "$r/$copy")" = "$(date -d "$date" +%s)000000000" ] ||
		fail "$r/$copy has not the loser's mtime ($date): $(stat -c %y "$r/$copy")"
	expect_rc 1 mm -C "$r" conflicts
	grep -qF "$p	binary	" "$OUT" || fail "$(_shown "'conflicts' on $r does not list '$p<TAB>binary<TAB>...'")"
	grep -F "$p	binary	" "$OUT" | grep -qF "$copy" || fail "$(_shown "'conflicts' on $r does not name '$copy'")"
}

# 1. The peer's version is later: it stays at the path on A (which detected the
# conflict during the pull), A's own version goes beside it, named after A.
bin_content A1 >A/f.bin
bin_content B1 >B/f.bin
touch -d "$t1" A/f.bin
touch -d "$t2" B/f.bin
expect_rc 1 mm -C A --json sync B
expect_json 'conflicts == 1' 'ok == True'
copy=$(stamp_name f.bin "$t1" A)
[ "$copy" = f.conflict-20240304-050607-A.bin ] || fail "stamp_name helper: $copy"
expect_conflict A f.bin B1 "$copy" A1 "$t1"
# sync pushed the copy and the merged version: B is the same, with no conflict copy of its own
same_trees A B
[ "$(conflict_copies B)" = "$copy" ] || fail "B has other copies: $(conflict_copies B)"
# open conflicts keep exit 1 on later syncs with nothing new
expect_rc 1 mm -C A sync B

# 2. The local version is later: it stays; the peer's goes beside, named after B.
bin_content A2 >A/notes
bin_content B2 >B/notes
touch -d "$t2" A/notes
touch -d "$t1" B/notes
expect_rc 1 mm -C A pull B
expect_conflict A notes A2 "$(stamp_name notes "$t1" B)" B2 "$t1"
[ "$(stamp_name notes "$t1" B)" = notes.conflict-20240304-050607-B ] || fail "stamp_name: no dot"
cmp -s B/notes <(bin_content B2) || fail "a pull changed the peer"
expect_rc 1 mm -C A push B
same_trees A B

# 3. Names: only a leading dot (no extension), two dots, a dot in a subdirectory;
# here B detects the conflicts, pulling from A.
for f in .bashrc a.tar.gz dir/x.y.dat; do
	bin_content "A3 $f" >"A/$f"
	bin_content "B3 $f" >"B/$f"
	touch -d "$t1" "B/$f"
	touch -d "$t2" "A/$f"
done
expect_rc 1 mm -C B --json pull A
expect_json 'conflicts == 3'
[ "$(stamp_name .bashrc "$t1" B)" = .bashrc.conflict-20240304-050607-B ] || fail "stamp_name: leading dot"
[ "$(stamp_name a.tar.gz "$t1" B)" = a.tar.conflict-20240304-050607-B.gz ] || fail "stamp_name: two dots"
for f in .bashrc a.tar.gz dir/x.y.dat; do
	expect_conflict B "$f" "A3 $f" "$(stamp_name "$f" "$t1" B)" "B3 $f" "$t1"
done

# After syncs both ways (and with C, which saw none of it) every tree is the
# same, every version is there, nothing was lost; the conflicts are open on
# every replica that has them (C too: exit 1, and listed).
expect_rc 1 mm -C B sync A
expect_rc 1 mm -C C sync A
expect_rc 1 mm -C C sync B
expect_rc 1 mm -C C conflicts
[ "$(grep -c '	binary	' "$OUT")" = 5 ] || fail "$(_shown "C does not list the 5 conflicts")"
expect_rc 1 mm -C A sync C
same_trees A B C
[ "$(conflict_copies C | wc -l)" = 5 ] || fail "C lacks conflict copies: $(conflict_copies C)"
for w in A1 B1 A2 B2; do
	grep -rlaF "$w" C --exclude-dir=.mmsync >/dev/null || fail "version $w was lost"
done
for f in .bashrc a.tar.gz dir/x.y.dat; do
	for w in A3 B3; do
		grep -rlaF "$w $f" C --exclude-dir=.mmsync >/dev/null || fail "version '$w $f' was lost"
	done
done

# A replica that never had the file gets the path and its copy in one sync:
# the conflict is open there too.
mkrep D
expect_rc 1 mm -C D sync A
expect_rc 1 mm -C D conflicts
[ "$(grep -c '	binary	' "$OUT")" = 5 ] || fail "$(_shown "D does not list the 5 conflicts")"
same_trees A D
