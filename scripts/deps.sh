#!/bin/sh
# Installs, with apt-get, the Debian packages that mmsync's build, tests and
# benchmarks need and that are not installed yet.  Does nothing when all are.
# `deps.sh fuzz`: what `make fuzz` needs (clang and libFuzzer's runtime).
set -eu

PACKAGES="gcc make pkg-config libgit2-dev libssl-dev libarchive-dev libsqlite3-dev
libzstd-dev librsync-dev check libsubunit-dev openssl sqlite3 python3 time
util-linux openssh-server openssh-client rsync unison mandoc zstd valgrind clang-format"
if [ "${1:-}" = fuzz ]; then
	PACKAGES="clang libclang-rt-14-dev"
fi

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "deps: these Debian packages are missing and I am not root:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
