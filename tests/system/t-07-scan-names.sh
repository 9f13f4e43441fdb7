# scan: unusual names; .mmsync/ never listed, nested .mmsync skipped at any depth.
. "$(dirname "$0")/lib.sh"

expect_rc 0 mm init r --name n
cd r || fail "no r"

nl=$(printf 'line1\nline2')
ff=$(printf 'bad\377byte')
long=$(printf 'L%.0s' $(seq 255))
d200=$(printf 'D%.0s' $(seq 200))
utf=$(printf 'caf\303\251 \342\202\254')
touch -- "with space" " leading-space" "trailing-space " "$nl" "$ff" "$long" "$utf" \
	'quote"back\slash' 'tab	here' '-dash' '*star?' '#hash' "$(printf 'cr\rhere')"
mkdir "dir with space"
touch "dir with space/$ff"
mkdir -p "$d200/$d200/$d200"
echo deep >"$d200/$d200/$d200/$long"
[ "$(ls -A | wc -l)" -ge 14 ] || fail "could not create the test names"

# Names needing quotes are printed C-style in double quotes (as git does);
# others as they are, spaces and UTF-8 included.
expect_scan <<X
added  leading-space
added #hash
added *star?
added -dash
added $utf
added $long
added $d200
added $d200/$d200
added $d200/$d200/$d200
added $d200/$d200/$d200/$long
added dir with space
added "dir with space/bad\\377byte"
added "bad\\377byte"
added "cr\\rhere"
added "line1\\nline2"
added "quote\\"back\\\\slash"
added "tab\\there"
added trailing-space 
added with space
X
expect_scan </dev/null

# Changes to such names are seen like any other.
echo x >"$nl"
echo x >"$ff"
echo x >"$long"
rm "with space"
expect_scan <<X
modified "line1\\nline2"
modified "bad\\377byte"
modified $long
deleted with space
X

# A name longer than 255 bytes cannot exist; 255 bytes is the most.
touch "$long"X 2>/dev/null && fail "the file system took a 256-byte name"

# status --json gives the exact names (bytes that are not UTF-8 as \udcXX,
# which Python's surrogateescape turns back into the bytes).
echo y >"$nl"
echo y >"$ff"
echo y >"$utf"
touch "new $ff"
expect_rc 0 mm --json status
python3 - "$OUT" <<'PY' || fail "status --json does not give back the exact names: $(cat "$OUT")"
import json, os, sys
j = json.load(open(sys.argv[1], encoding="utf-8"))
got = sorted((os.fsencode(c["path"]), c["change"]) for c in j["changes"])
want = sorted([(b"line1\nline2", "modified"), (b"bad\xffbyte", "modified"),
               ("caf\u00e9 \u20ac".encode(), "modified"), (b"new bad\xffbyte", "added")])
if got != want:
    print("got ", got, "\nwant", want)
    sys.exit(1)
PY
expect_rc 0 mm -q scan

# .mmsync/ itself is never listed, whatever is put in it.
echo junk >.mmsync/extra
mkdir .mmsync/subdir
echo junk >.mmsync/subdir/file
expect_scan </dev/null
expect_rc 0 mm --json scan
json_val 'j["files"] + j["dirs"] + j["links"]'
expect_eq "$JV" $(( $(find . -path ./.mmsync -prune -o -printf x\\n | wc -l) - 1 )) "files+dirs+links vs. find (without .mmsync)"

# A directory named .mmsync at any depth is skipped, with all it holds,
# and so is a file of that name.
mkdir -p a/.mmsync/deeper b/c/d/.mmsync e
echo 1 >a/.mmsync/x
echo 2 >a/.mmsync/deeper/y
echo 3 >b/c/d/.mmsync/z
echo 4 >e/.mmsync
echo 5 >a/visible
expect_scan <<'X'
added a
added a/visible
added b
added b/c
added b/c/d
added e
X
expect_out_lacks ".mmsync"
echo changed >a/.mmsync/x
rm -rf b/c/d/.mmsync
expect_scan </dev/null
