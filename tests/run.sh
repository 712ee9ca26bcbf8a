#!/bin/sh
# Runs every test of the project and ends with one line: "N passed, N failed".
#   - each module's self-test, in its own process (bin/ih-selftest NAME)
#   - the same under AddressSanitizer + UndefinedBehaviorSanitizer (bin/ih-selftest-asan)
#   - each fuzz target (the wire decoder, the file and command-line parsers, the config
#     files, HTTP requests to the gateway and the console), briefly, over its checked-in
#     corpus (FUZZ_SMOKE_SECONDS, 20, each)
#   - the Python suites (interop, integration, ...) under tests/*/test_*.py, with pytest
# Exits non-zero when anything failed. Logs go to build/test-logs/.
set -u
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
LOGS=build/test-logs
mkdir -p "$LOGS"
passed=0
failed=0
failures=""

pass () { passed=$((passed + 1)); echo "  PASS $1"; }
fail () { failed=$((failed + 1)); failures="$failures $1"; echo "  FAIL $1 (log: $2)"; }

echo "== unit tests"
for t in $(bin/ih-selftest --list); do
    log="$LOGS/unit-$t.log"
    if timeout 300 bin/ih-selftest "$t" > "$log" 2>&1; then pass "unit:$t"; else fail "unit:$t" "$log"; fi
done

echo "== unit tests under ASan+UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in $(bin/ih-selftest-asan --list); do
    log="$LOGS/asan-$t.log"
    if timeout 600 bin/ih-selftest-asan "$t" > "$log" 2>&1; then pass "asan:$t"; else fail "asan:$t" "$log"; fi
done
unset ASAN_OPTIONS UBSAN_OPTIONS

#  Each fuzz target briefly over its checked-in corpus (tests/fuzz/run.sh does the long runs).
for t in decode input config http; do
    echo "== fuzz smoke ($t, ${FUZZ_SMOKE_SECONDS:-20}s)"
    log="$LOGS/fuzz-$t.log"
    rm -rf "build/fuzz-smoke-$t" && mkdir -p "build/fuzz-smoke-$t"
    seeds=tests/fuzz/corpus-$t
    [ "$t" = decode ] && seeds=tests/fuzz/corpus
    extra="-max_len=65536"
    [ "$t" = input ] && extra="-max_len=262144 -len_control=0"
    [ "$t" = http ] && extra="$extra -close_fd_mask=2"
    if timeout 300 bin/fuzz-$t -max_total_time="${FUZZ_SMOKE_SECONDS:-20}" -rss_limit_mb=1024 \
           $extra "build/fuzz-smoke-$t" "$seeds" > "$log" 2>&1; then
        pass "fuzz:$t"
    else
        fail "fuzz:$t" "$log"
    fi
done

for suite in $(ls -d tests/*/ | sort); do
    ls "$suite"test_*.py > /dev/null 2>&1 || continue
    name=$(basename "$suite")
    echo "== $name (pytest)"
    log="$LOGS/pytest-$name.log"
    timeout 2400 $PY -m pytest -q -p no:cacheprovider "$suite" > "$log" 2>&1
    rc=$?
    summary=$(grep -E '^(=+ )?[0-9]+ (passed|failed|error)' "$log" | tail -1)
    p=$(echo "$summary" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || true)
    f=$(echo "$summary" | grep -oE '[0-9]+ (failed|error|errors)' | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
    p=${p:-0}; f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p))
    failed=$((failed + f))
    [ "$f" -gt 0 ] && failures="$failures pytest:$name"
    echo "  $name: $p passed, $f failed (log: $log)"
    [ "$f" -gt 0 ] && grep -E '^(FAILED|ERROR)' "$log" | head -20
done

echo
[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
