#!/bin/sh
# tests/host/summarize.sh PROGRAM... - runs each host test program and adds up their results.
#
# Every program ends with a line "N passed, M failed". A program that exits non-zero without
# reporting a failure (a sanitizer abort, a crash, a leak report at exit) counts as one failed
# case, so a crash can never look like success. The last line printed is the grand total, and
# the exit status is 0 only if nothing failed.

total_passed=0
total_failed=0
output_file=$(mktemp) || exit 1
trap 'rm -f "$output_file"' EXIT

for program in "$@"; do
    name=$(basename "$program")
    echo "=== $name"
    "$program" >"$output_file" 2>&1
    status=$?
    cat "$output_file"

    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$output_file" | tail -n 1)
    passed=0
    failed=0
    if [ -n "$summary" ]; then
        passed=$(echo "$summary" | sed -E 's/^([0-9]+) passed.*/\1/')
        failed=$(echo "$summary" | sed -E 's/.* ([0-9]+) failed$/\1/')
    fi
    if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
        echo "$name: exit status $status with no failure reported; counting it as failed"
        failed=1
    fi
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
done

echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
