# The README's tutorial, run as written: every command of the `## Tutorial`
# section of README.md (up to the next heading), in order, checked against
# the output and exit status the README shows, so that the README cannot drift.
#
# How README lines map to checks (only inside ```sh blocks of that section):
#   - "$ CMD" is a command.  It is run with bash, in one shell for the whole
#     tutorial (so `cd` and variables carry over), with stdin from /dev/null,
#     stdout and stderr together (as a terminal shows them).  One line each:
#     no continuation lines, no here-documents.
#   - Lines that follow a command, up to the next "$ " line, a comment line or
#     the end of the block, are its expected output.  A command with no such
#     lines may print anything; one with them must print exactly them, after
#     both sides are normalised (see below).
#   - The exit status must be 0, unless the command's trailing comment says
#     "# exit N..." (e.g. `# exit 1: a conflict is open`): then N.
#   - Not run: lines starting with "#" (comments), and commands starting with
#     `sudo make install` or `crontab -e` (with any output lines shown after them).
#
# Normalised on both sides before comparing (things that differ from run to
# run): the scratch home (printed as /home/me in the README), replica ids,
# certificate fingerprints, dates and times ("... s ago" too), the time stamps
# of conflict copy names, "N bytes", bytes_in=/bytes_out=/ms= in log lines and
# the duration at the end of a sync summary.
#
# The environment: HOME is a scratch directory, so ~ lands there; `mmsync`
# is a symlink to $MMSYNC in the first directory of PATH; ssh goes to a
# throw-away sshd (tests/sshd-start) in which host `localhost` means
# 127.0.0.1 on its port: MMSYNC_SSH for mmsync, and an `ssh` wrapper in the
# same directory for the README's own `ssh localhost ...` lines.  That sshd
# sets PATH (that directory first) and HOME (the scratch home) for its
# sessions and starts them in HOME, so that `localhost:tutorial/server` and
# `ssh localhost mmsync ...` reach the scratch home with the mmsync under test,
# as they reach a user's home with an installed mmsync.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshlib.sh"

README=$(cd "$(dirname "$0")/../.." && pwd)/README.md
[ -f "$README" ] || fail "no README.md at $README"
command -v python3 >/dev/null 2>&1 || fail "python3 is needed"

