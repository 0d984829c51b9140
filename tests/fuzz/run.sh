#!/bin/sh
# Runs every libFuzzer target in build-fuzz/ for SECONDS each, starting
# from its seed corpus in tests/fuzz/corpus/NAME (copied, so the
# repository's corpus is not changed) and printing a TAP line per target.
# A crash leaves its input in build-fuzz/crashes/; add it to the seed
# corpus and a unit test.

SECONDS_EACH=${1:-60}
cd "$(dirname "$0")/../.." || exit 1
n=0 failed=0
mkdir -p build-fuzz/crashes
for bin in build-fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=${bin##*/fuzz_}
	n=$((n + 1))
	work=$(mktemp -d)
	[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/"
	if "$bin" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 \
	    -timeout=10 -artifact_prefix=build-fuzz/crashes/"$name"- \
	    -print_final_stats=1 "$work" >"build-fuzz/$name.log" 2>&1; then
		runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' \
		    "build-fuzz/$name.log" | grep -o '[0-9]*$')
		echo "ok $n - fuzz $name: ${runs:-?} inputs in ${SECONDS_EACH}s, no crash"
	else
		failed=$((failed + 1))
		echo "not ok $n - fuzz $name found a crash (build-fuzz/$name.log)"
		grep -A15 'ERROR:' "build-fuzz/$name.log" | head -30 | sed 's/^/#   /'
	fi
	rm -rf "$work"
done
[ "$n" -gt 0 ] || echo "not ok 1 - no fuzz targets were built"
[ "$failed" -eq 0 ] && [ "$n" -gt 0 ]
