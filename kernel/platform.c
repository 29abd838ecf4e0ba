/*
 * platform.c: lib/platform.h on the real (virtual) machine, for the portable
 * code in lib/, mm/ and fs/: panic, print, this CPU's index (from its per-CPU
 * area, through GS), and the spinlock every subsystem uses.
 */
#include "lib/platform.h"

#include <stdarg.h>

#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/delay.h"
#include "kernel/memlayout.h"
#include "kernel/panic.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "lib/format.h"

/* A spin longer than this is reported as a suspected deadlock. No lock in
 * this kernel is held for more than microseconds; 2 s leaves room for a slow
 * emulator and a busy host. */

_Noreturn void platform_panic(const char *fmt, ...)
{
    char message[256];
    va_list args;
    va_start(args, fmt);
    kvsnprintf(message, sizeof(message), fmt, args);
    va_end(args);
    panic("%s", message);
}

void platform_print(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    kvprintf(fmt, args);
    va_end(args);
}

unsigned platform_cpu_index(void)
{
    return this_cpu_index();
}

unsigned platform_cpu_count(void)
{
    return smp_cpu_count();
}

void *platform_phys_to_virt(uint64_t phys)
{
    return phys_to_virt(phys);
}

/* The lock itself is lib/spinlock.c (a fair ticket lock); these are the
 * three things it needs from the machine. */
void platform_cpu_relax(void)
{
    cpu_relax();
}

uint64_t platform_time_us(void)
{
    return read_tsc() / delay_tsc_per_us(); /* a rough 1 GHz guess until calibrated */
}

void platform_lock_waiting(const struct platform_lock *lock)
{
    this_cpu()->waiting_for_lock = lock;
}

_Noreturn void platform_lock_stuck(const struct platform_lock *lock, unsigned cpu, const char *why)
{
    smp_report_deadlock(lock, cpu, why);
}

uint64_t platform_interrupts_save_disable(void)
{
    return cpu_save_interrupts_and_disable();
}

void platform_interrupts_restore(uint64_t saved)
{
    cpu_restore_interrupts(saved);
}

void platform_malloc_not_started(void)
{
    panic("malloc: called before malloc_init (kernel/main.c starts it after the buddy)");
}

void platform_malloc_failed(void)
{
    /* The kernel has no errno: NULL is the whole answer. */
}

void platform_malloc_reclaim(void)
{
    smp_reclaim();
}

bool platform_in_interrupt(void)
{
    return this_cpu()->interrupt_depth > 0;
}
