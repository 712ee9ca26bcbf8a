#!/bin/sh
# Benchmark: export 1,000,000 IOCs from an agent store to csv and to stix21.
#
#   make bench-export                  (builds, then runs this)
#   bench/bench_export.sh [ALERTS [PER]]    default 1000 alerts x 1000 IOCs
#
# Builds the store with bin/ih-bench-load (straight through the store API, signed
# bodies), then times `infohub-agent -c CFG export --format F --out FILE --quiet` for
# csv and stix21 with /usr/bin/time -v: wall time and peak RSS. The stix21 bundle is
# also parsed once (python3 json) to show it is one valid JSON document; VALIDATE=1
# also runs the STIX schema validator over a 1% sample of it (about 4 minutes).
# Work files go to BENCH_DIR (default build/bench-export) and are removed at the end
# unless KEEP=1.
set -eu
cd "$(dirname "$0")/.."
ALERTS=${1:-1000}
PER=${2:-1000}
DIR=${BENCH_DIR:-build/bench-export}
AGENT=bin/infohub-agent
LOAD=bin/ih-bench-load
[ -x "$AGENT" ] && [ -x "$LOAD" ] || { echo "bench_export: run make bench-export (needs $AGENT and $LOAD)"; exit 1; }
[ -x /usr/bin/time ] || { echo "bench_export: /usr/bin/time is missing (apt-get install time)"; exit 1; }

rm -rf "$DIR"
mkdir -p "$DIR"
# The export needs only agent/store; the other keys must be present to parse.
cat > "$DIR/agent.cfg" <<CFG
agent
    name = "bench"
    org = "bench-org"
    curve-cert = "none"
    signing-key = "none"
    registry-key = "0000000000000000000000000000000000000000000000000000000000000000"
    store = "store"
    broker
        endpoint = "tcp://127.0.0.1:1"
        public-key = "none"
CFG

echo "== loading $ALERTS alerts x $PER IOCs"
"$LOAD" "$DIR/store" "$ALERTS" "$PER"
du -sh "$DIR/store" | sed 's/^/store on disk: /'

# Peak RssAnon (heap and stacks, KiB) of process $1, sampled every 20 ms until it exits.
# Peak RSS from time -v also counts the store's pages that LMDB maps from the page cache
# (file-backed, shared, reclaimable); RssAnon is what the export itself allocates.
peak_anon () {
    max=0
    while kill -0 "$1" 2>/dev/null; do
        a=$(awk '/^RssAnon/ {print $2}' "/proc/$1/status" 2>/dev/null || true)
        [ -n "$a" ] && [ "$a" -gt "$max" ] && max=$a
        sleep 0.02
    done
    echo "$max"
}

run () {
    fmt=$1
    out="$DIR/export.$fmt"
    /usr/bin/time -v "$AGENT" -c "$DIR/agent.cfg" export --format "$fmt" --tlp-max RED --out "$out" --quiet \
        2> "$DIR/time.$fmt" &
    tpid=$!
    sleep 0.05
    apid=$(pgrep -P "$tpid" | head -1 || true)
    anon=$( [ -n "$apid" ] && peak_anon "$apid" || echo "?")
    wait "$tpid"
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$DIR/time.$fmt")
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$DIR/time.$fmt")
    size=$(du -m "$out" | cut -f1)
    printf '%-7s wall %s   peak RSS %s MiB (of which heap, RssAnon: %s KiB)   output %s MiB\n' \
        "$fmt" "$wall" $((rss / 1024)) "$anon" "$size"
}

echo "== exports"
echo "command: $AGENT -c $DIR/agent.cfg export --format F --tlp-max RED --out FILE --quiet"
run csv
lines=$(wc -l < "$DIR/export.csv")
echo "csv rows (with the header): $lines"
run stix21
/usr/bin/python3 -c "import json,sys; b=json.load(open(sys.argv[1])); print('stix21 objects:', len(b['objects']))" \
    "$DIR/export.stix21"
if [ "${VALIDATE:-0}" = 1 ]; then
    # The schema validator takes about 25 ms an object (hours for the whole bundle): it
    # checks Infohub's identity, the markings, the publisher's identity and every 100th
    # object after them (not the extension-definition: the tool has no schema for it,
    # tests/integration/stix_strict.py checks it).
    /usr/bin/python3 -c "
import json, sys
b = json.load(open(sys.argv[1]))
b['objects'] = [o for o in b['objects'][:8] if o['type'] != 'extension-definition'] + b['objects'][8::100]
json.dump(b, open(sys.argv[2], 'w'))" "$DIR/export.stix21" "$DIR/sample.stix21"
    /usr/bin/python3 ../shared/tools/stix-validate "$DIR/sample.stix21"
fi
[ "${KEEP:-0}" = 1 ] || rm -rf "$DIR"
