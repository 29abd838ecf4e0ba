/*
 * platform_posix.c: the part of lib/platform.h that is the same in every Linux
 * process: the clock and the spin lock's needs (lib/spinlock.c). Every host
 * build takes it from here: the host tests and fuzzers (with
 * tests/host/platform_host.c, where the test picks each thread's CPU), the
 * benchmark, and libkmalloc.so (with tools/libkmalloc/kmalloc_preload.c, where
 * a thread gets a CPU id on its first call). Those two files hold what differs:
 * how a thread is a CPU, what "interrupts off" is, and how a panic ends.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <time.h>

#include "lib/platform.h"

/* Threads may outnumber cores: a waiter yields, or a preempted holder would
 * keep its waiters spinning. */
void platform_cpu_relax(void)
{
    sched_yield();
}

uint64_t platform_time_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec / 1000;
}

void platform_lock_waiting(const struct platform_lock *lock)
{
    (void)lock; /* the reports here do not look for ABBA */
}

_Noreturn void platform_lock_stuck(const struct platform_lock *lock, unsigned cpu, const char *why)
{
    platform_panic("suspected deadlock on lock %p: CPU %u %s; held by CPU %u", (const void *)lock,
                   cpu, why, __atomic_load_n(&lock->owner_cpu, __ATOMIC_RELAXED));
}
