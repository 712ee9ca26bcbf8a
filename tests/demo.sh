#!/bin/bash
# `make run`: a demo deployment on loopback. Creates state/demo/ (fresh each run), starts
# the broker, two member agents (bank-a publishes, bank-b receives) and, when built, the
# public gateway; publishes the sample alerts of config/samples/ (every TLP level) and
# the labelled corpus (DEMO_CORPUS alerts, all 343), trains bank-a's suggestion model,
# analyses a sample text, and prints what to try. Ctrl-C stops everything.
#   BROKER_PORT (7710) and HTTP_PORT (8080) choose the ports.
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)
BIN=$TOP/bin
STATE=$TOP/state/demo
BROKER_PORT=${BROKER_PORT:-7710}
HTTP_PORT=${HTTP_PORT:-8080}
HUB=$STATE/hub
pids=""

stop () {
    trap - INT TERM EXIT
    echo
    echo "demo: stopping"
    for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
    echo "demo: stopped; state and logs are in $STATE"
    exit 0
}
trap stop INT TERM EXIT

for port in "$BROKER_PORT" "$HTTP_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "demo: port $port on 127.0.0.1 is in use; set BROKER_PORT / HTTP_PORT" >&2
        exit 1
    fi
done

rm -rf "$STATE"
mkdir -p "$STATE/logs"
echo "demo: creating the deployment in $HUB"
$BIN/infohub-admin init "$HUB" --endpoint "tcp://127.0.0.1:$BROKER_PORT" --http-port "$HTTP_PORT" >/dev/null
$BIN/infohub-admin member add "$HUB" --org bank-a --name bank-a-soc --sector finance \
    --role publisher --out "$STATE/bank-a" >/dev/null
$BIN/infohub-admin member add "$HUB" --org bank-b --name bank-b-soc --sector finance \
    --role publisher --out "$STATE/bank-b" >/dev/null
$BIN/infohub-admin member add "$HUB" --org telco-c --name telco-c-noc --sector telecom \
    --role reader --out "$STATE/telco-c" >/dev/null

$BIN/infohub-broker -c "$HUB/broker.cfg" 2>"$STATE/logs/broker.log" &
pids="$pids $!"
for m in bank-a bank-b telco-c; do
    $BIN/infohub-agent -c "$STATE/$m/agent.cfg" run 2>"$STATE/logs/$m.log" &
    pids="$pids $!"
done
if [ -x "$BIN/infohub-gateway" ]; then
    $BIN/infohub-gateway -c "$HUB/gateway.cfg" 2>"$STATE/logs/gateway.log" &
    pids="$pids $!"
fi

echo "demo: publishing the sample alerts as bank-a"
for f in config/samples/*.json; do
    tries=0
    until id=$($BIN/infohub-agent -c "$STATE/bank-a/agent.cfg" publish "$f" 2>"$STATE/logs/publish.err"); do
        tries=$((tries + 1))
        if [ "$tries" -ge 20 ]; then
            echo "demo: could not publish $f: $(cat "$STATE/logs/publish.err")" >&2
            exit 1
        fi
        sleep 0.5
    done
    printf '  %-36s  %s\n' "$id" "$(basename "$f" .json)"
done
sleep 1

# Text analytics (README "Analytics"): bank-a shares part of the labelled corpus, trains
# its suggestion model from its own store, and analyses a text it has not seen.
DEMO_CORPUS=${DEMO_CORPUS:-343}
echo "demo: publishing $DEMO_CORPUS alerts of config/corpus/alerts.jsonl as bank-a (analytics)"
head -n "$DEMO_CORPUS" config/corpus/alerts.jsonl | while IFS= read -r line; do
    printf '%s\n' "$line" | $BIN/infohub-agent -c "$STATE/bank-a/agent.cfg" publish - >/dev/null \
        2>>"$STATE/logs/publish.err" || true
done
tries=0
until [ "$($BIN/infohub-agent -c "$STATE/bank-a/agent.cfg" status --json 2>/dev/null \
          | sed -n 's/.*"alerts":\([0-9]*\).*/\1/p')" -ge "$DEMO_CORPUS" ] 2>/dev/null; do
    tries=$((tries + 1))
    [ "$tries" -ge 40 ] && break
    sleep 0.5
done
$BIN/infohub-agent -c "$STATE/bank-a/agent.cfg" model train 2>&1 | sed 's/^/  /'
cat > "$STATE/sample.txt" <<'TXT'
Fake payroll portal harvests staff passwords
Staff at several members received e-mails saying their salary account must be confirmed
today. The link hxxps://payroll-confirm-portal[.]top/login shows a copy of the HR portal that
asks for the password and the one-time code (T1566.002), then forwards them to the actor.
Block the domain and reset the passwords of staff who entered them.
TXT
echo
echo "demo: infohub-agent -c $STATE/bank-a/agent.cfg analyse $STATE/sample.txt"
$BIN/infohub-agent -c "$STATE/bank-a/agent.cfg" analyse "$STATE/sample.txt" 2>/dev/null | sed 's/^/  /'

A="$BIN/infohub-agent -c $STATE"
cat <<EOF

Infohub demo is running (logs in $STATE/logs/). Try, in another terminal:

  $A/bank-b/agent.cfg list               # bank-b sees CLEAR, GREEN, and the AMBER+STRICT and RED addressed to it
  $A/telco-c/agent.cfg list              # telco-c sees CLEAR, GREEN and the AMBER for sector:telecom
  $A/bank-b/agent.cfg search 185.220.101.47
  $A/bank-b/agent.cfg status
  $A/bank-a/agent.cfg publish config/samples/02-green-phishing.json
  $A/bank-a/agent.cfg analyse --json $STATE/sample.txt   # edit the text: IOCs, suggestions, related alerts
  $A/bank-a/agent.cfg model eval         # cross-validation split by source document
  $A/bank-a/agent.cfg related ID         # an id from list: its related alerts, near-duplicates marked
  $BIN/infohub-admin member list $HUB
EOF
if [ -x "$BIN/infohub-gateway" ]; then
    echo "  Public Zone (TLP:CLEAR only):  http://127.0.0.1:$HTTP_PORT/"
fi
echo
echo "Ctrl-C stops everything."
while :; do sleep 3600; done
