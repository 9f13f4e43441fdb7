#!/bin/sh
# `make demo`: a replica made, scanned and inspected in a temporary directory.
set -eu
M=${MMSYNC:-$(dirname "$0")/../mmsync}
D=$(mktemp -d "${TMPDIR:-/tmp}/mmsync-demo.XXXXXX")
trap 'rm -rf "$D"' EXIT
run() { printf '\n$ %s\n' "$*"; "$@"; }

cd "$D"
run "$M" init laptop --name laptop
cd laptop
mkdir -p notes photos
echo "buy milk" > notes/todo.txt
printf 'line one\nline two\n' > notes/ideas.md
head -c 100000 /dev/urandom > photos/cat.jpg
ln -s notes/todo.txt todo
printf '*.tmp\n' > .mmsyncignore
echo scratch > draft.tmp
run "$M" id
run "$M" status
run "$M" -v scan
echo "call mum" >> notes/todo.txt
chmod 600 notes/ideas.md
rm photos/cat.jpg
run "$M" status
run "$M" -v scan
run "$M" --json scan
printf '\ndemo done (in %s, now removed)\n' "$D"
