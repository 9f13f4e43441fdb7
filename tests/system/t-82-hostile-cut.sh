# The hostile-peer suite: an honest session cut at every byte offset, part 2 of 3 (see hostilecut.sh).
. "$(dirname "$0")/hostilecut.sh" 2 3
