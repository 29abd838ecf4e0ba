/*
 * crash.c: `crash KIND` makes the CPU raise an exception on purpose, so a lab
 * can show what each one looks like: the report, then a clean panic.
 * Each crash is its own function so that the report names it.
 */
#include <stdint.h>

#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/memory.h"
#include "kernel/shell.h"
#include "kernel/smp.h"
#include "lib/alloc.h"
#include "lib/string.h"

#define NOINLINE __attribute__((noinline))

static NOINLINE void crash_null_pointer(void)
{
    /* An explicit load: for a plain *NULL in C the compiler knows the
     * behaviour is undefined and may emit ud2 instead of the read. */
    uint64_t value, null_address = 0;
    kprintf("crash: reading address 0 (page 0 is never mapped)\n");
    __asm__ volatile("movq (%1), %0" : "=r"(value) : "r"(null_address) : "memory");
    (void)value;
}

static NOINLINE void crash_divide_by_zero(void)
{
    /* Written as the div instruction itself: for "1 / x" in C the compiler
     * emits a comparison instead (only x = 1 gives a non-zero result). */
    uint32_t quotient = 1, remainder_high = 0, divisor = 0;
    kprintf("crash: dividing by zero\n");
    __asm__ volatile("divl %2" : "+a"(quotient), "+d"(remainder_high) : "r"(divisor));
}

static NOINLINE void crash_invalid_opcode(void)
{
    kprintf("crash: executing ud2, an instruction defined to be invalid\n");
    __asm__ volatile("ud2");
}

static NOINLINE void crash_general_protection(void)
{
    /* Bits 63:47 of a virtual address must all be equal ("canonical"). */
    uint64_t value, non_canonical = 0x8000000000000000ull;
    kprintf("crash: reading the non-canonical address %#lx\n", non_canonical);
    __asm__ volatile("movq (%1), %0" : "=r"(value) : "r"(non_canonical) : "memory");
    (void)value;
}

/* volatile: the compiler must not prove the recursion endless and drop it. */
static volatile uint64_t recursion_limit = UINT64_MAX;

static NOINLINE uint64_t crash_recurse_forever(uint64_t depth)
{
    volatile uint8_t frame_filler[512]; /* eat the stack faster */
    frame_filler[0] = (uint8_t)depth;
    if (depth == recursion_limit)
        return 0;
    return crash_recurse_forever(depth + 1) + frame_filler[0];
}

static NOINLINE void crash_stack_overflow(void)
{
    kprintf("crash: recursing until the stack runs into its guard page\n");
    (void)crash_recurse_forever(0);
}

static NOINLINE void crash_double_free(void)
{
    uint64_t phys = memory_alloc_pages(1, BUDDY_ANY);
    kprintf("crash: freeing the 2-page block at %#lx twice\n", phys);
    memory_free_pages(phys, 1);
    memory_free_pages(phys, 1); /* the page allocator must refuse, loudly */
}

static NOINLINE void crash_use_after_free(void)
{
    volatile char *object = malloc(64);
    free((void *)object);
    kprintf("crash: writing to a freed 64-byte object at %p, then malloc(64) again\n",
            (void *)object);
    object[10] = 'x'; /* the bug */
    void *again = malloc(64);
    kprintf("crash: nothing noticed (boot with malloc.poison to catch it); got %p\n", again);
    free(again);
}

static struct platform_lock crash_lock = PLATFORM_LOCK_INIT;

/* The other CPU's part of `crash deadlock`: take the lock and never let it go. */
static NOINLINE void crash_hold_lock_forever(void *unused)
{
    (void)unused;
    platform_lock_acquire(&crash_lock);
    for (;;)
        cpu_relax();
}

/* Another online CPU than this one, or this one if there is none. */
static unsigned another_online_cpu(void)
{
    unsigned me = this_cpu_index();
    for (unsigned i = 0; i < smp_cpu_count(); i++)
        if (i != me && smp_cpu(i)->state == CPU_ONLINE)
            return i;
    return me;
}

static struct platform_lock abba_a = PLATFORM_LOCK_INIT, abba_b = PLATFORM_LOCK_INIT;
static volatile unsigned abba_stage;

