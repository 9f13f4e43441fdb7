# Bundles follow the rules of a live sync: versions travel along chains (A ->
# bundle -> B -> bundle -> C, then a live sync A <-> C has no conflict and
# moves nothing); a bundle limited to PATHs carries only those and does not
# make the receiver think it has the rest; concurrent edits of different
# lines of a text file merge; concurrent binary edits are a conflict (copy
# beside, exit 1, listed); a deletion, a delete against an edit, mode, mtime,
# link and type changes travel; and an apply that crashes (failpoints of
# sync/failpoint.h) leaves every path old or new, and the next apply completes
# with no conflict.
. "$(dirname "$0")/synclib.sh"

# paths_of FILE: the sorted paths `bundle list --json FILE` shows
paths_of() {
	expect_rc 0 mm --json bundle list "$1"
	json_val '" ".join(sorted(r["path"] for r in j["rows"]))'
	echo "$JV"
}

# --- chains: A -> bundle -> B -> bundle -> C
mkrep A B C
mkdir -p A/d
printf 'from A\n' >A/a1.txt
printf 'deep from A\n' >A/d/a2.txt
bin_content A >A/a.bin
expect_rc 0 mm -C A bundle create a1.mmb
expect_rc 0 mm -C B bundle apply a1.mmb
printf 'from B\n' >B/b1.txt
printf 'from A, edited on B\n' >B/d/a2.txt
expect_rc 0 mm -C B bundle create b1.mmb
# B's bundle holds A's versions as A wrote them, and B's own
expect_rc 0 mm --json bundle list b1.mmb
json_val '{r["path"]: r["writer"] for r in j["rows"] if r["kind"] == "file"}'
[ "$JV" = '{"a.bin": "A", "a1.txt": "A", "b1.txt": "B", "d/a2.txt": "B"}' ] ||
	fail "$(_shown "B's bundle does not name the writers A and B: $JV")"
