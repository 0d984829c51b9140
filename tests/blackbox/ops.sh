#!/bin/sh
# ops.sh: what an operator installs.  `make install` into a temporary
# DESTDIR and the tree it leaves (a second install keeps a changed
# feeds.conf), `make uninstall`, the units through `systemd-analyze
# verify` and `systemd-analyze security --offline=yes` (exposure 2.0 or
# lower), the man pages through `mandoc -Tlint -Wwarning`, and the sample
# feeds.conf through `lumu-edl -n`, and listen lines changed by SIGHUP
# on a running daemon.  Prints TAP lines.
#
# Run by tests/run.sh from the repository root, with LUMU_EDL naming the
# built binary; the build is expected to be done already.

MAX_EXPOSURE=2.0
UNITS="lumu-edl.service lumu-to-paloalto.service lumu-to-paloalto.timer"
SERVICES="lumu-edl.service lumu-to-paloalto.service"
PAGES="man1/lumu-to-paloalto.1 man5/feeds.conf.5 man8/lumu-edl.8"

n=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - # SKIP $1"; }
# check DESCRIPTION COMMAND...: one TAP line from a command's status.
check() { d=$1; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }
# Shows a file as TAP diagnostics.
diag() { sed -n '1,30s/^/#   /p' "$1"; }

LUMU_EDL=${LUMU_EDL:-$PWD/build/lumu-edl}
if [ ! -x "$LUMU_EDL" ]; then
	fail "LUMU_EDL ($LUMU_EDL) is not an executable; build first"
	exit 1
fi
# The build directory as the Makefile names it, so install finds it done.
build=$(dirname "$LUMU_EDL")
case $build in "$PWD"/*) build=${build#"$PWD"/} ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lumu-edl-ops.XXXXXX") || exit 1
pids=
trap 'kill $pids 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
dest=$tmp/root
conf=$dest/etc/lumu-edl/feeds.conf

# make -s TARGET into the temporary tree; the log goes to $tmp/make.log.
run_make() {
	make -s "$1" DESTDIR="$dest" PREFIX=/usr BUILD="$build" \
	    >"$tmp/make.log" 2>&1
}

# A path of the installed tree, symbolic links followed inside the tree.
in_tree() {
	p=$dest$1
	i=0
	while [ -L "$p" ] && [ $i -lt 8 ]; do
		t=$(readlink "$p")
		case $t in
		/*) p=$dest$t ;;
		*) p=$(dirname "$p")/$t ;;
		esac
		i=$((i + 1))
	done
	echo "$p"
}

# The directory the units went to: UNITDIR under PREFIX, or /lib.
unit_dir() {
	for d in "$dest/usr/lib/systemd/system" "$dest/lib/systemd/system"; do
		if [ -e "$d/lumu-edl.service" ]; then
			echo "$d"
			return
		fi
	done
	echo "$dest/usr/lib/systemd/system"
}

mode_is() { [ "$(stat -c %a "$1" 2>/dev/null)" = "$2" ]; }
# installed FILE MODE SOURCE: FILE has MODE and the bytes of SOURCE.
installed() { mode_is "$1" "$2" && cmp -s "$1" "$3"; }
link_to() { [ -L "$1" ] && [ "$(readlink "$1")" = "$2" ]; }

# --- install ---------------------------------------------------------

if run_make install; then
	pass "make install DESTDIR=... PREFIX=/usr"
else
	fail "make install DESTDIR=... PREFIX=/usr"
	diag "$tmp/make.log"
fi

check "lumu-edl installed in /usr/sbin, mode 755, the built binary" \
    installed "$dest/usr/sbin/lumu-edl" 755 "$LUMU_EDL"
check "lumu-to-paloalto is a symlink to /usr/sbin/lumu-edl" \
    link_to "$dest/usr/bin/lumu-to-paloalto" /usr/sbin/lumu-edl

units=$(unit_dir)
for u in $UNITS; do
	check "unit $u installed, mode 644" mode_is "$units/$u" 644
	if grep -n '@[A-Z]*@' "$units/$u" >"$tmp/left" 2>/dev/null; then
		fail "unit $u: every @PLACEHOLDER@ replaced"
		diag "$tmp/left"
	else
		check "unit $u: every @PLACEHOLDER@ replaced" \
		    test -s "$units/$u"
	fi
done
check "lumu-edl.service runs /usr/sbin/lumu-edl with /etc/lumu-edl" \
    grep -sqx 'ExecStart=/usr/sbin/lumu-edl -c /etc/lumu-edl/feeds.conf' \
    "$units/lumu-edl.service"
check "lumu-edl.service checks the configuration before start" \
    grep -sqx \
    'ExecStartPre=/usr/sbin/lumu-edl -n -c /etc/lumu-edl/feeds.conf' \
    "$units/lumu-edl.service"
check "lumu-to-paloalto.service runs /usr/bin/lumu-to-paloalto" \
    grep -sq '^ExecStart=/usr/bin/lumu-to-paloalto ' \
    "$units/lumu-to-paloalto.service"

for p in $PAGES; do
	check "man page $p installed, mode 644, as in man/" \
	    installed "$dest/usr/share/man/$p" 644 "man/${p#*/}"
