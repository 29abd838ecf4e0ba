/*
 * platform.h: everything the portable code (lib/, mm/, fs/) needs from the
 * machine, and nothing more. Two implementations, one for each build:
 *   kernel/platform.c            on the real (virtual) machine
 *   tests/host/platform_host.c   on Linux, for unit tests, fuzzers and benchmarks
 */
#ifndef LIB_PLATFORM_H
#define LIB_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

/* Stop with a message: a broken invariant or a caller's bug (double free...).
 * The kernel panics; the host harness aborts (tests can catch it, see
 * tests/host/platform_host.h). */
_Noreturn void platform_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print to the console (kernel) or stdout (host). */
void platform_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The current CPU's index, 0 .. platform_cpu_count() - 1. */
unsigned platform_cpu_id(void);
unsigned platform_cpu_count(void);

/* A pointer to physical memory (the kernel's direct map). */
void *platform_phys_to_virt(uint64_t phys);

/* A fair spinlock that also keeps interrupts off on this CPU while held: a
 * ticket lock, and its code is lib/spinlock.c, the same in every build.
 * An arriving CPU takes the next ticket (one atomic add) and waits until
 * now_serving reaches it, so CPUs get the lock in the order they asked: no
 * waiter can be passed over forever.
 * Invariant: the lock is held iff next_ticket != now_serving; owner_cpu is the
 * holder's CPU while held (PLATFORM_LOCK_NO_OWNER otherwise); saved_interrupts
 * is only meaningful while held.
 * A CPU that takes a lock it already holds, or waits PLATFORM_LOCK_STUCK_US
 * without the lock changing hands once, is reported (platform_lock_stuck):
 * the deadline restarts at every hand-over, so a long queue is no deadlock. */
struct platform_lock {
    volatile uint32_t next_ticket; /* the ticket the next arrival takes */
    volatile uint32_t now_serving; /* the ticket whose holder has the lock */
    uint32_t owner_cpu;
    uint64_t saved_interrupts;
};

#define PLATFORM_LOCK_NO_OWNER 0xFFFFFFFFu
#define PLATFORM_LOCK_INIT {0, 0, PLATFORM_LOCK_NO_OWNER, 0}
#define PLATFORM_LOCK_STUCK_US 2000000

void platform_lock_acquire(struct platform_lock *lock); /* lib/spinlock.c */
void platform_lock_release(struct platform_lock *lock); /* lib/spinlock.c */
bool platform_lock_is_held(const struct platform_lock *lock); /* lib/spinlock.c */

/* What the lock needs from the machine. relax: a pause in a spin loop (the
 * kernel's `pause`; a yield on the host, where threads outnumber cores).
 * time_us: a clock in microseconds (any origin). lock_stuck: the report of a
 * suspected deadlock (the kernel shows both CPUs' backtraces); never returns. */
void platform_cpu_relax(void);
uint64_t platform_time_us(void);
/* This CPU starts waiting for lock (NULL: it stopped waiting), so that a
 * deadlock report can say what the holder itself waits for (ABBA). */
void platform_lock_waiting(const struct platform_lock *lock);
_Noreturn void platform_lock_stuck(const struct platform_lock *lock, unsigned cpu,
                                   const char *why);

/* Keep interrupts off on this CPU (per-CPU data without a lock). */
uint64_t platform_interrupts_save_disable(void);
void platform_interrupts_restore(uint64_t saved);

#endif
