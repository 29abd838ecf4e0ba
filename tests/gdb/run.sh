#!/usr/bin/env bash
# tests/gdb/run.sh: the GDB tests. They start the kernel exactly as `make debug`
# does (tools/gdb/debug.sh), in batch mode, and check what GDB prints.
# Ends with "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
out=build/tests/gdb
mkdir -p "$out"
passed=0 failed=0

# One GDB session (tools/gdb/debug.sh in batch mode): passes if QEMU started,
# GDB stopped at kernel_main and ended with status 0. session_ok says whether
# it did; a check that something is absent from a log counts only then.
session_ok=0
session() { # name, log, GDB_BATCH commands
    local name="$1" log="$2"
    rm -f build/debug-serial.log
    GDB_BATCH="$3" timeout 120 tools/gdb/debug.sh build/ferrite.elf build/ferrite.iso > "$log" 2>&1
    local status=$?
    if [ $status -eq 0 ] && grep -qE "Breakpoint 1, kernel_main \(" "$log"; then
        echo "PASS gdb/$name"
        passed=$((passed + 1))
        session_ok=1
    else
        echo "FAIL gdb/$name: exit status $status (log $log):"
        tail -5 "$log" | sed 's/^/    /'
        failed=$((failed + 1))
        session_ok=0
    fi
}

check() { # name, file, pattern (grep -E), [absent]
    local name="$1" file="$2" pattern="$3" mode="${4:-present}"
    if [ "$mode" = absent ] && [ $session_ok = 0 ]; then
        echo "FAIL gdb/$name: the session did not run, so its absence from $file proves nothing"
        failed=$((failed + 1))
        return
    fi
    if grep -qE "$pattern" "$file" 2>/dev/null; then found=1; else found=0; fi
    if { [ "$mode" = present ] && [ $found = 1 ]; } || { [ "$mode" = absent ] && [ $found = 0 ]; }; then
        echo "PASS gdb/$name"
        passed=$((passed + 1))
    else
        echo "FAIL gdb/$name: expected /$pattern/ to be $mode in $file"
        failed=$((failed + 1))
    fi
}

# 1. Stop at the 64-bit C entry by name, then run on to the shell.
session entry_session_runs "$out/entry.log" "info symbol \$pc;bt 1;hbreak shell_run;continue;info symbol \$pc;kill"
check stops_at_kernel_main "$out/entry.log" "Breakpoint 1, kernel_main \(mbi_phys="
check pc_is_kernel_main "$out/entry.log" "^kernel_main in section \.text"
check continues_to_shell_run "$out/entry.log" "^shell_run in section \.text"
check no_g_packet_error "$out/entry.log" "Remote 'g' packet reply is too long" absent
check boot_log_reached_serial build/debug-serial.log "^boot: kernel image at physical"

# 2. Step through the boot checklist: a few lines of kernel_main.
session step_session_runs "$out/step.log" "boot-step;boot-step;boot-step;info line *\$pc;p/x mbi_phys;kill"
check steps_through_kernel_main "$out/step.log" "Line [0-9]+ of \"kernel/main.c\""
check reads_arguments "$out/step.log" "^\\\$1 = 0x[0-9a-f]+"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
