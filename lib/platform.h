/*
 * platform.h: everything the portable code (lib/, mm/, fs/) needs from the
 * machine, and nothing more. The kernel's, and one for Linux processes:
 *   kernel/platform.c                    on the real (virtual) machine
 *   tests/host/platform_posix.c          on Linux, what every process shares (the clock,
 *                                        the lock's needs), with the CPU model of either
 *   tests/host/platform_host.c           unit tests, fuzzers and benchmarks: the program
 *                                        says which CPU each thread is
 *   tools/libkmalloc/kmalloc_preload.c   libkmalloc.so (LD_PRELOAD): a thread gets a CPU
 *                                        id on its first call
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
unsigned platform_cpu_index(void);
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
 * the deadline restarts at every hand-over, so a long queue is no deadlock.
 * A lock handed over but not yet taken (owner_cpu still NO_OWNER: the next
 * CPU in line has not seen its turn) gets PLATFORM_LOCK_HANDOVER_STUCK_US:
 * no code of the kernel is running there, the CPU in line is not running at
 * all, which an emulator on a busy host does to a virtual CPU for a while. */
struct platform_lock {
    volatile uint32_t next_ticket; /* the ticket the next arrival takes */
    volatile uint32_t now_serving; /* the ticket whose holder has the lock */
    uint32_t owner_cpu;
    uint64_t saved_interrupts;
};

#define PLATFORM_LOCK_NO_OWNER 0xFFFFFFFFu
#define PLATFORM_LOCK_INIT                                                                         \
    {                                                                                              \
        0, 0, PLATFORM_LOCK_NO_OWNER, 0                                                            \
    }
#define PLATFORM_LOCK_STUCK_US 2000000
#define PLATFORM_LOCK_HANDOVER_STUCK_US 10000000

void platform_lock_acquire(struct platform_lock *lock);       /* lib/spinlock.c */
void platform_lock_release(struct platform_lock *lock);       /* lib/spinlock.c */
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
_Noreturn void platform_lock_stuck(const struct platform_lock *lock, unsigned cpu, const char *why);

/* Keep interrupts off on this CPU (per-CPU data without a lock). */
uint64_t platform_interrupts_save_disable(void);
void platform_interrupts_restore(uint64_t saved);

/*
 * This CPU's malloc pool: one pointer the platform keeps for mm/malloc.c in
 * per-CPU storage, read in one instruction by malloc's fast path, with no
 * call, no lock and no interrupt flag change. malloc sets it
 * (platform_set_malloc_pool) in its slow path; only malloc reads it.
 *
 *   kernel  a field of struct cpu (kernel/percpu.h) at PLATFORM_MALLOC_POOL_OFFSET,
 *           one GS-relative move (the only assembly mm/ sees, and it sees
 *           it here, in the port). NULL until malloc's slow path runs on
 *           that CPU once.
 *   host    a thread-local pointer (one thread plays one CPU). It starts at
 *           km_closed_pool (mm/malloc.c), a pool whose magazines are all
 *           closed (empty, and full at capacity 0), so that a thread's first
 *           malloc and free take the slow path, which gives it its pool: the
 *           fast path needs no NULL test.
 */
#define PLATFORM_MALLOC_POOL_OFFSET 16
#ifdef PLATFORM_KERNEL
#define PLATFORM_MALLOC_POOL_MAY_BE_NULL 1
static inline void *platform_malloc_pool(void)
{
    void *pool;
    __asm__ volatile("movq %%gs:%c1, %0" : "=r"(pool) : "i"(PLATFORM_MALLOC_POOL_OFFSET));
    return pool;
}
static inline void platform_set_malloc_pool(void *pool)
{
    __asm__ volatile("movq %0, %%gs:%c1"
                     :
                     : "r"(pool), "i"(PLATFORM_MALLOC_POOL_OFFSET)
                     : "memory");
}
#else
#define PLATFORM_MALLOC_POOL_MAY_BE_NULL 0
struct km_cpu;
extern struct km_cpu km_closed_pool;
extern _Thread_local void *platform_malloc_pool_slot; /* = &km_closed_pool at thread start */
static inline void *platform_malloc_pool(void)
{
    return platform_malloc_pool_slot;
}
/* Out of line: the host library leaves the pointer at the closed pool for a
 * thread that shares its pool with others (tools/libkmalloc). */
void platform_set_malloc_pool(void *pool);
#endif

/* malloc's slow path found malloc not started (no km_init yet): the host
 * library starts it here (its first call may come from the dynamic loader);
 * the kernel and the tests panic. */
void platform_malloc_not_started(void);
/* A malloc-family call is about to return NULL for lack of memory: the host
 * library sets errno to ENOMEM, as the C library's malloc does. */
void platform_malloc_failed(void);

/*
 * An allocation found no memory: have every CPU give back what it holds
 * unused (malloc's magazines and empty slabs: km_flush_cpu; the kernel's page
 * caches), this one first, and return once each has answered or after a
 * bounded wait (a CPU that does not answer keeps its memory). The other CPUs
 * do it in an interrupt (the kernel: an IPI; the host tests: a signal) that
 * is put off while they are inside malloc's fast path (km_fast_path_at) or
 * have interrupts off; while it waits, this CPU answers such requests itself,
 * so that two CPUs out of memory at once, even with interrupts off, never
 * wait for each other. Called from malloc's slow path at a point where this
 * CPU holds none of malloc's state. The host library does nothing here.
 */
void platform_malloc_reclaim(void);
/* Whether this CPU is running an interrupt handler (the host tests: a signal
 * handler that says so): malloc's slow path refuses to run there (panic), so
 * malloc.debug, where every call takes the slow path, checks the rule that
 * interrupt handlers never allocate. */
bool platform_in_interrupt(void);

#endif
