# Named peers (`peer add/list/remove`, stored in .mmsync/config, usable
# wherever a URL is), `sync --all` for cron (silent on success; an unreachable
# peer does not stop the others, exit 3, one log line per peer; a second
# concurrent run exits 75; --timeout bounds a peer that never answers),
# `status` per peer (last success, last failure and its message, changes not
# yet received) and `log --since DURATION`.
. "$(dirname "$0")/synclib.sh"
. "$(dirname "$0")/sshlib.sh"

start_sshd
mkrep A B C
URL_B=$(ssh_url "$T/B")
URL_C=$T/C
URL_DOWN="ssh://$SSH_USER@127.0.0.1:$(closed_port)$T/D"
FP=$(mm -C B id | sed -n 's/^fingerprint: //p')
[ -n "$FP" ] || fail "no fingerprint in 'mmsync id'"
TAB=$(printf '\t')

# --- peer add / list / remove
expect_rc 0 mm -C A peer list
expect_out_empty
run mm -C A sync --all
[ "$RC" != 0 ] && [ -s "$ERR" ] || fail "$(_shown "'sync --all' with no peer configured: no error")"
expect_rc 0 mm -C A peer add bravo "$URL_B"
expect_rc 0 mm -C A peer add charlie "$URL_C"
expect_rc 0 mm -C A peer add tango tls://127.0.0.1:7 --fingerprint "$FP"
# a name taken, a bad name, a bad URL: usage errors, nothing added
expect_rc 2 mm -C A peer add bravo "$URL_C"
expect_rc 2 mm -C A peer add 'two words' "$URL_C"
expect_rc 2 mm -C A peer add nopath "ssh://127.0.0.1"
expect_rc 0 mm -C A peer list
want="bravo$TAB$URL_B
charlie$TAB$URL_C
tango${TAB}tls://127.0.0.1:7$TAB$FP"
[ "$(cat "$OUT")" = "$want" ] || fail "$(_shown "'peer list' is not, in order:
$want")"
expect_contains A/.mmsync/config "$URL_B"
expect_contains A/.mmsync/config "$FP"
grep -q bravo A/.mmsync/config && grep -q tango A/.mmsync/config || fail "peer names are not in A/.mmsync/config"
git config -f A/.mmsync/config --list >/dev/null 2>&1 || ! command -v git >/dev/null ||
	fail "A/.mmsync/config is not in git-config syntax: $(cat A/.mmsync/config)"
expect_rc 0 mm -C A --json peer list
json_val '[(p["name"], p["url"], p.get("fingerprint")) for p in j]'
want_json=$(python3 -c 'import json,sys; print(json.dumps([["bravo",sys.argv[1],None],["charlie",sys.argv[2],None],["tango","tls://127.0.0.1:7",sys.argv[3]]], sort_keys=True))' "$URL_B" "$URL_C" "$FP")
[ "$JV" = "$want_json" ] || fail "$(_shown "'--json peer list': got $JV, want $want_json (a fingerprint not set: null or absent)")"
# removing a peer and adding it again puts it last (as with git remote)
expect_rc 0 mm -C A peer remove bravo
expect_rc 0 mm -C A peer add bravo "$URL_B"
expect_rc 0 mm -C A peer remove charlie
expect_rc 0 mm -C A peer add charlie "$URL_C"
expect_rc 0 mm -C A peer list
[ "$(cut -f1 "$OUT" | tr '\n' ' ')" = 'tango bravo charlie ' ] ||
	fail_later "$(_shown "peer list after removing bravo and charlie and adding them again: not in the order added (want tango, bravo, charlie)")"
expect_rc 0 mm -C A peer remove tango
expect_rc 0 mm -C A peer list
expect_out_lacks tango
expect_out_line "bravo$TAB$URL_B"
expect_lacks A/.mmsync/config tls://127.0.0.1:7
expect_rc 2 mm -C A peer remove no-such-peer
expect_err_contains no-such-peer
expect_rc 0 mm -C A peer list
[ "$(wc -l <"$OUT")" = 2 ] || fail "$(_shown "removing an unknown peer changed the list")"

# --- a name works wherever a URL does
printf 'a\n' >A/a
expect_rc 0 mm -C A push "${SSH_OPTS[@]}" bravo
[ "$(cat B/a 2>/dev/null)" = a ] || fail "push to the named ssh peer did not carry A/a"
printf 'c\n' >C/c
expect_rc 0 mm -C A pull charlie
[ "$(cat A/c 2>/dev/null)" = c ] || fail "pull from the named local peer did not bring C/c"
expect_rc 0 mm -C A --json sync "${SSH_OPTS[@]}" bravo charlie
[ "$(jcount)" = 2 ] || fail "$(_shown "sync of two named peers: not two JSON objects")"
expect_json -n 0 "peer == 'bravo'"
expect_json -n 1 "peer == 'charlie'"
same_trees A B C
expect_rc 0 mm clone "${SSH_OPTS[@]}" "$URL_B" E --name E # (a replica with no peers)
expect_rc 0 mm -C E peer add home "$T/A"
printf 'e\n' >E/e
expect_rc 0 mm -C E sync home
[ -f A/e ] || fail "sync with a named path peer from another replica did not carry E/e"
rm -rf E

