#!/bin/sh
# Runs every test: unit binaries, the Python checks of the test doubles,
# and the black-box scripts.  Each prints TAP lines ("ok N - ...",
# "not ok N - ..."); this script adds them up and ends with one summary
# line, "N passed, N failed".  Exit status 1 when anything failed.
#
# TESTS="pattern" runs only the tests whose file name contains pattern.

BUILD=${BUILD:-build}
cd "$(dirname "$0")/.." || exit 1
export LUMU_EDL="$PWD/$BUILD/lumu-edl"
PY=/usr/bin/python3
out=$(mktemp -d "${TMPDIR:-/tmp}/lumu-edl-tests.XXXXXX")
trap 'rm -rf "$out"' EXIT
pass=0 fail=0

# Runs one test program; counts its TAP lines; a crash or a non-zero exit
# with no failing line counts as one failure.
run_one() {
	name=$1; shift
	case $name in *"${TESTS:-}"*) ;; *) return ;; esac
	log="$out/$(echo "$name" | tr '/' '_').log"
	timeout 600 "$@" >"$log" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	pass=$((pass + p)); fail=$((fail + f))
	if [ "$f" -gt 0 ]; then
		echo "FAIL $name ($p passed, $f failed)"
		grep -v '^ok ' "$log" | tail -40 | sed 's/^/    /'
	else
		echo "PASS $name ($p checks)"
	fi
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run_one "unit/${t##*/}" "$t"
done
for t in tests/test_*.py; do
	[ -e "$t" ] || continue
	run_one "${t#tests/}" $PY "$t"
done
for t in tests/blackbox/*.sh; do
	[ -e "$t" ] || continue
	run_one "${t#tests/}" sh "$t"
done

# A short bounded pass of every fuzz target, when asked (CI does).
if [ -n "${FUZZ_SMOKE:-}" ]; then
	run_one "fuzz/smoke" tests/fuzz/run.sh "$FUZZ_SMOKE"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
