# Offline bundles, the basics: `bundle create FILE` writes a pax archive
# compressed with zstd (the manifest first, then one object per content,
# named by its SHA-256); `bundle list` shows its header and one line per path
# (with --json an object with rows) without applying it; `bundle apply`
# applies it like a pull (files, modes, mtimes, links, empty dirs; --json: one
# summary object whose peer is the FILE); applying it twice, or an older one
# after a newer one, changes nothing; a later live sync moves no content that
# came by bundle; `--for PEER` (a peer synced with, a URL, a replica id) leaves
# out what PEER acknowledged and the rows PEER wrote itself.
. "$(dirname "$0")/synclib.sh"

mkrep A B
mkdir -p A/docs/deep A/empty A/bin
printf 'hello\n' >A/a.txt
printf 'line one\nline two\n' >'A/docs/with space.txt'
printf 'deep\n' >A/docs/deep/leaf.md
printf 'hello\n' >A/docs/same-as-a.txt # one object for two paths
bin_content tool >A/bin/tool
chmod 0751 A/bin/tool
chmod 0600 A/docs/deep/leaf.md
head -c 262144 /dev/urandom >A/big.dat # content a later sync must not move again
ln -s a.txt A/link
ln -s docs/deep A/dirlink
touch -d '2023-05-06 07:08:09 UTC' A/a.txt
touch -h -d '2022-01-02 03:04:05 UTC' A/link

# --- create: exit 0, a whole file in place, nothing left beside it
mkdir out
expect_rc 0 mm -C A bundle create out/full.mmb
[ -s out/full.mmb ] || fail "bundle create did not write out/full.mmb (FILE relative to the starting directory)"
[ "$(ls -A out)" = full.mmb ] || fail "bundle create left other files beside the bundle: $(ls -A out)"
[ -z "$(ls -A A/.mmsync | grep -i bundle)" ] || fail "bundle create left files in A/.mmsync: $(ls -A A/.mmsync)"
expect_out_contains out/full.mmb
# zstd magic
[ "$(head -c 4 out/full.mmb | od -An -tx1 | tr -d ' \n')" = 28b52ffd ] ||
	fail "out/full.mmb does not start with the zstd magic number"

# --- the archive: manifest first, then objects named by their SHA-256, each once
if command -v zstd >/dev/null && tar --help 2>/dev/null | grep -q -- --zstd; then
	expect_rc 0 tar --zstd -tvf out/full.mmb
	names=$(awk '{ print $NF }' "$OUT")
	[ "$(head -n 1 <<<"$names")" = mmsync-bundle/manifest ] || fail "$(_shown "the first entry is not mmsync-bundle/manifest")"
	! grep -vq '^-' "$OUT" || fail "$(_shown "the bundle holds entries that are not regular files")"
	objs=$(tail -n +2 <<<"$names")
	[ -z "$(grep -vE '^mmsync-bundle/objects/[0-9a-f]{64}$' <<<"$objs")" ] ||
		fail "$(_shown "entries other than mmsync-bundle/objects/HEX after the manifest")"
	[ "$(sort <<<"$objs" | uniq -d)" = "" ] || fail "$(_shown "an object is in the bundle twice")"
	want=$(cd A && for f in a.txt 'docs/with space.txt' docs/deep/leaf.md bin/tool big.dat; do sha256sum <"$f"; done |
		awk '{ print "mmsync-bundle/objects/" $1 }' | sort)
	[ "$(sort <<<"$objs")" = "$want" ] || fail "$(_shown "the objects are not the 5 distinct contents of A:
$want")"
	mkdir x
	tar --zstd -xf out/full.mmb -C x || fail "tar cannot extract the bundle"
	for o in x/mmsync-bundle/objects/*; do
		[ "$(sha256sum <"$o" | cut -d' ' -f1)" = "${o##*/}" ] || fail "object $o does not hold the content its name says"
	done
	rm -rf x
else
	skip "tar --zstd is not available: the archive's entries are not checked"
fi

