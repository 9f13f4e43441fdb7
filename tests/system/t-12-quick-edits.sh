# scan: two quick edits of the same size, each followed by a scan, are both seen.
. "$(dirname "$0")/lib.sh"

expect_rc 0 mm init r --name quick
cd r || fail "no r"

for i in $(seq 20); do
	echo aaaa >f
	expect_rc 0 mm scan
	echo bbbb >f
	expect_scan <<'X'
modified f
X
done

# Several files at once, back and forth.
for i in $(seq 10); do
	for n in 1 2 3; do echo "x$n" >"file$n"; done
	expect_rc 0 mm -q scan
	for n in 1 2 3; do echo "y$n" >"file$n"; done
	expect_scan <<'X'
modified file1
modified file2
modified file3
X
done

# The same with status between: status sees the edit without recording it.
for i in $(seq 5); do
	echo cccc >f
	expect_rc 0 mm -q scan
	echo dddd >f
	expect_rc 0 mm -v status
	expect_out_contains "modified  f"
	expect_scan <<'X'
modified f
X
done
