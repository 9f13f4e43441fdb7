# scan: files and directories added, modified, deleted; the -v format; --json counts.
. "$(dirname "$0")/lib.sh"

expect_rc 0 mm init r --name s
cd r || fail "no r"

# A fresh replica: nothing to report.
expect_scan </dev/null
expect_out_line "scanned 0 files, 0 directories, 0 links: 0 added, 0 modified, 0 deleted"

# First scan: every file and directory, empty directories too.
mkdir -p docs/notes empty deep/er/est
echo "hello" >a.txt
printf 'binary\0data' >docs/b.bin
echo one >docs/notes/n1
: >zero-length
expect_scan <<'X'
added a.txt
added docs
added docs/b.bin
added docs/notes
added docs/notes/n1
added empty
added deep
added deep/er
added deep/er/est
added zero-length
X
# The -v format: the change padded to 9 columns, a space, the path.
expect_out_line "added     a.txt"
expect_out_line "added     docs/notes/n1"
expect_out_line "scanned 4 files, 6 directories, 0 links: 10 added, 0 modified, 0 deleted"
# The state directory is never listed.
expect_out_lacks ".mmsync"

# A second scan reports nothing, and without -v prints only the summary.
expect_scan </dev/null
expect_rc 0 mm scan
[ "$(wc -l <"$OUT")" = 1 ] || fail "'scan' without -v printed more than the summary: $(cat "$OUT")"
expect_out_line "scanned 4 files, 6 directories, 0 links: 0 added, 0 modified, 0 deleted"

# Content changes: rewrite, same size rewrite, append, truncate to empty, fill an empty file.
echo "HELLO" >a.txt
printf 'BINARY\0DATA' >docs/b.bin
echo two >>docs/notes/n1
echo now-something >zero-length
expect_scan <<'X'
modified a.txt
modified docs/b.bin
modified docs/notes/n1
modified zero-length
X
expect_out_line "modified  a.txt"
: >zero-length
expect_scan <<'X'
modified zero-length
X

# Only the mtime changed (same content): not a change.
touch -d '2001-02-03 04:05:06' a.txt docs/b.bin
expect_scan </dev/null
touch a.txt
expect_scan </dev/null
# Rewritten with the same content: not a change either.
echo "HELLO" >a.txt
expect_scan </dev/null

# A mode-only change is a modification; so is a directory's mode.
chmod 600 a.txt
expect_scan <<'X'
modified a.txt
X
chmod 755 a.txt
expect_scan <<'X'
modified a.txt
X
chmod 700 docs/notes
expect_scan <<'X'
modified docs/notes
X
# Entries added to a directory do not make the directory itself modified.
echo new >docs/notes/n2
expect_scan <<'X'
added docs/notes/n2
X
rm docs/notes/n2
expect_scan <<'X'
deleted docs/notes/n2
X

# Deleting a file; deleting a whole tree reports every path in it.
rm zero-length
expect_scan <<'X'
deleted zero-length
X
expect_out_line "deleted   zero-length"
rm -rf docs
expect_scan <<'X'
deleted docs
deleted docs/b.bin
deleted docs/notes
deleted docs/notes/n1
X
expect_scan </dev/null

# A deleted path created again is added.
echo back >zero-length
expect_scan <<'X'
added zero-length
X

# A file replaced by a directory (with contents), and back.
rm a.txt
mkdir a.txt
echo inner >a.txt/inner
expect_scan <<'X'
modified a.txt
added a.txt/inner
X
rm -rf a.txt
echo "a file again" >a.txt
expect_scan <<'X'
modified a.txt
deleted a.txt/inner
X
# A directory tree replaced by a file.
rm -rf deep
echo flat >deep
expect_scan <<'X'
modified deep
deleted deep/er
deleted deep/er/est
X
expect_scan </dev/null

# --json: one object on stdout with the counts, and nothing else.
mkdir j
echo 1 >j/one
echo 2 >j/two
rm zero-length
echo changed >deep
expect_rc 0 mm --json scan
python3 -c 'import json,sys; json.load(sys.stdin)' <"$OUT" || fail "'--json scan' is not JSON: $(cat "$OUT")"
json_val '[j["added"], j["modified"], j["deleted"]]'
expect_eq "$JV" "[3, 1, 1]" "--json scan: [added, modified, deleted]"
json_val '[j["files"], j["dirs"], j["links"]]'
expect_eq "$JV" "[4, 2, 0]" "--json scan: [files, dirs, links] (a.txt deep j/one j/two; empty j)"
json_val 'j["skipped"]'
expect_eq "$JV" 0 "--json scan: skipped"
# -v and --json: still only JSON.
echo 3 >j/three
expect_rc 0 mm -v --json scan
json_val 'j["added"]'
expect_eq "$JV" 1 "-v --json scan: added"
expect_rc 0 mm --json scan
json_val '[j["added"], j["modified"], j["deleted"]]'
expect_eq "$JV" "[0, 0, 0]" "--json scan with nothing changed"

# scan from a subdirectory scans the whole replica.
echo top >top-level
expect_rc 0 in_dir j mm -v scan
expect_out_line "added     top-level"
