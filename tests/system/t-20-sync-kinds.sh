# Every kind of entry propagates exactly, by push, by pull and by sync:
# files (empty, binary, ~5 MB), directories (empty and nested), symbolic links
# (absolute, relative, dangling, to a directory: copied as links, never
# followed), permission bits and file modification times.
. "$(dirname "$0")/synclib.sh"

umask 022
mkrep A B C D

populate() {
	local r=$1
	: >"$r/empty"
	bin_content one >"$r/bin"
	head -c 5000000 /dev/urandom >"$r/large"
	printf 'hello\n' >"$r/text.txt"
	mkdir -p "$r/d1/d2/d3" "$r/emptydir" "$r/d1/emptysub" "$r/private"
	printf 'deep\n' >"$r/d1/d2/d3/deep.txt"
	printf 'secret\n' >"$r/private/key"
	printf '#!/bin/sh\necho x\n' >"$r/run.sh"
	printf 'ro\n' >"$r/group-read"
	printf 'r\n' >"$r/readonly"
	chmod 0600 "$r/private/key"
	chmod 0755 "$r/run.sh"
	chmod 0640 "$r/group-read"
	chmod 0444 "$r/readonly"
	chmod 0700 "$r/private"
	chmod 0750 "$r/d1/d2"
	chmod 0777 "$r/d1/emptysub"
	ln -s /etc/passwd "$r/abs-link"
	ln -s ../text.txt "$r/d1/rel-link"
	ln -s does/not/exist "$r/dangling"
	ln -s d1/d2 "$r/dir-link"
	ln -s /etc "$r/outside-dir-link"
	ln -s "name with spaces" "$r/link-to-spaces"
	# distinct, sub-second file and link times
	touch -d '2021-05-06 07:08:09.123456789' "$r/bin"
	touch -d '2001-01-01 00:00:01' "$r/empty"
	touch -d '2030-12-31 23:59:59.5' "$r/large"
	touch -d '1999-09-09 09:09:09.000000001' "$r/d1/d2/d3/deep.txt"
	touch -h -d '2011-11-11 11:11:11' "$r/abs-link" "$r/d1/rel-link"
	touch -h -d '2012-12-12 12:12:12' "$r/dangling" "$r/dir-link" "$r/outside-dir-link" "$r/link-to-spaces"
	# empty directories: sync sets their mtime when it creates them, and nothing is added after
	touch -d '2013-03-03 03:03:03.3' "$r/emptydir" "$r/d1/emptysub"
}
populate A

expect_tree A <<'X'
abs-link l -
bin f 0644
d1 d 0755
d1/d2 d 0750
d1/d2/d3 d 0755
d1/d2/d3/deep.txt f 0644
d1/emptysub d 0777
d1/rel-link l -
dangling l -
dir-link l -
empty f 0644
emptydir d 0755
group-read f 0640
large f 0644
link-to-spaces l -
outside-dir-link l -
private d 0700
private/key f 0600
readonly f 0444
run.sh f 0755
text.txt f 0644
X

# push A -> B
expect_rc 0 mm -C A push B
same_trees A B
# links are links, with their targets untouched
[ "$(readlink B/outside-dir-link)" = /etc ] || fail "B/outside-dir-link is not the link to /etc"
[ "$(readlink B/abs-link)" = /etc/passwd ] || fail "B/abs-link: $(readlink B/abs-link)"
[ "$(readlink B/dangling)" = does/not/exist ] || fail "B/dangling: $(readlink B/dangling)"
[ -L B/dir-link ] && [ -L B/outside-dir-link ] || fail "a link to a directory was not copied as a link"
[ "$(mtime_ns B/bin)" = "$(mtime_ns A/bin)" ] || fail "mtime of bin not kept"
for d in emptydir d1/emptysub; do
	[ "$(mtime_ns "B/$d")" = "$(mtime_ns "A/$d")" ] || fail "the mtime of the new directory $d was not set: $(stat -c %y "A/$d" "B/$d")"
done
[ ! -e B/.mmsyncignore ] || fail "push made a .mmsyncignore"

# pull C <- A, in C's own directory with a relative peer path
expect_rc 0 in_dir C mm pull ../A
same_trees A C

# sync D <-> A (D is empty: it only receives)
expect_rc 0 mm -C D sync A
same_trees A D

# Nothing came back to A, and every copy is complete: a second round moves nothing.
for r in B C D; do
	expect_rc 0 mm -C A --json sync $r
	expect_json 'files_in == 0' 'files_out == 0'
done
same_trees A B C D
