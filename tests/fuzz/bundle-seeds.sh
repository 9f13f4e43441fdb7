#!/bin/sh
# Writes the bundle fuzz target's seeds into DIR: real bundles made by
# `mmsync bundle create` (mode 0: the file as is) and the same bundles taken
# apart (mode 1: manifest frames without the checksum, then the objects
# with flags 0),
# from a small tree with files, directories, a symbolic link and a deletion.
#
# usage: MMSYNC=path/to/mmsync sh tests/fuzz/bundle-seeds.sh DIR
set -eu
out=$(mkdir -p "$1" && cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
export HOME="$tmp" # no user config
"$MMSYNC" init A --name author >/dev/null
mkdir -p A/docs/deep A/empty
printf 'hello\n' >A/a.txt
printf 'line one\nline two\n' >A/docs/notes.txt
printf 'deep\n' >A/docs/deep/leaf.md
printf 'hello\n' >A/docs/same.txt
printf 'gone soon\n' >A/old.txt
ln -s a.txt A/link
"$MMSYNC" -C A bundle create "$tmp/full.mmb" >/dev/null
rm A/old.txt
printf 'hello again\n' >A/a.txt
"$MMSYNC" -C A bundle create "$tmp/deleted.mmb" >/dev/null
"$MMSYNC" -C A bundle create "$tmp/docs.mmb" docs >/dev/null
for b in full deleted docs; do
	{ printf '\000'; cat "$tmp/$b.mmb"; } >"$out/$b"
	zstd -qdc "$tmp/$b.mmb" >"$tmp/$b.tar"
	python3 - "$tmp/$b.tar" "$out/$b-parts" <<'PY'
import struct, sys, tarfile
with tarfile.open(sys.argv[1]) as t, open(sys.argv[2], "wb") as f:
    members = t.getmembers()
    manifest = t.extractfile(members[0]).read()[:-37]  # the checksum frame: made again by the target
    f.write(b"\x01" + struct.pack("<I", len(manifest)) + manifest)
    for m in members[1:]:
        data = t.extractfile(m).read()
        f.write(b"\x00" + struct.pack("<H", len(data)) + data)  # flags 0: a right object
PY
done
