# Regressions found by the model tests, each reduced to a few steps.
. "$(dirname "$0")/lib.sh"

fresh() {
	rm -rf A B C
	mm -q init A --name A && mm -q init B --name B && mm -q init C --name C
	# these steps empty replicas on purpose: the deletion guard (t-18) is off
	printf '[sync]\n\tmaxDelete = 100%%\n' | tee -a A/.mmsync/config B/.mmsync/config >>C/.mmsync/config
}

# 1. A file made anew after a deletion, on both sides: the deletion is their
#    latest common ancestor, so nothing is merged against the content from before it.
fresh
printf 'x1\nx2\nx3\n' >A/g
expect_rc 0 mm -C B sync A
rm A/g
expect_rc 0 mm -C B sync A
printf 'y1\ny2\ny3\n' >A/g
printf 'x1\nx2\nx3\n' >B/g
expect_rc 1 mm --json -C B sync A
json_val 'j["merged"] == 0 and j["conflicts"] == 1'
[ "$JV" = true ] || fail "re-created files were merged against the old content: $(cat "$OUT")"
grep -l x1 B/g* >/dev/null || fail "B's re-created version is gone"
grep -l y1 B/g* >/dev/null || fail "A's re-created version is gone"

# 2. A local copy from a file whose mtime the same sync sets: still exit 0.
fresh
seq 1 9 >A/f
touch -d @1700000000 A/f
expect_rc 0 mm -C B sync A
cp -p A/f A/g
touch -d @1700000100 A/f
expect_rc 0 mm -C A push B
cmp -s A/g B/g || fail "B/g is not A/g"

# 3. A merged file ends with the same mtime on both sides.
fresh
seq 1 9 >A/f.txt
touch -d @1700000000 A/f.txt
expect_rc 0 mm -C B sync A
sed -i 2s/.*/X/ A/f.txt
touch -d @1700000100 A/f.txt
chmod 600 B/f.txt
expect_rc 0 mm -C B pull A
expect_rc 0 mm -C A sync B
expect_rc 0 mm -C B sync A
[ "$(stat -c '%Y %a' A/f.txt)" = "$(stat -c '%Y %a' B/f.txt)" ] ||
	fail "after the merge A/f.txt is $(stat -c '%Y %a' A/f.txt), B/f.txt $(stat -c '%Y %a' B/f.txt)"

# 4. Two versions by one replica in one second both lose on the same path:
#    the second copy gets a name of its own, nothing is lost.
fresh
echo w8 >A/x
touch -d '2026-01-01 10:00:00.1' A/x
echo w12 >C/x
touch -d '2026-01-01 10:00:05' C/x
expect_rc 0 mm -C B sync A
echo w10 >A/x
touch -d '2026-01-01 10:00:00.2' A/x
expect_rc 1 mm -C B sync C
expect_rc 1 mm -C B sync A
for r in A B; do
	for w in w8 w10 w12; do
		grep -lx "$w" $r/x* >/dev/null || fail "$r lost $w: $(head -n 1 $r/x* | tr '\n' ' ')"
	done
done
exit 0
