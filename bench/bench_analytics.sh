#!/bin/sh
# The text analytics at scale (a benchmark, not a test): `make bench-analytics`.
# For 10,000 and 100,000 alerts (SIZES) recombined from the corpus's sentences
# (bench/bench_analytics.c), filled through the store API: the related index's build,
# `model train` (wall time and peak RSS, /usr/bin/time), `analyse` in process and as a
# command (model load included), `related` in process and as a command.
# Results: bench/bench_analytics.md records the runs.
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)
SIZES=${SIZES:-"10000 100000"}
WORK=${WORK:-$TOP/build/bench-analytics}
BIN=$TOP/bin
SAMPLE=$WORK/sample.txt
mkdir -p "$WORK"
cat > "$SAMPLE" <<'TXT'
Ransomware hits hospital file servers
The affiliate logged in over the SSL VPN without MFA (T1133), deleted the shadow copies and
encrypted every share overnight; the ransom note asks for payment within 72 hours. Beacon to
203.0.113[.]41 and hxxps://files-sync-drop[.]top/upload before encryption.
TXT
echo "bench-analytics: $(nproc) cores, $(uname -m), sizes $SIZES"
for n in $SIZES; do
    d=$WORK/$n
    rm -rf "$d" && mkdir -p "$d"
    cat > "$d/agent.cfg" <<CFG
agent
    name = "soc"
    org = "bank-a"
    curve-cert = "curve.cert_secret"
    signing-key = "signing.key"
    registry-key = "0000000000000000000000000000000000000000000000000000000000000000"
    store = "store"
    broker
        endpoint = "tcp://127.0.0.1:1"
        public-key = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
CFG
    echo "== $n alerts"
    $BIN/bench-analytics load "$d/store" config/corpus/alerts.jsonl "$n"
    /usr/bin/time -f "model train: %e s wall, %M KiB peak RSS" \
        $BIN/infohub-agent -c "$d/agent.cfg" model train 2>&1 | grep -E "model train:|trained on"
    ls -l "$d/store/model" | awk '{ printf "model file: %.1f MB\n", $5 / 1e6 }'
    $BIN/bench-analytics analyse "$d/store" "$SAMPLE" 200
    $BIN/bench-analytics related "$d/store" 1000
    t0=$(date +%s%N)
    for i in 1 2 3 4 5 6 7 8 9 10; do
        $BIN/infohub-agent -c "$d/agent.cfg" analyse --json "$SAMPLE" > /dev/null
    done
    t1=$(date +%s%N)
    echo "analyse command (process, model load included): $(( (t1 - t0) / 10000000 )) ms each"
    id=$($BIN/infohub-agent -c "$d/agent.cfg" list --json | head -1 | sed 's/.*"id":"\([^"]*\)".*/\1/')
    t0=$(date +%s%N)
    for i in 1 2 3 4 5 6 7 8 9 10; do
        $BIN/infohub-agent -c "$d/agent.cfg" related "$id" --json > /dev/null
    done
    t1=$(date +%s%N)
    echo "related command (process): $(( (t1 - t0) / 10000000 )) ms each"
    du -sh "$d/store/related" | awk '{ print "related index: " $1 }'
done
