/*
 * backtrace.c: the kernel is built with frame pointers, so every function
 * starts with "push rbp; mov rbp, rsp": [rbp] holds the caller's rbp and
 * [rbp + 8] the return address into the caller. boot/entry.asm sets rbp = 0
 * before the first C call, which ends the chain.
 *
 * This runs in fault handlers, on possibly corrupt stacks: it only follows a
 * frame pointer that lies inside a known kernel stack, and only upwards.
 */
#include "kernel/backtrace.h"

#include <stdbool.h>

#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/percpu.h"
#include "kernel/ksyms.h"

#define BACKTRACE_MAX_FRAMES 32   /* distinct frames printed */
#define BACKTRACE_MAX_WALK 4096    /* frames followed */

static bool inside(uint64_t address, uint64_t bottom, uint64_t top)
{
    return address >= bottom && address + 16 <= top;
}

static bool is_kernel_stack_frame(uint64_t rbp)
{
    if (rbp % 8 != 0)
        return false;
    const struct cpu *cpu = this_cpu(); /* this CPU's stacks */
    return inside(rbp, cpu->stack_bottom, cpu->stack_top) ||
           inside(rbp, cpu->double_fault_stack_bottom, cpu->double_fault_stack_top);
}

static void print_frame(unsigned index, uint64_t address, bool is_return_address)
{
    /* A return address points after the call; look up the byte before it so
     * that a call at the very end of a function names that function. */
    const struct ksym *symbol = ksyms_lookup(is_return_address ? address - 1 : address);
    if (symbol)
        kprintf("  #%-2u 0x%016lx %s+%#lx\n", index, address, symbol->name,
                address - symbol->address);
    else
        kprintf("  #%-2u 0x%016lx (no symbol)\n", index, address);
}

static void print_repeats(unsigned repeats)
{
    if (repeats > 0)
        kprintf("  ... the same frame %u more times (recursion)\n", repeats);
}

void backtrace_print_from(uint64_t rip, uint64_t rbp)
{
    kprintf("backtrace:\n");
    print_frame(0, rip, false);
    uint64_t previous_return_address = 0;
    unsigned index = 1, repeats = 0, frames_walked = 0;
    /* A deep recursion prints its frame once, then a count. The walk itself
     * is bounded: a corrupt chain cannot loop forever. */
    for (; frames_walked < BACKTRACE_MAX_WALK; frames_walked++) {
        if (!is_kernel_stack_frame(rbp))
            break;
        const uint64_t *frame = (const uint64_t *)rbp;
        uint64_t caller_rbp = frame[0];
        uint64_t return_address = frame[1];
        if (return_address == 0)
            break;
        if (return_address == previous_return_address) {
            repeats++;
        } else {
            print_repeats(repeats);
            repeats = 0;
            if (index == BACKTRACE_MAX_FRAMES) {
                kprintf("  ... (more frames not shown)\n");
                return;
            }
            print_frame(index++, return_address, true);
            previous_return_address = return_address;
        }
        if (caller_rbp <= rbp) /* stacks grow down: callers are above */
            break;
        rbp = caller_rbp;
    }
    print_repeats(repeats);
}

void backtrace_print_here(void)
{
    const uint64_t *frame = (const uint64_t *)read_frame_pointer();
    backtrace_print_from(frame[1], frame[0]);
}
