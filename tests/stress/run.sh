#!/bin/sh
# The long runs behind `make stress`: load during swaps (stress_load.py,
# wrk), crash consistency (stress_crash.py, kill -9) and resource bounds
# (stress_resources.py: disk full, memory cap).  Each prints TAP; this
# script prints their lines numbered as one stream, then one summary
# line, "N passed, N failed".  Exit status 1 when anything failed.
#
# STRESS_SECONDS (wrk run, default 60), STRESS_KILLS (default 50) and
# TESTS="pattern" (only the scripts whose name contains it) narrow it.
# Needs root for the tmpfs of the disk-full check (skipped otherwise).

BUILD=${BUILD:-build}
cd "$(dirname "$0")/../.." || exit 1
export LUMU_EDL="${LUMU_EDL:-$PWD/$BUILD/lumu-edl}"
PY=/usr/bin/python3
out=$(mktemp -d "${TMPDIR:-/tmp}/lumu-edl-stress.XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT
n=0 pass=0 fail=0

if [ ! -x "$LUMU_EDL" ]; then
	echo "not ok 1 - $LUMU_EDL is not built"
	echo "0 passed, 1 failed"
	exit 1
fi

# Runs one script; renumbers its TAP lines; a crash or a non-zero exit
# with no failing line counts as one failure.
run_one() {
	name=$1
	case $name in *"${TESTS:-}"*) ;; *) return ;; esac
	log="$out/${name##*/}.log"
	echo "# $name"
	start=$(date +%s)
	timeout 1800 $PY "$name" >"$log" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	awk -v n="$n" '
		/^ok / { sub(/^ok( [0-9]+)?/, "ok " ++n); print; next }
		/^not ok / { sub(/^not ok( [0-9]+)?/, "not ok " ++n); print; next }
		/^#/ { print }
		!/^#/ && !/^(not )?ok / { print "#   " $0 }' "$log"
	n=$((n + p + f))
	pass=$((pass + p)); fail=$((fail + f))
	echo "# $name: $p passed, $f failed, $(($(date +%s) - start)) s"
}

for t in tests/stress/stress_*.py; do
	[ -e "$t" ] && run_one "$t"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
