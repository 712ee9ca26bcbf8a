#!/bin/sh
# Benchmark (not a test): the Members Zone console (issue 11): page time p50/p99 for the
# alert list and an alert page with 100,000 alerts in the store (aim: p99 under 50 ms),
# and logins per second (argon2id bound).
#
#   make bench-console                              # builds bin/bench-console, then runs this
#   sh bench/bench_console.sh [ALERTS] [RUNS] [LOGINS]   # 100000 200 40 by default
#
# bin/bench-console fills a fresh store with ALERTS alerts through the store API (no
# broker), builds the related-alerts index (RELATED=0 skips it), makes an account with a
# full session, starts the real bin/infohub-console on it and times RUNS GETs of each
# URL from one client, each on a new connection (p50, p99, max ms); then LOGINS password
# steps from 4 clients at once and a quarter of them from 1 (argon2id: 64 MiB, 2 passes).
# The store lives in a temporary directory, removed at the end (KEEP=1 keeps it). The
# recorded run is bench/bench_console.md.
set -eu
cd "$(dirname "$0")/.."
ALERTS=${1:-100000}
RUNS=${2:-200}
LOGINS=${3:-40}
[ -x bin/bench-console ] || { echo "bench_console.sh: bin/bench-console is not built (make bin/bench-console)" >&2; exit 1; }
[ -x bin/infohub-console ] || { echo "bench_console.sh: bin/infohub-console is not built (make)" >&2; exit 1; }
DIR=$(mktemp -d /tmp/ih-bench-console-XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$DIR"' EXIT
echo "== bench-console: $ALERTS alerts, $RUNS requests per URL, $LOGINS logins ($(nproc) CPUs, $(uname -r))"
INFOHUB_BIN=$(pwd)/bin bin/bench-console "$DIR" "$ALERTS" "$RUNS" "$LOGINS"