# --- sync --all: silent on success, every peer in order
printf 'on B\n' >B/onb
printf 'on A\n' >A/ona
expect_rc 0 mm -C A -q sync --all "${SSH_OPTS[@]}"
expect_out_empty
expect_err_empty
# B's file went through A to C in the same run (B comes first)
[ -f C/onb ] && [ -f B/ona ] && [ -f C/ona ] || fail "sync --all did not sync bravo then charlie"
MMSYNC_SSH=$SSH_CMD expect_rc 0 mm -C A -q sync --all --remote-mmsync "$MMSYNC"
expect_out_empty
expect_err_empty
same_trees A B C

# --- status per peer
ISO='isinstance(x, str) and __import__("re").fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", x) is not None'
# peer_json NAME EXPR: EXPR over `p`, the object of peer NAME in `status --json`, must hold
peer_json() {
	expect_rc 0 mm -C A --json status
	json_val "(lambda p: bool($2))([p for p in j['peers'] if p['name'] == '$1'][0]) if len([p for p in j['peers'] if p['name'] == '$1']) == 1 else 'no-peer'"
	[ "$JV" = true ] || fail "$(_shown "'status --json', peer $1: not ($2)")"
}
expect_rc 0 mm -C A --json status
json_val '[p["name"] for p in j["peers"]]'
[ "$JV" = '["bravo", "charlie"]' ] || fail "$(_shown "'status --json': peers are $JV")"
for p in bravo charlie; do
	peer_json $p "p['pending'] == 0 and type(p['pending']) is int"
	peer_json $p "(lambda x: $ISO)(p['last_ok'])"
	peer_json $p "p['last_fail'] is None"
done
peer_json bravo "p['url'] == '$URL_B'"
peer_json charlie "p['url'] == '$URL_C'"
# three local changes, recorded by a scan: pending for both peers
printf '1\n' >A/new1
printf '2\n' >A/new2
printf '3\n' >A/new3
expect_rc 0 mm -C A -q scan
for p in bravo charlie; do
	peer_json $p "p['pending'] == 3"
done

# --- an unreachable peer among reachable ones: the others sync, exit 3, a log line each
# (charlie comes back as carol, after down-peer)
expect_rc 0 mm -C A peer remove charlie
expect_rc 0 mm -C A peer add down-peer "$URL_DOWN"
expect_rc 0 mm -C A peer add carol "$URL_C"
expect_rc 0 mm -C A peer list
[ "$(cut -f1 "$OUT" | tr '\n' ' ')" = 'bravo down-peer carol ' ] || fail "$(_shown "peer list: not in the order added")"
log_before=$(wc -l <A/.mmsync/log)
expect_rc 3 mm -C A -q sync --all "${SSH_OPTS[@]}"
expect_out_empty
expect_err_contains 'cannot reach'
grep -qF -e down-peer -e "$URL_DOWN" "$ERR" || fail "$(_shown "the message does not name the unreachable peer")"
[ -f B/new1 ] && [ -f C/new3 ] || fail "the reachable peers did not sync around the unreachable one"
tail -n +"$((log_before + 1))" A/.mmsync/log >"$_LIB_TMP/newlog"
for p in "bravo|$URL_B" "down-peer|$URL_DOWN" "carol|$URL_C"; do
	n=$(grep -cF -e "${p%%|*}" -e "${p#*|}" "$_LIB_TMP/newlog")
	[ "$n" = 1 ] || fail "the log has $n lines for peer ${p%%|*} (want 1):
$(cat "$_LIB_TMP/newlog")"
done
grep -F -e down-peer -e "$URL_DOWN" "$_LIB_TMP/newlog" | grep -qi 'fail\|cannot reach' ||
	fail "the log line of the unreachable peer does not say it failed: $(cat "$_LIB_TMP/newlog")"
peer_json down-peer "p['last_ok'] is None"
peer_json down-peer "(lambda x: $ISO)(p['last_fail'])"
peer_json down-peer "isinstance(p['last_error'], str) and 'cannot reach' in p['last_error']"
peer_json bravo "p['pending'] == 0 and (lambda x: $ISO)(p['last_ok'])"
peer_json carol "p['pending'] == 0 and (lambda x: $ISO)(p['last_ok'])"
expect_rc 0 mm -C A status
for w in bravo down-peer carol 'cannot reach'; do
	expect_out_contains "$w"
done

