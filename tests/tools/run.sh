#!/usr/bin/env bash
# tests/tools/run.sh: the build's own checkers, on small objects made here.
# tools/check-boot-only.py must refuse every way resident code or data can reach
# boot-only code or data (a call, a function pointer in a table, a read of
# boot-only data) and let through what cannot outlive the boot (a BOOT_REF
# function, a switch's jump table inside a boot-only function).
# Ends with "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
passed=0 failed=0
result() { # name, ok (0/1), why
    if [ "$2" = 1 ]; then echo "PASS tools/$1"; passed=$((passed + 1)); else
        echo "FAIL tools/$1: $3"; failed=$((failed + 1)); fi
}
# As the Makefile builds kernel objects (PLATFORM_KERNEL turns the marks on).
compile() { # name, C source on stdin
    cat > "$scratch/$1.c"
    gcc -c -Os -ffreestanding -fno-pic -mno-red-zone -mcmodel=kernel -DPLATFORM_KERNEL -I. \
        -fno-asynchronous-unwind-tables "$scratch/$1.c" -o "$scratch/$1.o"
}
check() { # name, expected status (0 accepted, 1 refused), expected text in the output or ""
    local output status
    output=$(python3 tools/check-boot-only.py "$scratch/$1.o" 2>&1)
    status=$?
    if [ "$status" != "$2" ]; then
        result "check_boot_only_$1" 0 "status $status, not $2: $output"
    elif [ -n "$3" ] && ! grep -qF -- "$3" <<< "$output"; then
        result "check_boot_only_$1" 0 "no '$3' in: $output"
    else
        result "check_boot_only_$1" 1 ""
    fi
}

compile call_from_resident_code <<'C'
#include "lib/boot_only.h"
BOOT_ONLY int setup(void) { return 1; }
int later(void) { return setup(); }
C
check call_from_resident_code 1 ".text refers to boot-only setup"

compile pointer_in_a_const_table <<'C'
#include "lib/boot_only.h"
BOOT_ONLY static int setup(int x) { return x + 1; }
struct ops { int (*run)(int); };
const struct ops table = {setup};
C
check pointer_in_a_const_table 1 ".rodata refers to boot-only"

compile read_of_boot_only_data <<'C'
#include "lib/boot_only.h"
BOOT_ONLY_DATA static int raw[64];
int later(int i) { return raw[i]; }
C
check read_of_boot_only_data 1 "refers to boot-only"

compile boot_ref_runs_the_boot_steps <<'C'
#include "lib/boot_only.h"
BOOT_ONLY int setup(void) { return 1; }
BOOT_REF int boot(void) { return setup(); }
C
check boot_ref_runs_the_boot_steps 0 ""

# A dense switch: gcc makes a jump table in .rodata of addresses inside setup.
compile jump_table_inside_a_boot_only_function <<'C'
#include "lib/boot_only.h"
int sink(int);
BOOT_ONLY int setup(int kind)
{
    switch (kind) {
    case 0: return sink(10);
    case 1: return sink(21);
    case 2: return sink(32);
    case 3: return sink(43);
    case 4: return sink(54);
    case 5: return sink(65);
    case 6: return sink(76);
    case 7: return sink(87);
    default: return 0;
    }
}
C
if readelf -r -W "$scratch/jump_table_inside_a_boot_only_function.o" |
    awk '/Relocation section .\.rela\.rodata/{p=1;next} /Relocation section/{p=0} p' |
    grep -q "boot_only.text"; then
    check jump_table_inside_a_boot_only_function 0 ""
else
    result check_boot_only_jump_table_inside_a_boot_only_function 0 \
        "gcc made no jump table in .rodata here: the case is not tested"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
