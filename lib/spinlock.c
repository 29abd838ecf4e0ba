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
 * A lock that has been handed over but that nobody holds yet is not stuck in
 * the kernel's code: the CPU whose turn it is has not run since. Under TCG on
 * a loaded host a virtual CPU can wait seconds for a host thread, so that
 * case gets the longer PLATFORM_LOCK_HANDOVER_STUCK_US and a report of its
 * own (a CPU that stopped while it queued stays a hang worth reporting).
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
        uint32_t owner = __atomic_load_n(&lock->owner_cpu, __ATOMIC_RELAXED);
        uint64_t since = platform_time_us();
        for (;;) {
            platform_cpu_relax();
            uint32_t now = __atomic_load_n(&lock->now_serving, __ATOMIC_ACQUIRE);
            if (now == ticket)
                break;
            uint32_t holder = __atomic_load_n(&lock->owner_cpu, __ATOMIC_RELAXED);
            if (now != serving || holder != owner) { /* handed over or taken: progress */
                serving = now;
                owner = holder;
                since = platform_time_us();
                continue;
            }
            uint64_t waited = platform_time_us() - since;
            if (holder != PLATFORM_LOCK_NO_OWNER && waited > PLATFORM_LOCK_STUCK_US)
                platform_lock_stuck(lock, me, "waited 2 seconds without the lock changing hands");
            if (holder == PLATFORM_LOCK_NO_OWNER && waited > PLATFORM_LOCK_HANDOVER_STUCK_US)
                platform_lock_stuck(lock, me,
                                    "waited 10 seconds for the CPU whose turn it is to take the "
                                    "lock (that CPU has not run since)");
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
