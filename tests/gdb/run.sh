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
# ISO, MEM, SMP, EXIT_DEVICE and FIRMWARE choose the machine (default: the build's ISO,
# 128M, 1 CPU, with the exit device).
session_ok=0
ISO=build/ferrite.iso MEM=128M SMP=1 EXIT_DEVICE=1 FIRMWARE=bios
session() { # name, log, GDB_BATCH commands
    local name="$1" log="$2"
    rm -f build/debug-serial.log
    GDB_BATCH="$3" MEM=$MEM SMP=$SMP EXIT_DEVICE=$EXIT_DEVICE FIRMWARE=$FIRMWARE timeout 300 \
        tools/gdb/debug.sh build/ferrite.elf "$ISO" > "$log" 2>&1
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

# 3. The kmem commands (tools/gdb/ferrite.py) against the kernel's own view at the
# same moment: the shell runs `mem`, `buddy`, `vtop` on five addresses and `mem`
# again (the second `mem` finds the page cache as the first left it, so its rows
# hold at the prompt), then GDB stops at shell_run and asks kmem.
kmem_batch() { # kmem commands -> GDB_BATCH, each after a marker line for compare.py
    local batch="" command
    for command in "$@"; do batch+="echo @@ $command\\n;$command;"; done
    printf '%s' "${batch%;}"
}
compare() { # name, kind, gdb log, addresses...
    local name="$1" kind="$2" log="$3"
    shift 3
    if [ $session_ok = 1 ] && python3 tests/gdb/compare.py "$kind" build/debug-serial.log "$log" "$@" \
        > "$log.$kind" 2>&1; then
        echo "PASS gdb/$name"
        passed=$((passed + 1))
    else
        echo "FAIL gdb/$name (session ran: $session_ok; $log.$kind):"
        sed 's/^/    /' "$log.$kind" 2>/dev/null | head -8
        failed=$((failed + 1))
    fi
}
data=0x$(nm build/ferrite.elf | awk '$3 == "__data_start" {print $1}')
addresses=(0xffffffff80101000 "$data" 0xffff800000001000 0xffff800100000000 0xffffc00000000000)
run="mem; buddy"
for address in "${addresses[@]}"; do run+="; vtop $address"; done
tools/make-iso.sh build/ferrite.elf "$out/compare.iso" "run=\"$run; mem\"" build/bootfs.tar > /dev/null
kmem_vtops=()
for address in "${addresses[@]}"; do kmem_vtops+=("kmem vtop $address"); done
for machine in 3M:1 128M:1 8G:1 128M:4; do
    ISO="$out/compare.iso" MEM=${machine%:*} SMP=${machine#*:}
    tag="${MEM}_smp$SMP"
    session "kmem_session_$tag" "$out/kmem-$tag.log" \
        "hbreak shell_run;continue;$(kmem_batch "kmem buddy" "kmem map" "${kmem_vtops[@]}");kill"
    compare "kmem_buddy_equals_buddy_$tag" buddy "$out/kmem-$tag.log"
    compare "kmem_map_equals_mem_$tag" map "$out/kmem-$tag.log"
    compare "kmem_vtop_equals_vtop_$tag" vtop "$out/kmem-$tag.log" "${addresses[@]}"
done
# The same under UEFI (OVMF, make debug FIRMWARE=uefi): its map is far more fragmented.
ISO="$out/compare.iso" MEM=128M SMP=1 FIRMWARE=uefi
session kmem_session_uefi "$out/kmem-uefi.log" \
    "hbreak shell_run;continue;$(kmem_batch "kmem buddy" "kmem map" "${kmem_vtops[@]}");kill"
compare kmem_buddy_equals_buddy_uefi buddy "$out/kmem-uefi.log"
compare kmem_map_equals_mem_uefi map "$out/kmem-uefi.log"
compare kmem_vtop_equals_vtop_uefi vtop "$out/kmem-uefi.log" "${addresses[@]}"
FIRMWARE=bios
ISO=build/ferrite.iso MEM=128M SMP=1

# 4. Four CPUs: kmem cpus lists them, and kmem malloc follows the selected thread.
SMP=4
session kmem_cpus_session "$out/cpus.log" \
    "hbreak shell_run;continue;kmem cpus;thread 3;kmem malloc;thread 1;kmem malloc;kill"
check kmem_cpus_lists_4 "$out/cpus.log" "^4 CPUs in the kernel's table"
check kmem_cpus_all_online "$out/cpus.log" "^  3  +[0-9]+  online +4  0x"
check kmem_malloc_follows_thread_3 "$out/cpus.log" "^malloc pool of CPU 2 at 0x[0-9a-f]+ \(the selected thread\)"
check kmem_malloc_follows_thread_1 "$out/cpus.log" "^malloc pool of CPU 0 at 0x[0-9a-f]+ \(the selected thread\)"
SMP=1

# 5. kbreak: a buddy split, a pool's refill, then a 2 KiB malloc (the shell's
# `malloc alloc 2048`) followed to its object with finish and kmem obj.
tools/make-iso.sh build/ferrite.elf "$out/alloc.iso" 'run="malloc alloc 2048"' build/bootfs.tar > /dev/null
ISO="$out/alloc.iso"
session kbreak_session "$out/kbreak.log" "kbreak split;continue;info args;delete;kbreak refill;continue;\
delete;kbreak malloc 2048;continue;finish;kmem obj \$rax;kmem page \$rax;kill"
check kbreak_split_says_orders "$out/kbreak.log" \
    "^kbreak split: the free block of order [0-9]+ \([0-9]+ pages\) at pfn 0x[0-9a-f]+ splits down to order [0-9]+"
check kbreak_split_stops_with_args "$out/kbreak.log" "^from_order = [0-9]+"
check kbreak_refill_says_class "$out/kbreak.log" \
    "^kbreak refill: CPU 0's pool takes a new slab for class [0-9]+ \([0-9]+-byte objects\)"
check kbreak_malloc_stops_for_2048 "$out/kbreak.log" "^kbreak malloc: malloc\(2048\) on CPU 0, class [0-9]+ \(2048-byte"
check finish_returns_the_object "$out/kbreak.log" "^Value returned is \\\$1 = \(void \*\) 0x"
check kmem_obj_two_per_page "$out/kbreak.log" \
    "object [01] of 2 in the slab at 0x[0-9a-f]+ \(class [0-9]+: 2048 bytes, 2 objects in 1 page\)"
check kmem_obj_allocated "$out/kbreak.log" "^  object at 0x[0-9a-f]+-0x[0-9a-f]+: allocated"
check kmem_page_slab_of_2048 "$out/kbreak.log" "malloc: a page of a slab of class [0-9]+ \(2048-byte objects, 2 in 1 page\)"
# With malloc.track at boot, kmem obj says who allocated an object (the first
# request of the 112-byte class: one of the boot filesystem's nodes).
tools/make-iso.sh build/ferrite.elf "$out/track.iso" 'malloc.track run="malloc alloc 100"' \
    build/bootfs.tar > /dev/null
ISO="$out/track.iso"
session track_session "$out/track.log" "kbreak malloc 100;continue;set scheduler-locking on;finish;\
set scheduler-locking off;kmem obj \$rax;kill"
check kmem_obj_names_the_caller "$out/track.log" "^  malloc.track: [0-9]+ bytes requested by [a-z_]+\+0x[0-9a-f]+$"
ISO=build/ferrite.iso

# 6. docs/gdb.md's lesson, played again on this kernel (tools/gdb/lesson.sh): its key
# steps happen, and it reads as the doc does, numbers and addresses aside.
rm -f build/debug-serial.log
if timeout 600 tools/gdb/lesson.sh build/ferrite.elf build/ferrite.iso "$out/lesson.md" \
    > "$out/lesson.log" 2>&1; then session_ok=1; else session_ok=0; fi
if [ $session_ok = 1 ]; then echo "PASS gdb/lesson_session"; passed=$((passed + 1)); else
    echo "FAIL gdb/lesson_session ($out/lesson.log):"; tail -5 "$out/lesson.log" | sed 's/^/    /'
    failed=$((failed + 1)); fi
check lesson_first_split "$out/lesson.md" "^kbreak split: the free block of order"
check lesson_2k_object "$out/lesson.md" "object [01] of 2 in the slab at 0x[0-9a-f]+ \(class [0-9]+: 2048 bytes"
check lesson_remote_free_waits_in_cpu1 "$out/lesson.md" "free \(waiting in CPU 1's magazine for class [0-9]+\)"
check lesson_inbox_took_one "$out/lesson.md" "^inbox \(objects of this CPU's slabs freed by other CPUs\): 0 waiting \(head [1-9]"
# Back in the buddy allocator: inside a larger free block, or a free block of its own when
# its buddy is in use (which of the two depends on the kernel's size).
check lesson_page_back_to_buddy "$out/lesson.md" \
    "^  (inside the block at pfn 0x[0-9a-f]+ \(free head, order|state free head, zone [a-z0-9]+, section [0-9]+, order)"
if [ $session_ok = 1 ] && python3 tests/gdb/compare.py lesson docs/gdb.md "$out/lesson.md" > "$out/lesson.cmp" 2>&1; then
    echo "PASS gdb/lesson_matches_docs"; passed=$((passed + 1))
else
    echo "FAIL gdb/lesson_matches_docs:"; sed 's/^/    /' "$out/lesson.cmp"; failed=$((failed + 1))
fi

# 7. A panicked kernel can still be inspected: without the exit device the panic
# halts; GDB is interrupted (SIGINT, as Ctrl-C) once the report is on the console.
tools/make-iso.sh build/ferrite.elf "$out/panic.iso" 'run="crash null"' build/bootfs.tar > /dev/null
interrupt_gdb_after_panic() {
    for _ in $(seq 1 240); do
        if grep -qa "KERNEL PANIC" build/debug-serial.log 2>/dev/null; then
            sleep 1
            pkill -INT -f "gdb -batch -nx -q -x $PWD/tools/gdb/ferrite.gdb"
            return
        fi
        sleep 0.5
    done
}
ISO="$out/panic.iso" EXIT_DEVICE=0
interrupt_gdb_after_panic &
session panic_session "$out/panic.log" "continue;bt 3;kmem buddy;kmem cpus;kill"
wait
check panic_halted_not_exited "$out/panic.log" "Program received signal SIGINT"
check panic_stopped_in_halt "$out/panic.log" "machine_halt \(\) at kernel/exit.c"
check panic_kmem_buddy "$out/panic.log" "^dma32 +[0-9]+ +[0-9]+"
check panic_kmem_cpus "$out/panic.log" "^1 CPU in the kernel's table"
ISO=build/ferrite.iso EXIT_DEVICE=1

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
