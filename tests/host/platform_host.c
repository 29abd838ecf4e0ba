/* platform_host.c: lib/platform.h on Linux (see platform_host.h). */
#define _GNU_SOURCE
#include "tests/host/platform_host.h"

#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lib/platform.h"

_Thread_local jmp_buf *host_panic_target;
_Thread_local char host_last_panic[512];

static _Thread_local unsigned current_cpu;

/* lib/platform.h: the thread's malloc pool pointer. host_set_cpu points it
 * back at the closed pool, so that malloc's slow path picks the new CPU's. */
_Thread_local void *platform_malloc_pool_slot = &km_closed_pool;
static unsigned cpu_total = 1;
static char *memory_base;
static uint64_t memory_phys_start, memory_bytes;
static bool quiet;

_Noreturn void platform_panic(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(host_last_panic, sizeof(host_last_panic), fmt, args);
    va_end(args);
    if (host_panic_target)
        longjmp(*host_panic_target, 1);
    fprintf(stderr, "PANIC: %s\n", host_last_panic);
    abort();
}

void platform_print(const char *fmt, ...)
{
    if (quiet)
        return;
    va_list args;
    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);
}

unsigned platform_cpu_id(void)
{
    return current_cpu;
}

unsigned platform_cpu_count(void)
{
    return __atomic_load_n(&cpu_total, __ATOMIC_RELAXED); /* threads set it too */
}

void host_set_cpu(unsigned cpu, unsigned cpu_count)
{
    current_cpu = cpu;
    platform_malloc_pool_slot = &km_closed_pool;
    __atomic_store_n(&cpu_total, cpu_count, __ATOMIC_RELAXED);
}

void platform_set_malloc_pool(void *pool)
{
    platform_malloc_pool_slot = pool;
}

void platform_malloc_not_started(void)
{
    platform_panic("malloc: called before km_init");
}

void platform_malloc_failed(void)
{
}

void host_set_quiet(bool on)
{
    quiet = on;
}

void host_set_physical_memory(void *base, uint64_t phys_start, uint64_t bytes)
{
    memory_base = base;
    memory_phys_start = phys_start;
    memory_bytes = bytes;
}

void *platform_phys_to_virt(uint64_t phys)
{
    if (!memory_base || phys < memory_phys_start || phys - memory_phys_start >= memory_bytes)
        platform_panic("host: physical address %#llx is outside the simulated memory",
                       (unsigned long long)phys);
    return memory_base + (phys - memory_phys_start);
}

/* The lock is lib/spinlock.c; its three needs. Threads may outnumber cores:
 * a waiter yields, or a preempted holder would keep its waiters spinning. */
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

_Noreturn void platform_lock_stuck(const struct platform_lock *lock, unsigned cpu,
                                   const char *why)
{
    platform_panic("suspected deadlock on lock %p: CPU %u %s; held by CPU %u", (const void *)lock,
                   cpu, why, __atomic_load_n(&lock->owner_cpu, __ATOMIC_RELAXED));
}

uint64_t platform_interrupts_save_disable(void)
{
    return 0;
}

void platform_interrupts_restore(uint64_t saved)
{
    (void)saved;
}
