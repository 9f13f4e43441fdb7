#!/bin/sh
# Checks the man pages (run by `make lint-man`, part of `make check`):
#  1. `mandoc -T lint -W warning` on every man/*.1 and man/*.5: any output fails;
#  2. man/mmsync.1 documents every command of cmd/main.c's table (as `Cm NAME`),
#     every subcommand its usage lines show (`Cm NAME SUB`), every long option
#     of the `struct option` arrays in cmd/*.c and of PEER_LONGOPTS in cmd/cmd.h,
#     every short option given to cmd_getopt(), and the global options parsed
#     in cmd/main.c (as `Fl -NAME` / `Fl X`).
# Prints each problem, then a summary line; exits 1 when there is any.
#
# usage: sh scripts/check-man.sh [ROOT]   (ROOT: the tree holding cmd/ and man/;
#                                          default: this script's repository)
set -u

ROOT=${1:-$(dirname "$0")/..}
cd "$ROOT" || exit 2
PAGE=man/mmsync.1
fail=0

# ---- 1. lint
if ! command -v mandoc >/dev/null 2>&1; then
	echo "man: mandoc is not installed (run 'make deps')" >&2
	exit 1
fi
pages=0
for f in man/*.1 man/*.5; do
	[ -f "$f" ] || continue
	pages=$((pages + 1))
	out=$(mandoc -T lint -W warning "$f" 2>&1)
	if [ -n "$out" ]; then
		printf '%s\n' "$out"
		fail=1
	fi
done
if [ "$fail" = 0 ]; then
	echo "man: $pages pages lint clean"
fi

# ---- 2. coverage of man/mmsync.1
if [ ! -f "$PAGE" ]; then
	echo "man: $PAGE is missing" >&2
	exit 1
fi

# the command table of cmd/main.c
table=$(sed -n '/^static const struct command commands\[\] = {/,/^};/p' cmd/main.c)
commands=$(printf '%s\n' "$table" | sed -n 's/^[[:space:]]*{"\([a-z][a-z0-9-]*\)", cmd_.*/\1/p')
# subcommands, from the usage lines: "usage: mmsync peer add ...", "       mmsync conflicts [list]"
subcommands=$(printf '%s\n' "$table" |
	sed -n -E 's/.*"(usage: |       )mmsync ([a-z][a-z0-9-]*) \[?([a-z][a-z0-9-]*)\]?( |\\n).*/\2 \3/p' |
	sort -u)

# long options: every {"name", ...} in a `struct option` array of cmd/*.c and in PEER_LONGOPTS
longopts=$(
	for f in cmd/*.c; do
		awk '/struct option [A-Za-z_0-9]*\[\][[:space:]]*=/ {p = 1} p {print} p && /};/ {p = 0}' "$f"
	done | grep -o '{"[a-z0-9][a-z0-9-]*",' | sed 's/{"\(.*\)",/\1/'
	awk '/#define PEER_LONGOPTS/ {p = 1} p {print; if ($0 !~ /\\$/) p = 0}' cmd/cmd.h |
		grep -o '{"[a-z0-9][a-z0-9-]*",' | sed 's/{"\(.*\)",/\1/'
)
# short options: the shortopts string of each cmd_getopt() call
shortopts=$(sed -n 's/.*cmd_getopt(.*, argv, "\([^"]*\)".*/\1/p' cmd/*.c | tr -d ':+-' | fold -w 1)
# global options: the strcmp()s of main()'s option loop
globals=$(grep -oE 'str(n)?cmp\(a, "-[^"]*"' cmd/main.c | sed 's/.*"\(.*\)"$/\1/')
options=$(
	{
		printf '%s\n' "$longopts" | sed '/^$/d; s/^/--/'
		printf '%s\n' "$shortopts" | sed '/^$/d; s/^/-/'
		printf '%s\n' "$globals"
	} | sed '/^$/d' | sort -u
)

ncmd=0
nopt=0
missing=0
# word boundary after a name: not a letter, digit, '-' or '_'
end='([^A-Za-z0-9_-]|$)'

for c in $commands; do
	ncmd=$((ncmd + 1))
	if ! grep -Eq "(^|[^A-Za-z])Cm $c$end" "$PAGE"; then
		echo "$PAGE: command '$c' (cmd/main.c) is not documented (no 'Cm $c')"
		missing=$((missing + 1))
	fi
done
if [ -n "$subcommands" ]; then
	while read -r c s; do
		ncmd=$((ncmd + 1))
		if ! grep -Eq "(^|[^A-Za-z])Cm $c([[:space:]].*)?[[:space:]]$s$end" "$PAGE"; then
			echo "$PAGE: subcommand '$c $s' (cmd/main.c usage) is not documented (no 'Cm $c ... $s' line)"
			missing=$((missing + 1))
		fi
	done <<EOF
$subcommands
EOF
fi
for o in $options; do
	nopt=$((nopt + 1))
	want="Fl ${o#-}" # mdoc: `Fl -all` is --all, `Fl n` is -n
	if ! grep -Eq "(^|[^A-Za-z])$want$end" "$PAGE"; then
		echo "$PAGE: option '$o' is not documented (no '$want')"
		missing=$((missing + 1))
	fi
done

echo "man: $ncmd commands, $nopt options checked, $missing missing"
[ "$missing" = 0 ] && [ "$fail" = 0 ]
