#!/bin/sh
# tests/host/summarize.sh PROGRAM... - runs each host test program and adds up their results.
#
# Every program ends with a line "N passed, M failed". A program counts as one failed case
# when it exits non-zero without reporting a failure (a sanitizer abort, a crash, a leak
# report at exit), when it prints no such line, when its line says it ran nothing
# ("0 passed, 0 failed"), or when it runs past HOST_TEST_TIMEOUT seconds (default 600: a
# deadlock fails the suite instead of hanging it). So neither a crash nor a program that
# tests nothing can look like success. The last line printed is the grand total, and the
# exit status is 0 only if nothing failed.

. "$(dirname "$0")/../../tools/tally.sh" # the rule: no line, nothing run or a crash fail

total_passed=0
total_failed=0
limit=${HOST_TEST_TIMEOUT:-600}
output_file=$(mktemp) || exit 1
trap 'rm -f "$output_file"' EXIT

for program in "$@"; do
    name=$(basename "$program")
    echo "=== $name"
    timeout --kill-after=10 "$limit" "$program" >"$output_file" 2>&1
    status=$?
    cat "$output_file"

    tally_judge "$name" "$status" "$output_file"
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        echo "$name: still running after $limit s (HOST_TEST_TIMEOUT); counting it as failed"
        [ "$failed" -gt 0 ] || failed=1
    fi
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
done

echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
