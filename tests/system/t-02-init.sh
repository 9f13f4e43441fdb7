# init: what a new replica holds, where it is made, its name.
. "$(dirname "$0")/lib.sh"

# replica.name from a git-style config file.
config_name() {
	if command -v git >/dev/null 2>&1; then
		git config -f "$1" replica.name
	else
		awk '/^\[/ { sec = $0 } sec ~ /^\[replica\]/ && $1 == "name" && $2 == "=" { print $3 }' "$1"
	fi
}

check_replica() { # DIR NAME
	local d=$1/.mmsync
	[ -d "$d" ] || fail "$1: no .mmsync/ directory"
	for f in meta.db config key.pem cert.pem lock; do
		[ -f "$d/$f" ] || fail "$1: .mmsync/$f is missing (.mmsync holds: $(ls -a "$d"))"
	done
	[ -s "$d/meta.db" ] || fail "$1: .mmsync/meta.db is empty"
	[ "$(stat -c %a "$d/key.pem")" = 600 ] || fail "$1: key.pem has mode $(stat -c %a "$d/key.pem"), want 600"
	openssl x509 -in "$d/cert.pem" -noout 2>/dev/null || fail "$1: cert.pem is not an X.509 certificate"
	openssl pkey -in "$d/key.pem" -noout 2>/dev/null || fail "$1: key.pem is not a private key"
	# The key belongs to the certificate.
	[ "$(openssl x509 -in "$d/cert.pem" -noout -pubkey)" = "$(openssl pkey -in "$d/key.pem" -pubout)" ] ||
		fail "$1: key.pem does not match cert.pem"
	[ "$(config_name "$d/config")" = "$2" ] ||
		fail "$1: config replica.name is '$(config_name "$d/config")', want '$2'; config:
$(cat "$d/config")"
	# Nothing of init's temporary state is left behind.
	[ -z "$(ls -A "$1" | grep -v '^\.mmsync$')" ] || fail "$1: init left files behind: $(ls -A "$1")"
}

host=$(uname -n)
host=${host%%.*}

# A missing directory is created, nested too.
expect_rc 0 mm init a/b/c --name nested
check_replica a/b/c nested
[ ! -e a/.mmsync ] && [ ! -e a/b/.mmsync ] || fail "init a/b/c made a replica of a parent"

# --name NAME, and --name=NAME.
expect_rc 0 mm init named --name laptop-1
check_replica named laptop-1
expect_out_contains "laptop-1"
expect_rc 0 mm init named2 --name=My_Box-2
check_replica named2 My_Box-2
# The option may come before the directory.
expect_rc 0 mm init --name first-opt named3
check_replica named3 first-opt
# The longest name allowed: 64 characters.
n64=$(printf 'n%.0s' $(seq 64))
expect_rc 0 mm init long --name "$n64"
check_replica long "$n64"

# Default name: the first label of the host name.
expect_rc 0 mm init plain
check_replica plain "$host"
expect_rc 0 mm -C plain id
expect_out_line "name: $host"

# An existing empty directory, and the default DIR '.'.
mkdir empty here
expect_rc 0 mm init empty --name e
check_replica empty e
expect_rc 0 in_dir here mm -q init --name dot
check_replica here dot

# An existing directory with files keeps them, untouched.
mkdir full
echo keep >full/file
mkdir full/sub
expect_rc 0 mm init full --name f
[ "$(cat full/file)" = keep ] || fail "init changed full/file"
[ -d full/sub ] || fail "init removed full/sub"

# -C DIR init SUB makes DIR/SUB; -C DIR init makes DIR itself.
mkdir base
expect_rc 0 mm -C base init sub --name s
check_replica base/sub s
[ ! -e sub ] || fail "'-C base init sub' created ./sub"
[ ! -e base/.mmsync ] || fail "'-C base init sub' made base a replica"
expect_rc 0 mm -C base2 init new/deeper --name s2
check_replica base2/new/deeper s2
mkdir base3
expect_rc 0 mm -C base3 init --name s3
check_replica base3 s3
# -C with an absolute DIR operand: the operand wins.
expect_rc 0 mm -C base init "$T/absolute" --name abs
check_replica "$T/absolute" abs
[ ! -e base/absolute ] && [ ! -e "base$T" ] || fail "'-C base init /abs' created the path under base"

# --json: one object naming the root and the name.
expect_rc 0 mm --json init jsoned --name js
python3 -c 'import json,sys; json.load(sys.stdin)' <"$OUT" || fail "'--json init' is not JSON: $(cat "$OUT")"
json_val 'j["name"]'
expect_eq "$JV" js "--json init: name"
json_val 'j["root"]'
expect_eq "$JV" "$(cd jsoned && pwd -P)" "--json init: root"
check_replica jsoned js

# The replica answers to its own commands at once.
expect_rc 0 mm -C a/b/c status
expect_rc 0 mm -C a/b/c scan

# A host name with dots gives its first label (needs a UTS namespace).
if unshare -u true 2>/dev/null; then
	unshare -u sh -c 'hostname alpha.example.org && exec "$MMSYNC" init dotted' >/dev/null 2>"$ERR" ||
		fail "init under the host name alpha.example.org failed: $(cat "$ERR")"
	check_replica dotted alpha
else
	skip "cannot set a host name here (unshare -u): dotted host name not tested"
fi
