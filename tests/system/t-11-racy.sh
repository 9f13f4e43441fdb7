# scan: a same-size rewrite that keeps the modification time is still seen
# (the "racy clean" problem of stat-based change detection).
. "$(dirname "$0")/lib.sh"

expect_rc 0 mm init r --name racy
cd r || fail "no r"

for i in 1 2 3 4 5; do
	# Written, scanned, rewritten within the same second with the same size,
	# and the exact (nanosecond) mtime put back.
	printf 'content-A-%s\n' "$i" >f
	mt=$(stat -c %.9Y f)
	expect_rc 0 mm -q scan
	printf 'content-B-%s\n' "$i" >f
	touch -d "@$mt" f
	[ "$(stat -c %.9Y f)" = "$mt" ] || fail "touch could not restore the mtime $mt"
	expect_scan <<'X'
modified f
X
	# ... and with the mtime put back to the whole second only.
	printf 'content-C-%s\n' "$i" >g
	sec=$(stat -c %Y g)
	touch -d "@$sec" g
	expect_rc 0 mm -q scan
	printf 'content-D-%s\n' "$i" >g
	touch -d "@$sec" g
	expect_scan <<'X'
modified g
X
	expect_scan </dev/null
done

# A file recorded long after its last change (not racy), then rewritten with
# the same size and its old mtime restored: still seen.
printf 'old-content\n' >old
touch -d '2020-01-02 03:04:05.123456789' old
expect_rc 0 mm -q scan
mt=$(stat -c %.9Y old)
printf 'new-content\n' >old
touch -d "@$mt" old
expect_scan <<'X'
modified old
X

# Scanning a just-written file twice: the second scan (which re-hashes a
# racily clean file) reports nothing.
for i in 1 2 3; do
	echo "fresh $i" >fresh
	expect_rc 0 mm -q scan
	expect_scan </dev/null
	expect_scan </dev/null
done

# status sees the racy rewrite too, and does not record it.
printf 'status-A\n' >s
mt=$(stat -c %.9Y s)
expect_rc 0 mm -q scan
printf 'status-B\n' >s
touch -d "@$mt" s
expect_rc 0 mm status
expect_out_contains "modified"
expect_out_line "  modified  s"
expect_scan <<'X'
modified s
X

# Hard links: writing through one name changes both, even with the old mtime put back.
printf 'linked-1\n' >h1
ln h1 h2
touch -d '2020-05-06 07:08:09' h1
expect_rc 0 mm -q scan
printf 'linked-2\n' >h1
touch -d '2020-05-06 07:08:09' h1
expect_scan <<'X'
modified h1
modified h2
X

# A same-size file renamed over another, with the same mtime (cp -p, mv): seen.
printf 'first!\n' >m
touch -d '2019-01-01 00:00:00' m
expect_rc 0 mm -q scan
printf 'second\n' >m.new
touch -r m m.new
mv m.new m
expect_scan <<'X'
modified m
X
