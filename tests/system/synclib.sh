# Helpers for the sync tests (t-20 .. t-39); sources lib.sh.
#
#   mkrep NAME...               `mm init NAME --name NAME` for each (must exit 0)
#   no_delete_guard NAME...     sync.maxDelete = 100% in each replica: for tests that
#                               delete most of a small tree on purpose (t-18 tests the guard)
#   tree_list DIR...            one line per entry below DIR (not .mmsync/):
#                               PATH TYPE MODE HASH-or-TARGET [MTIME]; PATH is
#                               escaped (spaces, newlines, non-UTF-8 bytes visible).
#                               File and link mtimes (ns) are listed; directory
#                               mtimes are not.  TREE_STRICT=1 adds inode and
#                               ctime of every entry (to see that nothing was rewritten).
#   snapshot DIR...             tree_list of the DIRs, TREE_STRICT=1
#   unchanged DIR...            fails unless `snapshot DIR...` still prints $before
#   same_trees A B...           fails unless every tree lists the same as A
#   expect_tree DIR <<EOF       fails unless DIR lists exactly these PATH TYPE MODE
#                               lines (type: f d l; no hash/mtime), in any order
#   jfield KEY [N]              value of KEY in the N-th (0-based) JSON object of
#                               $OUT, which must hold one JSON object per line, only
#   jcount                      number of JSON objects in $OUT (fails if not all JSON)
#   expect_json [-n N] EXPR...  each python EXPR holds over the fields of object N
#                               (-n all: of every object)
#   conflict_copies DIR         the paths below DIR whose name holds ".conflict-", sorted
#   stamp_name PATH DATE NAME   the SPEC's conflict copy name of PATH, for a version
#                               with mtime DATE (touch -d syntax) written by NAME
#   wfile PATH CONTENT [DATE]   writes CONTENT (printf %b) to PATH, mtime DATE if given
#   bin_content WORD            binary content (holds NUL bytes) made from WORD
#   later CMD...                runs the check CMD; on failure the test goes on and fails at its end

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mkrep() {
	local n
	for n in "$@"; do
		expect_rc 0 mm init "$n" --name "$n"
	done
}

no_delete_guard() {
	local n
	for n in "$@"; do
		printf '[sync]\n\tmaxDelete = 100%%\n' >>"$n/.mmsync/config"
	done
}

# The python behind tree_list and same_trees: lists each tree given, and with
# "cmp" compares every list with the first.
_tree_py='
import hashlib, os, stat, sys, difflib
strict = sys.argv[1] == "1"
mode_cmp = sys.argv[2] == "cmp"
def esc(b):
    return repr(b)[2:-1]
