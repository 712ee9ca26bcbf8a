#!/bin/sh
# Runs each fuzz target named on the command line for FUZZ_SECONDS (default 60) over its
# checked-in corpus (tests/fuzz/corpus-NAME; the decoder's is tests/fuzz/corpus), with
# the corpus it grows kept in build/fuzz-corpus-NAME. Exits non-zero when a target found
# a crash (its log says which input: fuzz-<hash> files in the current directory).
#   sh tests/fuzz/run.sh decode input config http
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-60}
rc=0
for t in "$@"; do
    seeds=tests/fuzz/corpus-$t
    [ "$t" = decode ] && seeds=tests/fuzz/corpus
    grown=build/fuzz-corpus-$t
    mkdir -p "$grown"
    extra="-max_len=65536"
    #  Whole STIX and MISP documents: no length control, and room for them.
    [ "$t" = input ] && extra="-max_len=262144 -len_control=0"
    #  The sites in the fuzzer's process log each refused request: not on the console.
    [ "$t" = http ] && extra="$extra -close_fd_mask=2"
    echo "== fuzz $t for ${secs}s"
    if ! bin/fuzz-$t -max_total_time="$secs" -rss_limit_mb=1024 $extra "$grown" "$seeds"; then
        echo "fuzz $t: FAILED"
        rc=1
    fi
done
exit $rc