# --- list: a header naming the author, one line per path, nothing applied
before=$(TREE_STRICT=1 tree_list A B)
A_ID=$(mm -C A id | sed -n 's/^id: //p')
expect_rc 0 mm bundle list out/full.mmb
expect_out_contains "$A_ID"
# the paths of the lines "KIND SIZE WRITER PATH[ -> TARGET]"
got=$(grep -E '^(file|dir|link|deleted) ' "$OUT" | sed -E 's/^[a-z]+ +[0-9]+ +[^ ]+ +//; s/ -> .*$//' | sort)
want=$(printf '%s\n' a.txt big.dat bin bin/tool dirlink docs docs/deep docs/deep/leaf.md docs/same-as-a.txt 'docs/with space.txt' empty link | sort)
[ "$got" = "$want" ] || fail "$(_shown "'bundle list' does not show one line for each of A's 12 paths")"
[ "$(grep -cvE '^(file|dir|link|deleted) ' "$OUT")" -ge 1 ] || fail "$(_shown "'bundle list' has no header line")"
grep -qE '^file[[:space:]]+6[[:space:]]+A[[:space:]]+a\.txt$' "$OUT" || fail "$(_shown "no line 'file 6 A a.txt'")"
grep -qE '^file[[:space:]]+262144[[:space:]]+A[[:space:]]+big\.dat$' "$OUT" || fail "$(_shown "no line 'file 262144 A big.dat'")"
grep -qE '^dir[[:space:]]+.*[[:space:]]empty$' "$OUT" || fail "$(_shown "no dir line for 'empty'")"
grep -qE '^link[[:space:]]+.*[[:space:]]link( -> a\.txt)?$' "$OUT" || fail "$(_shown "no link line for 'link'")"
expect_rc 0 mm --json bundle list out/full.mmb
json_val 'sorted(r["path"] for r in j["rows"])'
want=$(python3 -c 'import json,sys; print(json.dumps(sorted(sys.argv[1:]), sort_keys=True))' a.txt big.dat bin bin/tool dirlink docs docs/deep docs/deep/leaf.md docs/same-as-a.txt 'docs/with space.txt' empty link)
[ "$JV" = "$want" ] || fail "$(_shown "'--json bundle list' rows: $JV, want $want")"
json_val '{r["path"]: (r["kind"], r["size"] if r["kind"] == "file" else 0, r["writer"]) for r in j["rows"] if r["path"] in ("a.txt", "bin/tool", "empty", "link")}'
want=$(python3 -c 'import json; print(json.dumps({"a.txt": ["file", 6, "A"], "bin/tool": ["file", len(b"tool\0\1\2binary\0tool\n"), "A"], "empty": ["dir", 0, "A"], "link": ["link", 0, "A"]}, sort_keys=True))')
[ "$JV" = "$want" ] || fail "$(_shown "'--json bundle list': $JV, want $want")"
[ "$before" = "$(TREE_STRICT=1 tree_list A B)" ] || fail "'bundle list' changed a replica"
run mm bundle list out/no-such.mmb
[ "$RC" = 3 ] || fail "$(_shown "'bundle list' of a missing file: exit $RC, want 3")"
expect_rc 2 mm bundle list
expect_rc 2 mm bundle frobnicate out/full.mmb
expect_rc 2 mm -C B bundle apply out/full.mmb --for A

# --- apply: everything arrives as it was, the summary is a pull's
expect_rc 0 mm -C B --json bundle apply out/full.mmb
[ "$(jcount)" = 1 ] || fail "$(_shown "'--json bundle apply': not one JSON object")"
expect_json 'peer == "out/full.mmb"' 'files_in >= 6' 'conflicts == 0' 'merged == 0' 'deleted == 0' \
	'isinstance(bytes_in, int) and isinstance(ms, int)'
same_trees A B
expect_tree B <<'EOF' # (with space.txt: awk splits it in two)
docs/with space.txt f
a.txt f 0644
big.dat f 0644
bin d 0755
bin/tool f 0751
dirlink l -
docs d 0755
docs/deep d 0755
docs/deep/leaf.md f 0600
docs/same-as-a.txt f 0644
empty d 0755
link l -
EOF
[ "$(readlink B/dirlink)" = docs/deep ] || fail "B/dirlink is not the link 'docs/deep'"
[ -z "$(ls -A B/.mmsync | grep '^bundle')" ] || fail "apply left temporary files: $(ls -A B/.mmsync)"
expect_rc 0 mm -C B status
expect_rc 0 mm -C B conflicts
expect_out_empty
expect_rc 0 mm -C B log
expect_out_contains full.mmb

# twice: nothing changes, 0 in
before=$(TREE_STRICT=1 tree_list B)
expect_rc 0 mm -C B --json bundle apply out/full.mmb
expect_json 'files_in == 0' 'conflicts == 0' 'deleted == 0'
[ "$before" = "$(TREE_STRICT=1 tree_list B)" ] || fail "applying the bundle a second time rewrote files"
# the plain summary
expect_rc 0 mm -C B bundle apply out/full.mmb
expect_out_contains '0 in'
expect_rc 0 mm -C B -q bundle apply out/full.mmb
expect_out_empty

