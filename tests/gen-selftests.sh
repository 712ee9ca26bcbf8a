#!/bin/sh
# Generates the self-test table for tests/selftest.c: every module source that defines
# `void ih_NAME_test (bool verbose)` (on one line, or with `void` on the line before).
set -eu
names=$(grep -ho '^\(void \)\?ih_[a-z0-9_]*_test *(bool verbose)' "$@" | sed 's/^void //; s/ *(.*//' | sort -u)
for n in $names; do echo "void $n (bool verbose);"; done
echo "static const struct { const char *name; void (*fn) (bool); } s_tests[] = {"
for n in $names; do
    short=$(echo "$n" | sed 's/^ih_//; s/_test$//')
    echo "    { \"$short\", $n },"
done
echo "    { NULL, NULL }"
echo "};"
