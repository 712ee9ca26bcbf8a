#!/bin/bash
# `make run`: a demo deployment on loopback. Creates state/demo/ (fresh each run), starts
# the broker, three member agents (bank-a publishes, bank-b and telco-c receive) and, when
# built, the public gateway; publishes the sample alerts of config/samples/ (every TLP
# level) and the labelled corpus (DEMO_CORPUS alerts, all 343), trains bank-a's
# suggestion model, analyses a sample text, starts a Members Zone console beside each
# agent with a demo user (a publisher at bank-a, an analyst elsewhere), and prints each
# login (URL, user, password, the oathtool command that gives the code) and a discussion
# to hold between two members' consoles. Ctrl-C stops everything.
#   BROKER_PORT (7710), HTTP_PORT (8080) and CONSOLE_PORT (8443: bank-a's; bank-b and
#   telco-c take the next two) choose the ports.
set -eu
T0=$(date +%s)
cd "$(dirname "$0")/.."
TOP=$(pwd)
BIN=$TOP/bin
STATE=$TOP/state/demo
BROKER_PORT=${BROKER_PORT:-7710}
HTTP_PORT=${HTTP_PORT:-8080}
CONSOLE_PORT=${CONSOLE_PORT:-8443}
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

for port in "$BROKER_PORT" "$HTTP_PORT" "$CONSOLE_PORT" $((CONSOLE_PORT + 1)) $((CONSOLE_PORT + 2)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "demo: port $port on 127.0.0.1 is in use; set BROKER_PORT / HTTP_PORT / CONSOLE_PORT" >&2
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
    case "$f" in *04-amber-strict-intrusion*) TALK_ID=$id ;; esac
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
echo
echo "demo: infohub-agent -c $STATE/bank-a/agent.cfg model eval --curve (held-out source documents:"
echo "      how often what it marks 'suggested' is right, and whether more alerts would help)"
$BIN/infohub-agent -c "$STATE/bank-a/agent.cfg" model eval --curve 2>/dev/null \
    | awk '/^(category|sectors|tags|severity)$/ { f = $1 } /suggested:/ && f { sub(/^ +/, ""); print "  " f ": " $0 }
           /^learning curve/ { c = 1 } c && !/^note/ { print "  " $0 }'

# Exports (README "Exporting"): bank-b turns what it received into firewall and IDS
# input, in the formats its tools read.
echo
echo "demo: bank-b exports what it received (the first lines of each)"
for f in suricata nft rpz stix21; do
    echo "  -- export --format $f"
    $BIN/infohub-agent -c "$STATE/bank-b/agent.cfg" export --format "$f" --quiet 2>/dev/null \
        | head -n 3 | cut -c1-150 | sed 's/^/     /'
done

# Abuse and damage (README "Reliability", "Recovery"): the stores check out, signatures
# included; a member over its rate is refused with the time to wait, before any work.
echo
echo "demo: infohub-agent verify (bank-b's store) and infohub-broker --verify (the journal)"
$BIN/infohub-agent -c "$STATE/bank-b/agent.cfg" verify 2>&1 | sed 's/^/  /' || true
$BIN/infohub-broker -c "$HUB/broker.cfg" --verify 2>&1 | tail -n 2 | sed 's/^/  /' || true
echo "demo: bank-b limited to 1 message a second (a bucket of 10 s), then publishing 14 alerts at once"
$BIN/infohub-admin member set "$HUB" bank-b-soc --rate 1 2>&1 | sed 's/^/  /'
sleep 1.5
flood=""
for i in $(seq 1 14); do
    $BIN/infohub-agent -c "$STATE/bank-b/agent.cfg" publish config/samples/06-clear-ddos.json \
        >"$STATE/logs/flood-$i.out" 2>&1 &
    flood="$flood $!"
done
for p in $flood; do wait "$p" 2>/dev/null || true; done
echo "  accepted $(grep -L 'refused' "$STATE"/logs/flood-*.out | wc -l) of 14; the others were told:"
cat "$STATE"/logs/flood-*.out | grep 'refused' | head -n 1 | sed 's/^/  /'
$BIN/infohub-admin member set "$HUB" bank-b-soc --rate default >/dev/null 2>&1

