#!/bin/sh
# The import graph, read from the #include lines of cmd/, sync/ and vv/:
# a module is a .c file with its .h and the files named after it that split
# it by role (sync/store.[ch], store_peers.c and store_db.h are one: the
# name up to its first '_').  Fails when
#   - vv/ includes anything of sync/ or cmd/, or sync/ anything of cmd/
#     (dependencies point one way: cmd -> sync -> vv);
#   - modules include each other, directly or around a loop.
# Prints one summary line either way.
set -u
cd "$(dirname "$0")/.."

edges=$(mktemp) && trap 'rm -f "$edges"' EXIT
bad=0
for f in vv/*.[ch] sync/*.[ch] cmd/*.[ch]; do
	dir=${f%%/*}
	from=${f%.*}
	from=${from%%_*}
	sed -n 's/^#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" | while read -r inc; do
		case $inc in
		*/*) to=${inc%.h} ;;
		*) to=$dir/${inc%.h} ;;
		esac
		to=${to%%_*}
		[ "$to" = "$from" ] && continue
		case $dir/${to%%/*} in
		vv/sync | vv/cmd | sync/cmd)
			echo "deps: $f includes $inc: dependencies point cmd -> sync -> vv" >&2
			echo BAD
			;;
		esac
		echo "$from $to" >>"$edges"
	done
done | grep -q BAD && bad=1
modules=$(cut -d' ' -f1 "$edges" | sort -u | wc -l)
if ! tsort "$edges" >/dev/null 2>"$edges.err"; then
	sed 's/^/deps: /' "$edges.err" >&2
	bad=1
fi
rm -f "$edges.err"
if [ "$bad" = 0 ]; then
	echo "deps: $modules modules, $(sort -u "$edges" | wc -l) imports, one way (cmd -> sync -> vv), no cycle"
else
	echo "deps: import graph broken (see above)"
fi
exit "$bad"