def listing(top):
    root = os.fsencode(top)
    out = []
    def walk(rel):
        d = os.path.join(root, rel) if rel else root
        for name in sorted(os.listdir(d)):
            r = os.path.join(rel, name) if rel else name
            if r == b".mmsync":
                continue
            p = os.path.join(root, r)
            st = os.lstat(p)
            mode = "%04o" % stat.S_IMODE(st.st_mode)
            extra = " ino=%d ctime=%d" % (st.st_ino, st.st_ctime_ns) if strict else ""
            if stat.S_ISDIR(st.st_mode):
                out.append("%s d %s -%s" % (esc(r), mode, extra))
                walk(r)
            elif stat.S_ISLNK(st.st_mode):
                out.append("%s l - ->%s mtime=%d%s" % (esc(r), esc(os.readlink(p)), st.st_mtime_ns, extra))
            elif stat.S_ISREG(st.st_mode):
                h = hashlib.sha256()
                with open(p, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
                out.append("%s f %s %s size=%d mtime=%d%s" % (esc(r), mode, h.hexdigest()[:16], st.st_size,
                                                             st.st_mtime_ns, extra))
            else:
                out.append("%s ? %s" % (esc(r), mode))
    walk(b"")
    return out
tops = sys.argv[3:]
if not mode_cmp:
    for t in tops:
        if len(tops) > 1:
            print("== " + t)
        for l in listing(t):
            print(l)
    sys.exit(0)
first = listing(tops[0])
bad = 0
for t in tops[1:]:
    other = listing(t)
    if other != first:
        bad = 1
        print("trees %s and %s differ:" % (tops[0], t))
        for l in difflib.unified_diff(first, other, tops[0], t, lineterm="", n=1):
            print(l)
sys.exit(bad)
'

tree_list() {
	python3 -c "$_tree_py" "${TREE_STRICT:-0}" list "$@" || fail "tree_list: cannot list '$*'"
}

# snapshot DIR...: tree_list of the DIRs with TREE_STRICT=1; unchanged DIR...:
# fails unless they still list as $before (the test's before=$(snapshot DIR...))
snapshot() {
	TREE_STRICT=1 tree_list "$@"
}
unchanged() {
	local now
	now=$(snapshot "$@")
	[ "$before" = "$now" ] || fail "'$_LAST_CMD' changed a tree:
$(diff <(echo "$before") <(echo "$now"))"
}

same_trees() {
	local msg
	msg=$(python3 -c "$_tree_py" "${TREE_STRICT:-0}" cmp "$@" 2>&1) || fail "$msg"
}

expect_tree() {
	local want got
	want=$(sed '/^$/d' | sort)
	got=$(tree_list "$1" | awk '{ print $1, $2, $3 }' | sort)
	[ "$got" = "$want" ] || fail "tree '$1' is not as expected:
$(diff -u --label want --label got <(echo "$want") <(echo "$got"))"
}

# The python behind the JSON helpers: $OUT must hold only JSON objects, one a
# line.  "count" prints how many; "field N KEY" prints one; "check N EXPR..."
# evaluates each EXPR with the fields of object N as variables.
_json_py='
import json, sys
objs = []
with open(sys.argv[1], "rb") as f:
    for line in f.read().decode("utf-8").splitlines():
        o = json.loads(line)
        if not isinstance(o, dict):
            sys.exit("not a JSON object: " + line)
        objs.append(o)
what = sys.argv[2]
if what == "count":
    print(len(objs))
elif what == "field":
    v = objs[int(sys.argv[3])][sys.argv[4]]
    print(v if isinstance(v, str) else json.dumps(v))
else:
    n = sys.argv[3]
    for o in (objs if n == "all" else [objs[int(n)]]):
        bad = [e for e in sys.argv[4:] if not eval(e, {}, dict(o))]
        if bad:
            sys.exit("false: " + "; ".join(bad) + "\nobject: " + json.dumps(o))
'

jcount() {
	python3 -c "$_json_py" "$OUT" count 2>"$_LIB_TMP/jerr" ||
		fail "$(_shown "'$_LAST_CMD': stdout is not only JSON objects, one a line: $(cat "$_LIB_TMP/jerr")")"
}

jfield() {
	python3 -c "$_json_py" "$OUT" field "${2:-0}" "$1" 2>"$_LIB_TMP/jerr" ||
		fail "$(_shown "'$_LAST_CMD': no JSON field '$1' in object ${2:-0}: $(cat "$_LIB_TMP/jerr")")"
}

# expect_json [-n N] EXPR...: each python EXPR holds over the fields of the
# N-th (default first; "all": every) JSON object of $OUT, e.g. 'files_in == 0' 'bytes_out < 65536'.
expect_json() {
	local n=0
	if [ "$1" = -n ]; then
		n=$2
		shift 2
	fi
	python3 -c "$_json_py" "$OUT" check "$n" "$@" 2>"$_LIB_TMP/jerr" ||
		fail "$(_shown "'$_LAST_CMD': JSON summary not as expected: $(cat "$_LIB_TMP/jerr")")"
}

conflict_copies() {
	(cd "$1" && find . -path ./.mmsync -prune -o -name '*.conflict-*' -print | sed 's|^\./||' | LC_ALL=C sort)
}

stamp_name() {
	local path=$1 date=$2 name=$3 dir base stem ext stamp
	stamp=$(date -u -d "$date" +%Y%m%d-%H%M%S)
	case $path in */*) dir=${path%/*}/ ;; *) dir= ;; esac
	base=${path##*/}
	stem=$base ext=
	case $base in
	.*.*) stem=${base%.*} ext=.${base##*.} ;; # a leading dot and another one
	.*) ;;
	*.*) stem=${base%.*} ext=.${base##*.} ;;
	esac
	printf '%s%s.conflict-%s-%s%s\n' "$dir" "$stem" "$stamp" "$name" "$ext"
}

wfile() {
	mkdir -p "$(dirname "$1")"
	printf '%b' "$2" >"$1"
	[ -z "${3:-}" ] || touch -d "$3" "$1"
}

bin_content() {
	printf '%s\0\001\002binary\0%s\n' "$1" "$1"
}

# mtime of PATH in ns (not following links)
mtime_ns() {
	python3 -c 'import os,sys; print(os.lstat(sys.argv[1]).st_mtime_ns)' "$1"
}

# later CMD...: runs the check CMD (e.g. expect_json ...) in a subshell; when
# it fails, its message is shown and the test goes on, to fail at its end.
later() {
	("$@") || _LIB_FAILED=1
}