# The Members Zone: a console beside each agent, and a demo user at each member (the
# password from /dev/urandom; the TOTP secret from `user add`'s otpauth URI).
echo
echo "demo: starting a Members Zone console beside each agent"
LOGINS=$STATE/logins.txt
: > "$LOGINS"
port=$CONSOLE_PORT
for spec in "bank-a alice publisher Alice_Martin" "bank-b bob analyst Bob_Peeters" \
            "telco-c carol analyst Carol_Dupont"; do
    set -- $spec
    m=$1 user=$2 role=$3 display=$(printf '%s' "$4" | tr _ ' ')
    pw=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | cut -c1-20)
    out=$(printf '%s\n' "$pw" | $BIN/infohub-agent -c "$STATE/$m/agent.cfg" user add "$user" --role "$role" \
          --display "$display" --password-stdin 2>>"$STATE/logs/users.log")
    secret=$(printf '%s\n' "$out" | sed -n 's/^otpauth:.*[?&]secret=\([A-Z2-7]*\).*/\1/p')
    $BIN/infohub-console -c "$STATE/$m/agent.cfg" --bind "127.0.0.1:$port" 2>"$STATE/logs/console-$m.log" &
    pids="$pids $!"
    printf '%s %s %s %s %s %s\n' "$m" "$port" "$user" "$role" "$pw" "$secret" >> "$LOGINS"
    port=$((port + 1))
done
for m in bank-a bank-b telco-c; do
    p=$(awk -v m="$m" '$1 == m {print $2}' "$LOGINS")
    tries=0
    until (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do
        tries=$((tries + 1))
        if [ "$tries" -ge 40 ]; then
            echo "demo: the console of $m did not start: $(tail -n 3 "$STATE/logs/console-$m.log")" >&2
            exit 1
        fi
        sleep 0.25
    done
done

A="$BIN/infohub-agent -c $STATE"
cat <<EOF

Infohub demo is running (logs in $STATE/logs/). Try, in another terminal:

  $A/bank-b/agent.cfg list               # bank-b sees CLEAR, GREEN, and the AMBER+STRICT and RED addressed to it
  $A/telco-c/agent.cfg list              # telco-c sees CLEAR, GREEN and the AMBER for sector:telecom
  $A/bank-b/agent.cfg search 185.220.101.47
  $A/bank-b/agent.cfg status
  $A/bank-a/agent.cfg publish config/samples/02-green-phishing.json
  $A/bank-a/agent.cfg analyse --json $STATE/sample.txt   # edit the text: IOCs, suggestions, related alerts
  $A/bank-a/agent.cfg model eval --curve # cross-validation split by source document, learning curve
  $A/bank-a/agent.cfg related ID         # an id from list: its related alerts, near-duplicates marked
  $A/bank-b/agent.cfg export --format suricata     # also zeek, rpz, nft, plain, csv, stix21, misp
  $A/bank-b/agent.cfg verify             # every record and signature of the store
  $BIN/infohub-broker -c $HUB/broker.cfg --verify
  $BIN/infohub-admin member set $HUB bank-b-soc --rate 5      # per-member limits
  $BIN/infohub-admin member list $HUB
EOF
if [ -x "$BIN/infohub-gateway" ]; then
    echo "  Public Zone (TLP:CLEAR only):  http://127.0.0.1:$HTTP_PORT/   (health: /healthz, TAXII 2.1: /taxii2/)"
fi
cat <<EOF

Members Zone consoles (each member's own web console; a login is the password, then the
6-digit code of the moment: run the oathtool command just before you type it; a code
works once):
EOF
while read -r m p user role pw secret; do
    printf '\n  %-8s http://127.0.0.1:%s/\n' "$m" "$p"
    printf '           user %s (%s), password %s\n' "$user" "$role" "$pw"
    printf '           code: oathtool --totp -b %s\n' "$secret"
done < "$LOGINS"
PA=$(awk '$1 == "bank-a" {print $2}' "$LOGINS")
PB=$(awk '$1 == "bank-b" {print $2}' "$LOGINS")
PC=$(awk '$1 == "telco-c" {print $2}' "$LOGINS")
cat <<EOF

A discussion between two members' consoles:
  1. bank-a: log in at http://127.0.0.1:$PA/ as alice, open
     http://127.0.0.1:$PA/alerts/${TALK_ID:-ID}
     (TLP:AMBER+STRICT, for bank-b), write a comment below the alert and post it.
  2. bank-b: log in at http://127.0.0.1:$PB/ as bob, open
     http://127.0.0.1:$PB/alerts/${TALK_ID:-ID}
     alice's comment is there, with her name and bank-a; reply, or press
     "Seen in our network" on an indicator.
  3. back at bank-a: reload: bob's reply (and his sighting) are there.
  telco-c (http://127.0.0.1:$PC/) was not a recipient: its console does not hold that alert.
  At bank-a, Share: paste an advisory, "Extract indicators": the model suggests the
  category, sectors, tags and severity; each alert page lists its related alerts.
(The logins are also in $LOGINS.)
EOF
echo
echo "demo: started in $(( $(date +%s) - T0 )) s. Ctrl-C stops everything."
while :; do sleep 3600; done