done

check "feeds.conf installed in /etc/lumu-edl, as the sample" \
    cmp -s "$conf" feeds.conf
check "feeds.conf is readable by the service's dynamic user (644)" \
    mode_is "$conf" 644

# A second install keeps the operator's changes.
echo "# changed by the operator" >>"$conf" 2>/dev/null
if run_make install; then
	pass "a second make install succeeds"
else
	fail "a second make install succeeds"
	diag "$tmp/make.log"
fi
check "a second make install keeps a changed feeds.conf" \
    grep -sqx '# changed by the operator' "$conf"

# --- systemd-analyze ---------------------------------------------------

# Can systemd-analyze work here at all?  Try a unit that must pass.
sa_why=
if ! command -v systemd-analyze >/dev/null 2>&1; then
	sa_why="systemd-analyze missing"
else
	mkdir -p "$tmp/probe"
	printf '[Service]\nType=oneshot\nExecStart=/bin/true\n' \
	    >"$tmp/probe/lumu-edl-probe.service"
	if ! systemd-analyze verify --man=no \
	    "$tmp/probe/lumu-edl-probe.service" >"$tmp/probe.log" 2>&1 ||
	    [ -s "$tmp/probe.log" ]; then
		sa_why="systemd-analyze cannot verify a trivial unit here: \
$(head -n 1 "$tmp/probe.log")"
	fi
fi

if [ -n "$sa_why" ]; then
	skip "systemd-analyze verify: $sa_why"
else
	# verify checks that the commands exist: point them into the tree.
	mkdir -p "$tmp/verify"
	for u in $UNITS; do
		sed -e "s|/usr/sbin/lumu-edl|$(in_tree /usr/sbin/lumu-edl)|g" \
		    -e "s|/usr/bin/lumu-to-paloalto|$(in_tree \
		    /usr/bin/lumu-to-paloalto)|g" "$units/$u" \
		    >"$tmp/verify/$u" 2>/dev/null
	done
	man=yes
	command -v man >/dev/null 2>&1 || man=no
	# Documentation=man:... must name pages of the installed tree.
	# shellcheck disable=SC2086 # $UNITS is a list of names
	if (cd "$tmp/verify" && MANPATH="$dest/usr/share/man" \
	    systemd-analyze verify --man=$man $UNITS) >"$tmp/verify.log" 2>&1 &&
	    [ ! -s "$tmp/verify.log" ]; then
		pass "systemd-analyze verify: the installed units, clean"
	else
		fail "systemd-analyze verify: the installed units, clean"
		diag "$tmp/verify.log"
	fi
fi

for u in $SERVICES; do
	if [ -n "$sa_why" ]; then
		skip "systemd-analyze security $u: $sa_why"
		continue
	fi
	systemd-analyze security --offline=yes --no-pager "$units/$u" \
	    >"$tmp/security.log" 2>&1
	e=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' \
	    "$tmp/security.log")
	if [ -n "$e" ] && awk -v e="$e" -v m="$MAX_EXPOSURE" \
	    'BEGIN { exit !(e + 0 <= m + 0) }'; then
		pass "systemd-analyze security $u: exposure $e <= $MAX_EXPOSURE"
	else
		fail "systemd-analyze security $u: exposure ${e:-?} <= \
$MAX_EXPOSURE"
		grep '✗' "$tmp/security.log" >"$tmp/exposed"
		diag "$tmp/exposed"
	fi
done

# --- man pages -----------------------------------------------------------

