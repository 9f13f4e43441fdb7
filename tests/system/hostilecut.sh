# The truncation half of the hostile-peer suite, sourced by t-81..t-83 with
# PART and PARTS: an honest pull session (tree 1 to tree 3 of the hostile
# peer, no compression) is replayed cut at every byte offset of what the
# server sends, part PART of PARTS of the offsets per test file, each
# against a fresh copy of the victim.  Each cut run must exit 3 saying the
# peer closed the connection, with no sanitizer report and no temporary file
# left, every path holding its old or its new version (batches complete
# before the cut may be committed).  At every message boundary, and wherever
# the victim's tree differs from the cut before, `mmsync check` must find the
# store sound and the next honest pull must finish with the peer's tree and
# no conflict.
part=$1
parts=$2
. "$(dirname "${BASH_SOURCE[0]}")/hostilelib.sh"

export HOSTILE_BIG=64
# a victim with tree 1 of the peer, and what it is after tree 3
mm init "$T/tpl" --name victim >/dev/null || fail "init failed"
printf 'keep me\n' >"$T/tpl/keep.txt"
mm -C "$T/tpl" scan >/dev/null || fail "scan failed"
HOSTILE_TREE=1 mm -C "$T/tpl" pull --ssh "$HOSTILE server honest" h:/x >/dev/null 2>&1 || fail "the honest pull of tree 1 failed"
export HOSTILE_TREE=3
cp -a "$T/tpl" "$T/V"
HOSTILE_SENT=$T/sent HOSTILE_FRAMES=$T/frames expect_rc 0 mm -C "$T/V" pull --ssh "$HOSTILE server honest" h:/x
final=$(snap_tree "$T/V")
before=$(snap_tree "$T/tpl")
total=$(cat "$T/sent")
[ "$total" -gt 500 ] || fail "the honest session is only $total bytes"
# message boundaries: the first byte of each message and the last of the one before
declare -A edge
while read -r off; do
	edge[$off]=1
	[ "$off" = 0 ] || edge[$((off - 1))]=1
done <"$T/frames"
edge[$((total - 1))]=1

# A quick look at a tree (names, types, modes, sizes, mtimes but a directory's): where it equals
# the template's, nothing was written (each write renames in a file with the
# peer's mtime), and the full check is not needed.
quick() {
	find "$1" -path "$1/.mmsync" -prune -o -type d -printf '%P d %m\n' -o -printf '%P %y %m %s %T@ %l\n' | sort
}
tpl_quick=$(quick "$T/tpl")

lo=$(((part - 1) * total / parts))
hi=$((part * total / parts))
prev=
checked=0
for ((i = lo; i < hi; i++)); do
	rm -rf "$T/V"
	cp -a "$T/tpl" "$T/V"
	HOSTILE_CUT=$i expect_rc 3 mm -C "$T/V" pull --ssh "$HOSTILE server cut" h:/x
	grep -qE "^mmsync: peer 'h:/x' closed the connection( in the middle of a message)?$" "$ERR" ||
		fail "$(_shown "cut at $i: not the message expected")"
	no_sanitizer_report
	after=$(quick "$T/V")
	if [ "$after" != "$tpl_quick" ]; then
		no_tmp "$T/V"
		old_or_new "$before" "$(snap_tree "$T/V")" "$final" "cut at $i of $total"
	fi
	if [ -n "${edge[$i]:-}" ] || [ "$after" != "$prev" ]; then
		expect_rc 0 mm -C "$T/V" check
		expect_rc 0 mm -C "$T/V" pull --ssh "$HOSTILE server honest" h:/x
		no_sanitizer_report
		expect_rc 0 mm -C "$T/V" status
		[ "$(snap_tree "$T/V")" = "$final" ] || fail "cut at $i: after an honest pull the tree differs from the peer's:
$(diff <(echo "$final") <(snap_tree "$T/V"))"
		checked=$((checked + 1))
	fi
	prev=$after
done
echo "cut at offsets $lo..$((hi - 1)) of $total; $checked honest pulls after"
