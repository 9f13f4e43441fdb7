# Renames and copies cost no content bytes: content the receiver already holds
# under another path is copied locally.  A renamed 5 MB file, a renamed
# directory of files, and a copy of a file: each sync sends well under 64 KB.
. "$(dirname "$0")/synclib.sh"

mkrep A B
head -c 5000000 /dev/urandom >A/big.dat
mkdir -p A/photos/2024
for i in 1 2 3 4 5 6 7 8; do
	head -c 200000 /dev/urandom >"A/photos/2024/img$i.raw"
done
expect_rc 0 mm -C B sync A
same_trees A B

# a file renamed (and moved into a new directory)
mkdir A/archive
mv A/big.dat A/archive/big-renamed.dat
expect_rc 0 mm -C A --json sync B
expect_json 'bytes_out < 65536' 'bytes_in < 65536' 'conflicts == 0'
same_trees A B

# a directory of files renamed, by pull this time
mv A/photos A/pictures
expect_rc 0 mm -C B --json pull A
expect_json 'bytes_in < 65536' 'bytes_out < 65536'
same_trees A B
[ ! -e B/photos ] || fail "the old directory is still on B"

# a copy of a big file, and a rename with a mode change, by push
cp -p A/archive/big-renamed.dat A/copy.dat
mv A/pictures/2024/img1.raw A/pictures/first.raw
chmod 0600 A/pictures/first.raw
expect_rc 0 mm -C A --json push B
expect_json 'bytes_out < 65536'
same_trees A B

# a rename on B while A changes something else: both travel, no conflict
mv B/copy.dat B/copy-moved.dat
printf 'small\n' >A/small
expect_rc 0 mm -C A --json sync B
expect_json 'bytes_in < 65536' 'conflicts == 0'
same_trees A B
