# .mmsyncignore: gitignore syntax keeps paths out of the store; ignoring is not deleting.
. "$(dirname "$0")/lib.sh"

expect_rc 0 mm init r --name i
cd r || fail "no r"

mkdir -p build/sub src/build lib
echo o >main.o
echo k >keep.o
echo c >main.c
echo b >build/out
echo b >build/sub/more
echo s >src/build/nested-build-dir
echo s >src/util.o
echo t >top-only
echo t >src/top-only
echo l >lib/top-only
echo n >notes.tmp
cat >.mmsyncignore <<'X'
# comments and blank lines are fine

*.o
build/
!keep.o
/top-only
*.tmp
X
expect_scan <<'X'
added .mmsyncignore
added keep.o
added lib
added lib/top-only
added main.c
added src
added src/top-only
X
expect_out_lacks "build"
expect_out_lacks "main.o"
expect_out_lacks "util.o"
expect_out_lacks "notes.tmp"
# Ignored paths do not count.
expect_rc 0 mm --json scan
json_val '[j["files"], j["dirs"]]'
expect_eq "$JV" "[5, 2]" "--json scan [files, dirs] with ignored paths"
# Changing or deleting ignored paths is not a change; status agrees.
echo again >main.o
rm -rf build/sub
echo new >build/new
echo new >new.o
expect_rc 0 mm status
expect_out_contains "no changes"
expect_scan </dev/null

# A tracked path that becomes ignored is kept as it was: not reported deleted.
echo '/main.c' >>.mmsyncignore
echo 'lib/' >>.mmsyncignore
expect_scan <<'X'
modified .mmsyncignore
X
expect_out_lacks "main.c"
expect_out_lacks "lib"
# ... even when it then changes or goes away on disk.
echo edited-while-ignored >main.c
rm -rf lib
expect_scan </dev/null
expect_rc 0 mm status
expect_out_contains "no changes"

# Removing the rules: what changed while ignored shows up now, as changes of
# the recorded paths (main.c modified, lib deleted), not as new paths.
printf '*.o\nbuild/\n!keep.o\n/top-only\n*.tmp\n' >.mmsyncignore
expect_scan <<'X'
modified .mmsyncignore
modified main.c
deleted lib
deleted lib/top-only
X

# A tracked, unchanged path that is ignored and then un-ignored is not
# reported at all (in particular not "added" again).
echo 'src/' >>.mmsyncignore
expect_scan <<'X'
modified .mmsyncignore
X
printf '*.o\nbuild/\n!keep.o\n/top-only\n*.tmp\n' >.mmsyncignore
expect_rc 0 mm -v status
expect_out_lacks "src"
expect_scan <<'X'
modified .mmsyncignore
X
expect_out_lacks "src"

# Paths never recorded come in as added once no rule ignores them.
rm .mmsyncignore
expect_scan <<'X'
deleted .mmsyncignore
added build
added build/new
added build/out
added main.o
added new.o
added notes.tmp
added src/build
added src/build/nested-build-dir
added src/util.o
added top-only
X
expect_scan </dev/null

# Ignoring a tracked directory keeps its whole recorded subtree.
echo 'build' >.mmsyncignore
rm -rf build
expect_scan <<'X'
added .mmsyncignore
X
rm .mmsyncignore
expect_scan <<'X'
deleted .mmsyncignore
deleted build
deleted build/new
deleted build/out
X

# A pattern with a slash in the middle is anchored; ** matches any depth.
mkdir -p x/y/z docs/x/y
echo 1 >x/y/file
echo 2 >docs/x/y/file
echo 3 >x/y/z/deep.log
echo 4 >top.log
printf 'x/y/file\n**/z/*.log\n' >.mmsyncignore
expect_scan <<'X'
added .mmsyncignore
added docs/x
added docs/x/y
added docs/x/y/file
added x
added x/y
added x/y/z
added docs
added top.log
X

# An .mmsyncignore that cannot be used (a NUL byte in it) stops the scan with
# a message naming it; nothing is recorded.  It is a failure (exit 3), not a
# usage error: the command line was right.
echo 'new file' >while-bad
printf 'x\0y\n' >.mmsyncignore
run mm -v scan
[ "$RC" != 0 ] || fail "$(_shown "scan with a NUL byte in .mmsyncignore succeeded")"
expect_err_contains ".mmsyncignore"
[ "$RC" = 3 ] || fail_later "'mmsync scan' with a NUL byte in .mmsyncignore exited $RC (2 means a usage error); want 3 (failed)"
printf 'x/y/file\n**/z/*.log\n' >.mmsyncignore
expect_scan <<'X'
added while-bad
X