# --- the environment -------------------------------------------------------
THOME=$T/home
BIN=$T/bin
mkdir -p "$THOME" "$BIN" || fail "cannot make $THOME and $BIN"
case $T in *[[:space:]\'\"\\\$]*) fail "'$T': the scratch path goes into sshd_config; no spaces or quotes, please" ;; esac
ln -s "$MMSYNC" "$BIN/mmsync" || fail "cannot link $BIN/mmsync"
REAL_SSH=$(command -v ssh) || fail "ssh not found (install openssh-client)"

# as sshlib.sh's start_sshd, with two lines more for the server's sessions
SSHD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mmsync-sshd.XXXXXX") || fail "mktemp failed"
at_exit "'$SSHD_START' --stop '$SSHD_DIR'; rm -rf '$SSHD_DIR'"
out=$("$SSHD_START" \
	-o "SetEnv PATH=$BIN:/usr/bin:/bin HOME=$THOME" \
	-o 'ForceCommand cd "$HOME" && exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"' \
	"$SSHD_DIR" 2>"$_LIB_TMP/sshd-start.err") ||
	fail "cannot start sshd (tests/sshd-start $SSHD_DIR; install openssh-server):
$(cat "$_LIB_TMP/sshd-start.err")"
eval "$out"
[ -n "${SSH_PORT:-}" ] && [ -n "${SSH_CMD:-}" ] || fail "tests/sshd-start printed '$out'"

# host localhost is 127.0.0.1 (the server listens there only), then the rest
# of the test server's client config (first value wins)
{
	printf 'Host localhost\n\tHostName 127.0.0.1\n'
	cat "$SSHD_DIR/ssh_config"
} >"$SSHD_DIR/ssh_config_localhost" || fail "cannot write ssh_config_localhost"
printf '#!/bin/sh\nexec %s -F %s "$@"\n' "$REAL_SSH" "$SSHD_DIR/ssh_config_localhost" >"$BIN/ssh"
chmod +x "$BIN/ssh"

# --- the README's commands -------------------------------------------------
STEPS=$_LIB_TMP/steps
mkdir -p "$STEPS"
python3 - "$README" "$STEPS" >"$_LIB_TMP/plan" 2>"$_LIB_TMP/plan.err" <<'PY' || fail "README.md: $(cat "$_LIB_TMP/plan.err")"
import os, re, sys
readme, steps = sys.argv[1], sys.argv[2]
lines = open(readme, encoding="utf-8").read().split("\n")
start = next((i for i, l in enumerate(lines) if l.rstrip() == "## Tutorial"), None)
if start is None:
    sys.exit("no '## Tutorial' heading")
cmds = []          # [line number, command, exit status, expected output lines or None]
fence = None       # the info string of the open fence, or None
cur = None
for i in range(start + 1, len(lines)):
    n, l = i + 1, lines[i]
    if fence is None:
        if re.match(r"#{1,6} ", l):
            break                       # the next heading ends the section
        m = re.match(r"```(.*)$", l)
        if m:
            fence = m.group(1).strip()
        continue
    if l.startswith("```"):
        fence, cur = None, None
        continue
    if fence != "sh":
        continue
    if l.startswith("$ "):
        cmd = l[2:]
        if re.match(r"\s*(#|sudo make install\b|crontab -e\b)", cmd):
            cur = "skip"
            continue
        m = re.search(r"#.*\bexit ([0-9]+)\b", cmd)
        cur = [n, cmd, int(m.group(1)) if m else 0, None]
        cmds.append(cur)
    elif l.startswith("#"):
        cur = None                      # a comment ends the output shown
    elif cur == "skip":
        continue                        # what a command not run would print
    elif cur is None:
        sys.exit("line %d: output with no command before it in its block: %r" % (n, l))
    else:
        if cur[3] is None:
            cur[3] = []
        cur[3].append(l)
if not cmds:
    sys.exit("no '$ ' commands in the Tutorial section")
for k, (n, cmd, rc, want) in enumerate(cmds):
    if want is not None:
        with open(os.path.join(steps, "%d.want" % n), "w", encoding="utf-8") as f:
            f.write("\n".join(want) + "\n")
    with open(os.path.join(steps, "%d.cmd" % n), "w", encoding="utf-8") as f:
        f.write(cmd + "\n")
    print(n, rc, 1 if want is not None else 0)
PY

# the shell that runs them: one bash, the README's commands eval'd in order
RUNNER=$_LIB_TMP/runner.sh
cat >"$RUNNER" <<'RUNNER_EOF'
# $1: the steps directory; stdin: "LINE RC CHECKED" lines
__steps=$1
__norm() {
	sed -E \
		-e "s|$__home_phys|/home/me|g" -e "s|$__home|/home/me|g" \
		-e 's/\b[A-Z2-7]{13}\b/<ID>/g' \
		-e 's/SHA256:[0-9a-fA-F]{64}/SHA256:<FINGERPRINT>/g' \
		-e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}Z?/<TIME>/g' \
		-e 's/[0-9]+ (s|min|h|days) ago/<N> ago/g' \
		-e 's/\.conflict-[0-9]{8}-[0-9]{6}-/.conflict-<STAMP>-/g' \
		-e 's/[0-9]+ bytes/<N> bytes/g' \
		-e 's/\b(bytes_in|bytes_out|ms)=[0-9]+/\1=<N>/g' \
		-e 's/[0-9]+(\.[0-9]+)? s$/<N> s/'
}
__home=$(printf '%s' "$HOME" | sed 's/[][\\.*^$|]/\\&/g')
__home_phys=$(cd "$HOME" && pwd -P | sed 's/[][\\.*^$|]/\\&/g')
__ran=0 __checked=0
while read -r __n __rc __chk <&3; do
	__cmd=$(cat "$__steps/$__n.cmd")
	eval "$__cmd" </dev/null >"$__steps/$__n.got" 2>&1
	__got_rc=$?
	__ran=$((__ran + 1))
	if [ "$__got_rc" != "$__rc" ]; then
		printf 'README.md line %s: `%s` exited %s, the README says %s; it printed:\n%s\n' \
			"$__n" "$__cmd" "$__got_rc" "$__rc" "$(cat -v "$__steps/$__n.got")"
		exit 1
	fi
	if [ "$__chk" = 1 ]; then
		__checked=$((__checked + 1))
		if ! __diff=$(diff -u --label "README.md (normalised)" --label "printed (normalised)" \
			<(__norm <"$__steps/$__n.want") <(__norm <"$__steps/$__n.got")); then
			printf 'README.md line %s: `%s` printed other than the README shows:\n%s\n--- printed, as is:\n%s\n' \
				"$__n" "$__cmd" "$__diff" "$(cat -v "$__steps/$__n.got")"
			exit 1
		fi
	fi
done 3<&0
echo "ran=$__ran checked=$__checked"
RUNNER_EOF

logins=$(grep -c 'Accepted publickey' "$SSHD_DIR/sshd.log")
env -i HOME="$THOME" PATH="$BIN:/usr/bin:/bin" MMSYNC_SSH="$REAL_SSH -F $SSHD_DIR/ssh_config_localhost" \
	LC_ALL=C USER="$(id -un)" LOGNAME="$(id -un)" TMPDIR="${TMPDIR:-/tmp}" \
	bash --noprofile --norc "$RUNNER" "$STEPS" <"$_LIB_TMP/plan" >"$_LIB_TMP/runner.out" 2>&1 ||
	fail "the README's tutorial does not run as written:
$(cat "$_LIB_TMP/runner.out")"

# it ran something, compared something, and went through the test sshd
summary=$(tail -n 1 "$_LIB_TMP/runner.out")
case $summary in ran=*) ;; *) fail "the tutorial's runner ended oddly: $(cat "$_LIB_TMP/runner.out")" ;; esac
ran=${summary#ran=} ran=${ran%% *} checked=${summary##*checked=}
[ "$ran" -ge 10 ] && [ "$checked" -ge 5 ] ||
	fail "the Tutorial section has too little to run: $ran commands run, $checked outputs compared"
[ "$(grep -c 'Accepted publickey' "$SSHD_DIR/sshd.log")" -gt "$logins" ] ||
	fail "the tutorial never logged in to the test sshd (no ssh peer in it?)"
