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
#define LOCK_SPIN_LIMIT_US 2000000

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

unsigned platform_cpu_id(void)
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

/*
 * The spinlock: interrupts off on this CPU first (an interrupt handler that
 * took the same lock on this CPU would spin forever), then test-and-set, and
 * while the lock is taken spin on a plain read (which stays in this CPU's
 * cache) rather than on the locked exchange (which takes the cache line away
 * from the holder each time).
 *
 * The lock records its holder (CPU and the caller's address). A CPU that
 * takes a lock it already holds, or spins for LOCK_SPIN_LIMIT_US, stops the
 * kernel with both CPUs' backtraces (smp_report_deadlock): a deadlock is a bug
 * to see, not a hang to wait out.
 */
void platform_lock_acquire(struct platform_lock *lock)
{
    uint64_t saved = cpu_save_interrupts_and_disable();
    unsigned me = this_cpu_index();
    if (__atomic_load_n(&lock->locked, __ATOMIC_RELAXED) && lock->owner_cpu == me)
        smp_report_deadlock(lock, me, "this CPU already holds it (a recursive lock)");
    uint64_t deadline = 0;
    while (__atomic_exchange_n(&lock->locked, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&lock->locked, __ATOMIC_RELAXED)) {
            cpu_relax();
            if (deadline == 0)
                deadline = delay_deadline_us(LOCK_SPIN_LIMIT_US);
            else if (delay_passed(deadline))
                smp_report_deadlock(lock, me, "spun for 2 seconds");
        }
    }
    lock->owner_cpu = me;
    lock->saved_interrupts = saved;
}

void platform_lock_release(struct platform_lock *lock)
{
    uint64_t saved = lock->saved_interrupts;
    lock->owner_cpu = PLATFORM_LOCK_NO_OWNER;
    __atomic_store_n(&lock->locked, 0, __ATOMIC_RELEASE);
    cpu_restore_interrupts(saved);
}

uint64_t platform_interrupts_save_disable(void)
{
    return cpu_save_interrupts_and_disable();
}

void platform_interrupts_restore(uint64_t saved)
{
    cpu_restore_interrupts(saved);
}
