# Refusals over TLS, each with exit 3, a clear message on the client, the
# session named in the server's stderr or log, nothing changed on either
# side (trees compared with hashes, inodes and ctimes) and the server still
# serving: a client the server does not trust; a server whose certificate
# does not match the pin; a tls:// peer with no pin; a client untrusted while
# the server runs (and trusted again, no restart); TLS 1.2 and non-TLS
# clients.  After the refusals, the changes held back still sync.
. "$(dirname "$0")/tlslib.sh"

mkrep A B C D
for r in A B C D; do
	fp_of $r
	eval "FP$r=\$FP HEX$r=\$HEX"
done
expect_rc 0 mm -C A trust "$FPB" --name B
expect_rc 0 mm -C A trust "$FPD" --name D
start_server A

# some history, then changes held back on every side
printf 'shared\n' >A/shared
printf 'to delete\n' >A/todelete
expect_rc 0 mm -C B sync --fingerprint "$FPA" "$SRV_URL"
printf 'A pending\n' >A/a-pending
printf 'shared, edited on A\n' >A/shared
printf 'B pending\n' >B/b-pending
rm B/todelete
printf 'C data\n' >C/c-data
for r in A B C; do expect_rc 0 mm -C $r scan; done
before=$(snapshot A B C D)
refused() { # refused CMD...: exit 3, nothing on stdout, nothing changed, the server still up
	expect_rc 3 "$@"
	case " $* " in
	*" --json "*) jcount >/dev/null ;; # stdout: only JSON, if anything
	*) expect_out_empty ;;
	esac
	unchanged A B C D
	expect_alive
}

# --- a client the server does not trust: every command
server_mark
for cmd in sync pull push; do
	refused mm -C C $cmd --fingerprint "$FPA" "$SRV_URL"
	expect_err_contains "not trusted"
	grep -qiF "$HEXC" "$ERR" || fail "$(_shown "'$cmd' by an untrusted client: the message does not show its fingerprint $FPC")"
done
server_says "$HEXC" || fail "the server does not name the untrusted client $FPC: $(server_text)"
refused mm --json -C C sync --fingerprint "$FPA" "$SRV_URL"
expect_err_contains "not trusted"
# ... also as a named peer
expect_rc 0 mm -C C peer add srv "$SRV_URL" --fingerprint "$FPA"
refused mm -C C sync srv
expect_err_contains "not trusted"
grep -qiF "$HEXC" "$ERR" || fail "$(_shown "the message does not show the client's fingerprint")"
# trusting someone else does not help
expect_rc 0 mm -C A untrust "$FPD"
refused mm -C C pull srv

# --- a server whose certificate does not match the pin (B is trusted)
server_mark
for cmd in sync pull push; do
	refused mm -C B $cmd --fingerprint "$FPD" "$SRV_URL"
	expect_err_contains "does not match"
	grep -qiF "$HEXA" "$ERR" || fail "$(_shown "'$cmd' with a wrong pin: the message does not show the server's real fingerprint $FPA")"
done
server_says "$HEXB" || fail "the server does not name the client $FPB of the refused session: $(server_text)"
expect_rc 0 mm -C B peer add wrong "$SRV_URL" --fingerprint "$FPC"
refused mm -C B sync wrong
expect_err_contains "does not match"
grep -qiF "$HEXA" "$ERR" || fail "$(_shown "named peer, wrong pin: no server fingerprint shown")"
# a pin that differs in its last digit is no match; a malformed one is a usage error
last=${HEXA:63:1}
[ "$last" = 0 ] && other=1 || other=0
refused mm -C B pull --fingerprint "SHA256:${HEXA:0:63}$other" "$SRV_URL"
expect_err_contains "does not match"
expect_rc 2 mm -C B pull --fingerprint "SHA256:${HEXA:0:63}" "$SRV_URL"
unchanged A B C D

# --- a tls:// peer with no pin at all: refused, the server's fingerprint shown (to pin it)
server_mark
refused mm -C B sync "$SRV_URL"
expect_err_contains "no fingerprint"
server_says "$HEXB" || fail "the server does not name the client $FPB that had no pin: $(server_text)"
grep -qiF "$HEXA" "$ERR" || fail "$(_shown "no pin: the message does not show the server's fingerprint $FPA")"
expect_rc 0 mm -C B peer add nopin "$SRV_URL"
refused mm -C B pull nopin
expect_err_contains "no fingerprint"
grep -qiF "$HEXA" "$ERR" || fail "$(_shown "named peer without a pin: the server's fingerprint is not shown")"
refused mm -C B push nopin

# --- malformed pins and URLs: usage errors (exit 2), nothing stored
expect_rc 2 mm -C B peer add badpin "$SRV_URL" --fingerprint "SHA256:${HEXA:0:40}"
expect_rc 2 mm -C B sync --fingerprint "${HEXA}zz" "$SRV_URL"
expect_rc 2 mm -C B sync --fingerprint "$FPA" tls://127.0.0.1
expect_rc 0 mm -C B peer list
expect_out_lacks badpin
unchanged A B C D

