# Bash completion (completion/mmsync.bash), sourced here without the
# bash-completion package and driven through _mmsync with COMP_WORDS,
# COMP_CWORD, COMP_LINE and COMP_POINT set as bash sets them: command names,
# every command's options (checked against `mmsync help CMD`), subcommands,
# peer names from `peer list` of the replica a -C earlier on the line names
# (nothing, silently, where there is no replica), open conflicts for
# `conflicts show|resolve`, files and directories, never fingerprints; one
# mmsync run at most per completion.  `make install` puts the script in
# $(PREFIX)/share/bash-completion/completions.
. "$(dirname "$0")/synclib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SCRIPT=$ROOT/completion/mmsync.bash
[ -f "$SCRIPT" ] || fail "no completion script at $SCRIPT"

# `mmsync` on the command line is found on PATH: a wrapper that counts its runs
mkdir bin
CALLS=$T/calls
cat >bin/mmsync <<EOF
#!/bin/sh
echo "\$*" >>'$CALLS'
exec '$MMSYNC' "\$@"
EOF
chmod +x bin/mmsync
PATH=$T/bin:$PATH

# the script works without bash-completion's helpers
unset -f _init_completion _filedir _get_comp_words_by_ref 2>/dev/null
. "$SCRIPT" || fail "sourcing $SCRIPT failed"
complete -p mmsync 2>/dev/null | grep -q -- '-F _mmsync' || fail "the script does not register _mmsync for mmsync"

