# Connections cut and sides killed at random moments (TLS).  A proxy
# (cut_proxy.py) between client and server cuts a sync after N bytes (both
# directions counted; a close or, at random, a reset): N is drawn at random in
# each of MMSYNC_CUTS (default 10) equal slices of a measured session's
# length, plus two in its first 4 KiB (the TLS handshake).  Then the client
# killed (kill -9) and the server's process for the client killed, each
# MMSYNC_KILLS (default 3) times at a random moment: within the first third of
# a measured sync's time, counted from the connection (most of the session;
# some land after its end).  Every round first changes both sides (edits of
# every kind in separate regions, and a few bytes of a 2 MB file that moves as
# a delta).  After each fault: the client exited 3 (or was killed, or had
# finished; after a cut, exit 0 only where the cut took nothing but the TLS
# goodbye: the trees are then identical already), the server still serves,
# every file holds a version its path really had; then an uncut sync exits 0
# and leaves both trees identical (paths, types, contents, modes, mtimes, link
# targets), with no conflict, no temporary file and a clean `mmsync check` on
# both. The seed is printed; MMSYNC_CUT_SEED=N repeats a run's cuts and kills.
. "$(dirname "$0")/tlslib.sh"

command -v pgrep >/dev/null || fail "pgrep is needed"
on_tmpfs t68 r

seed=${MMSYNC_CUT_SEED:-$((RANDOM * 32768 + RANDOM))}
echo "seed $seed (MMSYNC_CUT_SEED=$seed repeats these cuts and kills)"
RANDOM=$seed
cuts=${MMSYNC_CUTS:-10}
kills=${MMSYNC_KILLS:-3}
# rnd N: a random number in [0, N)
rnd() { echo $(((RANDOM * 32768 + RANDOM) % $1)); }

mkrep A B
fp_of B
expect_rc 0 mm -C A trust "$FP"
fp_of A
FPA=$FP
$TREE build A --seed $((seed % 1000)) --files 300 --dirs 10 --links 4 || fail "cannot build the tree"
mkdir A/blobs
head -c $((2 * 1024 * 1024)) /dev/urandom >A/blobs/big.bin
versions=$T/versions.json

start_server A
proxy_log=$T/proxy.log
ctl=$T/proxy.ctl
: >"$ctl"
: >"$proxy_log"
python3 "$(dirname "$0")/cut_proxy.py" "$SRV_PORT" "$ctl" "$proxy_log" >"$T/proxy.out" 2>"$T/proxy.err" &
proxy=$!
at_exit "kill $proxy"
wait_until "grep -qs '^port ' '$T/proxy.out'" || fail "the proxy did not start: $(cat "$T/proxy.err")"
PROXY_URL=tls://127.0.0.1:$(sed -n 's/^port //p' "$T/proxy.out")

# final_check: an uncut sync exits 0; then A and B are the same and clean, with no open conflict
final_check() {
	: >"$ctl"
	expect_rc 0 mm -C B sync --fingerprint "$FPA" "$PROXY_URL"
	out=$($TREE final A B) || fail "$1, then a sync: $out"
	for r in A B; do
		expect_rc 0 mm -C $r conflicts
		expect_out_empty
		expect_rc 0 mm -C $r check
	done
}
# server_idle: waits (5 s at most) until the server's process for the last client has ended
server_idle() {
	wait_until "! ps -o stat= --ppid $SRV_PID 2>/dev/null | grep -q '^[^Z]'" ||
		fail "the server's process for a cut or killed client still runs after 5 s"
}
# checked WHAT: after a fault: the server serves, every file holds a version of its path; then final_check
checked() {
	expect_alive
	server_idle
	grep -qE 'Sanitizer|runtime error:' "$SRV_ERR" && fail "the server reported: $(cat "$SRV_ERR")"
	for r in A B; do
		out=$($TREE versions-check "$versions" $r) || fail "$1: $out"
	done
	final_check "$1"
}
round=0
# change: edits on both sides (apart), a few bytes of the big file
change() {
	round=$((round + 1))
	$TREE edit a A --seed $((seed % 1000 + round)) --tag r$round || fail "cannot edit A"
	$TREE edit b B --seed $((seed % 1000 + round)) --tag r$round || fail "cannot edit B"
	for off in $(rnd 2000000) $(rnd 2000000); do
		printf 'round %d' $round | dd of=A/blobs/big.bin bs=1 seek="$off" conv=notrunc 2>/dev/null
	done
	$TREE versions-add "$versions" A
	$TREE versions-add "$versions" B
}
last_bytes() { tail -n 1 "$proxy_log" | sed 's/^bytes=\([0-9]*\).*/\1/'; }

