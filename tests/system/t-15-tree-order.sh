# scan: names that sort around '/' and big trees (more than one batch) are
# matched with the store exactly: no spurious adds or deletes.
. "$(dirname "$0")/lib.sh"

expect_rc 0 mm init r --name order
cd r || fail "no r"

# Sibling names that sort before and after '/', and non-ASCII bytes.
python3 - <<'PY' || fail "could not make the test tree"
import os
chars = [b'\x01', b' ', b'!', b'-', b'.', b'0', b'A', b'a', b'\x7f', b'\xc3\xa9', b'\xff']
names = [b'a'] + [b'a' + c for c in chars]
for n in names:
    os.mkdir(n)
    for m in names:
        p = n + b'/' + m
        if m.endswith(b'0'):
            os.mkdir(p)
            open(p + b'/f', 'w').write('x')
        else:
            open(p, 'w').write('y')
PY
total=$(find . -path ./.mmsync -prune -o -printf 'x\n' | wc -l)
total=$((total - 1))
expect_rc 0 mm --json scan
json_val '[j["added"], j["files"] + j["dirs"], j["modified"], j["deleted"]]'
expect_eq "$JV" "[$total, $total, 0, 0]" "first scan: [added, files+dirs, modified, deleted]"
expect_rc 0 mm --json scan
json_val '[j["added"], j["modified"], j["deleted"]]'
expect_eq "$JV" "[0, 0, 0]" "second scan of the tricky names"

# Remove every other top-level directory: exactly their paths are deleted.
python3 - <<'PY' >"$T/removed" || fail "could not remove"
import os, shutil
gone = 0
for n in sorted(os.listdir(b'.'))[::2]:
    if n == b'.mmsync':
        continue
    for _, ds, fs in os.walk(n):
        gone += len(ds) + len(fs)
    shutil.rmtree(n)
    gone += 1
print(gone)
PY
expect_rc 0 mm --json scan
json_val '[j["added"], j["modified"], j["deleted"]]'
expect_eq "$JV" "[0, 0, $(cat "$T/removed")]" "after removing half the tree"
expect_rc 0 mm --json scan
json_val '[j["added"], j["modified"], j["deleted"]]'
expect_eq "$JV" "[0, 0, 0]" "rescan after removing half the tree"

# More paths than one write batch (10000 rows): all recorded, then all seen unchanged.
rm -rf ./*
python3 - <<'PY' || fail "could not make the big tree"
import os
for d in range(10):
    os.mkdir("d%02d" % d)
    for f in range(1001):
        with open("d%02d/f%04d" % (d, f), "w") as fh:
            fh.write(str(f))
PY
expect_rc 0 mm --json scan
json_val '[j["files"], j["dirs"]]'
expect_eq "$JV" "[10010, 10]" "big tree: [files, dirs]"
expect_rc 0 mm --json scan
json_val '[j["added"], j["modified"], j["deleted"]]'
expect_eq "$JV" "[0, 0, 0]" "big tree: rescan"
echo changed >d07/f0123
rm d09/f1000
echo new >d00/zzz
expect_scan <<'X'
added d00/zzz
modified d07/f0123
deleted d09/f1000
X