# comp LINE: completes at the end of LINE, as bash would call _mmsync (LINE
# split on blanks; a trailing blank starts an empty word).  Sets GOT to the
# replies sorted, one per line, and fails when the function wrote to stderr
# or ran mmsync more than once.
comp() {
	local line=$1
	COMP_LINE=$line
	COMP_POINT=${#line}
	read -r -a COMP_WORDS <<<"$line"
	[[ $line == *' ' ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	: >"$CALLS"
	_mmsync mmsync "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>"$ERR"
	[ ! -s "$ERR" ] || fail "completing '$line' wrote to stderr: $(cat "$ERR")"
	[ "$(wc -l <"$CALLS")" -le 1 ] || fail "completing '$line' ran mmsync more than once: $(cat "$CALLS")"
	GOT=$(printf '%s\n' ${COMPREPLY[@]+"${COMPREPLY[@]}"} | sed '/^$/d' | LC_ALL=C sort)
}
# expect_comp LINE WORD...: the replies for LINE are exactly these words
expect_comp() {
	local line=$1 want
	shift
	comp "$line"
	want=$(printf '%s\n' "$@" | sed '/^$/d' | LC_ALL=C sort)
	[ "$GOT" = "$want" ] || fail "completing '$line': got
$GOT
--- want:
$want"
}
# expect_comp_has LINE WORD...: the replies for LINE include these words
expect_comp_has() {
	local line=$1 w
	shift
	comp "$line"
	for w; do
		grep -qxF -- "$w" <<<"$GOT" || fail "completing '$line': '$w' not offered; got
$GOT"
	done
}

# --- global options and command names
expect_comp 'mmsync sy' sync
expect_comp 'mmsync co' conflicts
expect_comp 'mmsync -q --json s' scan status sync serve
expect_comp 'mmsync --j' --json
expect_comp_has 'mmsync -' -C -q -v --json --help --version
# every command of `mmsync --help`, and bundle
expect_rc 0 mm --help
cmds=$(sed -n '/^Commands:/,/^$/p' "$OUT" | awk 'NF > 1 { print $1 }')
[ -n "$cmds" ] || fail "no commands in 'mmsync --help'"
# shellcheck disable=SC2086
expect_comp_has 'mmsync ' $cmds bundle
expect_comp_has 'mmsync help ' $cmds
expect_comp 'mmsync help pu' pull push

# --- options: those of each command's usage text (its usage lines and its
# option lines; global --json aside)
help_opts() {
	grep -E '^(usage: |       mmsync |    +-)' | grep -o -- '--[a-z][a-z-]*' | grep -vx -- --json | sort -u
}
expect_comp 'mmsync sync --ti' --timeout
expect_comp 'mmsync sync --a' --all
expect_comp 'mmsync pull --' --ssh --remote-mmsync --fingerprint --timeout --progress --force --help
expect_comp 'mmsync log -' -n --since --help
for c in $cmds; do
	expect_rc 0 mm help "$c"
	want=$(help_opts <"$OUT")
	case $c in sync | clone) want="$want $(mm help pull | help_opts)" ;; esac
	# shellcheck disable=SC2086
	expect_comp_has "mmsync $c --" $want --help
done
# a value is completed, never an option, after an option that takes one
expect_comp 'mmsync sync --timeout ' ''
expect_comp 'mmsync conflicts resolve --ours --' --help
expect_comp 'mmsync conflicts show --' --help
expect_comp 'mmsync peer list --' --help
expect_comp 'mmsync peer add --fi' --fingerprint
expect_comp 'mmsync bundle create --f' --for --force
expect_comp 'mmsync bundle apply --' --progress --force --help
expect_comp 'mmsync bundle create --' --for --force --help

# --- subcommands
expect_comp 'mmsync peer ' add list remove
expect_comp 'mmsync -C A peer r' remove
expect_comp 'mmsync conflicts ' list show resolve
expect_comp 'mmsync bundle ' create apply list

# --- peer names, from the replica -C names
mkrep A B
FP=$(mm -C B id | sed -n 's/^fingerprint: //p')
[ -n "$FP" ] || fail "no fingerprint in 'mmsync id'"
expect_rc 0 mm -C A peer add bravo "$T/B"
expect_rc 0 mm -C A peer add charlie "$T/C"
expect_rc 0 mm -C A peer add tango tls://127.0.0.1:7 --fingerprint "$FP"
expect_rc 0 mm -C B peer add alpha "$T/A"
expect_comp 'mmsync -C A pull ' bravo charlie tango
expect_comp 'mmsync -C B pull ' alpha
expect_comp 'mmsync -CA push c' charlie
expect_comp 'mmsync -q -C A --json sync t' tango
expect_comp 'mmsync -C A sync --timeout 5 ' bravo charlie tango
expect_comp 'mmsync -C A peer remove ' bravo charlie tango
expect_comp 'mmsync -C A bundle create --for ' bravo charlie tango
expect_comp 'mmsync -C A bundle create --for=b' bravo
(cd B && expect_comp 'mmsync pull ' alpha) || exit 1
# outside a replica, or at one that is not: nothing, and nothing on stderr
expect_comp 'mmsync pull ' ''
expect_comp 'mmsync -C nowhere pull ' ''
expect_comp 'mmsync -C nowhere conflicts resolve ' ''
# a peer given by its path: directories
expect_comp 'mmsync -C A pull ./' ./A ./B ./bin
# fingerprints, names, durations: never
expect_comp 'mmsync -C A peer add delta tls://127.0.0.1:8 --fingerprint ' ''
expect_comp 'mmsync -C A trust ' ''
expect_comp 'mmsync -C A untrust ' ''
expect_comp 'mmsync -C A sync --ssh ssh --fingerprint ' ''

# --- files and directories
printf 'x\n' >notes.txt
printf 'x\n' >"$T/B/inside.txt"
expect_comp 'mmsync -C ' A B bin
expect_comp 'mmsync -Cb' -Cbin
expect_comp 'mmsync init ' A B bin
expect_comp 'mmsync -C A bundle apply no' notes.txt
expect_comp 'mmsync -C A bundle list no' notes.txt
expect_comp 'mmsync -C A bundle create x.bundle B/in' B/inside.txt
expect_comp 'mmsync -C A sync --all no' notes.txt
# sync: after the first peer, more peers or PATHs, still one mmsync run
expect_comp 'mmsync -C A pull bravo no' notes.txt
expect_comp_has 'mmsync -C A sync bravo ' charlie tango notes.txt A B

# --- open conflicts for `conflicts show|resolve`
t1='2024-05-06 07:08:09 UTC'
t2='2024-05-06 07:08:10 UTC'
bin_content base >A/report.bin
bin_content base >"A/my notes.bin"
expect_rc 0 mm -C B sync A
for r in A B; do
	bin_content "$r" >"$r/report.bin"
	bin_content "$r" >"$r/my notes.bin"
done
touch -d "$t1" A/report.bin "A/my notes.bin"
touch -d "$t2" B/report.bin "B/my notes.bin"
expect_rc 1 mm -C A sync B
expect_rc 1 mm -C A conflicts list
expect_out_contains report.bin
expect_comp 'mmsync -C A conflicts resolve ' report.bin 'my notes.bin'
expect_comp 'mmsync -C B conflicts show r' report.bin
expect_comp 'mmsync -C A conflicts resolve --theirs my' 'my notes.bin'
(cd A && expect_comp 'mmsync conflicts show ' report.bin 'my notes.bin') || exit 1
expect_comp 'mmsync -C A conflicts list ' ''
expect_rc 1 mm -C A conflicts resolve report.bin --theirs
expect_comp 'mmsync -C A conflicts resolve ' 'my notes.bin'

# --- make install puts it in $(PREFIX)/share/bash-completion/completions
# (the rule's binary prerequisite is this test's binary, never rebuilt)
if ! command -v make >/dev/null 2>&1 || [ ! -f "$ROOT/Makefile" ]; then
	skip "make or $ROOT/Makefile missing: 'make install' not run"
else
	dest=$T/dest
	run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$ROOT" -o "$MMSYNC" install BIN="$MMSYNC" \
		DESTDIR="$dest" PREFIX=/usr
	[ "$RC" = 0 ] || fail "$(_shown "make install DESTDIR=$dest PREFIX=/usr failed")"
	installed=$dest/usr/share/bash-completion/completions/mmsync
	[ -f "$installed" ] || fail "make install did not put $installed in place; $dest holds: $(find "$dest" | sed "s|$dest||")"
	cmp -s "$installed" "$SCRIPT" || fail "$installed differs from $SCRIPT"
	[ "$(stat -c %a "$installed")" = 644 ] || fail "$installed has mode $(stat -c %a "$installed"), want 644"
	# bash-completion loads it on demand by the command's name; it defines the completion itself
	bash -c '. "$1" && complete -p mmsync' sh "$installed" 2>&1 | grep -q -- '-F _mmsync' ||
		fail "the installed script does not register a completion for mmsync"
	# BASHCOMPDIR moves it
	run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$ROOT" -o "$MMSYNC" install BIN="$MMSYNC" \
		DESTDIR="$dest" PREFIX=/usr BASHCOMPDIR=/etc/bash_completion.d
	[ "$RC" = 0 ] && [ -f "$dest/etc/bash_completion.d/mmsync" ] ||
		fail "$(_shown "make install BASHCOMPDIR=/etc/bash_completion.d did not install there")"
fi
