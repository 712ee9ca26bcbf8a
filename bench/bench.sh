#!/bin/sh
# `make bench` (issue 14): the whole pipeline side by side with its peers and with the
# machine's limits, in one run, and one Markdown table of figures and ratios.
#
#   make bench              sh bench/bench.sh full    (< 20 min on 2 cores; writes bench/RESULTS.md)
#   make bench-quick        sh bench/bench.sh quick   (1-3 min, small sizes, for development)
#   sh bench/bench.sh smoke                           (< 1 min, the smallest: the smoke test's)
#
# What runs (bin/bench-all, then bench/bench_gateway.sh; bench/bench_all.h says which file
# does what): the ed25519 verify ceiling and the disk's fsync latency; durable broker ingest
# vs raw LMDB; live fan-out at each N and size, the broker vs raw CURVE, NATS-TLS and
# mosquitto-TLS (QoS 0 and 1); NATS JetStream; 10 real agents (a held rate, publish ->
# stored latency, catch-up from zero, a bulk feed); the gateway vs nginx with wrk. Every
# peer is started by the bench on 127.0.0.1 (nats-server, mosquitto, nginx: tests/deps.sh).
#
# Output: the table on stdout; build/bench/results.json (every raw number), build/bench/*.log;
# in full mode the table replaces the generated part of bench/RESULTS.md (BENCH_RESULTS_MD=FILE
# names another file, "none" none).
#
# Every size is an environment variable; the mode only sets those that are unset:
#   BENCH_VERIFY_SECS BENCH_FSYNC_COUNT BENCH_INGEST BENCH_INFLIGHT BENCH_PUBS BENCH_WINDOW
#   BENCH_FANOUT_N ("1 10 100") BENCH_FANOUT_SIZES ("1024 4096") BENCH_FANOUT_DELIVERIES
#   BENCH_FANOUT_MIN BENCH_FANOUT_MAX BENCH_PEERS ("curve nats mqtt0 mqtt1") BENCH_JS_MSGS
#   BENCH_AGENTS BENCH_HOLD_RATE BENCH_HOLD_SECS BENCH_LAT_SECS BENCH_LAT_RATE_MANY
#   BENCH_LAT_RATE_FEW BENCH_LAT_FEW_AGENTS BENCH_CATCHUP_MIN BENCH_BULK_IOCS BENCH_BULK_PER
#   BENCH_DRAIN_SECS BENCH_IDLE_MS; the gateway's BENCH_WRK_SECS BENCH_WRK_CONNS BENCH_GW_ALERTS;
#   BENCH_SKIP_GATEWAY=1 leaves the gateway out, BENCH_SKIP_AGENTS=1 the real agents (the
#   broker's phases only); BENCH_BIN=DIR runs the programs of DIR (another build) under the
#   same harness; BENCH_BROKER_IO_THREADS=N sets the broker's io-threads.
# Profiling: BENCH_PERF="PHASE ..." records `perf record --call-graph dwarf` of the component
# that runs each PHASE into build/bench/perf-PHASE.data: ingest, fanout-SIZE-N (the broker),
# lat_few, hold, lat_many, catchup, bulk (agent 1), lat_few-broker, hold-broker,
# lat_many-broker, bulk-broker (the broker), and gateway (the gateway during the uncached
# `/`). The figures of a profiled run carry perf's overhead: profile, then measure apart.
set -eu
cd "$(dirname "$0")/.."
MODE=${1:-full}
d () { eval "[ -n \"\${$1:-}\" ] || $1=\"$2\"; export $1"; }
case $MODE in
    full)
        d BENCH_VERIFY_SECS 2;      d BENCH_FSYNC_COUNT 2000;   d BENCH_INGEST 40000
        d BENCH_FANOUT_N "1 10 100"; d BENCH_FANOUT_SIZES "1024 4096"
        d BENCH_FANOUT_DELIVERIES 1000000; d BENCH_FANOUT_MIN 2000; d BENCH_FANOUT_MAX 40000
        d BENCH_JS_MSGS 40000;      d BENCH_AGENTS 10;          d BENCH_HOLD_RATE 1000
        d BENCH_HOLD_SECS 30;       d BENCH_LAT_SECS 20;        d BENCH_CATCHUP_MIN 20000
        d BENCH_BULK_IOCS 1000000;  d BENCH_BULK_PER 5000;      d BENCH_WRK_SECS 8
        d BENCH_GW_ALERTS 40;       d BENCH_RESULTS_MD bench/RESULTS.md ;;
    quick)
        d BENCH_VERIFY_SECS 0.5;    d BENCH_FSYNC_COUNT 200;    d BENCH_INGEST 5000
        d BENCH_FANOUT_N "1 10 100"; d BENCH_FANOUT_SIZES "1024 4096"
        d BENCH_FANOUT_DELIVERIES 40000; d BENCH_FANOUT_MIN 500; d BENCH_FANOUT_MAX 4000
        d BENCH_JS_MSGS 5000;       d BENCH_AGENTS 10;          d BENCH_HOLD_RATE 1000
        d BENCH_HOLD_SECS 5;        d BENCH_LAT_SECS 4;         d BENCH_CATCHUP_MIN 5000
        d BENCH_BULK_IOCS 100000;   d BENCH_BULK_PER 5000;      d BENCH_WRK_SECS 3
        d BENCH_GW_ALERTS 20;       d BENCH_RESULTS_MD none ;;
    smoke)
        d BENCH_VERIFY_SECS 0.2;    d BENCH_FSYNC_COUNT 50;     d BENCH_INGEST 300
        d BENCH_FANOUT_N "1 3";     d BENCH_FANOUT_SIZES "1024"
        d BENCH_FANOUT_DELIVERIES 600; d BENCH_FANOUT_MIN 100;  d BENCH_FANOUT_MAX 300
        d BENCH_JS_MSGS 300;        d BENCH_AGENTS 2;           d BENCH_HOLD_RATE 100
        d BENCH_HOLD_SECS 2;        d BENCH_LAT_SECS 1;         d BENCH_LAT_RATE_FEW 300
        d BENCH_CATCHUP_MIN 600;    d BENCH_BULK_IOCS 4000;     d BENCH_BULK_PER 1000
        d BENCH_WRK_SECS 1;         d BENCH_WRK_CONNS 10;       d BENCH_GW_ALERTS 3
        d BENCH_RESULTS_MD none ;;
    *)  echo "usage: sh bench/bench.sh [full|quick|smoke]" >&2; exit 2 ;;
