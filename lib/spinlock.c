/*
 * spinlock.c: the fair (ticket) spinlock behind lib/platform.h, one source
 * for the kernel, the host tests and libkmalloc.so.
 *
 * Taking it: interrupts off on this CPU first (an interrupt handler that took
 * the same lock on this CPU would spin forever), then a ticket from
 * next_ticket (one atomic add, so arrivals are ordered), then wait until
 * now_serving equals the ticket. Releasing: now_serving + 1 hands the lock to
 * the next ticket in line. Waiters only read now_serving, which stays in
 * their cache until the hand-over writes it.
 *
 * Deadlock reports: a lock taken twice by one CPU, or a wait during which the
 * lock did not change hands for PLATFORM_LOCK_STUCK_US. The clock restarts at
 * every hand-over: waiting behind a queue of CPUs that each get their turn is
 * progress, not a deadlock (the unfair lock this replaces let a CPU lose race
 * after race with its first deadline still running, and cried deadlock).
 */
#include "lib/platform.h"

#include <stddef.h>

bool platform_lock_is_held(const struct platform_lock *lock)
{
    return __atomic_load_n(&lock->next_ticket, __ATOMIC_ACQUIRE) !=
           __atomic_load_n(&lock->now_serving, __ATOMIC_ACQUIRE);
}

void platform_lock_acquire(struct platform_lock *lock)
{
    uint64_t saved = platform_interrupts_save_disable();
    unsigned me = platform_cpu_index();
    /* owner_cpu can only be me if this CPU set it and has not released. */
    if (__atomic_load_n(&lock->owner_cpu, __ATOMIC_RELAXED) == me && platform_lock_is_held(lock))
        platform_lock_stuck(lock, me, "this CPU already holds it (a recursive lock)");
    uint32_t ticket = __atomic_fetch_add(&lock->next_ticket, 1, __ATOMIC_RELAXED);
    uint32_t serving = __atomic_load_n(&lock->now_serving, __ATOMIC_ACQUIRE);
    if (serving != ticket) {
        platform_lock_waiting(lock);
        uint64_t since = platform_time_us();
        for (;;) {
            platform_cpu_relax();
            uint32_t now = __atomic_load_n(&lock->now_serving, __ATOMIC_ACQUIRE);
            if (now == ticket)
                break;
            if (now != serving) { /* it changed hands: progress, the clock restarts */
                serving = now;
                since = platform_time_us();
            } else if (platform_time_us() - since > PLATFORM_LOCK_STUCK_US) {
                platform_lock_stuck(lock, me, "waited 2 seconds without the lock changing hands");
            }
        }
        platform_lock_waiting(NULL);
    }
    __atomic_store_n(&lock->owner_cpu, me, __ATOMIC_RELAXED);
    lock->saved_interrupts = saved;
}

void platform_lock_release(struct platform_lock *lock)
{
    uint64_t saved = lock->saved_interrupts;
    __atomic_store_n(&lock->owner_cpu, PLATFORM_LOCK_NO_OWNER, __ATOMIC_RELAXED);
    uint32_t next =
        __atomic_load_n(&lock->now_serving, __ATOMIC_RELAXED) + 1; /* only we write it */
    __atomic_store_n(&lock->now_serving, next, __ATOMIC_RELEASE);
    platform_interrupts_restore(saved);
}