/* The other CPU's half of `crash abba`: B, then A. */
static NOINLINE void crash_abba_second_half(void *unused)
{
    (void)unused;
    platform_lock_acquire(&abba_b);
    __atomic_store_n(&abba_stage, 1, __ATOMIC_RELEASE);
    while (__atomic_load_n(&abba_stage, __ATOMIC_ACQUIRE) < 2)
        cpu_relax();
    platform_lock_acquire(&abba_a);
}

/* This CPU takes A then B while another takes B then A: each holds what the
 * other waits for, and both time out at the same moment. */
static NOINLINE void crash_abba(void)
{
    unsigned me = this_cpu_index(), other = another_online_cpu();
    if (other == me) {
        kprintf("crash: abba needs two online CPUs (boot with SMP=2)\n");
        return;
    }
    kprintf("crash: CPU %u takes lock A (%p) then B (%p); CPU %u takes B then A\n", me,
            (void *)&abba_a, (void *)&abba_b, other);
    __atomic_store_n(&abba_stage, 0, __ATOMIC_RELEASE);
    platform_lock_acquire(&abba_a);
    if (!smp_post(other, crash_abba_second_half, NULL)) {
        platform_lock_release(&abba_a);
        kprintf("crash: CPU %u is busy\n", other);
        return;
    }
    while (__atomic_load_n(&abba_stage, __ATOMIC_ACQUIRE) < 1)
        cpu_relax();
    __atomic_store_n(&abba_stage, 2, __ATOMIC_RELEASE);
    platform_lock_acquire(&abba_b);
}

static NOINLINE void crash_deadlock(void)
{
    if (smp_online_count() < 2) {
        kprintf("crash: one CPU: taking a lock this CPU already holds\n");
        platform_lock_acquire(&crash_lock);
        platform_lock_acquire(&crash_lock);
        return;
    }
    /* Another online CPU than this one holds it (posting to ourselves would
     * run the holder here, forever). */
    unsigned me = this_cpu_index(), holder = another_online_cpu();
    kprintf("crash: CPU %u takes a lock and keeps it; CPU %u waits for it\n", holder, me);
    if (!smp_post(holder, crash_hold_lock_forever, NULL)) {
        kprintf("crash: CPU %u is busy\n", holder);
        return;
    }
    while (!platform_lock_is_held(&crash_lock))
        cpu_relax();
    platform_lock_acquire(&crash_lock);
}

/* Each kind is a subcommand: `crash null`, `crash stack`... (`help crash`). */
#define CRASH(function)                                                                            \
    static int function##_command(int argc, char **argv)                                           \
    {                                                                                              \
        (void)argc;                                                                                \
        function();                                                                                \
        kprintf("crash: %s did not fault?!\n", argv[0]);                                           \
        return 1;                                                                                  \
    }
CRASH(crash_null_pointer)
CRASH(crash_divide_by_zero)
CRASH(crash_invalid_opcode)
CRASH(crash_general_protection)
CRASH(crash_stack_overflow)
CRASH(crash_double_free)
CRASH(crash_use_after_free)
CRASH(crash_deadlock)
CRASH(crash_abba)

static const struct shell_subcommand crash_kinds[] = {
    {"null", "null", "page fault (#PF) at address 0", crash_null_pointer_command},
    {"div0", "div0", "divide error (#DE)", crash_divide_by_zero_command},
    {"ud", "ud", "invalid opcode (#UD)", crash_invalid_opcode_command},
    {"gp", "gp", "general protection fault (#GP)", crash_general_protection_command},
    {"stack", "stack", "stack overflow: a double fault (#DF) on its own stack",
     crash_stack_overflow_command},
    {"double-free", "double-free", "free a page block twice: the buddy allocator panics",
     crash_double_free_command},
    {"use-after-free", "use-after-free", "write to freed memory (caught with malloc.poison)",
     crash_use_after_free_command},
    {"deadlock", "deadlock", "wait for a lock another CPU never releases (or take one twice)",
     crash_deadlock_command},
    {"abba", "abba", "two CPUs each hold the lock the other waits for (one report)",
     crash_abba_command},
};
SHELL_COMMAND_TABLE(crash, "raise a CPU exception on purpose (the report, then a panic)",
                    crash_kinds);
