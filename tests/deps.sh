#!/bin/sh
# Makes sure the Debian packages lumu-edl builds and tests with are
# installed.  As root it installs what is missing; otherwise it prints the
# one apt-get line to run and fails.
#   tests/deps.sh          build and test packages
#   tests/deps.sh --bench  also what `make bench` and `make fuzz` use

PKGS="gcc make pkg-config libevent-dev libcurl4-openssl-dev libcjson-dev
 libssl-dev libidn2-dev libpsl-dev publicsuffix zlib1g-dev libcrypt-dev
 libxml2-dev python3 openssl curl ca-certificates"
[ "${1:-}" = "--bench" ] && PKGS="$PKGS wrk nginx-light clang mandoc time"

missing=""
for p in $PKGS; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case $s in *"ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "lumu-edl needs these Debian packages; as root, run:" >&2
	echo "  apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null
