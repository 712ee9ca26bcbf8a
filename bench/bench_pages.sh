#!/bin/sh
# Benchmark (not a test): the gateway's deep pages, filtered pages, search and trends as
# the store grows (issue 10). Tests count the records a page reads (the scale self-test
# in gateway/ih_pages.c); this measures wall time.
#
#   make bench-pages                        # builds bin/bench-pages, then runs this
#   sh bench/bench_pages.sh [SIZES] [RUNS]  # SIZES: "1000 10000 100000" by default
#
# For each size, bin/bench-pages fills a fresh store with that many TLP:CLEAR alerts
# through the store API (no broker), serves it with the gateway's routes on 127.0.0.1
# and times RUNS (default 20) GETs of each URL, the response cache defeated: median and
# maximum milliseconds, and the store records each request read. Flat columns as the
# size grows are what issue 10 asks for. The stores live in a temporary directory,
# removed at the end (KEEP=1 keeps it).
set -eu
cd "$(dirname "$0")/.."
SIZES=${1:-"1000 10000 100000"}
RUNS=${2:-20}
[ -x bin/bench-pages ] || { echo "bench_pages.sh: bin/bench-pages is not built (make bin/bench-pages)" >&2; exit 1; }
DIR=$(mktemp -d /tmp/ih-bench-pages-XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$DIR"' EXIT
echo "== bench-pages: sizes $SIZES, $RUNS requests per URL ($(nproc) CPUs, $(uname -r))"
for n in $SIZES; do
    mkdir -p "$DIR/$n"
    echo "-- $n alerts"
    bin/bench-pages "$DIR/$n" "$n" "$RUNS"
done
