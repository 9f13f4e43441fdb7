# Bundles that must be refused, with exit 3 and the replica unchanged (every
# file's content, inode and mtimes; no temporary directory left in .mmsync/),
# by `bundle apply` and by `bundle list`: missing, empty, truncated at several
# offsets (inside the zstd stream, inside or right after the manifest, inside
# an object), a byte corrupted, files that are not bundles (text, a tar.zst of
# other files, a gzip tar of a bundle's entries), tampered bundles (an object
# that does not match its name, a manifest that does not match its checksum,
# an extra, duplicated, missing or misplaced entry, links, directories, `..`
# and absolute names, a row with a `..` path under a correct checksum), a
# bundle made by the same replica, and a bundle made --for another replica.
# Then the intact bundle still applies.
. "$(dirname "$0")/synclib.sh"

here=$(cd "$(dirname "$0")" && pwd)
forge() { python3 "$here/bundle_forge.py" "$@" || fail "bundle_forge.py $* failed"; }

mkrep A B C
mkdir -p A/docs A/empty A/'!!'
printf 'one\ntwo\nthree\n' >A/docs/notes.txt
bin_content base >A/data.bin
printf 'to be deleted\n' >A/old.txt
ln -s docs/notes.txt A/link
expect_rc 0 mm -C A sync "$T/B"
# what the bundle carries: an edit, a new file in a new directory, a deletion, a mode
printf 'one\ntwo\nthree\nfour\n' >A/docs/notes.txt
bin_content changed >A/data.bin
head -c 100000 /dev/urandom >A/docs/big.dat
printf 'escape\n' >'A/!!/escape'
rm A/old.txt
chmod 0700 A/docs
mkdir b
expect_rc 0 mm -C A bundle create b/good.mmb
expect_rc 0 mm -C A bundle create b/for-b.mmb --for "$T/B"

# B as it is, to the inode and nanosecond; TMPDIR to see that `list` leaves nothing
# (an apply scans first, as every sync command does: a scan now, when no
# file is recent enough to be racy, leaves it nothing to record)
sleep 1.1
expect_rc 0 mm -C B -q scan
mkdir tmp
export TMPDIR=$T/tmp
# snap DIR: every entry below DIR (not .mmsync/) with type, mode, inode,
# size, mtime, ctime and link target, and every file's SHA-256 (cheaper than
# tree_list's python, run some 60 times here)
snap() {
	(
		cd "$1" || exit 1
		find . -path ./.mmsync -prune -o -printf '%p %y %m %i %s %T@ %C@ %l\n' | sort
		find . -path ./.mmsync -prune -o -type f -print0 | sort -z | xargs -0r sha256sum
	)
}
snap B >"$_LIB_TMP/b.before"
status_before=$(mm -C B status 2>&1)

# expect_refused FILE [TEXT]: apply and list exit 3 with a message (holding TEXT), B unchanged
expect_refused() {
	local f=$1 text=${2:-}
	expect_rc 3 mm -C B bundle apply "$f"
	[ -s "$ERR" ] || fail "$(_shown "no message for a refused bundle")"
	[ -z "$text" ] || expect_err_contains "$text"
	expect_out_lacks ' in,'
	snap B >"$_LIB_TMP/b.after"
	cmp -s "$_LIB_TMP/b.before" "$_LIB_TMP/b.after" ||
		fail "refusing $f changed B:
$(diff "$_LIB_TMP/b.before" "$_LIB_TMP/b.after")"
	local left
	left=$(ls -A B/.mmsync | grep '^bundle' | tr '\n' ' ')
	if [ -n "$left" ]; then
		fail_later "refusing $f ($(head -c 300 "$ERR")) left temporary files in B/.mmsync: $left"
		rm -rf B/.mmsync/bundle.*
	fi
	local st
	st=$(mm -C B status 2>&1)
	[ "$st" = "$status_before" ] || fail "refusing $f changed B's status:
$(diff <(echo "$status_before") <(echo "$st"))"
	[ ! -e "$T/evil" ] && [ ! -e "$T/escape" ] && [ ! -e B/evil ] || fail "refusing $f wrote outside B's tree"
	expect_rc 3 mm bundle list "$f"
	[ -s "$ERR" ] || fail "$(_shown "'bundle list' gave no message for a refused bundle")"
	[ -z "$(ls -A "$TMPDIR")" ] || fail "'bundle list $f' left files in TMPDIR: $(ls -A "$TMPDIR")"
}

# --- missing, empty, not a bundle
expect_refused b/no-such.mmb
: >b/empty.mmb
expect_refused b/empty.mmb empty
printf 'just some text\nnot a bundle\n' >b/text.mmb
expect_refused b/text.mmb 'not an mmsync bundle'
head -c 4096 /dev/urandom >b/random.mmb
expect_refused b/random.mmb
expect_refused A/docs/big.dat

command -v zstd >/dev/null || { skip "no zstd command: forged bundles are not tried"; exit 0; }

