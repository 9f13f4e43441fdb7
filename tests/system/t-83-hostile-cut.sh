# The hostile-peer suite: an honest session cut at every byte offset, part 3 of 3 (see hostilecut.sh).
. "$(dirname "$0")/hostilecut.sh" 3 3
