#!/usr/bin/env bash
# run-tests.sh: every test level, as `make test` runs it:
#   1. host unit tests of lib/ (cmocka, ASan + UBSan)      tests/host/
#      and the threaded ones again under ThreadSanitizer   (make -C tests/host tsan)
#   2. QEMU tests: boot the real ISO, check the serial log  tests/qemu/
#   3. GDB tests: QEMU paused, gdb in batch mode            tests/gdb/
#   4. real programs on libkmalloc.so (LD_PRELOAD)          tests/preload/
#   5. fuzz smoke: each libFuzzer target for 20 s            tests/fuzz/
# Each suite ends with "N passed, M failed"; this script adds them up and ends
# with the same line for the whole. A suite that crashes or fails to build
# counts as failed.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/tests
total_passed=0 total_failed=0 summary=""

run_suite() { # name command...
    local name="$1"
    shift
    local log="build/tests/$name-suite.log"
    echo "==== $name tests: $*"
    "$@" 2>&1 | tee "$log"
    local status=${PIPESTATUS[0]}
    local line passed=0 failed=0
    line=$(grep -aE '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    if [ -n "$line" ]; then
        passed=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
        failed=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    fi
    if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
        echo "==== $name tests ended with status $status and no failure counted: counting 1"
        failed=1
    fi
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    summary+="  $name: $passed passed, $failed failed"$'\n'
}

# The kernel and the plain ISO (the GDB tests boot it; QEMU tests make their own).
run_suite build bash -c 'make --no-print-directory all CMDLINE= >build/tests/build.log 2>&1 \
    && echo "1 passed, 0 failed" || { tail -30 build/tests/build.log; echo "0 passed, 1 failed"; exit 1; }'
run_suite host make --no-print-directory -s -C tests/host test
run_suite tsan make --no-print-directory -s -C tests/host tsan
run_suite qemu python3 tests/qemu/run_tests.py
run_suite gdb tests/gdb/run.sh
run_suite preload make --no-print-directory -s test-preload
run_suite fuzz make --no-print-directory -s -C tests/fuzz smoke SMOKE_SECONDS=20

echo "==== summary"
printf '%s' "$summary"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
