# An ssh peer whose far side speaks another protocol version (an older or
# newer mmsync): exit 3, the message names both versions, nothing changes on
# this side.  The far side here is a script that answers with a well-formed
# hello of version 99 (a fake `--remote-mmsync`), run through a real sshd.
. "$(dirname "$0")/synclib.sh"
. "$(dirname "$0")/sshlib.sh"

start_sshd
mkrep A
printf 'keep me\n' >A/file
mm -C A scan >/dev/null || fail "scan failed"
before=$(cd A && find . -path ./.mmsync -prune -o -type f -print0 | sort -z | xargs -0 sha256sum)

fake=$(script fake-mmsync 'exec python3 -c "
import struct, sys
name = b\"future\"
payload = b\"MMSYNC\" + struct.pack(\">HQQQ\", 99, 0, 0x1234, 0x5678)
payload += struct.pack(\">H\", len(name)) + name + struct.pack(\">BH\", 0, 0)
frame = bytes([1]) + payload
sys.stdout.buffer.write(struct.pack(\">I\", len(frame)) + frame)
sys.stdout.buffer.flush()
sys.stdin.buffer.read()
"')

for op in pull push sync; do
	expect_rc 3 mm -C A $op --ssh "$SSH_CMD" --remote-mmsync "$fake" "$(ssh_url "$T/B")"
	expect_err_contains "protocol version 99"
	expect_err_contains "this mmsync speaks"
	expect_out_empty
done
after=$(cd A && find . -path ./.mmsync -prune -o -type f -print0 | sort -z | xargs -0 sha256sum)
expect_eq "$after" "$before" "replica A after the refused syncs"
mm -C A log | grep -q "failed: .*protocol version 99" || fail "the log does not record the refused sync: $(mm -C A log)"
