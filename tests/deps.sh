#!/bin/sh
# Installs every Debian package that building, testing and running Infohub need.
# Idempotent: it asks apt only for what is missing, and refreshes the package lists
# first, since a fresh machine's lists may be empty.
set -eu
PKGS="build-essential pkg-config clang libclang-rt-14-dev
libzmq3-dev libczmq-dev liblmdb-dev lmdb-utils libsodium-dev libmsgpack-dev libjansson-dev
libcmark-gfm-dev libcmark-gfm-extensions-dev libmicrohttpd-dev libxxhash-dev liboath-dev libqrencode-dev libpcre2-dev libpsl-dev nettle-dev
liblinear-dev libstemmer-dev
python3 python3-zmq python3-msgpack python3-pytest python3-jsonschema python3-nacl python3-lmdb
bind9-utils nftables time suricata-update oathtool
chromium python3-feedparser wrk nginx curl openssl
libssl-dev nats-server mosquitto linux-perf"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "deps: all $(echo $PKGS | wc -w) packages present"
    exit 0
fi
echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