for p in $PAGES; do
	src=man/${p#*/}
	if ! command -v mandoc >/dev/null 2>&1; then
		skip "mandoc missing"
		continue
	fi
	if mandoc -Tlint -Wwarning "$src" >"$tmp/lint.log" 2>&1 &&
	    [ ! -s "$tmp/lint.log" ]; then
		pass "mandoc -Tlint -Wwarning $src: clean"
	else
		fail "mandoc -Tlint -Wwarning $src: clean"
		diag "$tmp/lint.log"
	fi
done

# --- the sample configuration ------------------------------------------

if "$LUMU_EDL" -n -c feeds.conf >"$tmp/n.log" 2>&1 &&
    grep -sqx 'configuration OK' "$tmp/n.log"; then
	pass "the sample feeds.conf passes lumu-edl -n"
else
	fail "the sample feeds.conf passes lumu-edl -n"
	diag "$tmp/n.log"
fi

# --- reload: listen lines ----------------------------------------------

# up PORT: /healthz answers on 127.0.0.1:PORT.
up() { curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$1/healthz" 2>/dev/null; }
down() { ! up "$1"; }
# until COMMAND...: true once COMMAND succeeds, tried for 5 s.
until_ok() {
	i=0
	while [ $i -lt 50 ]; do
		"$@" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
# reload_conf PORT...: a daemon config listening on these ports.
reload_conf() {
	{
		printf '[lumu]\ncompany-key = k\napi-url = http://127.0.0.1:9\n'
		printf '[server]\nthreads = 2\nstate-dir = %s\n' "$tmp/state"
		for p in "$@"; do printf 'listen = 127.0.0.1:%s\n' "$p"; done
		printf '[feed ip]\ntype = ip\n'
	} >"$tmp/reload.conf"
}
free_ports() {
	python3 -c 'import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))'
}

if ! command -v curl >/dev/null 2>&1 ||
    ! command -v python3 >/dev/null 2>&1; then
	for w in added removed refused; do
		skip "SIGHUP, listen $w: curl or python3 missing"
	done
else
	# shellcheck disable=SC2046 # three port numbers
	set -- $(free_ports)
	p1=$1 p2=$2 p3=$3
	reload_conf "$p1"
	"$LUMU_EDL" -c "$tmp/reload.conf" >"$tmp/reload.log" 2>&1 &
	pid=$!
	pids="$pids $pid"
	until_ok up "$p1"
	reload_conf "$p1" "$p2"
	kill -HUP "$pid"
	if until_ok up "$p2" && up "$p1"; then
		pass "SIGHUP: an added listen line is served, the others stay"
	else
		fail "SIGHUP: an added listen line is served, the others stay"
		diag "$tmp/reload.log"
	fi
	reload_conf "$p2"
	kill -HUP "$pid"
	if until_ok down "$p1" && up "$p2"; then
		pass "SIGHUP: a removed listen line is closed"
	else
		fail "SIGHUP: a removed listen line is closed"
		diag "$tmp/reload.log"
	fi
	# Someone else holds p3: the reload is refused as a whole.
	python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
time.sleep(30)' "$p3" &
	holder=$!
	pids="$pids $holder"
	sleep 0.3
	reload_conf "$p1" "$p2" "$p3"
	kill -HUP "$pid"
	why="cannot listen on 127.0.0.1 port $p3: Address already in use"
	if until_ok grep -q 'reload refused' "$tmp/reload.log" &&
	    grep -q "$why" "$tmp/reload.log" && up "$p2" && down "$p1"; then
		pass "SIGHUP: a listen that cannot be bound refuses the reload"
	else
		fail "SIGHUP: a listen that cannot be bound refuses the reload"
		diag "$tmp/reload.log"
	fi
	kill "$holder" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pids=
fi

# --- uninstall -----------------------------------------------------------

if run_make uninstall; then
	pass "make uninstall DESTDIR=... PREFIX=/usr"
else
	fail "make uninstall DESTDIR=... PREFIX=/usr"
	diag "$tmp/make.log"
fi
left=
for f in usr/sbin/lumu-edl usr/bin/lumu-to-paloalto; do
	if [ -e "$dest/$f" ] || [ -L "$dest/$f" ]; then left="$left /$f"; fi
done
for u in $UNITS; do
	[ -e "$units/$u" ] && left="$left ${units#"$dest"}/$u"
done
for p in $PAGES; do
	[ -e "$dest/usr/share/man/$p" ] && left="$left /usr/share/man/$p"
done
if [ -z "$left" ]; then
	pass "make uninstall removes the binaries, units and man pages"
else
	fail "make uninstall removes the binaries, units and man pages"
	echo "#   left:$left"
fi
check "make uninstall leaves the operator's feeds.conf" \
    grep -sqx '# changed by the operator' "$conf"

echo "1..$n"
