#!/bin/sh
# `make demo`: three replicas in a temporary directory: propagation along a
# chain, a rename that moves no content, a merge, and a conflict kept on both sides.
set -eu
M=${MMSYNC:-$(dirname "$0")/../mmsync}
case "$M" in /*) ;; *) M="$(pwd)/$M" ;; esac
D=$(mktemp -d "${TMPDIR:-/tmp}/mmsync-demo.XXXXXX")
trap 'rm -rf "$D"' EXIT
run() { printf '\n$ %s\n' "$*"; "$@" || printf '(exit %d)\n' "$?"; }
mm() { "$M" "$@"; }

cd "$D"
run mm init laptop --name laptop
run mm init desktop --name desktop
run mm init usb --name usb
mkdir -p laptop/notes laptop/photos
echo "buy milk" > laptop/notes/todo.txt
printf 'line one\nline two\nline three\nline four\nline five\n' > laptop/notes/ideas.md
head -c 2000000 /dev/urandom > laptop/photos/cat.jpg
ln -s notes/todo.txt laptop/todo
printf '*.tmp\n' > laptop/.mmsyncignore
echo scratch > laptop/draft.tmp

echo; echo "# laptop -> desktop -> usb: changes travel along the chain"
run mm -C laptop -v sync desktop
run mm -C desktop -v sync usb
run ls -R usb

echo; echo "# a rename on the usb stick reaches the laptop through the desktop, with no content bytes"
mv usb/photos/cat.jpg usb/photos/kitten.jpg
run mm -C usb --json sync desktop
run mm -C laptop --json sync desktop

echo; echo "# different lines of a text file edited on two replicas at once: merged, as git would"
sed -i 's/line one/line one (edited on the laptop)/' laptop/notes/ideas.md
sed -i 's/line five/line five (edited on the desktop)/' desktop/notes/ideas.md
run mm -C laptop -v sync desktop
run cat desktop/notes/ideas.md

echo; echo "# the same line edited on two replicas at once: both versions are kept"
echo "call mum" >> laptop/notes/todo.txt
sleep 1
echo "pay rent" >> desktop/notes/todo.txt
run mm -C laptop -v sync desktop
run mm -C laptop conflicts
run ls laptop/notes desktop/notes
run cat laptop/notes/todo.txt
echo; echo "# settle it on the desktop: remove the copy; the conflict closes everywhere"
rm desktop/notes/todo.conflict-*
run mm -C desktop sync laptop
run mm -C laptop conflicts
run mm -C laptop log -n 5
printf '\ndemo done (in %s, now removed)\n' "$D"
