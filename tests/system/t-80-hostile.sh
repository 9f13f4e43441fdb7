# A malicious peer (tests/hostile/mmsync-hostile, built from mmsync's own
# encoders with hooks that corrupt what it sends), one case per run: bad
# lengths and counts, bad paths, links and a directory swapped for a link
# during the sync, content and deltas that do not match, a decompression
# bomb, forged vectors, messages out of order or not negotiated, a peer that
# never answers.  For each: exit 3 with a message that names the fault,
# nothing created, changed or read outside the victim's root, nothing lost
# inside it (and `mmsync check` finds the store sound and true to the tree),
# no temporary file left, no sanitizer report, and an honest sync afterwards
# still works.
. "$(dirname "$0")/hostilelib.sh"

hostile_templates

# CASE|TEMPLATE|what stderr must match (grep -E)|pull arguments after the URL
cases='
frame-len-zero|plain|protocol error: peer .h:/x. sent a frame of 0 bytes|
frame-len-huge|plain|protocol error: peer .h:/x. sent a frame of 4294967295 bytes|
frame-len-over|plain|protocol error: peer .h:/x. sent a frame of 1048577 bytes|
hello-magic|plain|protocol error: the peer does not speak the mmsync protocol|
hello-name-len|plain|protocol error: malformed hello message|
hello-name-bad|plain|protocol error: malformed hello message|
hello-filter-count|plain|protocol error: malformed hello message|
hello-version|plain|peer .h:/x. speaks protocol version 3, this mmsync speaks 2|
hello-caps-unoffered|plain|protocol error: peer .h:/x. accepted capabilities that were not offered|
hello-same-id|plain|peer .h:/x. is this same replica|
hello-twice|plain|protocol error: peer .h:/x. sent .hello. in its index|
order-index-end-first|plain|protocol error: peer .h:/x. sent .index-end. where .hello. was due|
order-data-in-index|plain|protocol error: peer .h:/x. sent .data. in its index|
type-unknown|plain|protocol error: peer .h:/x. sent .unknown. in its index|
type-bundle|plain|protocol error: peer .h:/x. sent .bundle. in its index|
zstd-unagreed|plain|protocol error: peer .h:/x. sent a frame of [0-9]+ bytes|
zstd-plain-after|plain|protocol error: the compressed stream from peer .h:/x. is corrupt|
zstd-garbage|plain|protocol error: the compressed stream from peer .h:/x. is corrupt|
zstd-window|plain|the compressed stream from peer .h:/x. is corrupt \(Frame requires too much memory|
zstd-bomb|plain|protocol error: peer .h:/x. sent more than 20 bytes for .bomb.txt.|
replica-name-bad|plain|protocol error: malformed replica message|
replica-id-zero|plain|protocol error: malformed replica message|
index-end-short|plain|protocol error: malformed index-end message|
error-escapes|plain|^mmsync: peer .h:/x.: go away \?\[2J\?\]0;owned\? now\?$|
error-malformed|plain|protocol error: malformed error message|
row-path-len|plain|protocol error: malformed row message|
row-vv-len-huge|plain|protocol error: malformed row message|
row-vv-len-short|plain|protocol error: malformed row message|
row-kind|plain|protocol error: malformed row message|
row-mode|plain|protocol error: malformed row message|
row-writer-zero|plain|protocol error: malformed row message|
row-size-huge|plain|content received for .big.txt. does not match its hash|
row-trailing|plain|protocol error: malformed row message|
row-short|plain|protocol error: malformed row message|
row-link-empty|plain|protocol error: malformed row message|
vv-count-huge|plain|protocol error: bad version vector for .big.txt.|
vv-count-over|plain|protocol error: bad version vector for .big.txt.|
vv-zero-counter|plain|protocol error: bad version vector for .big.txt.|
vv-empty|plain|protocol error: bad version vector for .big.txt.|
vv-unsorted|plain|protocol error: bad version vector for .big.txt.|
vv-overlong-varint|plain|protocol error: bad version vector for .big.txt.|
vv-own-counter-huge|plain|protocol error: the version vector for .big.txt. has a counter past 2\^62|
vv-counter-huge|plain|protocol error: the version vector for .big.txt. has a counter past 2\^62|
path-dotdot|plain|protocol error: the peer sent an invalid path|
path-dotdot-inner|plain|protocol error: the peer sent an invalid path|
path-dot|plain|protocol error: the peer sent an invalid path|
path-absolute|plain|protocol error: the peer sent an invalid path|
path-empty|plain|protocol error: the peer sent an invalid path|
path-nul|plain|protocol error: the peer sent an invalid path|
path-double-slash|plain|protocol error: the peer sent an invalid path|
path-state-dir|plain|protocol error: the peer sent an invalid path|
path-state-dir-inner|plain|protocol error: the peer sent an invalid path|
path-tmp-name|plain|protocol error: the peer sent an invalid path|
path-too-long|plain|protocol error: malformed row message|
path-name-too-long|plain|protocol error: the peer sent an invalid path|
path-duplicate|plain|protocol error: peer .h:/x. sent .gone.txt. out of order or twice|
path-out-of-order|plain|protocol error: peer .h:/x. sent .big.txt. out of order or twice|
path-outside-filter|plain|protocol error: peer .h:/x. sent .big.txt., outside the paths asked for|sub
link-then-file-beneath|plain|.esc/planted.txt.: cannot open .esc.: Not a directory|
file-beneath-victim-link|plain|.out/planted.txt.: cannot open .out.: Not a directory|
race-dir-symlink|plain|.d/planted.txt.: cannot open .d.: Not a directory|
race-delta-basis-symlink|pulled|.sub/inner.txt.: cannot open .sub.: Not a directory|
data-hash-mismatch|plain|content received for .big.txt. does not match its hash|
data-too-long|plain|protocol error: peer .h:/x. sent more than 4095 bytes for .big.txt.|
data-short|plain|content received for .big.txt. does not match its hash|
data-end-miscount|plain|protocol error: peer .h:/x. miscounted .big.txt.|
data-end-short|plain|protocol error: malformed data-end message|
data-wrong-type|plain|protocol error: peer .h:/x. sent .row. where content was due|
data-delta-unasked|plain|protocol error: peer .h:/x. sent .delta. where content was due|
data-missing-payload|plain|protocol error: malformed missing message|
data-all-missing|plain|.big.txt.: the peer no longer has its content|
delta-copy-past-basis|pulled|.big.txt.: the peer no longer has its content|
delta-copy-wrap|pulled|.big.txt.: the peer no longer has its content|
delta-too-much|pulled|.big.txt.: the peer no longer has its content|
delta-garbage|pulled|.big.txt.: the peer no longer has its content|
delta-end-miscount|pulled|protocol error: peer .h:/x. miscounted the delta of .big.txt.|
silent-at-hello|plain|timed out: the run.s time limit|
silent-after-hello|plain|timed out: the run.s time limit|
silent-mid-data|plain|timed out: the run.s time limit|
c-path-dotdot|plain|the victim said: protocol error: the peer sent an invalid path|
c-link-then-file-beneath|plain|.esc/planted.txt.: cannot open .esc.: Not a directory|
c-data-hash-mismatch|plain|content received for .big.txt. does not match its hash|
c-row-vv-len-huge|plain|the victim said: protocol error: malformed row message|
c-hello-op|plain|the victim said: protocol error: malformed hello message|
c-hello-filter-bad|plain|the victim said: protocol error: malformed hello message|
c-silent-client|plain|the victim said: peer .client. closed the connection$|
c-race-dir-symlink|plain|.d/planted.txt.: cannot open .d.: Not a directory|
c-delta-copy-past-basis|pulled|.big.txt.: the peer no longer has its content|
c-no-bye|plain|the victim said: protocol error: peer .client. sent .request. where .bye. was due|
c-request-before-want|plain|the victim said: protocol error: peer .client. sent .request. where .want. was due|
c-request-secret|plain|the victim said: protocol error: peer .client. sent .bye. during the transfer|
c-signature-huge|plain|the victim said: protocol error: a signature of more than 67108864 bytes|
c-signature-garbage|plain|the victim said: protocol error: a signature cut short|
'

# Every case of the tool is here (but the honest ones), and at least 40 of them.
want=$("$HOSTILE" --list | awk '$1 !~ /^(honest|cut|c-honest-push)$/ { print $1 }' | sort)
have=$(printf '%s\n' "$cases" | sed '/^$/d' | cut -d'|' -f1 | sort)
[ "$want" = "$have" ] || fail "the case list differs from mmsync-hostile --list:
$(diff <(echo "$want") <(echo "$have"))"
[ "$(wc -l <<<"$have")" -ge 40 ] || fail "fewer than 40 cases"

export HOSTILE_SECRET_HASH
HOSTILE_SECRET_HASH=$(sha256sum "$T/outside/secret.txt" | cut -d' ' -f1)
export HOSTILE_CAPTURE=$T/capture HOSTILE_LOG=$T/hlog
# The tool notes a signature of HOSTILE_SECRET_FILE: first seen to work on the victim's own basis.
printf 'inner\n' >"$T/inner-tree1"
cp -a "$T/tpl/pulled" "$T/V"
HOSTILE_SECRET_FILE=$T/inner-tree1 expect_rc 0 mm -C "$T/V" pull --ssh "$HOSTILE server honest" h:/x
grep -q "the victim sent the signature of" "$T/hlog" || fail "the tool does not see the signature of a basis"
export HOSTILE_SECRET_FILE=$T/outside/decoy/inner.txt
V=$T/V
n=0
while IFS='|' read -r c tpl pat extra; do
	[ -n "$c" ] || continue
	n=$((n + 1))
	t0=$(date +%s%N)
	rm -rf "$V" "$T/capture" "$T/hlog"
	cp -a "$T/tpl/$tpl" "$V"
	outside_before=$(snap_outside)
	tree_before=$(snap_tree "$V")
	unset HOSTILE_RACE
	# once the victim has scanned: a directory of it becomes a link outside
	race=
	case $c in
	*race-dir-symlink) race=d to=$T/outside ;;
	race-delta-basis-symlink) race=sub to=$T/outside/decoy ;;
	esac
	[ -z "$race" ] || export HOSTILE_RACE="mv '$V/$race' '$V/$race.moved' && ln -s '$to' '$V/$race'"
	limit=60
	case $c in silent-*) limit=2 ;; esac
	case $c in
	c-*) expect_rc 3 "$HOSTILE" client "$c" "$V" ;;
	*) expect_rc 3 mm -C "$V" pull --timeout $limit --ssh "$HOSTILE server $c" h:/x $extra ;;
	esac
	grep -qE -- "$pat" "$ERR" || fail "$(_shown "case $c: stderr does not match '$pat'")"
	no_sanitizer_report
	# nothing outside the root created or changed, nothing of it read
	[ "$(snap_outside)" = "$outside_before" ] ||
		fail "case $c: something outside the root changed:
$(diff <(echo "$outside_before") <(snap_outside))"
	[ ! -e "$T/capture" ] || ! grep -qF "$SECRET" "$T/capture" || fail "case $c: the victim sent what lies outside its root"
	[ ! -e "$T/hlog" ] || ! grep -q "the victim sent the signature of" "$T/hlog" ||
		fail "case $c: the victim sent the signature of a file outside its root"
	# nothing lost inside: every entry holds what it held or the peer's version (a race moved a directory itself)
	tree_after=$(snap_tree "$V")
	if [ -n "$race" ]; then
		tree_before=$(sed -e "s#^\./$race\([ /]\)#./$race.moved\1#" -e "s#  \./$race/#  ./$race.moved/#" <<<"$tree_before" | sort)
		tree_after=$(grep -v "^\./$race " <<<"$tree_after" | sort)
	fi
	old_or_new "$tree_before" "$tree_after" "$(cat "$T/tpl/$tpl.snap")" "case $c"
	no_tmp "$V"
	case ${c#c-} in
	delta-end-miscount) ;;
	delta-*)
		# the delta was refused: the victim asked for the whole content instead
		grep -q "whole content asked for 'big.txt' after its delta" "$T/hlog" ||
			fail "case $c: the victim did not fall back to the whole content"
		;;
	esac
	expect_rc 0 mm -C "$V" status
	# the store is sound and holds what the tree holds
	expect_rc 0 mm -C "$V" check
	no_sanitizer_report
	# and an honest peer gets through afterwards (the race undone first: a link there is the user's own change)
	unset HOSTILE_RACE
	[ -z "$race" ] || { rm "$V/$race" && mv "$V/$race.moved" "$V/$race"; } || fail "cannot undo the race"
	case $c in
	c-*) expect_rc 0 "$HOSTILE" client c-honest-push "$V" ;;
	*) expect_rc 0 mm -C "$V" pull --ssh "$HOSTILE server honest" h:/x ;;
	esac
	no_sanitizer_report
	expect_eq "$(cat "$V/new.txt")" "hello again from the peer" "case $c: new.txt after the honest sync"
	expect_eq "$(cat "$V/keep.txt")" "keep me" "case $c: keep.txt after the honest sync"
	[ "$(snap_outside)" = "$outside_before" ] || fail "case $c: the honest sync changed something outside"
	echo "$c: $((($(date +%s%N) - t0) / 1000000)) ms"
done <<<"$cases"
echo "$n hostile cases passed"