# --- the first sync, then a measured one
$TREE versions-add "$versions" A
final_check "the first sync"
change
lines=$(wc -l <"$proxy_log")
t0=$(date +%s%N)
expect_rc 0 mm -C B sync --fingerprint "$FPA" "$PROXY_URL"
ms=$((($(date +%s%N) - t0) / 1000000))
wait_until "[ \$(wc -l <'$proxy_log') -gt $lines ]" || fail "the proxy did not log the measured session"
len=$(last_bytes)
final_check "the measured sync"
grep -q 'cut=0' "$proxy_log" || fail "the proxy cut an uncut session: $(cat "$proxy_log")"
echo "a session: $len bytes through the proxy, $ms ms"
[ "$len" -gt 100000 ] || fail "the measured session is too short ($len bytes) to cut"

# --- cuts
ncut=0
offsets="$((1 + $(rnd 4096))) $((1 + $(rnd 4096)))"
for ((i = 0; i < cuts; i++)); do
	offsets="$offsets $((i * len / cuts + 1 + $(rnd $((len / cuts)))))"
done
for n in $offsets; do
	change
	how=
	[ $(rnd 2) = 1 ] && how=rst
	echo "$n $how" >"$ctl"
	lines=$(wc -l <"$proxy_log")
	run mm -C B sync --fingerprint "$FPA" "$PROXY_URL"
	wait_until "[ \$(wc -l <'$proxy_log') -gt $lines ]" || fail "the proxy did not log the cut session"
	if tail -n 1 "$proxy_log" | grep -q 'cut=1'; then
		ncut=$((ncut + 1))
		if [ "$RC" = 0 ]; then
			# the cut took only the TLS goodbye: the work must be all done
			out=$($TREE final A B) || fail "$(_shown "sync cut after $n bytes ($how): exit 0, but: $out")"
			echo "cut at $n ${how:-close}: past the end of the work, exit 0"
			checked "after a cut at $n bytes ($how)"
			continue
		fi
		[ "$RC" = 3 ] || fail "$(_shown "sync cut after $n bytes ($how): exit $RC, want 3")"
		[ -s "$ERR" ] || fail "sync cut after $n bytes: exit 3 with no message"
		echo "cut at $n ${how:-close}: exit 3: $(head -n 1 "$ERR")"
	else
		[ "$RC" = 0 ] || fail "$(_shown "sync not cut (the session was shorter than $n bytes): exit $RC")"
		echo "cut at $n: the session ended first ($(last_bytes) bytes)"
	fi
	checked "after a cut at $n bytes ($how)"
done
[ "$ncut" -ge $((cuts / 2)) ] || fail "only $ncut of the sessions were cut"

# --- kill -9 of the client, then of the server's process for it, at a random moment
for who in client server; do
	for ((i = 0; i < kills; i++)); do
		change
		wait_ms=$(rnd $((ms / 3 + 1)))
		bg_client kill "$MMSYNC" -C B sync --fingerprint "$FPA" "$SRV_URL"
		cl=$BG_PID
		# the moment is counted from the connection (the server's process for the client is there)
		for ((j = 0; j < 400; j++)); do
			pgrep -P "$SRV_PID" >/dev/null && break
			alive $cl || break
			sleep 0.005
		done
		sleep "$(printf '%d.%03d' $((wait_ms / 1000)) $((wait_ms % 1000)))"
		hit=yes
		if [ $who = client ]; then
			kill -9 $cl 2>/dev/null || hit=no
		else
			pkill -9 -P "$SRV_PID" || hit=no
		fi
		wait_exit $cl 20
		case $who:$WRC in
		client:137 | client:0 | server:0 | server:3) ;;
		*) fail "the client, the $who killed after $wait_ms ms: exit $WRC; stderr: $(cat -v "$T/kill.err")" ;;
		esac
		[ "$WRC" != 3 ] || [ -s "$T/kill.err" ] || fail "the client, its server killed: exit 3 with no message"
		echo "$who killed $wait_ms ms after the connection (there to kill: $hit): the client exited $WRC"
		checked "after the $who was killed at $wait_ms ms"
	done
done
grep -qE 'Sanitizer|runtime error:' "$SRV_ERR" && fail "the server reported: $(cat "$SRV_ERR")"
stop_server TERM
