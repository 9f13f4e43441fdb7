# scan: symbolic links are recorded as links and never followed.
. "$(dirname "$0")/lib.sh"

mkdir -p outside/inner
echo secret >outside/secret
echo deeper >outside/inner/file
expect_rc 0 mm init r --name l
cd r || fail "no r"
mkdir dir
echo f >dir/f

ln -s /etc etc-link
ln -s ../outside out-link
ln -s "$T/outside/secret" abs-file-link
ln -s dir in-link
ln -s does/not/exist dangling
ln -s . self
ln -s loop2 loop1
ln -s loop1 loop2
expect_scan <<'X'
added abs-file-link
added dangling
added dir
added dir/f
added etc-link
added in-link
added loop1
added loop2
added out-link
added self
X
expect_out_line "scanned 1 files, 1 directories, 8 links: 10 added, 0 modified, 0 deleted"
# Nothing under a link target was looked at.
expect_out_lacks "secret"
expect_out_lacks "passwd"
expect_out_lacks "inner"
expect_out_lacks "in-link/"
expect_out_lacks "self/"
expect_scan </dev/null

# Changes outside, behind a link, are not changes of the replica.
echo changed >../outside/secret
echo new >../outside/new
rm ../outside/inner/file
expect_scan </dev/null

# Retargeting a link is a modification (same length target too).
ln -sfn /usr etc-link
ln -sfn does/not/exis2 dangling
expect_scan <<'X'
modified dangling
modified etc-link
X
expect_out_line "modified  etc-link"
# Re-creating a link with the same target is not a change.
rm in-link
ln -s dir in-link
expect_scan </dev/null

# Removing links.
rm loop1 loop2 self
expect_scan <<'X'
deleted loop1
deleted loop2
deleted self
X

# A link replaced by a directory, a directory by a link, a file by a link, a link by a file.
rm in-link
mkdir in-link
echo x >in-link/x
expect_scan <<'X'
modified in-link
added in-link/x
X
rm -rf in-link
ln -s dir in-link
expect_scan <<'X'
modified in-link
deleted in-link/x
X
rm dir/f
ln -s ../etc-link dir/f
expect_scan <<'X'
modified dir/f
X
rm out-link
echo "not a link" >out-link
expect_scan <<'X'
modified out-link
X

# --json counts links.
expect_rc 0 mm --json scan
json_val '[j["files"], j["dirs"], j["links"]]'
expect_eq "$JV" "[1, 1, 5]" "--json scan: [files, dirs, links]"

# The tree outside is intact (nothing was written through a link).
[ "$(cat ../outside/secret)" = changed ] && [ -f ../outside/new ] || fail "files outside the replica changed"
[ ! -e ../outside/.mmsync ] && [ ! -e /etc/.mmsync ] || fail "a .mmsync appeared behind a link"

# A replica whose subdirectory is reached through a link: the link is recorded, the target is not.
ln -s "$T/outside/inner" via
expect_scan <<'X'
added via
X
expect_out_lacks "via/"