esac
for b in infohub-broker infohub-admin infohub-agent infohub-gateway bench-all; do
    [ -x bin/$b ] || { echo "bench: bin/$b is not built (make bench builds it)" >&2; exit 1; }
done
OUT=${BENCH_OUT_DIR:-build/bench}
mkdir -p "$OUT"
rm -f "$OUT/core.json" "$OUT/gateway.json"
export BENCH_PERF_PREFIX="${BENCH_PERF_PREFIX:-$(pwd)/$OUT/perf}"
export BENCH_PERF_CALLGRAPH="${BENCH_PERF_CALLGRAPH:-dwarf}"
WORK=$(mktemp -d /tmp/ih-bench.XXXXXX)
cleanup () { [ "${KEEP:-0}" = 1 ] && echo "bench: kept $WORK" >&2 || rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bench: mode $MODE, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); progress in $OUT/bench.log" >&2
T0=$(date +%s)
# bin/bench-all stops every process it started, however it ends; its progress (stderr) is
# shown and kept
rm -f "$OUT/rc"
{ BENCH_WORK="$WORK" BENCH_OUT="$OUT/core.json" bin/bench-all 2>&1; echo $? > "$OUT/rc"; } \
    | tee "$OUT/bench.log" >&2
if [ "$(cat "$OUT/rc" 2> /dev/null)" != 0 ]; then
    echo "bench: bin/bench-all failed (see $OUT/bench.log)" >&2
    exit 1
fi
if [ "${BENCH_SKIP_GATEWAY:-0}" != 1 ]; then
    echo "bench: gateway vs nginx (wrk ${BENCH_WRK_SECS:-8} s per URL)" >&2
    BENCH_JSON="$OUT/gateway.json" N_ALERTS="${BENCH_GW_ALERTS:-40}" \
        sh bench/bench_gateway.sh "${BENCH_WRK_SECS:-8}" "${BENCH_WRK_CONNS:-50}" > "$OUT/gateway.log" 2>&1 \
        || echo "bench: the gateway bench failed (see $OUT/gateway.log)" >&2
fi
echo "bench: done in $(( $(date +%s) - T0 )) s" >&2
# shellcheck disable=SC2086
/usr/bin/python3 bench/bench_report.py "$OUT/core.json" "$OUT/gateway.json" "$OUT/results.json" \
    "$MODE" $([ "$BENCH_RESULTS_MD" = none ] || echo "$BENCH_RESULTS_MD")
