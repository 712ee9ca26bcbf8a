#!/bin/sh
# Benchmark (not a test): infohub-gateway against nginx serving the same bytes as static
# files, measured with wrk in one run, on 127.0.0.1.
#
#   make bench-gateway           (or: sh bench/bench_gateway.sh [SECONDS] [CONNECTIONS])
#
# Sets up a throw-away deployment (infohub-admin init, a broker, a publisher), publishes the
# sample alerts plus N_ALERTS generated ones through the agent, starts the gateway, saves
# what it serves for / and for one alert page, and serves those bytes from nginx (Debian's,
# temp config, 2 workers like the gateway's 2 HTTP threads). Then wrk (2 threads, keep-alive)
# runs against each URL in turn and the script prints requests/s, latency and the ratio.
#
# The page cache is bypassed by a query argument the pages do not read (?nocache=N, unique
# per request: web/ih_http.c keys its cache by the whole URI, ih_select_from reads only the
# arguments it knows), so every request renders the page from the store; the script checks
# that such a page is byte for byte the page nginx serves. BENCH_JSON=FILE also writes the
# figures as JSON (bench/bench.sh, `make bench`).
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SECS=${1:-${BENCH_SECONDS:-10}}
CONNS=${2:-${BENCH_CONNECTIONS:-50}}
N_ALERTS=${N_ALERTS:-40}
for tool in wrk nginx curl; do
    command -v $tool > /dev/null 2>&1 || [ -x /usr/sbin/$tool ] || { echo "bench: $tool is missing (make deps)"; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
for b in infohub-admin infohub-broker infohub-agent infohub-gateway; do
    [ -x bin/$b ] || { echo "bench: bin/$b is not built (make)"; exit 1; }
done

TMP=$(mktemp -d /tmp/ih-bench-gateway.XXXXXX)
PIDS=""
cleanup () {
    for p in $PIDS; do kill "$p" 2> /dev/null || true; done
    sleep 0.5
    for p in $PIDS; do kill -9 "$p" 2> /dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

port () { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ZPORT=$(port); GPORT=$(port); NPORT=$(port)

bin/infohub-admin init "$TMP/dep" --endpoint tcp://127.0.0.1:$ZPORT --http-port $GPORT > /dev/null
# wrk is one address standing for many clients, as a proxy or a CDN in front of a gateway
# is: lift the per-address shares, as such a deployment does (README "Public Zone"). With
# them, one address gets one of the two workers and a 429 past 16 waiting requests, and
# wrk counted those refusals as answers (the figures until 2026-12-06 20:40 did).
cat >> "$TMP/dep/gateway.cfg" <<CFG
        per-ip-workers = "0"
        per-ip-queue = "0"
CFG
bin/infohub-admin member add "$TMP/dep" --org bank-a --name soc --sector finance --role publisher \
    --out "$TMP/soc" > /dev/null
bin/infohub-broker -c "$TMP/dep/broker.cfg" > "$TMP/broker.log" 2>&1 &
PIDS="$PIDS $!"
bin/infohub-gateway -c "$TMP/dep/gateway.cfg" > "$TMP/gateway.log" 2>&1 &
PIDS="$PIDS $!"
sleep 1

echo "bench: publishing the samples and $N_ALERTS generated alerts"
ALERT=""
for f in config/samples/*.json; do
    id=$(bin/infohub-agent -c "$TMP/soc/agent.cfg" publish "$f")
    grep -q '"CLEAR"' "$f" && ALERT=$id
done
i=0
cats="ransomware phishing malware vulnerability ddos intrusion fraud data-leak advisory other"
while [ $i -lt "$N_ALERTS" ]; do
    cat=$(echo $cats | cut -d' ' -f$((i % 10 + 1)))
    cat > "$TMP/a.json" <<JSON
{"title": "Generated advisory $i: $cat activity against regional banks",
 "summary": "Observed **$cat** activity. Block the indicators below and hunt for them in proxy, DNS and mail logs.\n\n1. Block\n2. Hunt\n3. Report sightings",
 "tlp": "CLEAR", "severity": "high", "category": "$cat", "sectors": ["finance", "government"],
 "references": ["https://www.cisa.gov/news-events/cybersecurity-advisories"], "tags": ["bench"],
 "iocs": [{"type": "domain", "value": "bench-$i.example-bad.net", "comment": "C2"},
          {"type": "ipv4", "value": "45.86.$((i % 250)).$((i % 200 + 1))", "comment": "scanner"},
          {"type": "sha256", "value": "$(printf '%064x' $((i + 1)))", "comment": "payload"}]}
JSON
    bin/infohub-agent -c "$TMP/soc/agent.cfg" publish "$TMP/a.json" > /dev/null
    i=$((i + 1))
done
G=http://127.0.0.1:$GPORT
N=http://127.0.0.1:$NPORT
tries=0
until curl -sf "$G/api/v1/alerts/$ALERT" > /dev/null; do
    tries=$((tries + 1)); [ $tries -lt 100 ] || { echo "bench: the gateway never showed $ALERT"; cat "$TMP/gateway.log"; exit 1; }
    sleep 0.1
done
sleep 1

# The same bytes, as static files.
mkdir -p "$TMP/www/alerts" "$TMP/nginx"
curl -sf "$G/" -o "$TMP/www/index.html"
curl -sf "$G/alerts/$ALERT" -o "$TMP/www/alerts/$ALERT"
chmod -R a+rX "$TMP/www"
chmod a+x "$TMP"
cat > "$TMP/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 2;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 65;
    default_type text/html;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:$NPORT;
        root $TMP/www;
        index index.html;
    }
}
CONF
"$NGINX" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" > "$TMP/nginx/out.log" 2>&1 &
PIDS="$PIDS $!"
sleep 0.5
cmp -s "$TMP/www/index.html" /dev/stdin < /dev/null || true
curl -sf "$N/" | cmp -s - "$TMP/www/index.html" || { echo "bench: nginx does not serve the same bytes"; cat "$TMP/nginx/error.log"; exit 1; }
curl -sf "$N/alerts/$ALERT" | cmp -s - "$TMP/www/alerts/$ALERT" || { echo "bench: nginx alert page differs"; exit 1; }

# The uncached pages are the same bytes as the cached ones (and as nginx's)
curl -sf "$G/?nocache=x1" | cmp -s - "$TMP/www/index.html" || { echo "bench: / with ?nocache= differs from /"; exit 1; }
curl -sf "$G/alerts/$ALERT?nocache=x1" | cmp -s - "$TMP/www/alerts/$ALERT" || { echo "bench: the alert page with ?nocache= differs"; exit 1; }

# Requests per second that were answered 2xx or 3xx: wrk's own req/s counts every answer,
# a refusal too.
ok_rps () {
    echo "$1" | awk '/requests in/ { n = $1; t = $4; sub (/s,?$/, "", t);
                                     if (t ~ /m$/) { sub (/m$/, "", t); t *= 60 } }
                     /Non-2xx or 3xx responses:/ { bad = $5 }
                     END { printf "%.2f", (n - bad) / t }'
}
run () {  # name url -> "req/s p50 p99"
    out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$2" 2>&1)
    rps=$(ok_rps "$out")
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    errs=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
    [ -n "$errs" ] && echo "bench: $1: $errs" >&2
    echo "$rps $p50 $p99"
}
echo "bench: wrk -t2 -c$CONNS -d${SECS}s, keep-alive; / is $(wc -c < "$TMP/www/index.html") bytes, the alert page $(wc -c < "$TMP/www/alerts/$ALERT") bytes"
set -- $(run "gateway /" "$G/"); g1=$1; g1l="$2 / $3"
set -- $(run "nginx /" "$N/"); n1=$1; n1l="$2 / $3"
set -- $(run "gateway alert" "$G/alerts/$ALERT"); g2=$1; g2l="$2 / $3"
set -- $(run "nginx alert" "$N/alerts/$ALERT"); n2=$1; n2l="$2 / $3"
# The gateway without its response cache: a unique query string per request makes every
# request render the page from the store (the cost a cache miss has).
cat > "$TMP/unique.lua" <<'LUA'
local n = 0
request = function()
    n = n + 1
    return wrk.format("GET", wrk.path .. "?nocache=" .. n .. "-" .. math.random(1, 1000000000))
end
LUA
run_script () { out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "$TMP/unique.lua" "$1" 2>&1)
    errs=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
    [ -n "$errs" ] && echo "bench: $1 (no cache): $errs" >&2
    echo "$(ok_rps "$out") $(echo "$out" | awk '$1 == "50%" {print $2}') $(echo "$out" | awk '$1 == "99%" {print $2}')"; }
PERF_PID=""
case " ${BENCH_PERF:-} " in *" gateway "*)
    GWPID=$(echo $PIDS | cut -d' ' -f2)
    perf record --call-graph "${BENCH_PERF_CALLGRAPH:-dwarf}" -F 999 -o "${BENCH_PERF_PREFIX:-build/bench/perf}-gateway.data" \
        -p "$GWPID" > "${BENCH_PERF_PREFIX:-build/bench/perf}-gateway.log" 2>&1 &
    PERF_PID=$!
    sleep 0.5 ;;
esac
set -- $(run_script "$G/"); g3=$1; g3l="$2 / $3"
if [ -n "$PERF_PID" ]; then kill -INT "$PERF_PID"; wait "$PERF_PID" || true; fi
set -- $(run_script "$G/alerts/$ALERT"); g4=$1; g4l="$2 / $3"
printf '\n%-22s %14s %14s %8s   %s\n' "page" "gateway req/s" "nginx req/s" "ratio" "latency p50 / p99 (gateway; nginx)"
printf '%-22s %14s %14s %8s   %s; %s\n' "/" "$g1" "$n1" "$(awk "BEGIN {printf \"%.2f\", $g1 / $n1}")" "$g1l" "$n1l"
printf '%-22s %14s %14s %8s   %s; %s\n' "/alerts/ID" "$g2" "$n2" "$(awk "BEGIN {printf \"%.2f\", $g2 / $n2}")" "$g2l" "$n2l"
printf '%-22s %14s %14s %8s   %s\n' "/ (no cache)" "$g3" "-" "$(awk "BEGIN {printf \"%.2f\", $g3 / $n1}")" "$g3l"
printf '%-22s %14s %14s %8s   %s\n' "/alerts/ID (no cache)" "$g4" "-" "$(awk "BEGIN {printf \"%.2f\", $g4 / $n2}")" "$g4l"
echo "(ratio = gateway / nginx; both on this machine's $(nproc) cores, wrk on the same cores;"
echo " \"no cache\": a unique query string per request, so every page is rendered from LMDB;"
echo " req/s counts the answers that were 2xx or 3xx)"
if [ -n "${BENCH_JSON:-}" ]; then
    cat > "$BENCH_JSON" <<JSON
{"secs": $SECS, "connections": $CONNS, "index_bytes": $(wc -c < "$TMP/www/index.html"),
 "alert_bytes": $(wc -c < "$TMP/www/alerts/$ALERT"), "alerts": $N_ALERTS,
 "index": {"gateway": $g1, "nginx": $n1, "gateway_nocache": $g3},
 "alert": {"gateway": $g2, "nginx": $n2, "gateway_nocache": $g4},
 "latency": {"index": "$g1l", "index_nginx": "$n1l", "index_nocache": "$g3l",
             "alert": "$g2l", "alert_nginx": "$n2l", "alert_nocache": "$g4l"}}
JSON
fi