printf 'text, zstd-compressed\n' | zstd -q -c >b/text.zst
expect_refused b/text.zst
size=$(stat -c %s b/good.mmb)
forge layout b/good.mmb >"$_LIB_TMP/layout"
read -r _ _ mdata msize < <(grep '^mmsync-bundle/manifest ' "$_LIB_TMP/layout")
read -r _ ohead odata osize < <(grep '^mmsync-bundle/objects/' "$_LIB_TMP/layout" | sort -n -k4 | tail -n 1)
[ -n "$mdata" ] && [ -n "$odata" ] && [ "$osize" -gt 1000 ] || fail "unexpected layout: $(cat "$_LIB_TMP/layout")"
after_manifest=$(((mdata + msize + 511) / 512 * 512))

# Every forged file at once (one python process), as "FILE MESSAGE-PART" lines
# in $_LIB_TMP/cases, tried in that order.
: >"$_LIB_TMP/cases"
: >"$_LIB_TMP/forge"
# case FILE [TEXT] -- FORGE-COMMAND...
case_() {
	local f=$1 text=
	shift
	[ "$1" = -- ] || { text=$1; shift; }
	shift
	printf '%s\t%s\n' "$f" "$text" >>"$_LIB_TMP/cases"
	[ $# = 0 ] || printf '%q ' "$@" >>"$_LIB_TMP/forge"
	echo >>"$_LIB_TMP/forge"
}
# not a bundle (and a control: the same entries written again by python are a good bundle)
case_ b/other.tar.zst 'not an mmsync bundle' -- tarzst b/other.tar.zst hello.txt=hello sub/other.txt=other
case_ b/gzip.mmb -- rewrite b/good.mmb b/gzip.mmb --gzip
printf 'rewrite b/good.mmb b/rewritten.mmb\n' >>"$_LIB_TMP/forge"
# truncated: the file, and the archive inside (in a whole zstd frame), inside
# and right after the manifest, inside an object's header and its data
for cut in 1 4 12 100 $((size / 3)) $((size / 2)) $((size - 20)) $((size - 1)); do
	head -c "$cut" b/good.mmb >"b/cut-$cut.mmb"
	case_ "b/cut-$cut.mmb" --
done
for cut in 100 $((mdata + msize / 2)) $((mdata + msize - 1)) $((mdata + msize)) "$after_manifest" \
	$((ohead + 100)) $((odata + osize / 2)) $((odata + osize - 1)); do
	case_ "b/tcut-$cut.mmb" -- cut-tar b/good.mmb "b/tcut-$cut.mmb" "$cut"
done
# a byte corrupted: in the compressed stream (at several places: the first
# byte from there on whose change matters), or in the archive
for from in 0 30 $((size / 4)) $((size / 2)) $((size - 60)); do
	case_ "b/flip-z-$from.mmb" -- flip-z b/good.mmb "b/flip-z-$from.mmb" "$from"
done
for at in 20 150 $((mdata + 10)) $((mdata + msize / 2)) $((mdata + msize - 3)) $((ohead + 10)) $((odata + osize / 2)); do
	case_ "b/flip-tar-$at.mmb" -- flip-tar b/good.mmb "b/flip-tar-$at.mmb" "$at"
done
# tampered
case_ b/t-object.mmb hash -- rewrite b/good.mmb b/t-object.mmb tamper-object
case_ b/t-grow.mmb -- rewrite b/good.mmb b/t-grow.mmb grow-object
case_ b/t-manifest.mmb checksum -- rewrite b/good.mmb b/t-manifest.mmb manifest-flip
case_ b/t-drop.mmb -- rewrite b/good.mmb b/t-drop.mmb drop-object
case_ b/t-dup.mmb -- rewrite b/good.mmb b/t-dup.mmb dup-object
case_ b/t-order.mmb -- rewrite b/good.mmb b/t-order.mmb manifest-last
case_ b/t-extra.mmb -- rewrite b/good.mmb b/t-extra.mmb extra mmsync-bundle/README
case_ b/t-extra2.mmb -- rewrite b/good.mmb b/t-extra2.mmb extra evil
case_ b/t-extra3.mmb -- rewrite b/good.mmb b/t-extra3.mmb extra mmsync-bundle/objects/NOTAHASH
case_ b/t-upper.mmb -- rewrite b/good.mmb b/t-upper.mmb upper-object
case_ b/t-symlink.mmb -- rewrite b/good.mmb b/t-symlink.mmb symlink "mmsync-bundle/objects/$(printf '%064d' 0)" /etc/passwd
case_ b/t-objlink.mmb -- rewrite b/good.mmb b/t-objlink.mmb object-as-symlink
case_ b/t-hardlink.mmb -- rewrite b/good.mmb b/t-hardlink.mmb hardlink "mmsync-bundle/objects/$(printf '%064d' 1)" mmsync-bundle/manifest
case_ b/t-dir.mmb -- rewrite b/good.mmb b/t-dir.mmb dir mmsync-bundle/objects/
case_ b/t-dotdot.mmb -- rewrite b/good.mmb b/t-dotdot.mmb extra ../evil
case_ b/t-dotdot2.mmb -- rewrite b/good.mmb b/t-dotdot2.mmb rename-object mmsync-bundle/objects/../../../evil
case_ b/t-abs.mmb -- rewrite b/good.mmb b/t-abs.mmb extra "$T/evil"
# a row whose path leaves the tree, under a checksum made right
case_ b/t-row.mmb -- rewrite b/good.mmb b/t-row.mmb manifest-subst '!!/escape' '../escape'
case_ b/t-row2.mmb -- rewrite b/good.mmb b/t-row2.mmb manifest-subst '!!/escape' '/!/escape'
python3 "$here/bundle_forge.py" batch <"$_LIB_TMP/forge" >/dev/null || fail "bundle_forge.py batch failed"
expect_rc 0 mm bundle list b/rewritten.mmb # the control
while IFS=$'\t' read -r f text; do
	[ -e "$f" ] || fail "bundle_forge.py did not make $f"
	expect_refused "$f" "$text"
done <"$_LIB_TMP/cases"
# with --json: only JSON on stdout (a failed summary, if any), the message on stderr
expect_rc 3 mm -C B --json bundle apply b/t-manifest.mmb
expect_err_contains checksum
if [ -s "$OUT" ]; then
	[ "$(jcount)" = 1 ] || fail "$(_shown "'--json bundle apply' of a refused bundle: not one JSON object")"
	expect_json 'ok == False' 'files_in == 0' 'conflicts == 0'
fi
rm -rf B/.mmsync/bundle.* # (reported above)

# --- foreign: made by this replica, made for another one
expect_rc 0 mm -C B bundle create b/by-b.mmb
expect_rc 3 mm -C B bundle apply b/by-b.mmb
expect_err_contains 'made by this replica'
snap B | cmp -s - "$_LIB_TMP/b.before" || fail "applying B's own bundle changed B"
expect_rc 0 mm bundle list b/by-b.mmb # listing is fine anywhere
C_before=$(TREE_STRICT=1 tree_list C)
expect_rc 3 mm -C C bundle apply b/for-b.mmb
expect_err_contains 'made for'
expect_err_contains "$(mm -C B id | sed -n 's/^id: //p')"
[ "$C_before" = "$(TREE_STRICT=1 tree_list C)" ] || fail "a bundle made for B changed C"
[ -z "$(ls -A C/.mmsync | grep '^bundle')" ] || fail "a bundle made for B left files in C/.mmsync"
expect_rc 3 mm -C A bundle apply b/for-b.mmb
expect_err_contains 'made by this replica'

# --- a name a message quotes cannot reach the terminal as control bytes: an
# entry named with an escape sequence (clear the screen) and a line break
esc_name=$(printf 'x\033[2J\033]0;owned\007\nmmsync: fake')
python3 "$here/bundle_forge.py" rewrite b/good.mmb b/t-esc.mmb extra "$esc_name" || fail "cannot forge b/t-esc.mmb"
expect_rc 3 mm -C B bundle apply b/t-esc.mmb
expect_err_contains "x?[2J?]0;owned??mmsync: fake"
! grep -q "$(printf '\033')" "$ERR" || fail "$(_shown "an escape byte from a bundle reached the terminal")"
[ "$(wc -l <"$ERR")" = 1 ] || fail "$(_shown "a line break from a bundle reached the terminal")"

# --- replica records: up to BUNDLE_MAX_NAMES (10000) are taken (quickly: a
# sorted lookup per row), one more is refused
python3 "$here/bundle_forge.py" rewrite b/good.mmb b/t-names.mmb replicas 9990 || fail "cannot forge b/t-names.mmb"
python3 "$here/bundle_forge.py" rewrite b/good.mmb b/t-names2.mmb replicas 10001 || fail "cannot forge b/t-names2.mmb"
expect_rc 3 mm -C B bundle apply b/t-names2.mmb
expect_err_contains "names too many replicas"
expect_rc 0 mm bundle list b/t-names.mmb

# --- nothing of all that changed B: the bundles still apply, and all arrives
snap B | cmp -s - "$_LIB_TMP/b.before" || fail "B changed"
expect_rc 0 mm -C B --json bundle apply b/for-b.mmb
expect_json 'conflicts == 0' 'files_in >= 4' 'deleted == 1'
same_trees A B
expect_rc 0 mm -C B --json bundle apply b/good.mmb
expect_json 'files_in == 0' 'conflicts == 0'
expect_rc 0 mm -C C --json bundle apply b/rewritten.mmb
expect_json 'conflicts == 0' 'files_in >= 4'
same_trees A B C
[ -z "$(ls -A B/.mmsync C/.mmsync | grep '^bundle')" ] || fail "temporary files left in .mmsync"