# --- a later live sync moves no content that came by bundle
expect_rc 0 mm -C B --json sync "$T/A"
expect_json 'files_in == 0' 'files_out == 0' 'conflicts == 0' 'bytes_in < 32768' 'bytes_out < 32768'
expect_rc 0 mm -C A --json sync "$T/B"
expect_json 'files_in == 0' 'files_out == 0' 'conflicts == 0' 'bytes_in < 32768' 'bytes_out < 32768'
same_trees A B

# --- --for: what the peer acknowledged is left out, and the rows it wrote
printf 'from B\n' >B/b-only.txt
expect_rc 0 mm -C B sync "$T/A" # A now has b-only.txt, written by B, and B acknowledged all of A
printf 'hello again\n' >A/a.txt
rm A/docs/deep/leaf.md
mkdir A/newdir
printf 'new\n' >A/newdir/new.txt
B_ID=$(mm -C B id | sed -n 's/^id: //p')
[ -n "$B_ID" ] || fail "no id in 'mmsync -C B id'"
expect_rc 0 mm -C A bundle create out/for-b.mmb --for "$T/B" # a URL A has synced with
expect_rc 0 mm -C A --json bundle list "$T/out/for-b.mmb"
json_val 'sorted((r["path"], r["kind"]) for r in j["rows"])'
[ "$JV" = '[["a.txt", "file"], ["docs/deep/leaf.md", "deleted"], ["newdir", "dir"], ["newdir/new.txt", "file"]]' ] ||
	fail "$(_shown "the bundle --for B holds other rows than A's 4 changes (not b-only.txt, B wrote it): $JV")"
json_val 'j["for"]'
[ "$JV" = "$B_ID" ] || fail "$(_shown "'bundle list --json' of a bundle --for B: 'for' is $JV, want $B_ID")"
expect_rc 0 mm bundle list out/for-b.mmb
expect_out_contains "$B_ID"
# the same by replica id, and by a configured peer's name
expect_rc 0 mm -C A bundle create out/for-b-id.mmb --for "$B_ID"
expect_rc 0 mm bundle list out/for-b-id.mmb
[ "$(grep -cE '^(file|dir|link|deleted) ' "$OUT")" = 4 ] || fail "$(_shown "bundle --for B_ID: not 4 paths")"
expect_rc 0 mm -C A peer add bee "$T/B"
expect_rc 0 mm -C A sync bee
expect_rc 0 mm -C A bundle create out/for-bee.mmb --for bee
expect_rc 0 mm bundle list out/for-bee.mmb
[ "$(grep -cE '^(file|dir|link|deleted) ' "$OUT")" = 0 ] ||
	fail "$(_shown "after a sync with bee, a bundle --for bee holds rows bee has")"
# a peer nothing is known of: a usage error, no file
expect_rc 2 mm -C A bundle create out/never.mmb --for "$T/nowhere"
[ -s "$ERR" ] || fail "no message for --for an unknown peer"
[ ! -e out/never.mmb ] || fail "a refused 'bundle create' wrote its FILE"

# B got all that by the sync with bee; a new replica D shows the rest: a
# deletion carried by bundle, and an older bundle after a newer one changes nothing
mkrep D
expect_rc 0 mm -C D bundle apply out/full.mmb
printf 'third\n' >A/a.txt
rm -r A/newdir
chmod 0700 A/bin/tool
expect_rc 0 mm -C A bundle create out/full2.mmb
expect_rc 0 mm -C D --json bundle apply out/full2.mmb
expect_json 'conflicts == 0' 'deleted >= 1' 'files_in >= 1'
[ ! -e D/docs/deep/leaf.md ] || fail "the deletion of docs/deep/leaf.md did not come by bundle"
same_trees A D
before=$(TREE_STRICT=1 tree_list D)
expect_rc 0 mm -C D --json bundle apply out/full.mmb
expect_json 'files_in == 0' 'deleted == 0' 'conflicts == 0'
[ "$before" = "$(TREE_STRICT=1 tree_list D)" ] || fail "an older bundle applied after a newer one changed D"
[ ! -e D/docs/deep/leaf.md ] || fail "an older bundle brought back a deleted file"
expect_rc 0 mm -C D --json sync "$T/A"
expect_json 'files_in == 0' 'files_out == 0' 'conflicts == 0' 'bytes_in < 32768' 'bytes_out < 32768'
expect_rc 0 mm -C B sync "$T/A"
same_trees A B D