expect_rc 0 mm -C C --json bundle apply b1.mmb
expect_json 'conflicts == 0' 'files_in >= 4'
same_trees B C
# A's own bundle at C after B's, which held A's versions already: nothing to do
before=$(TREE_STRICT=1 tree_list C)
expect_rc 0 mm -C C --json bundle apply a1.mmb
expect_json 'conflicts == 0' 'files_in == 0'
[ "$before" = "$(TREE_STRICT=1 tree_list C)" ] || fail "A's older bundle, reaching C after B's, changed C"
# live, A <-> C: A lacks B's changes, but no conflict, and nothing of A's moves back
expect_rc 0 mm -C A --json sync "$T/C"
expect_json 'conflicts == 0' 'merged == 0' 'files_out == 0' 'files_in == 2'
expect_rc 0 mm -C C --json sync "$T/A"
expect_json 'conflicts == 0' 'files_in == 0' 'files_out == 0'
same_trees A B C
[ -z "$(conflict_copies A)$(conflict_copies C)" ] || fail "conflict copies after a chain of bundles"
# and the other way: C's edit through C -> bundle -> B -> bundle -> A
printf 'edited on C\n' >C/a1.txt
expect_rc 0 mm -C C bundle create c1.mmb
expect_rc 0 mm -C B bundle apply c1.mmb
expect_rc 0 mm -C B bundle create b2.mmb
expect_rc 0 mm -C A --json bundle apply b2.mmb
expect_json 'conflicts == 0' 'files_in == 1'
[ "$(cat A/a1.txt)" = 'edited on C' ] || fail "C's edit did not reach A through B"
expect_rc 0 mm -C A --json sync "$T/C"
expect_json 'conflicts == 0' 'files_in == 0' 'files_out == 0'
same_trees A B C
rm -rf A B C ./*.mmb

# --- PATH limits
mkrep A B D
mkdir -p A/docs/sub A/src A/empty
printf 'doc\n' >A/docs/readme.md
printf 'sub\n' >A/docs/sub/x.txt
printf 'int main(void) { return 0; }\n' >A/src/main.c
printf 'top\n' >A/top.txt
expect_rc 0 mm -C A bundle create docs.mmb docs
[ "$(paths_of docs.mmb)" = 'docs docs/readme.md docs/sub docs/sub/x.txt' ] ||
	fail "a bundle of 'docs' holds: $(paths_of docs.mmb)"
expect_rc 0 mm --json bundle list docs.mmb
json_val 'j["paths"]'
[ "$JV" = '["docs"]' ] || fail "$(_shown "'bundle list --json': paths is $JV, want [\"docs\"]")"
expect_rc 0 mm bundle list docs.mmb
expect_out_contains 'only under: docs'
# a PATH relative to the starting directory inside the replica
expect_rc 0 in_dir A/src mm bundle create "$T/src.mmb" .
[ "$(paths_of src.mmb)" = 'src src/main.c' ] || fail "a bundle of '.' made in A/src holds: $(paths_of src.mmb)"
expect_rc 0 mm -C B --json bundle apply docs.mmb
expect_json 'conflicts == 0' 'files_in >= 2'
expect_tree B <<'EOF'
docs d 0755
docs/readme.md f 0644
docs/sub d 0755
docs/sub/x.txt f 0644
EOF
# a full bundle after it brings the rest
expect_rc 0 mm -C A bundle create full.mmb
expect_rc 0 mm -C B --json bundle apply full.mmb
expect_json 'conflicts == 0' 'files_in >= 3'
same_trees A B
# a live sync after a partial bundle brings the rest too
expect_rc 0 mm -C D bundle apply docs.mmb
expect_rc 0 mm -C D bundle apply src.mmb
[ -f D/src/main.c ] && [ ! -e D/top.txt ] || fail "D is not docs and src only after two partial bundles"
expect_rc 0 mm -C D --json sync "$T/A"
expect_json 'conflicts == 0' 'files_in >= 1' 'files_out == 0'
same_trees A D
# a partial bundle carries a deletion under its path, and nothing else
rm A/docs/readme.md
printf 'top 2\n' >A/top.txt
expect_rc 0 mm -C A bundle create docs2.mmb docs
expect_rc 0 mm --json bundle list docs2.mmb
json_val '" ".join(r["path"] + ":" + r["kind"] for r in sorted(j["rows"], key=lambda r: r["path"]))'
[ "$JV" = 'docs:dir docs/readme.md:deleted docs/sub:dir docs/sub/x.txt:file' ] ||
	fail "$(_shown "a bundle of 'docs' after a deletion holds: $JV")"
expect_rc 0 mm -C B --json bundle apply docs2.mmb
expect_json 'deleted == 1' 'conflicts == 0'
[ ! -e B/docs/readme.md ] && [ "$(cat B/top.txt)" = top ] || fail "the partial bundle did not delete docs/readme.md only"
expect_rc 0 mm -C B --json sync "$T/A"
expect_json 'conflicts == 0' 'files_in == 1'
expect_rc 0 mm -C D sync "$T/A"
same_trees A B D
# the newer partial bundle first, then the older full one: the older one
# still brings what lies outside the PATH, and does not bring back the deletion
mkrep E
expect_rc 0 mm -C E bundle apply docs2.mmb
expect_rc 0 mm -C E --json bundle apply full.mmb
expect_json 'conflicts == 0' 'files_in >= 2'
[ "$(cat E/top.txt 2>/dev/null)" = top ] && [ -f E/src/main.c ] ||
	fail "an older full bundle after a newer partial one did not bring what lies outside the PATH"
[ ! -e E/docs/readme.md ] || fail "an older full bundle brought back a file the newer partial one deleted"
expect_rc 0 mm -C E --json sync "$T/A"
expect_json 'conflicts == 0' 'files_in == 1' 'files_out == 0'
same_trees A E
rm -rf A B D E ./*.mmb

# --- concurrent edits: text merges, binary conflicts
mkrep A B
printf 'one\ntwo\nthree\nfour\nfive\n' >A/notes.txt
printf 'alpha\nbeta\ngamma\n' >A/same-line.txt
bin_content base >A/f.bin
expect_rc 0 mm -C A bundle create base.mmb
expect_rc 0 mm -C B bundle apply base.mmb
printf 'ONE (A)\ntwo\nthree\nfour\nfive\n' >A/notes.txt
printf 'one\ntwo\nthree\nfour\nFIVE (B)\n' >B/notes.txt
expect_rc 0 mm -C A bundle create a-text.mmb notes.txt
expect_rc 0 mm -C B --json bundle apply a-text.mmb
expect_json 'merged == 1' 'conflicts == 0' 'peer == "a-text.mmb"'
want=$'ONE (A)\ntwo\nthree\nfour\nFIVE (B)'
[ "$(cat B/notes.txt)" = "$want" ] || fail "B/notes.txt is not the merge of both edits: $(cat B/notes.txt)"
[ -z "$(conflict_copies B)" ] || fail "a clean merge made a conflict copy: $(conflict_copies B)"
expect_rc 0 mm -C B conflicts
expect_rc 0 mm -C B log
grep -q 'merged.*notes.txt' "$OUT" || fail "$(_shown "B's log does not record notes.txt as merged")"
expect_rc 0 mm -C B bundle create b-text.mmb
expect_rc 0 mm -C A --json bundle apply b-text.mmb
expect_json 'conflicts == 0'
same_trees A B
# the same line: a conflict; a binary file: a conflict
t1='2024-03-04 05:06:07 UTC'
t2='2024-03-04 05:06:08 UTC'
printf 'alpha\nbeta by A\ngamma\n' >A/same-line.txt
printf 'alpha\nbeta by B\ngamma\n' >B/same-line.txt
bin_content A1 >A/f.bin
bin_content B1 >B/f.bin
touch -d "$t2" A/f.bin A/same-line.txt
touch -d "$t1" B/f.bin B/same-line.txt
expect_rc 0 mm -C A bundle create a-conf.mmb
expect_rc 1 mm -C B --json bundle apply a-conf.mmb
expect_json 'conflicts == 2'
copy=$(stamp_name f.bin "$t1" B)
cmp -s B/f.bin <(bin_content A1) || fail "B/f.bin does not hold A's later version"
cmp -s "B/$copy" <(bin_content B1) || fail "B's version is not kept as $copy: $(conflict_copies B)"
tcopy=$(stamp_name same-line.txt "$t1" B)
[ "$(cat "B/$tcopy" 2>/dev/null)" = $'alpha\nbeta by B\ngamma' ] || fail "B's text is not kept as $tcopy: $(conflict_copies B)"
[ "$(cat B/same-line.txt)" = $'alpha\nbeta by A\ngamma' ] || fail "A's (later) text is not at the path"
expect_rc 1 mm -C B conflicts
grep -qF "f.bin	binary	" "$OUT" || fail "$(_shown "'conflicts' on B does not list 'f.bin<TAB>binary<TAB>...'")"
grep -F "f.bin	binary	" "$OUT" | grep -qF "$copy" || fail "$(_shown "'conflicts' on B does not name '$copy'")"
grep -q '^same-line.txt	' "$OUT" || fail "$(_shown "same-line.txt is not listed as a conflict")"
expect_rc 1 mm -C B status
# back to A: the same tree, the conflicts open there too; applying again: exit 1, nothing new
expect_rc 0 mm -C B bundle create b-conf.mmb
expect_rc 1 mm -C A --json bundle apply b-conf.mmb
expect_json 'conflicts == 0'
same_trees A B
expect_rc 1 mm -C A conflicts
grep -qF "f.bin	binary	" "$OUT" || fail "$(_shown "'conflicts' on A does not list f.bin")"
expect_rc 1 mm -C B --json bundle apply a-conf.mmb
expect_json 'conflicts == 0' 'files_in == 0'
expect_rc 1 mm -C A --json sync "$T/B"
expect_json 'conflicts == 0' 'files_in == 0' 'files_out == 0'
rm -rf A B ./*.mmb

# --- deletions, delete against edit, modes, mtimes, links, type changes
mkrep A B
mkdir -p A/gone/sub A/gone-empty A/keep A/todir
printf 'x\n' >A/gone/sub/x
printf 'y\n' >A/gone/y
printf 'file\n' >A/file.txt
printf 'edit me\n' >A/contested.txt
printf 'mode\n' >A/mode.sh
printf 'time\n' >A/time.txt
printf 'will be a dir\n' >A/tofile-dir
printf 'in\n' >A/todir/in.txt
ln -s file.txt A/link
expect_rc 0 mm -C A bundle create base.mmb
expect_rc 0 mm -C B bundle apply base.mmb
same_trees A B
rm -r A/gone A/gone-empty A/file.txt A/contested.txt
printf 'edited on B\n' >B/contested.txt
chmod 0755 A/mode.sh
touch -d '2021-02-03 04:05:06 UTC' A/time.txt
rm A/link && ln -s mode.sh A/link
rm A/tofile-dir && mkdir A/tofile-dir && printf 'now inside\n' >A/tofile-dir/inner
rm -r A/todir && printf 'now a file\n' >A/todir
expect_rc 0 mm -C A bundle create changes.mmb
expect_rc 0 mm -C B --json bundle apply changes.mmb
expect_json 'conflicts == 0' 'deleted >= 4'
for p in gone gone-empty file.txt; do
	[ ! -e "B/$p" ] || fail "the deletion of $p did not come by bundle"
done
[ "$(cat B/contested.txt 2>/dev/null)" = 'edited on B' ] || fail "a deletion by bundle won over a concurrent edit on B"
expect_rc 0 mm -C B conflicts
expect_out_empty
expect_rc 0 mm -C B log
expect_out_contains contested.txt
[ "$(stat -c %a B/mode.sh)" = 755 ] && [ "$(readlink B/link)" = mode.sh ] && [ -d B/tofile-dir ] && [ -f B/todir ] ||
	fail "a mode, link or type change did not come by bundle"
[ "$(stat -c %Y B/time.txt)" = "$(date -d '2021-02-03 04:05:06 UTC' +%s)" ] || fail "an mtime change did not come by bundle"
# the edit wins everywhere (and all else is the same: modes, mtimes, link targets, types)
expect_rc 0 mm -C B bundle create b.mmb
expect_rc 0 mm -C A --json bundle apply b.mmb
expect_json 'conflicts == 0'
[ "$(cat A/contested.txt 2>/dev/null)" = 'edited on B' ] || fail "the edit that won on B did not reach A"
same_trees A B
rm -rf A B ./*.mmb

# --- a crash while applying, at several failpoints: every path old or new; the next apply completes
mkrep A
mkdir -p A/d A/e
for i in 1 2 3 4 5 6; do printf 'old %s\n' $i >"A/d/f$i.txt"; done
bin_content old >A/e/blob.bin
printf 'stays\n' >A/stays.txt
expect_rc 0 mm -C A bundle create old.mmb
for i in 1 2 3 4 5 6; do printf 'new %s\n' $i >"A/d/f$i.txt"; done
bin_content new >A/e/blob.bin
printf 'added\n' >A/e/added.txt
rm A/stays.txt
expect_rc 0 mm -C A bundle create new.mmb
tree_list A >"$_LIB_TMP/new.list"
n=0
for fp in apply-tmp-written:2 apply-rename:2 apply-remove:1 apply-before-commit:1 apply-commit:1 send-data:2; do
	n=$((n + 1))
	R=R$n
	mkrep "$R"
	expect_rc 0 mm -C "$R" bundle apply old.mmb
	tree_list "$R" >"$_LIB_TMP/old.list"
	_LAST_CMD="MMSYNC_FAILPOINT=$fp mm -C $R bundle apply new.mmb"
	MMSYNC_FAILPOINT=$fp run mm -C "$R" bundle apply new.mmb
	case $fp in
	send-data*) [ "$RC" != 0 ] || { skip "failpoint $fp was not met"; continue; } ;;
	*) [ "$RC" != 0 ] && [ "$RC" != 1 ] || fail "$(_shown "'$_LAST_CMD' did not stop")" ;;
	esac
	# every file is its old or its new version (by path, content, mode), nothing else is in the tree
	tree_list "$R" >"$_LIB_TMP/crash.list"
	bad=$(python3 - "$_LIB_TMP/old.list" "$_LIB_TMP/new.list" "$_LIB_TMP/crash.list" <<'PY'
import os, sys
def files(fn):  # path -> "mode hash" of each file (temporary files left out)
    out = {}
    for line in open(fn):
        f = line.split()
        if f[1] == "f" and not os.path.basename(f[0]).startswith(".mmsync-tmp"):
            out[f[0]] = f[2] + " " + f[3]
    return out
old, new, now = (files(f) for f in sys.argv[1:])
for p in sorted(set(old) | set(new) | set(now)):
    if now.get(p) not in (old.get(p), new.get(p)):
        print("%s: %s (old: %s, new: %s)" % (p, now.get(p), old.get(p), new.get(p)))
PY
)
	[ -z "$bad" ] || fail "after a crash at $fp, files that are neither old nor new:
$bad"
	expect_rc 0 mm -C "$R" --json bundle apply new.mmb
	expect_json 'conflicts == 0'
	same_trees A "$R"
	[ -z "$(conflict_copies "$R")" ] || fail "after a crash at $fp: conflict copies $(conflict_copies "$R")"
	expect_rc 0 mm -C "$R" conflicts
	expect_rc 0 mm -C "$R" --json bundle apply new.mmb
	expect_json 'files_in == 0' 'conflicts == 0'
	left=$(ls -A "$R/.mmsync" | grep '^bundle' | tr '\n' ' ')
	[ -z "$left" ] || fail_later "after a crash at $fp and two applies, $R/.mmsync still holds $left"
	expect_rc 0 mm -C "$R" --json sync "$T/A"
	expect_json 'files_in == 0' 'files_out == 0' 'conflicts == 0'
	rm -rf "$R"
done
