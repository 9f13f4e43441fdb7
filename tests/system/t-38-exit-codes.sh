# Exit status of pull / push / sync: a peer that does not exist or is not a
# replica: 3, naming it, nothing changed; a busy peer: 3 or 75 with a clear
# message, nothing changed; this replica busy: 75; `sync` with two peers of
# which one is broken: the other still syncs, exit 3.
. "$(dirname "$0")/synclib.sh"

mkrep A B C
printf 'a\n' >A/a
expect_rc 0 mm -C B sync A
printf 'a2\n' >A/a
printf 'new\n' >A/new
before=$(snapshot A B C)

# want_rc N CMD...: like expect_rc, but the test goes on (and fails at its end)
want_rc() {
	local want=$1
	shift
	_LAST_CMD="$*"
	run "$@"
	[ "$RC" = "$want" ] || fail_later "$(_shown "'$*': expected exit $want, got $RC")"
}

# peer missing / not a replica (`sync` needs a peer first: an argument there
# that is not a replica is a peer that is not a replica, not a usage error)
mkdir notrep
printf 'x\n' >notrep/x
for cmd in pull push sync; do
	for p in missing-peer notrep; do
		want_rc 3 mm -C A $cmd $p
		grep -qF "$p" "$ERR" || fail_later "$(_shown "'$cmd $p': the message does not name $p")"
		expect_out_empty
	done
done
unchanged A B C
[ ! -e missing-peer ] || fail "a failed sync created the peer directory"
[ ! -e notrep/.mmsync ] && [ "$(ls -A notrep)" = x ] || fail "a failed sync changed notrep/"
# ... also when it is a file
printf 'f\n' >plainfile
expect_rc 3 mm -C A pull plainfile
expect_err_contains plainfile
unchanged A B C

# peer busy: nothing changes on either side
at_exit 'kill -9 $(jobs -p); wait'
# release_lock R: ends hold_lock R (lib.sh)
release_lock() {
	kill -9 "$HOLDER"
	wait "$HOLDER" 2>/dev/null
	wait_until '[ -z "$(holders '"$1"')" ]' || fail "$1's lock stayed taken"
}
hold_lock B
for cmd in pull push sync; do
	run mm -C A $cmd B
	[ "$RC" = 3 ] || [ "$RC" = 75 ] || fail "$(_shown "'$cmd B' while B is busy: exit $RC, want 3 or 75")"
	grep -q "B" "$ERR" && grep -qi "another mmsync\|busy\|locked" "$ERR" ||
		fail "$(_shown "'$cmd B' while B is busy: no clear message naming B")"
	expect_out_empty
done
unchanged A B C

# this replica busy: 75, nothing done
run mm -C B sync A
[ "$RC" = 75 ] || fail "$(_shown "'sync A' on a busy replica: exit $RC, want 75")"
[ -s "$ERR" ] || fail "a busy replica gave no message"
unchanged A B C
release_lock B

# sync with two peers, one broken (a replica whose store is not a database), the other fine:
# the good one syncs, whatever the order, exit 3.
mkrep D
printf 'garbage\n' >D/.mmsync/meta.db
expect_rc 3 mm -C A sync D C
expect_err_contains D
same_trees A C
printf 'more\n' >A/more
expect_rc 3 mm -C A sync C D
same_trees A C
# and with a peer busy among two: the other syncs; not 75 ("nothing was done" is not true)
printf 'even more\n' >A/more
hold_lock B
run mm -C A sync B C
same_trees A C
[ "$RC" = 3 ] || fail_later "$(_shown "'sync B C' with B busy and C synced: exit $RC, want 3 (75 says nothing was done)")"
release_lock B

# open conflicts from earlier: exit 1 also when the run itself did nothing new
bin_content A >A/c
bin_content C >C/c
expect_rc 1 mm -C A sync C
expect_rc 1 mm -C A pull C
expect_rc 1 mm -C A push C
# a broken peer outranks open conflicts
expect_rc 3 mm -C A sync C D
