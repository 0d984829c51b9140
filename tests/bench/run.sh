#!/bin/sh
# `make bench`: every benchmark, each reported as a ratio to its
# reference.  BENCH="render serve ingest freshness" picks some.
cd "$(dirname "$0")/../.." || exit 1
exec /usr/bin/python3 tests/bench/bench.py --build "${BUILD:-build}" \
    ${BENCH:+--only $BENCH}
