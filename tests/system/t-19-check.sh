# mmsync check verifies the store against itself and the tree and changes
# nothing: exit 0 when clean (changes not yet scanned are counted, not
# problems), 3 with one KIND<TAB>PATH<TAB>DETAIL line per problem: a row the
# store records wrongly, a file whose content is not the recorded one while
# its stat data is ("damaged": what a scan can never see), a damaged SQLite
# file.  A replica whose store is damaged or missing refuses every command
# with a message saying how to recover, and following it works: the tree is
# intact and a sync with a peer brings no conflict.
. "$(dirname "$0")/synclib.sh"
command -v sqlite3 >/dev/null || fail "sqlite3 is needed (make deps)"

mkrep A B
mkdir -p A/d
for i in 1 2 3 4 5 6 7 8; do printf 'content %s\n' "$i" >"A/d/f$i"; done
ln -s d/f1 A/link
# old enough that the scan trusts their stat data (not racy)
touch -h -d '2 hours ago' A/d/* A/link
expect_rc 0 mm -C A sync B
same_trees A B

dump() { sqlite3 "$1/.mmsync/meta.db" .dump; }

# clean
dump A >"$T/before"
expect_rc 0 mm -C A check
expect_out_line "check: 10 rows in the store; 8 files (80 bytes read), 1 directories, 1 links in the tree: 0 problems"
expect_rc 0 mm -C A --json check
json_val '[j["problems"], j["rows"], j["files"], j["unrecorded_changes"]]'
expect_eq "$JV" "[[], 10, 8, 0]" "check --json of a clean replica"
expect_rc 0 mm -C A -q check
expect_out_empty

# a change not yet scanned is not a problem, and check does not record it
printf 'new\n' >A/new
expect_rc 0 mm -C A check
expect_out_contains "1 change since the last scan, not yet recorded"
dump A >"$T/after"
cmp -s "$T/before" "$T/after" || fail "check changed the store"
rm A/new

# a file whose content is not the recorded one though its stat data is: the
# store is made to record another hash (what bit rot looks like from here)
sqlite3 A/.mmsync/meta.db "UPDATE entries SET hash = zeroblob(32) WHERE key = CAST('d' || char(0) || 'f3' AS BLOB)"
expect_rc 3 mm -C A check
expect_out_contains "$(printf 'damaged\td/f3\tthe content is not the recorded one')"
expect_out_contains ": 1 problem"
expect_rc 3 mm -C A --json check
json_val '[(p["kind"], p["path"]) for p in j["problems"]]'
expect_eq "$JV" '[["damaged", "d/f3"]]' "check --json problems"

# rows the store records wrongly: a file with no hash, an empty version vector
sqlite3 A/.mmsync/meta.db "UPDATE entries SET hash = NULL WHERE key = CAST('d' || char(0) || 'f4' AS BLOB);
UPDATE entries SET vv = x'' WHERE key = CAST('d' || char(0) || 'f5' AS BLOB)"
expect_rc 3 mm -C A check
expect_out_contains "$(printf 'store\td/f4\ta file with no content hash')"
expect_out_contains "bad version vector for 'd/f5'"
expect_out_contains "$(printf 'tree\t.\tnot checked')"
expect_out_lacks "damaged"

# a damaged SQLite file: every command refuses with the way to recover
mkrep C
for i in 1 2 3; do printf 'c %s\n' "$i" >"C/c$i"; done
expect_rc 0 mm -C C sync B
dump C >/dev/null
size=$(stat -c %s C/.mmsync/meta.db)
[ "$size" -gt 8192 ] || fail "C's store is unexpectedly small ($size bytes)"
# overwrite a page in the middle of the file (not the header)
python3 - C/.mmsync/meta.db <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(4096 + 100)
    f.write(b"\xa5" * 3000)
PY
for cmd in scan "sync B" status; do
	# shellcheck disable=SC2086
	expect_rc 3 mm -C C $cmd
	expect_err_contains "metadata store '$T/C/.mmsync/meta.db' is damaged"
	expect_err_contains "move '$T/C/.mmsync' out of the tree, run 'mmsync init $T/C'"
done
# check says what SQLite found, and does not compare a tree with rows it cannot read
expect_rc 3 mm -C C check
expect_out_contains "$(printf 'store\t.\t')"
expect_out_contains "is damaged"
expect_out_contains "$(printf 'tree\t.\tnot checked')"
# the tree is untouched, and the recovery the message gives works
[ "$(cat C/c2)" = "c 2" ] || fail "C's files changed"
mv C/.mmsync "$T/C-damaged-mmsync"
expect_rc 0 mm init C --name C
expect_rc 0 mm -C C sync B
expect_rc 0 mm -C C conflicts
expect_out_empty
same_trees B C

# a missing store: the same
rm C/.mmsync/meta.db
expect_rc 3 mm -C C sync B
expect_err_contains "has no metadata store"
expect_err_contains "move '$T/C/.mmsync' out of the tree"
# a peer path without .mmsync/ at all
rm -rf C/.mmsync
expect_rc 3 mm -C B sync C
expect_err_contains "not a replica"
[ -f B/d/f8 ] && [ -f B/c3 ] || fail "B lost files"
expect_err_contains "if it was one and lost it, 'mmsync init' makes it one again"
# an empty directory where a replica was: a disk that is not mounted
mkdir mnt
expect_rc 3 mm -C B sync mnt
expect_err_contains "peer 'mnt' is not a replica: it is empty (is its disk not mounted?)"
expect_rc 3 mm -C mnt sync B
expect_err_contains "'mnt' is empty: is its disk not mounted?"
[ -z "$(ls -A mnt)" ] || fail "a refused sync wrote into mnt"
