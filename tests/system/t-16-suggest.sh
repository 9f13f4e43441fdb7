# An unknown command or option is a usage error (exit 2) whose message
# suggests the nearest known one when the word looks like a slip (a swap, a
# missing or extra letter, a prefix); a word far from everything gets no
# guess.  `help CMD` and `CMD --help` print the same usage.
. "$(dirname "$0")/lib.sh"

mm init R --name r >/dev/null || fail "init failed"

for pair in snyc:sync stauts:status pul:pull confilcts:conflicts bundel:bundle trsut:trust; do
	word=${pair%%:*} want=${pair##*:}
	expect_rc 2 mm "$word"
	expect_err_contains "did you mean '$want'?"
	expect_out_empty
done
expect_rc 2 mm xyzzy
expect_err_contains "'xyzzy' is not an mmsync command"
expect_err_lacks "did you mean"
expect_rc 2 mm help comflicts
expect_err_contains "did you mean 'conflicts'?"

# options, per command
expect_rc 2 mm -C R sync --timout 5 somewhere
expect_err_contains "did you mean '--timeout'?"
expect_rc 2 mm -C R conflicts resolve x --thiers
expect_err_contains "did you mean '--theirs'?"
expect_rc 2 mm -C R pull --remote-mmsnyc /x somewhere
expect_err_contains "did you mean '--remote-mmsync'?"
expect_rc 2 mm -C R bundle create f --fro x
expect_err_contains "did you mean '--for'?"
expect_rc 2 mm -C R log --snice 1h
expect_err_contains "did you mean '--since'?"
expect_rc 2 mm -C R sync --frobnicate somewhere
expect_err_contains "option '--frobnicate' is not known"
expect_err_lacks "did you mean"

# help CMD and CMD --help agree, for every command
for c in $(mm --help | awk '/^Commands:/ {on = 1; next} on && /^    [a-z]/ {print $1}'); do
	n=$((${n:-0} + 1))
	a=$(mm help "$c") || fail "help $c failed"
	b=$(mm "$c" --help) || fail "$c --help failed"
	expect_eq "$b" "$a" "'$c --help' against 'help $c'"
	case $a in usage:*) ;; *) fail "help $c does not start with a usage line: $a" ;; esac
done
[ "${n:-0}" -ge 15 ] || fail "only ${n:-0} commands found in mmsync --help"
