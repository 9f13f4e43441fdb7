# .mmsyncignore (gitignore syntax): ignored paths are neither sent nor
# applied (the receiver's own rules count), ignored local files are never
# touched; the ignore file itself syncs like any file.
. "$(dirname "$0")/synclib.sh"

mkrep A B C
printf '*.tmp\nbuild/\n/secret\n' >A/.mmsyncignore
mkdir -p A/sub A/build/deep
printf 'x\n' >A/x.tmp
printf 'y\n' >A/sub/y.tmp
printf 'out\n' >A/build/deep/out
printf 'top secret\n' >A/secret
printf 'not anchored here\n' >A/sub/secret
printf 'keep\n' >A/keep

expect_rc 0 mm -C A --json push B
expect_json 'files_out == 4' # .mmsyncignore, keep, sub, sub/secret
expect_tree B <<'X'
.mmsyncignore f 0644
keep f 0644
sub d 0755
sub/secret f 0644
X
cmp -s A/.mmsyncignore B/.mmsyncignore || fail "the ignore file did not sync"

# B's own ignored files: not sent, and not touched by what A has at the same path
printf 'B own x\n' >B/x.tmp
mkdir -p B/build
printf 'B build\n' >B/build/b
printf 'A x changed\n' >A/x.tmp
expect_rc 0 mm -C A sync B
[ "$(cat B/x.tmp)" = "B own x" ] || fail "B's ignored x.tmp was overwritten"
[ "$(cat A/x.tmp)" = "A x changed" ] || fail "A's ignored x.tmp was overwritten"
[ ! -e A/build/b ] || fail "B's ignored build/b was sent"
expect_rc 0 mm -C A conflicts
[ -z "$(conflict_copies A)$(conflict_copies B)" ] || fail "ignored files made conflict copies"

# The receiver's rules count: C gets A's ignore file, adds a rule of its own
# (not yet synced); A then makes a file only C ignores: C's pull does not apply it.
expect_rc 0 mm -C C pull A
printf 'only-C-ignores\n' >>C/.mmsyncignore
printf 'for everyone\n' >A/only-C-ignores
printf 'also\n' >A/plain
expect_rc 0 mm -C C pull A
[ ! -e C/only-C-ignores ] || fail "C applied a path its own .mmsyncignore ignores"
[ -f C/plain ] || fail "C did not get A/plain"
# C's rule travels with the ignore file; A's file stays where it is.
expect_rc 0 mm -C C push A
cmp -s A/.mmsyncignore C/.mmsyncignore || fail "C's change to .mmsyncignore did not reach A"
[ "$(cat A/only-C-ignores)" = "for everyone" ] || fail "A's now ignored file was changed"
expect_rc 0 mm -C B sync A
expect_rc 0 mm -C C sync B
for r in B C; do
	cmp -s A/.mmsyncignore "$r/.mmsyncignore" || fail "the ignore file differs on $r"
	[ -f "$r/plain" ] || fail "$r lacks plain"
done
[ ! -e B/only-C-ignores ] || fail_later "A sent only-C-ignores to B, though A's rules (from C) ignore it now"

# ---- Part 2: paths that become ignored after they were recorded are no
# longer synced: neither sent to a replica that lacks them, nor (when changed)
# sent with content that no longer matches what was recorded.
mkdir part2
cd part2 || fail "no part2"
mkrep A B
printf 'v1\n' >A/was-synced
expect_rc 0 mm -C B sync A
printf 'recorded only\n' >A/recorded
expect_rc 0 mm -C A -q scan
printf 'was-synced\nrecorded\n' >A/.mmsyncignore
printf 'v2, longer than v1\n' >A/was-synced
printf 'changed after being ignored, and longer\n' >A/recorded
run mm -C B sync A
[ "$RC" = 0 ] || fail_later "$(_shown "'B sync A' after A ignored two recorded paths: exit $RC, want 0")"
cmp -s A/.mmsyncignore B/.mmsyncignore || fail_later "the ignore file did not reach B"
[ ! -e B/recorded ] || fail_later "the ignored path 'recorded' was sent to B"
[ "$(cat B/was-synced)" = v1 ] || fail_later "the ignored path 'was-synced' changed on B"
run mm -C B sync A
[ "$RC" = 0 ] || fail_later "$(_shown "second 'B sync A': exit $RC, want 0 (the failure does not go away)")"
