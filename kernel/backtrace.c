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

#define BACKTRACE_MAX_WALK 4096 /* frames followed */

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
    struct ksym symbol;
    if (ksyms_lookup(is_return_address ? address - 1 : address, &symbol))
        kprintf("  #%-2u 0x%016lx %s+%#lx\n", index, address, symbol.name,
                address - symbol.address);
    else
        kprintf("  #%-2u 0x%016lx (no symbol)\n", index, address);
}

void backtrace_capture(uint64_t rip, uint64_t rbp, struct backtrace_capture *capture)
{
    capture->count = 1;
    capture->truncated = false;
    capture->address[0] = rip;
    capture->repeats[0] = 0;
    /* The walk is bounded: a corrupt chain cannot loop forever. */
    for (unsigned walked = 0; walked < BACKTRACE_MAX_WALK; walked++) {
        if (!is_kernel_stack_frame(rbp))
            break;
        const uint64_t *frame = (const uint64_t *)rbp;
        uint64_t caller_rbp = frame[0];
        uint64_t return_address = frame[1];
        if (return_address == 0)
            break;
        if (capture->count > 1 && return_address == capture->address[capture->count - 1]) {
            capture->repeats[capture->count - 1]++;
        } else if (capture->count == BACKTRACE_MAX_FRAMES) {
            capture->truncated = true;
            break;
        } else {
            capture->address[capture->count] = return_address;
            capture->repeats[capture->count++] = 0;
        }
        if (caller_rbp <= rbp) /* stacks grow down: callers are above */
            break;
        rbp = caller_rbp;
    }
}

void backtrace_print_capture(const struct backtrace_capture *capture)
{
    kprintf("backtrace:\n");
    for (unsigned i = 0; i < capture->count; i++) {
        print_frame(i, capture->address[i], i > 0);
        if (capture->repeats[i])
            kprintf("  ... the same frame %u more times (recursion)\n", capture->repeats[i]);
    }
    if (capture->truncated)
        kprintf("  ... (more frames not shown)\n");
}

void backtrace_print_from(uint64_t rip, uint64_t rbp)
{
    struct backtrace_capture capture;
    backtrace_capture(rip, rbp, &capture);
    backtrace_print_capture(&capture);
}

void backtrace_print_here(void)
{
    const uint64_t *frame = (const uint64_t *)read_frame_pointer();
    backtrace_print_from(frame[1], frame[0]);
}