# --- TLS 1.2 only, and clients that do not speak TLS: the handshake fails, the server goes on
timeout 10 openssl s_client -tls1_2 -connect "127.0.0.1:$SRV_PORT" </dev/null >"$T/s_client12.out" 2>&1
rc=$?
[ "$rc" != 124 ] || fail "openssl s_client -tls1_2 hung"
if [ "$rc" = 0 ] || grep -qE 'New, TLSv1\.2' "$T/s_client12.out" || ! grep -qF 'Cipher is (NONE)' "$T/s_client12.out"; then
	fail "a TLS 1.2 handshake went through (exit $rc):
$(cat "$T/s_client12.out")"
fi
expect_alive
# TLS 1.3 without a client certificate: no session
timeout 10 openssl s_client -tls1_3 -connect "127.0.0.1:$SRV_PORT" </dev/null >"$T/s_client13.out" 2>&1
expect_alive
grep -q 'Server certificate' "$T/s_client13.out" || skip "openssl s_client -tls1_3 saw no server certificate: $(head -5 "$T/s_client13.out")"
# the certificate the server shows is the one its fingerprint names
got=$(timeout 10 openssl s_client -tls1_3 -connect "127.0.0.1:$SRV_PORT" </dev/null 2>/dev/null |
	openssl x509 -outform DER 2>/dev/null | sha256sum | cut -c1-64)
expect_eq "$got" "$HEXA" "the SHA-256 of the server's certificate"
# garbage, and a client that closes at once
python3 - "$SRV_PORT" <<'PY'
import socket, sys
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"GET / HTTP/1.0\r\n\r\n" + bytes(range(256)) * 64)
s.settimeout(10)
try:
    while s.recv(4096):
        pass
except (socket.timeout, ConnectionError):
    pass
s.close()
socket.create_connection(("127.0.0.1", port)).close()
PY
expect_alive
unchanged A B C D

# --- untrust while the server runs: refused from the next connection on, no restart
printf 'B pending 2\n' >B/b-pending2
expect_rc 0 mm -C B scan
expect_rc 0 mm -C B pull --fingerprint "$FPA" "$SRV_URL"
[ "$(cat B/a-pending)" = "A pending" ] || fail "a trusted client could not pull after the refusals"
[ ! -e A/b-pending ] || fail "pull sent B's changes"
before=$(snapshot A B C D)
expect_rc 0 mm -C A untrust "$(tr a-f A-F <<<"$HEXB")"
server_mark
refused mm -C B push --fingerprint "$FPA" "$SRV_URL"
expect_err_contains "not trusted"
server_says "$HEXB" || fail "the server does not name the client $FPB it no longer trusts: $(server_text)"
grep -qiF "$HEXB" "$ERR" || fail "$(_shown "the untrusted client's fingerprint is not shown")"
[ ! -e A/b-pending ] || fail "an untrusted client pushed"
# untrusting one that is not trusted: done (0) or said (2, 3)
run mm -C A untrust "$FPB"
case $RC in 0) ;; 2 | 3) [ -s "$ERR" ] || fail "$(_shown "untrust of a client not trusted: no message")" ;;
*) fail "$(_shown "untrust of a fingerprint not trusted: exit $RC")" ;; esac
unchanged A B C D
# trusted again (lower case, no prefix): the held-back changes go through, no conflict
expect_rc 0 mm -C A trust "$HEXB"
expect_rc 0 mm --json -C B sync --fingerprint "$FPA" "$SRV_URL"
expect_json 'files_out >= 2' 'conflicts == 0'
same_trees A B
[ "$(cat A/b-pending)" = "B pending" ] && [ "$(cat A/b-pending2)" = "B pending 2" ] && [ ! -e A/todelete ] && [ "$(cat B/shared)" = "shared, edited on A" ] ||
	fail "the changes held back by the refusals did not arrive: $(ls A)"
# C, trusted now, syncs too
expect_rc 0 mm -C A trust "$FPC" --name C
expect_rc 0 mm -C C sync srv
expect_rc 0 mm -C B sync --fingerprint "$FPA" "$SRV_URL"
same_trees A B C
expect_alive
grep -qE 'Sanitizer|runtime error:' "$SRV_ERR" && fail "the server reported: $(cat "$SRV_ERR")"
stop_server TERM

# --- a server that cannot serve: no --listen (usage), a port taken (exit 3, at once)
expect_rc 2 timeout 5 "$MMSYNC" -C A serve --tls
run timeout 5 "$MMSYNC" -C A serve --tls --listen 127.0.0.1
[ "$RC" = 2 ] || [ "$RC" = 3 ] || fail "$(_shown "serve --listen without a port: exit $RC, want 2 (or 3)")"
bg_client taken python3 -c '
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
time.sleep(30)
'
wait_until "[ -s '$T/taken.out' ]" || fail "no port taken"
port=$(head -n 1 "$T/taken.out")
expect_rc 3 timeout 5 "$MMSYNC" -C A serve --tls --listen "127.0.0.1:$port"
expect_err_contains "$port"
kill $BG_PID
