# gc: a text file edited and synced between two replicas 200 times leaves
# hundreds of history rows and packs of merge bases; once both replicas have
# acknowledged everything, `mmsync gc` keeps a handful of history rows per
# path and one small pack, and merges still work after it.  Versions a
# policy replaced are kept until gc.retention passes.  gc on a replica with
# no peers breaks nothing.
. "$(dirname "$0")/synclib.sh"

hist_rows() { sqlite3 "$1/.mmsync/meta.db" 'select count(*) from history'; }
packs() { find "$1/.mmsync/bases" -name '*.pack' | wc -l; }
pack_bytes() { find "$1/.mmsync/bases" -name '*.pack' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
command -v sqlite3 >/dev/null || fail "sqlite3 is needed"

mkrep A B
seq 1 20 | sed 's/^/line /' >A/f.txt
printf 'other\nfile\nwith\nfive\nlines\n' >A/g.txt
expect_rc 0 mm -C B sync A
for ((i = 1; i <= 200; i++)); do
	if ((i % 2)); then
		sed -i "1s/.*/first line, edit $i on A/" A/f.txt
		mm -q -C A sync B || fail "sync $i (A with B) failed"
	else
		sed -i "20s/.*/last line, edit $i on B/" B/f.txt
		mm -q -C B sync A || fail "sync $i (B with A) failed"
	fi
done
# both sides hold the last version and have acknowledged each other's rows
expect_rc 0 mm -C A sync B
cmp -s A/f.txt B/f.txt || fail "A and B differ after the loop"
[ "$(sed -n 1p A/f.txt)" = 'first line, edit 199 on A' ] && [ "$(sed -n 20p A/f.txt)" = 'last line, edit 200 on B' ] ||
	fail "f.txt is not the last edit of each side: $(head -1 A/f.txt) / $(tail -1 A/f.txt)"
for r in A B; do
	n=$(hist_rows $r)
	[ "$n" -ge 200 ] || fail "$r has only $n history rows before gc: the test does not exercise gc"
	[ "$(packs $r)" -ge 100 ] || fail "$r has only $(packs $r) packs before gc"
done

for r in A B; do
	before=$(hist_rows $r)
	run mm -C $r --json gc
	_LAST_CMD="mm -C $r --json gc"
	if [ "$RC" != 0 ]; then
		fail_later "$(_shown "'mm -C $r --json gc': expected exit 0, got $RC")"
	else
		later expect_json 'history >= 190' 'bases_dropped >= 190' 'bases_kept >= 1' 'bases_kept <= 4'
	fi
	n=$(hist_rows $r)
	[ "$n" -ge 1 ] && [ "$n" -le 4 ] || fail_later "$r: $n history rows after gc (was $before), want 1..4 (2 paths)"
	[ "$(packs $r)" -le 1 ] || fail_later "$r: $(packs $r) packs of merge bases after gc, want at most 1"
	[ "$(pack_bytes $r)" -le 4096 ] || fail_later "$r: $(pack_bytes $r) bytes of packs after gc, want at most 4096"
	# the replica still works: nothing to do, nothing wrong
	expect_rc 0 mm -C $r status
done
expect_rc 0 mm -C A --json sync B
expect_json 'files_in == 0' 'files_out == 0' 'conflicts == 0'

# a concurrent disjoint edit still merges cleanly against the kept base
sed -i '1s/.*/first line after gc (A)/' A/f.txt
sed -i '20s/.*/last line after gc (B)/' B/f.txt
sed -i '1s/.*/OTHER (B)/' B/g.txt
sed -i '5s/.*/LINES (A)/' A/g.txt
expect_rc 0 mm -C A --json sync B
expect_json 'merged == 2' 'conflicts == 0' 'failed == 0'
want=$( (echo 'first line after gc (A)'; seq 2 19 | sed 's/^/line /'; echo 'last line after gc (B)'))
for r in A B; do
	[ "$(cat $r/f.txt)" = "$want" ] || fail "$r/f.txt is not the merge after gc:
$(cat $r/f.txt)"
	[ "$(cat $r/g.txt)" = $'OTHER (B)\nfile\nwith\nfive\nLINES (A)' ] || fail "$r/g.txt is not the merge after gc: $(cat $r/g.txt)"
	[ -z "$(conflict_copies $r)" ] || fail "$r: copies after a merge: $(conflict_copies $r)"
done
# and again after a second gc
run mm -C A gc
[ "$RC" = 0 ] || fail_later "$(_shown "second gc on A: exit $RC")"
sed -i '2s/.*/line 2 (A)/' A/f.txt
sed -i '19s/.*/line 19 (B)/' B/f.txt
expect_rc 0 mm -C B --json sync A
expect_json 'merged == 1' 'conflicts == 0'
[ "$(sed -n 2p B/f.txt)/$(sed -n 19p B/f.txt)" = 'line 2 (A)/line 19 (B)' ] || fail "the merge after the second gc lost an edit"

# ---- versions a policy replaced: kept until gc.retention passes
GD=$_LIB_TMP/git
git init -q --bare "$GD"
blob_ok() { GIT_DIR=$GD GIT_OBJECT_DIRECTORY=$PWD/$1/.mmsync/bases git cat-file -e "$2" 2>/dev/null; }
git config -f A/.mmsync/config conflict.policy prefer-newer
bin_content base >A/p.bin
expect_rc 0 mm -C B sync A
bin_content A-new >A/p.bin
bin_content B-old >B/p.bin
touch -d '2024-01-01 00:00:02 UTC' A/p.bin
touch -d '2024-01-01 00:00:01 UTC' B/p.bin
expect_rc 0 mm -C A sync B
oid=$(sed -n 's/.* kept p.bin .* is kept as base \([0-9a-f]\{40\}\)$/\1/p' A/.mmsync/log | tail -1)
[ "$oid" = "$(bin_content B-old | git hash-object --stdin)" ] || fail "the log does not name B's replaced version: '$oid'"
blob_ok A "$oid" || fail "B's replaced version is not in A's bases store"
run mm -C A gc
[ "$RC" = 0 ] || fail_later "$(_shown "gc with a policy loser: exit $RC")"
blob_ok A "$oid" || fail "gc dropped the replaced version before gc.retention passed"
git config -f A/.mmsync/config gc.retention 0
sleep 1.1
run mm -C A gc
[ "$RC" = 0 ] || fail_later "$(_shown "gc with gc.retention 0: exit $RC")"
! blob_ok A "$oid" || fail_later "gc kept the replaced version after gc.retention passed"

# ---- gc on a replica with no peers
mkrep L
printf 'solo\n' >L/s.txt
expect_rc 0 mm -C L scan
printf 'solo, edited\n' >L/s.txt
expect_rc 0 mm -C L scan
rm L/s.txt
printf 'another\n' >L/t.txt
expect_rc 0 mm -C L scan
before=$(hist_rows L)
run mm -C L --json gc
[ "$RC" = 0 ] || fail_later "$(_shown "gc on a replica with no peers: exit $RC")"
[ "$(hist_rows L)" = "$before" ] || fail_later "gc with no peers dropped history ($before -> $(hist_rows L)): no peer has acknowledged anything"
# the tombstone of s.txt stays: nobody has received it
[ "$(sqlite3 L/.mmsync/meta.db 'select count(*) from entries where kind = 0')" = 1 ] || fail_later "gc with no peers dropped a tombstone"
expect_rc 0 mm -C L status
expect_out_lacks 's.txt'
# L still syncs, and its deletion still reaches a new peer's copy of nothing
mkrep K
expect_rc 0 mm -C K sync L
[ "$(cat K/t.txt)" = another ] && [ ! -e K/s.txt ] || fail "K did not get L's tree after gc"
printf 'edited on K\n' >K/t.txt
expect_rc 0 mm -C L sync K
[ "$(cat L/t.txt)" = 'edited on K' ] || fail "L did not take K's edit after gc"
