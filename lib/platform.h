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

/* A spinlock that also keeps interrupts off on this CPU while held.
 * Invariant: locked is 0 or 1; owner_cpu is the holder's CPU while locked
 * (PLATFORM_LOCK_NO_OWNER otherwise); saved_interrupts is only meaningful while
 * locked. The kernel reports a lock taken twice by one CPU, or spun on for
 * seconds, as a suspected deadlock. */
struct platform_lock {
    volatile uint32_t locked;
    uint32_t owner_cpu;
    uint64_t saved_interrupts;
};

#define PLATFORM_LOCK_NO_OWNER 0xFFFFFFFFu
#define PLATFORM_LOCK_INIT {0, PLATFORM_LOCK_NO_OWNER, 0}

void platform_lock_acquire(struct platform_lock *lock);
void platform_lock_release(struct platform_lock *lock);

/* Keep interrupts off on this CPU (per-CPU data without a lock). */
uint64_t platform_interrupts_save_disable(void);
void platform_interrupts_restore(uint64_t saved);

#endif
