# tools/tally.sh: the one rule for reading a test program's result, sourced by
# tools/run-tests.sh (a suite) and tests/host/summarize.sh (a host program).
#
#   tally_judge NAME STATUS LOG   sets passed and failed from LOG's last
#                                 "N passed, M failed" line and STATUS
#
# A run counts as one failure when it printed no such line, when the line says
# it ran nothing ("0 passed, 0 failed"), or when it exited non-zero with no
# failure counted (a crash, a sanitizer abort): nothing passes by testing
# nothing. The reason is printed, prefixed with NAME.
tally_judge() {
    tally_line=$(grep -aE '^[0-9]+ passed, [0-9]+ failed' "$3" | tail -n 1)
    passed=0
    failed=0
    if [ -n "$tally_line" ]; then
        passed=$(echo "$tally_line" | sed -E 's/^([0-9]+) passed.*/\1/')
        failed=$(echo "$tally_line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    fi
    if [ -z "$tally_line" ]; then
        echo "$1: exit status $2 and no \"N passed, M failed\" line; counting 1 failure"
        failed=1
    elif [ $((passed + failed)) -eq 0 ]; then
        echo "$1: ran nothing (\"0 passed, 0 failed\"); counting 1 failure"
        failed=1
    elif [ "$2" -ne 0 ] && [ "$failed" -eq 0 ]; then
        echo "$1: exit status $2 with no failure counted; counting 1 failure"
        failed=1
    fi
}
