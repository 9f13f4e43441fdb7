# Global options, help and usage errors.
. "$(dirname "$0")/lib.sh"

# --version: one line naming the program and a version number.
expect_rc 0 mm --version
expect_err_empty
[ "$(wc -l <"$OUT")" = 1 ] || fail "--version printed more than one line: $(cat "$OUT")"
grep -qE '^mmsync [0-9]+\.[0-9]+(\.[0-9]+)?' "$OUT" || fail "--version printed '$(cat "$OUT")'"

# --help and `help`: usage and every command that exists, on stdout.
for h in --help -h help; do
	expect_rc 0 mm $h
	expect_out_contains "usage: mmsync"
	for c in init id scan status help; do
		grep -qE "^ +$c " "$OUT" || fail "'mmsync $h' does not list the command '$c'"
	done
	for o in "-C DIR" "--json" "--quiet" "--verbose" "--version"; do
		expect_out_contains "$o"
	done
	expect_err_empty
done

# help CMD and CMD --help: that command's usage, even outside a replica.
for c in init id scan status; do
	expect_rc 0 mm help $c
	expect_out_contains "usage: mmsync $c"
	cp "$OUT" "$T/help-$c"
	expect_rc 0 mm $c --help
	expect_out_contains "usage: mmsync $c"
	cmp -s "$OUT" "$T/help-$c" || fail "'mmsync $c --help' differs from 'mmsync help $c'"
done
expect_rc 0 mm help init
expect_out_contains "--name NAME"
# --help after a command only prints help, whatever else is there.
expect_rc 0 mm init --help
[ ! -e .mmsync ] || fail "'init --help' created a replica"
expect_rc 0 mm init newdir --name x --help
[ ! -e newdir ] || fail "'init newdir --name x --help' created newdir"

# Usage errors: exit 2, with a message on stderr and nothing on stdout.
expect_rc 2 mm
expect_rc 2 mm frobnicate
expect_err_contains "frobnicate"
expect_out_empty
expect_rc 2 mm help frobnicate
expect_err_contains "frobnicate"
expect_rc 2 mm --frobnicate id
expect_err_contains "--frobnicate"
expect_out_empty
expect_rc 2 mm -x status
expect_err_contains "-x"
expect_rc 2 mm -C
expect_rc 2 mm -q -v status
# Command options and operands are checked before looking for a replica.
expect_rc 2 mm scan --frobnicate
expect_err_contains "--frobnicate"
expect_rc 2 mm scan extra
expect_rc 2 mm status extra
expect_rc 2 mm id extra
expect_rc 2 mm init a b
[ ! -e a ] && [ ! -e b ] || fail "'init a b' created a directory"
expect_rc 2 mm init --frobnicate x
[ ! -e x ] || fail "'init --frobnicate x' created x"

# -q prints nothing at all when things go well, even with work done.
expect_rc 0 mm -q init r
expect_out_empty
expect_err_empty
[ -d r/.mmsync ] || fail "'mm -q init r' made no replica"
mkdir r/d
echo hello >r/d/f
expect_rc 0 mm -q -C r scan
expect_out_empty
expect_err_empty
expect_rc 0 mm --quiet -C r status
expect_err_empty
# ... but the scan did record the changes.
expect_scan -C r </dev/null

# Without -q, init and scan say what they did.
expect_rc 0 mm init r2
expect_out_contains "r2"
expect_rc 0 mm -C r2 scan
expect_out_contains "scanned"
