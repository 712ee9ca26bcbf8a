#!/bin/sh
# Benchmark (not a test): how fast `infohub-agent search` answers from a store of
# 1,000,000 IOCs. Issue 4 asks for "well under a millisecond".
#
#   make bench-search                      # builds bin/bench-search, then runs this
#   sh bench/bench_search.sh [IOCS] [LOOKUPS] [CLI_RUNS]
#
# 1. bin/bench-search builds a store of IOCS indicators (default 1,000,000) directly
#    through the store API (bench/bench_search.c; no broker), and times LOOKUPS
#    (default 200,000) in-process calls of ih_store_search: median, p90, p99, p99.9, max.
# 2. The command line: CLI_RUNS (default 50) runs of `infohub-agent -c CFG search VALUE
#    --json` against that store, one process each: mean wall time per call (process
#    start, config, store open, lookup, output), beside `infohub-agent --version` (the
#    cost of starting the process at all).
# The store lives in a temporary directory, removed at the end (KEEP=1 keeps it).
set -eu
cd "$(dirname "$0")/.."
IOCS=${1:-1000000}
LOOKUPS=${2:-200000}
RUNS=${3:-50}
for b in bin/bench-search bin/infohub-agent; do
    [ -x "$b" ] || { echo "bench_search.sh: $b is not built (make bin/bench-search bin/infohub-agent)" >&2; exit 1; }
done
DIR=$(mktemp -d /tmp/ih-bench-search-XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$DIR"' EXIT
echo "== bench-search: $IOCS IOCs, $LOOKUPS lookups ($(nproc) CPUs, $(uname -r))"
bin/bench-search "$DIR" "$IOCS" "$LOOKUPS" | tee "$DIR/out.txt" | grep -v '^cli-sample '

# A configuration the CLI accepts: search only reads the store.
cat > "$DIR/agent.cfg" <<CFG
agent
    name = "bench"
    org = "bench-org"
    curve-cert = "unused.cert_secret"
    signing-key = "unused.key"
    registry-key = "0000000000000000000000000000000000000000000000000000000000000000"
    store = "store"
    broker
        endpoint = "tcp://127.0.0.1:9"
        public-key = "unused"
CFG
chmod 600 "$DIR/agent.cfg"
echo "command line, one process per call, mean wall ms over $RUNS calls (timer forks excluded):"
percall () {   # percall CMD...: mean ms per run of CMD over $RUNS runs
    t0=$(date +%s%N)
    i=0
    while [ $i -lt "$RUNS" ]; do "$@" > /dev/null; i=$((i + 1)); done
    t1=$(date +%s%N)
    awk -v d=$((t1 - t0)) -v n="$RUNS" 'BEGIN { printf "%.2f", d / n / 1e6 }'
}
bin/infohub-agent --version > /dev/null
printf "  %-70s %s ms  (process start, no store)\n" "infohub-agent --version" "$(percall bin/infohub-agent --version)"
grep '^cli-sample ' "$DIR/out.txt" | while read -r _ value; do
    bin/infohub-agent -c "$DIR/agent.cfg" search "$value" --json > "$DIR/hit.json"
    hits=$(grep -o '"match"' "$DIR/hit.json" | wc -l)
    printf "  %-70.70s %s ms  (%d hit)\n" "search $value --json" \
        "$(percall bin/infohub-agent -c "$DIR/agent.cfg" search "$value" --json)" "$hits"
done
