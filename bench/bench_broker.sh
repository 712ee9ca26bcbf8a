#!/bin/sh
# Benchmark (not a test): the broker against raw libzmq and raw LMDB, side by side in one
# run (issue 3 asks for >= 0.8x a raw CURVE XPUB fan-out of the same bytes to the same
# number of agents, and >= 0.5x raw LMDB for durable ingest at the same commit batching).
#
#   make bench-broker                       # builds, then runs this
#   sh bench/bench_broker.sh [RUNS]         # default 3 runs, then the range of each figure
#   PERF=1 sh bench/bench_broker.sh         # plus one profiled run (perf record, DWARF call
#                                           # graphs) that does not count in the ranges
#   BENCH_ARGS="--subs 1" sh bench/bench_broker.sh 1    # options for bin/bench-broker
#
# Each run: a fresh deployment in a temporary directory (infohub-admin init + members), the
# real bin/infohub-broker on 127.0.0.1, 10 subscribers; live fan-out of 20,000 alerts,
# replay fan-out of them, durable ingest of 10,000; then raw LMDB right after the ingest
# and raw XPUB with the broker stopped (bench/bench_broker.c says exactly how). About 10 s
# a run. The temporary directories are removed at the end (KEEP=1 keeps them);
# perf data goes to build/bench-broker/.
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-3}
for b in bin/bench-broker bin/infohub-broker bin/infohub-admin; do
    [ -x "$b" ] || { echo "bench_broker.sh: $b is not built (make bin/bench-broker bin/infohub-broker bin/infohub-admin)" >&2; exit 1; }
done
DIRS=""
cleanup () {
    for d in $DIRS; do
        #  a broker left behind by a bench that died (its pid file names it)
        if [ -f "$d/broker.pid" ]; then
            p=$(cat "$d/broker.pid")
            if [ -n "$p" ] && grep -q "$d" "/proc/$p/cmdline" 2> /dev/null; then
                kill "$p" 2> /dev/null || true
                sleep 0.5
                kill -9 "$p" 2> /dev/null || true
            fi
        fi
        [ "${KEEP:-0}" = 1 ] || rm -rf "$d"
    done
    [ "${KEEP:-0}" = 1 ] && [ -n "$DIRS" ] && echo "kept: $DIRS"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== bench-broker: $RUNS run(s), $(nproc) CPUs, $(uname -r), $(df -T /tmp | awk 'NR==2 {print $2}') /tmp"
OUT=$(mktemp /tmp/ih-bench-broker-results.XXXXXX)
DIRS="$OUT"
i=1
while [ "$i" -le "$RUNS" ]; do
    W=$(mktemp -d /tmp/ih-bench-broker.XXXXXX)
    DIRS="$DIRS $W"
    echo "-- run $i (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
    # shellcheck disable=SC2086
    bin/bench-broker "$W" ${BENCH_ARGS:-} > "$W/out.txt"
    grep -v '^result ' "$W/out.txt"
    grep '^result ' "$W/out.txt" >> "$OUT"
    [ "${KEEP:-0}" = 1 ] || rm -rf "$W"
    i=$((i + 1))
done

if [ "$RUNS" -gt 1 ]; then
    echo "== ranges over $RUNS runs (min - max)"
    awk '
        { k = $2; v = $3 + 0
          if (!(k in min)) { order[++n] = k; min[k] = v; max[k] = v }
          if (v < min[k]) min[k] = v
          if (v > max[k]) max[k] = v }
        function r(k, fmt) { return sprintf(fmt " - " fmt, min[k], max[k]) }
        END {
          printf "%-30s %22s %22s %14s\n", "", "broker", "raw", "ratio"
          printf "%-30s %22s %22s %14s\n", "live fan-out, deliveries/s", r("live_broker", "%.0f"), r("live_raw", "%.0f"), r("live_ratio", "%.2f")
          printf "%-30s %22s %22s %14s\n", "  raw XPUB, 1 item/frame", "", r("live_raw_single", "%.0f"), r("live_ratio_single", "%.2f")
          printf "%-30s %22s %22s %14s\n", "replay fan-out, deliveries/s", r("replay_broker", "%.0f"), r("replay_raw", "%.0f"), r("replay_ratio", "%.2f")
          printf "%-30s %22s %22s %14s\n", "durable ingest, msgs/s", r("ingest_broker", "%.0f"), r("ingest_raw", "%.0f"), r("ingest_ratio", "%.2f")
          printf "%-30s %22s %22s %14s\n", "  raw LMDB, batch 256", "", r("ingest_raw256", "%.0f"), r("ingest_ratio256", "%.2f")
          printf "live: accepted %s msgs/s meanwhile, %s per commit, %s items per deliver frame\n", r("live_ingest", "%.0f"), r("live_batch", "%.0f"), r("live_items_per_frame", "%.0f")
          printf "ingest: %s per commit; raw LMDB %s ms per commit; broker CPU %s us per message\n", r("ingest_batch", "%.0f"), r("ingest_raw_commit_ms", "%.1f"), r("ingest_broker_cpu_us", "%.0f")
          printf "ih_verify %s us/msg (ceiling %s msgs/s with the sigpool); ih_body_decode %s us/msg\n", r("verify_us", "%.1f"), r("verify_ceiling", "%.0f"), r("decode_us", "%.1f")
        }' "$OUT"
fi

if [ "${PERF:-0}" = 1 ]; then
    command -v perf > /dev/null 2>&1 || { echo "bench_broker.sh: PERF=1 needs perf (linux-perf)" >&2; exit 1; }
    mkdir -p build/bench-broker
    rm -f build/bench-broker/perf-*.data
    W=$(mktemp -d /tmp/ih-bench-broker.XXXXXX)
    DIRS="$DIRS $W"
    echo "-- profiled run (perf record --call-graph=dwarf on the broker, each phase; perf slows it: not in the ranges)"
    # shellcheck disable=SC2086
    BENCH_PERF_CALLGRAPH=${BENCH_PERF_CALLGRAPH:-dwarf} bin/bench-broker "$W" ${BENCH_ARGS:-} \
        --perf "$(pwd)/build/bench-broker/perf" | grep -v '^result '
    for ph in live replay ingest; do
        f=build/bench-broker/perf-$ph.data
        [ -f "$f" ] || continue
        echo "== $ph: broker samples per thread"
        perf report -i "$f" --no-children --sort pid --stdio -g none 2> /dev/null | grep -v '^#' | grep -v '^$' | head -5
        echo "== $ph: top functions, inclusive (callers included; libsodium has no symbols, its samples count under ih_verify and crypto_secretbox_detached)"
        perf report -i "$f" --children --sort sym --stdio -g none 2> /dev/null | grep -v '^#' | grep -v '^$' \
            | grep -v '\] 0x0000\|clone3\|start_thread\|_start$\|libc_start\|\] main$\|entry_SYSCALL\|do_syscall\|0xffffffffffffffff' | head -25
    done
    echo "perf data: build/bench-broker/perf-{live,replay,ingest}.data (perf report -i FILE)"
fi
