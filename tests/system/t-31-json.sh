# --json: standard output holds only JSON, one object per peer for pull, push
# and sync (also with -v, with warnings, with a failing peer), with the
# documented fields and counts that match what the run did.
. "$(dirname "$0")/synclib.sh"

mkrep A B C
mkdir A/d
head -c 100000 /dev/urandom >A/d/rand
printf 'one\n' >A/one
printf 'two\n' >A/two

fields='all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (files_in, files_out, bytes_in, bytes_out, merged, conflicts, deleted, skipped, failed, ms))'

expect_rc 0 mm -C A --json push B # 4 entries: d, d/rand, one, two
[ "$(jcount)" = 1 ] || fail "$(_shown "push: not one JSON object")"
expect_json "peer == 'B'" "$fields" 'files_out == 4' 'files_in == 0' 'bytes_out >= 100000' 'bytes_in < 10000' \
	'conflicts == 0' 'deleted == 0' 'merged == 0' 'failed == 0'
expect_err_empty

# pull, -v as well: still only JSON on stdout
rm A/one
printf 'two v2\n' >A/two
expect_rc 0 mm -C B -v --json pull A
[ "$(jcount)" = 1 ] || fail "$(_shown "pull -v: not one JSON object")"
expect_json "peer == 'A'" "$fields" 'files_in == 1' 'files_out == 0' 'deleted == 1' 'bytes_out < 10000'
same_trees A B

# sync with two peers: one object each, in order, peer as given on the command line
printf 'three\n' >B/three
expect_rc 0 mm --json -C B sync A ./C
[ "$(jcount)" = 2 ] || fail "$(_shown "sync with two peers: not two JSON objects")"
expect_json -n 0 "peer == 'A'" "$fields" 'files_out == 1' 'files_in == 0'
expect_json -n 1 "peer == './C'" "$fields" 'files_out == 4' 'files_in == 0' 'bytes_out >= 100000'
same_trees A B C
expect_rc 0 mm -C A --json sync B
expect_json "$fields" 'files_in == 0' 'files_out == 0' 'bytes_in > 0' 'bytes_out > 0'

# conflicts counted where they were detected, and `conflicts --json`
bin_content A >A/c
bin_content B >B/c
touch -d '2020-01-01 UTC' B/c
expect_rc 1 mm -C A --json sync B
expect_json 'conflicts == 1' "$fields"
expect_rc 1 mm -C A --json conflicts
json_val 'len(j)'
[ "$JV" = 1 ] || fail "$(_shown "'conflicts --json': not one entry")"
json_val 'j[0]["path"] == "c" and j[0]["kind"] == "binary" and j[0]["copies"] == ["'"$(stamp_name c '2020-01-01 UTC' B)"'"]'
[ "$JV" = true ] || fail "$(_shown "'conflicts --json': entry not as expected")"

# a warning on stderr (a fifo is skipped) leaves stdout pure JSON
mkfifo A/fifo
printf 'four\n' >A/four
run mm -C A --json sync B
[ "$RC" = 1 ] || [ "$RC" = 3 ] || fail "$(_shown "sync with a fifo: exit $RC")"
[ "$(jcount)" = 1 ] || fail "$(_shown "sync with a warning: not one JSON object")"
rm A/fifo

# a failing peer among good ones: still one object per peer, only JSON
mkrep D
printf 'garbage\n' >D/.mmsync/meta.db
expect_rc 3 mm -C A --json sync B D C
[ "$(jcount)" = 3 ] || fail "$(_shown "sync B D C with D broken: not three JSON objects")"
expect_json -n 1 "peer == 'D'" 'ok == False'
expect_json -n 0 'ok == True'
expect_json -n 2 'ok == True'
# ... also when the peer is not a replica at all (pull takes exactly one PEER)
mkdir notrep
run mm -C A --json pull notrep
[ "$RC" = 3 ] || fail "$(_shown "--json pull notrep: exit $RC")"
[ "$(jcount)" = 1 ] || fail_later "$(_shown "--json pull notrep: not one JSON object per peer (stdout must hold one object per peer)")"
