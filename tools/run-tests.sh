#!/usr/bin/env bash
# run-tests.sh: every test level, as `make test` runs it (after the style of
# every C file, tools/format-check.sh):
#   0. the build's checkers (tools/check-boot-only.py)       tests/tools/
#   1. host unit tests of lib/, mm/, fs/ (cmocka, ASan+UBSan) tests/host/
#      and the threaded ones again under ThreadSanitizer   (make -C tests/host tsan)
#   2. QEMU tests: boot the real ISO, check the serial log  tests/qemu/
#   3. GDB tests: QEMU paused, gdb in batch mode            tests/gdb/
#   4. real programs on libkmalloc.so (LD_PRELOAD)          tests/preload/
#   5. fuzz smoke: each libFuzzer target for 20 s            tests/fuzz/
# Each suite ends with "N passed, M failed"; this script adds them up and ends
# with the same line for the whole. A suite counts as one failure (at least)
# when it crashes, exits non-zero with no failure counted, prints no such
# line, or says it ran nothing ("0 passed, 0 failed"): a suite that tests
# nothing cannot pass. The build comes first and is not a test: a failed
# build is reported as "build failed" and counts as one failure.
set -uo pipefail
cd "$(dirname "$0")/.."
. tools/tally.sh
mkdir -p build/tests
total_passed=0 total_failed=0 summary=""

# Each suite's output goes to build/tests/NAME-suite.log as well. The header
# names the suite, not its command line (a grep of the log for failures
# should find failures, not the text of a command).
run_suite() { # name command...
    local name="$1"
    shift
    local log="build/tests/$name-suite.log"
    echo "==== $name tests"
    "$@" 2>&1 | tee "$log"
    local status=${PIPESTATUS[0]}
    local passed failed
    tally_judge "==== $name tests" "$status" "$log"
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    summary+="  $name: $passed passed, $failed failed"$'\n'
}

# The kernel and the plain ISO (the GDB tests boot it; QEMU tests make their own).
echo "==== build"
if make --no-print-directory all CMDLINE= >build/tests/build.log 2>&1; then
    echo "built (build/tests/build.log)"
else
    tail -30 build/tests/build.log
    echo "==== build failed (build/tests/build.log): counting 1 failure"
    total_failed=1
    summary+="  build failed"$'\n'
fi
run_suite format tools/format-check.sh
run_suite tools tests/tools/run.sh
run_suite host make --no-print-directory -s -C tests/host test
run_suite tsan make --no-print-directory -s -C tests/host tsan
run_suite qemu python3 tests/qemu/run_tests.py
run_suite gdb tests/gdb/run.sh
run_suite labs tests/labs/run.sh
run_suite preload make --no-print-directory -s test-preload
run_suite fuzz make --no-print-directory -s -C tests/fuzz smoke SMOKE_SECONDS=20

echo "==== summary"
printf '%s' "$summary"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