# --- --timeout: a peer that never answers (its "ssh" sleeps)
HANG=$(script hang "echo \$\$ >'$_LIB_TMP/hang.pid'; exec sleep 100")
at_exit '[ -s "$_LIB_TMP/hang.pid" ] && kill -9 $(cat "$_LIB_TMP/hang.pid")'
before=$(TREE_STRICT=1 tree_list A B)
start=$(date +%s)
_LAST_CMD="sync --ssh HANG --timeout 2 bravo"
run timeout -k 2 40 "$MMSYNC" -C A sync --ssh "$HANG" --remote-mmsync "$MMSYNC" --timeout 2 bravo
elapsed=$(($(date +%s) - start))
[ "$RC" != 124 ] && [ "$RC" != 137 ] || fail "sync --timeout 2 with a peer that never answers was still running after 40 s"
[ "$elapsed" -lt 20 ] || fail "sync --timeout 2 took $elapsed s"
[ "$RC" = 3 ] || fail "$(_shown "sync --timeout 2 with a peer that never answers: exit $RC, want 3")"
expect_err_contains 'timed out'
[ "$before" = "$(TREE_STRICT=1 tree_list A B)" ] || fail "a sync that timed out changed a tree"
if [ -s "$_LIB_TMP/hang.pid" ]; then
	wait_until '! kill -0 $(cat "$_LIB_TMP/hang.pid") 2>/dev/null' ||
		fail_later "the ssh command (pid $(cat "$_LIB_TMP/hang.pid")) still runs after 'sync --timeout' gave up"
else
	fail_later "the hanging ssh command was never run"
fi
expect_rc 2 mm -C A sync --timeout soon bravo

# --- a second run while one holds the replica: 75 at once, nothing done
expect_rc 0 mm -C A peer remove down-peer
printf 'c2\n' >C/onc
(MMSYNC_PAUSE=recv-row:5000 MMSYNC_SSH=$SSH_CMD exec "$MMSYNC" -C A -q sync --all --remote-mmsync "$MMSYNC") \
	>"$_LIB_TMP/bg.out" 2>&1 &
BG=$!
at_exit "kill -9 $BG; wait"
wait_until '[ -n "$(holders A)" ]' || fail "the first 'sync --all' never took A's lock"
kill -0 $BG 2>/dev/null || fail "the first 'sync --all' ended too soon: $(cat "$_LIB_TMP/bg.out")"
expect_rc 75 mm -C A -q sync --all "${SSH_OPTS[@]}"
[ -s "$ERR" ] || fail "a busy replica gave no message"
expect_out_empty
kill -0 $BG 2>/dev/null || fail "the first 'sync --all' ended before the second one did (the test proves nothing)"
wait $BG
bg_rc=$?
[ "$bg_rc" = 0 ] || fail "the first 'sync --all' exited $bg_rc: $(cat "$_LIB_TMP/bg.out")"
[ ! -s "$_LIB_TMP/bg.out" ] || fail "the first 'sync --all -q' printed: $(cat "$_LIB_TMP/bg.out")"
[ "$(cat A/onc)" = c2 ] || fail "the first 'sync --all' did not bring C/onc"
expect_rc 0 mm -C A -q sync --all "${SSH_OPTS[@]}"
[ "$(cat B/onc)" = c2 ] || fail "the next 'sync --all' did not carry C/onc to B"
same_trees A B C

# --- log --since DURATION: only the lines newer than that
recent=$(tail -n 5 A/.mmsync/log)
grep -q . <<<"$recent" || fail "A/.mmsync/log is empty"
{
	echo "2020-01-01T00:00:00Z sync peer=ancient-marker in=0 out=0"
	echo "$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%SZ) sync peer=two-hours-marker in=0 out=0"
	echo "$(date -u -d '-30 minutes' +%Y-%m-%dT%H:%M:%SZ) sync peer=half-hour-marker in=0 out=0"
	echo "$recent"
} >A/.mmsync/log
last_recent=$(tail -n 1 A/.mmsync/log)
# since D [present-markers] -- [absent-markers]
since() {
	local d=$1 m
	shift
	expect_rc 0 mm -C A log --since "$d"
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		expect_out_contains "$1"
		shift
	done
	[ $# = 0 ] || shift
	for m in "$@"; do
		expect_out_lacks "$m"
	done
}
since 10m "$last_recent" -- ancient-marker two-hours-marker half-hour-marker
since 45s -- ancient-marker two-hours-marker half-hour-marker
since 1h half-hour-marker "$last_recent" -- ancient-marker two-hours-marker
since 1h30m half-hour-marker -- ancient-marker two-hours-marker
since 3h two-hours-marker half-hour-marker "$last_recent" -- ancient-marker
since 1d two-hours-marker half-hour-marker "$last_recent" -- ancient-marker
expect_rc 0 mm -C A log
expect_out_contains ancient-marker
for bad in abc 10x '' -5m m 1h- 5; do
	run mm -C A log --since "$bad"
	# a bare number may be taken as seconds; everything else is a usage error
	[ "$bad" = 5 ] && [ "$RC" = 0 ] && continue
	[ "$RC" = 2 ] || fail_later "$(_shown "'log --since \"$bad\"': exit $RC, want 2")"
done
expect_rc 2 mm -C A log --since
