# Helpers for the hostile-peer tests (t-80..t-83); sources synclib.sh.
#
# The hostile peer is tests/hostile/mmsync-hostile ($MMSYNC_HOSTILE, default:
# beside the mmsync under test): with `--ssh "$HOSTILE server CASE"` it plays
# the far side of a pull (the victim is the client); `$HOSTILE client CASE DIR`
# plays a client against `mmsync -C DIR serve --stdio` (the victim is the
# server).  See the tool's header for its environment variables.
#
#   hostile_templates          makes $T/tpl/plain (a victim with known content,
#                              a link `out` to the sentinel directory $T/outside)
#                              and $T/tpl/pulled (a victim that took tree 1 of the
#                              hostile peer honestly, deltas on for every size)
#                              ($T/tpl/NAME.snap: its listing after an honest pull of tree 2)
#   old_or_new B A F [WHAT]    each path of listing B is in A as it was, or as in F
#   snap_outside               the listing and checksums of everything under $T
#                              but the victim (the sentinel, the work directory)
#   snap_tree DIR              the listing and checksums of DIR's tree (not .mmsync/)
#   no_tmp DIR                 fails when DIR holds a temporary file of mmsync

. "$(dirname "${BASH_SOURCE[0]}")/synclib.sh"

HOSTILE=${MMSYNC_HOSTILE:-$(dirname "$MMSYNC")/tests/hostile/mmsync-hostile}
[ -x "$HOSTILE" ] || fail "the hostile peer '$HOSTILE' is not built (make hostile; or set MMSYNC_HOSTILE)"
export HOSTILE_OUTSIDE=$T/outside
SECRET="top secret: never to leave this directory"

hostile_templates() {
	mkdir -p "$T/outside/inner" "$T/tpl"
	printf '%s\n' "$SECRET" >"$T/outside/secret.txt"
	printf 'inner\n' >"$T/outside/inner/file"
	# where a race turns the victim's sub/ (sub/inner.txt is a delta basis)
	mkdir "$T/outside/decoy"
	printf '%s\n' "$SECRET" >"$T/outside/decoy/inner.txt"
	mm init "$T/tpl/plain" --name victim >/dev/null || fail "init failed"
	printf 'keep me\n' >"$T/tpl/plain/keep.txt"
	mkdir "$T/tpl/plain/d"
	printf 'in d\n' >"$T/tpl/plain/d/x.txt"
	ln -s ../../outside "$T/tpl/plain/out"
	mm -C "$T/tpl/plain" scan >/dev/null || fail "scan failed"
	cp -a "$T/tpl/plain" "$T/tpl/pulled"
	HOSTILE_TREE=1 mm -C "$T/tpl/pulled" pull --ssh "$HOSTILE server honest" h:/x >/dev/null 2>&1 ||
		fail "the honest pull of tree 1 failed"
	printf '[sync]\n\tdeltaMinSize = 1\n' >>"$T/tpl/pulled/.mmsync/config"
	# what each becomes after an honest pull of tree 2
	local t
	for t in plain pulled; do
		cp -a "$T/tpl/$t" "$T/tpl/$t.final"
		mm -C "$T/tpl/$t.final" pull --ssh "$HOSTILE server honest" h:/x >/dev/null 2>&1 ||
			fail "the honest pull of tree 2 failed"
		snap_tree "$T/tpl/$t.final" >"$T/tpl/$t.snap"
		rm -rf "$T/tpl/$t.final"
	done
}

# old_or_new BEFORE AFTER FINAL: every entry of the listing BEFORE is still in
# AFTER, or its path is in AFTER as in FINAL (the peer's version was taken).
old_or_new() {
	local lost line p now fin
	lost=$(comm -23 <(sort <<<"$1") <(sort <<<"$2"))
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		case $line in ./*) p=${line%% *} ;; *) p=${line##* } ;; esac
		now=$(awk -v p="$p" '$1 == p || $2 == p' <<<"$2")
		fin=$(awk -v p="$p" '$1 == p || $2 == p' <<<"$3")
		[ "$now" = "$fin" ] || fail "${4:-}: '$p' holds neither its old nor its new version:
--- was:
$(awk -v p="$p" '$1 == p || $2 == p' <<<"$1")
--- is:
$now
--- the peer's:
$fin"
	done <<<"$lost"
}

# Everything under $T but the victims, the templates and the test's own files.
snap_outside() {
	(cd "$T" && find . \( -path ./V -o -path ./tpl -o -path ./capture -o -path ./hlog \) -prune -o \
		-printf '%p %y %m %s %l\n' | sort
	 find outside -type f -print0 | sort -z | xargs -0 sha256sum)
}

snap_tree() {
	(cd "$1" && find . -path ./.mmsync -prune -o -printf '%p %y %m %l\n' | sort
	 find . -path ./.mmsync -prune -o -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

no_tmp() {
	local t
	t=$(find "$1" -name '.mmsync-tmp.*' -print)
	[ -z "$t" ] || fail "temporary files left behind: $t"
}

# No sanitizer report in the captured stderr.
no_sanitizer_report() {
	! grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$ERR" ||
		fail "$(_shown "a sanitizer report")"
}
