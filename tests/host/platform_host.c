/* platform_host.c: lib/platform.h on Linux (see platform_host.h). */
#define _GNU_SOURCE
#include "tests/host/platform_host.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lib/platform.h"
#include "mm/malloc.h"

#define HOST_MAX_CPUS KM_MAX_CPUS
static void host_register_cpu(unsigned cpu);

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

unsigned platform_cpu_index(void)
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
    host_register_cpu(cpu);
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

void platform_malloc_failed(void) {}

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

/* "Interrupts off" puts off a reclaim request (a signal) until the restore. */
static _Thread_local unsigned interrupts_off_depth;
static _Thread_local volatile bool reclaim_pending;
static void answer_reclaim(void);

uint64_t platform_interrupts_save_disable(void)
{
    interrupts_off_depth++;
    return 0;
}

unsigned host_interrupts_off_depth(void)
{
    return interrupts_off_depth;
}

void host_set_interrupts_off_depth(unsigned depth)
{
    interrupts_off_depth = depth;
}

void platform_interrupts_restore(uint64_t saved)
{
    (void)saved;
    if (--interrupts_off_depth == 0 && reclaim_pending)
        answer_reclaim();
}

/* ---- reclaim: the other threads (CPUs) give back what they hold --------------
 *
 * The host's version of the kernel's reclaim IPI (kernel/smp.c): a signal.
 * host_set_cpu records each CPU's thread; platform_malloc_reclaim asks every
 * other one (a sequence number, then SIGURG) and waits, answering its own
 * requests meanwhile. A thread answers in the signal handler, unless it is
 * inside malloc's fast path (the asker sends again) or has "interrupts off"
 * (platform_interrupts_save_disable: the answer waits for the restore). */
#define HOST_RECLAIM_SIGNAL SIGURG
#define HOST_RECLAIM_WAIT_US 500000 /* threads may be descheduled: generous */

static struct {
    pthread_t thread;
    bool present;
    uint64_t asked, done; /* atomics */
} host_cpus[HOST_MAX_CPUS];
static _Thread_local volatile bool in_interrupt;
static pthread_key_t host_cpu_key;
static pthread_mutex_t host_cpus_lock = PTHREAD_MUTEX_INITIALIZER; /* thread, present */
static pthread_once_t host_reclaim_once = PTHREAD_ONCE_INIT;

static void answer_reclaim(void)
{
    unsigned me = current_cpu;
    uint64_t asked = __atomic_load_n(&host_cpus[me].asked, __ATOMIC_ACQUIRE);
    reclaim_pending = false;
    km_flush_cpu();
    __atomic_store_n(&host_cpus[me].done, asked, __ATOMIC_RELEASE);
}

static void reclaim_signal(int signal, siginfo_t *info, void *context)
{
    (void)signal, (void)info;
    uintptr_t pc = (uintptr_t)((ucontext_t *)context)->uc_mcontext.gregs[REG_RIP];
    if (interrupts_off_depth > 0 || km_fast_path_at(pc)) {
        reclaim_pending = true; /* answered at the restore, or asked again */
        return;
    }
    in_interrupt = true;
    answer_reclaim();
    in_interrupt = false;
}

static void host_cpu_thread_ends(void *value)
{
    unsigned cpu = (unsigned)(uintptr_t)value - 1;
    pthread_mutex_lock(&host_cpus_lock);
    if (cpu < HOST_MAX_CPUS && pthread_equal(host_cpus[cpu].thread, pthread_self()))
        __atomic_store_n(&host_cpus[cpu].present, false, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&host_cpus_lock);
}

static void host_reclaim_setup(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_sigaction = reclaim_signal;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(HOST_RECLAIM_SIGNAL, &action, NULL);
    pthread_key_create(&host_cpu_key, host_cpu_thread_ends);
}

static void host_register_cpu(unsigned cpu)
{
    pthread_once(&host_reclaim_once, host_reclaim_setup);
    if (cpu >= HOST_MAX_CPUS)
        return;
    pthread_mutex_lock(&host_cpus_lock);
    for (unsigned other = 0; other < HOST_MAX_CPUS; other++) /* a thread plays one CPU at a time */
        if (other != cpu && host_cpus[other].present &&
            pthread_equal(host_cpus[other].thread, pthread_self()))
            __atomic_store_n(&host_cpus[other].present, false, __ATOMIC_RELEASE);
    host_cpus[cpu].thread = pthread_self();
    __atomic_store_n(&host_cpus[cpu].done, __atomic_load_n(&host_cpus[cpu].asked, __ATOMIC_ACQUIRE),
                     __ATOMIC_RELEASE);
    __atomic_store_n(&host_cpus[cpu].present, true, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&host_cpus_lock);
    pthread_setspecific(host_cpu_key, (void *)(uintptr_t)(cpu + 1));
}

void platform_malloc_reclaim(void)
{
    unsigned me = current_cpu;
    uint64_t wanted[HOST_MAX_CPUS] = {0};
    pthread_t threads[HOST_MAX_CPUS];
    km_flush_cpu();
    unsigned waiting = 0;
    pthread_mutex_lock(&host_cpus_lock);
    for (unsigned cpu = 0; cpu < HOST_MAX_CPUS; cpu++) {
        if (cpu == me || !__atomic_load_n(&host_cpus[cpu].present, __ATOMIC_ACQUIRE))
            continue;
        if (pthread_equal(host_cpus[cpu].thread, pthread_self()))
            continue;
        wanted[cpu] = __atomic_add_fetch(&host_cpus[cpu].asked, 1, __ATOMIC_ACQ_REL);
        threads[cpu] = host_cpus[cpu].thread;
        pthread_kill(threads[cpu], HOST_RECLAIM_SIGNAL);
        waiting++;
    }
    pthread_mutex_unlock(&host_cpus_lock);
    uint64_t start = platform_time_us(), last_send = start;
    while (waiting > 0 && platform_time_us() - start < HOST_RECLAIM_WAIT_US) {
        if (me < HOST_MAX_CPUS && __atomic_load_n(&host_cpus[me].asked, __ATOMIC_ACQUIRE) !=
                                      __atomic_load_n(&host_cpus[me].done, __ATOMIC_ACQUIRE))
            answer_reclaim(); /* another CPU out of memory asks us while we wait */
        bool resend = platform_time_us() - last_send > 1000;
        waiting = 0;
        for (unsigned cpu = 0; cpu < HOST_MAX_CPUS; cpu++) {
            if (!wanted[cpu] ||
                __atomic_load_n(&host_cpus[cpu].done, __ATOMIC_ACQUIRE) >= wanted[cpu] ||
                !__atomic_load_n(&host_cpus[cpu].present, __ATOMIC_ACQUIRE))
                continue;
            waiting++;
            if (resend) /* it was in the fast path: ask again (a thread that */
                pthread_kill(threads[cpu], HOST_RECLAIM_SIGNAL); /* ended: ESRCH) */
        }
        if (resend)
            last_send = platform_time_us();
        sched_yield();
    }
}

bool platform_in_interrupt(void)
{
    return in_interrupt;
}

void host_interrupt_enter(void)
{
    in_interrupt = true;
}

void host_interrupt_leave(void)
{
    in_interrupt = false;
}
