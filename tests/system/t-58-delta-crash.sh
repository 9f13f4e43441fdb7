# Crash-safe when content comes as a delta: a receiver killed at each step of
# applying a delta (temporary file written, renamed, batch committed) leaves
# the large file whole, old or new, never a mix; the next sync finishes the
# work with identical trees and no conflict of its own making.
. "$(dirname "$0")/synclib.sh"

mkrep A B
head -c $((8 * 1024 * 1024)) /dev/urandom >A/big
expect_rc 0 mm -C A sync B
old=$(sha256sum <B/big | cut -d' ' -f1)

n=0
for point in apply-tmp-written apply-sync-data apply-rename apply-before-commit apply-commit; do
	n=$((n + 1))
	# a few scattered overwrites: small enough to move as a delta
	for off in 100000 3000000 7000000; do
		printf 'crash %s %d' "$point" "$n" | dd of=A/big bs=1 seek=$((off + n)) conv=notrunc 2>/dev/null
	done
	touch -d "2030-01-0$n" A/big
	new=$(sha256sum <A/big | cut -d' ' -f1)
	MMSYNC_FAILPOINT=$point run mm -C B --json pull A
	[ "$RC" != 0 ] || fail "pull with MMSYNC_FAILPOINT=$point did not stop (exit 0)"
	got=$(sha256sum <B/big | cut -d' ' -f1)
	[ "$got" = "$old" ] || [ "$got" = "$new" ] ||
		fail "after a crash at $point, B/big is neither the old nor the new version"
	expect_rc 0 mm -C B --json pull A
	json_val "j['files_in'] <= 1 and j['bytes_in'] < 4 * 1024 * 1024"
	[ "$JV" = true ] || fail "the pull after a crash at $point moved the file whole or more: $(cat "$OUT")"
	cmp -s A/big B/big || fail "after a crash at $point and a pull, B/big differs from A/big"
	same_trees A B
	[ -z "$(conflict_copies B)" ] || fail "a crash at $point left conflict copies: $(conflict_copies B)"
	old=$new
done
