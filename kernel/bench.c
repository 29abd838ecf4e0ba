/*
 * bench.c: `bench [OPS]`: malloc and page-cache throughput on 1, 2 and 4
 * CPUs at once (as many of those as are online). Each CPU keeps a small
 * window of live objects and replaces a random one at each step: a free and
 * an allocation, two operations. The figure is operations per second of TSC
 * time (delay.c calibrates it against the PIT), all CPUs together.
 *
 * Under QEMU's TCG these are emulated-CPU figures: compare them with each
 * other (1 CPU against 4, this commit against the last), not with a real
 * machine. tools/bench/run.sh runs this at -smp 4 for docs/performance.md.
 */
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/delay.h"
#include "kernel/memlayout.h"
#include "kernel/memory.h"
#include "kernel/shell.h"
#include "kernel/smp.h"
#include "lib/alloc.h"
#include "lib/args.h"
#include "lib/random.h"
#include "mm/malloc.h"

#define BENCH_WINDOW 64
#define BENCH_DEFAULT_OPS 200000

enum bench_kind { BENCH_MALLOC, BENCH_PAGES };

struct bench_job {
    enum bench_kind kind;
    unsigned cpus;
    uint64_t steps; /* per CPU; each is a free and an allocation */
    volatile unsigned ready, done;
    volatile bool go;
    volatile uint64_t failures;
};

static struct bench_job job;

static void *take(enum bench_kind kind, uint64_t roll)
{
    if (kind == BENCH_MALLOC)
        return malloc(16 + roll % 241); /* 16-256 bytes */
    uint64_t phys = memory_alloc_pages(0, BUDDY_ANY);
    return phys ? phys_to_virt(phys) : NULL;
}

static void give_back(enum bench_kind kind, void *object)
{
    if (!object)
        return;
    if (kind == BENCH_MALLOC)
        free(object);
    else
        memory_free_pages(virt_to_phys_direct(object), 0);
}

static void bench_worker(void *unused)
{
    (void)unused;
    void *window[BENCH_WINDOW];
    uint64_t state = 12345 + this_cpu_index();
    for (unsigned i = 0; i < BENCH_WINDOW; i++)
        window[i] = take(job.kind, random_next(&state));
    __atomic_fetch_add(&job.ready, 1, __ATOMIC_ACQ_REL);
    while (!__atomic_load_n(&job.go, __ATOMIC_ACQUIRE))
        cpu_relax();
    uint64_t failures = 0;
    for (uint64_t step = 0; step < job.steps; step++) {
        uint64_t roll = random_next(&state);
        unsigned slot = (unsigned)(roll % BENCH_WINDOW);
        give_back(job.kind, window[slot]);
        window[slot] = take(job.kind, roll >> 8);
        failures += window[slot] == NULL;
    }
    __atomic_fetch_add(&job.done, 1, __ATOMIC_ACQ_REL);
    for (unsigned i = 0; i < BENCH_WINDOW; i++)
        give_back(job.kind, window[i]);
    __atomic_fetch_add(&job.failures, failures, __ATOMIC_RELAXED);
}

/* Operations per second, all CPUs together (this one and online[0 .. cpus - 2]);
 * 0 with a message if one of them would not take the work. */
static uint64_t run_bench(enum bench_kind kind, unsigned cpus, const unsigned *online,
                          uint64_t steps)
{
    job = (struct bench_job){.kind = kind, .cpus = cpus, .steps = steps};
    for (unsigned i = 0; i + 1 < cpus; i++) {
        if (!smp_post(online[i], bench_worker, NULL)) { /* busy: let the posted ones go home */
            kprintf("bench: CPU %u did not take the work (its mailbox is busy)\n", online[i]);
            job.steps = 0;
            __atomic_store_n(&job.go, true, __ATOMIC_RELEASE);
            for (unsigned j = 0; j < i; j++)
                smp_wait(online[j]);
            return 0;
        }
    }
    /* CPU 0 fills its window here, then waits for the others before the start. */
    void *window[BENCH_WINDOW];
    uint64_t state = 12345;
    for (unsigned i = 0; i < BENCH_WINDOW; i++)
        window[i] = take(kind, random_next(&state));
    while (__atomic_load_n(&job.ready, __ATOMIC_ACQUIRE) < cpus - 1)
        cpu_relax();
    uint64_t start = read_tsc();
    __atomic_store_n(&job.go, true, __ATOMIC_RELEASE);
    for (uint64_t step = 0; step < steps; step++) {
        uint64_t roll = random_next(&state);
        unsigned slot = (unsigned)(roll % BENCH_WINDOW);
        give_back(kind, window[slot]);
        window[slot] = take(kind, roll >> 8);
        if (!window[slot])
            __atomic_fetch_add(&job.failures, 1, __ATOMIC_RELAXED);
    }
    while (__atomic_load_n(&job.done, __ATOMIC_ACQUIRE) < cpus - 1)
        cpu_relax();
    uint64_t elapsed_us = delay_us_since(start);
    for (unsigned i = 0; i < BENCH_WINDOW; i++)
        give_back(kind, window[i]);
    for (unsigned i = 0; i + 1 < cpus; i++)
        smp_wait(online[i]);
    uint64_t operations = 2 * steps * cpus;
    return elapsed_us ? operations * 1000000 / elapsed_us : 0;
}

static int command_bench(int argc, char **argv)
{
    uint64_t steps = BENCH_DEFAULT_OPS;
    if (argc == 2 && (!args_parse_u64(argv[1], &steps) || steps == 0)) {
        kprintf("bench: STEPS per CPU is a number above 0 (default %u; a step is a free and an "
                "allocation)\n",
                BENCH_DEFAULT_OPS);
        return SHELL_USAGE;
    }
    if (this_cpu_index() != 0) {
        kprintf("bench: run it from CPU 0\n");
        return 1;
    }
    static const unsigned cpu_counts[] = {1, 2, 4};
    static const char *const names[] = {"malloc", "page-cache"};
    /* The CPUs that take part: this one and the online others, by index (a CPU
     * that did not start is skipped, not counted as a CPU doing nothing). */
    unsigned online[3], online_count = 0;
    for (unsigned i = 1; i < smp_cpu_count() && online_count < 3; i++)
        if (smp_cpu(i)->state == CPU_ONLINE)
            online[online_count++] = i;
    kprintf("bench: %lu steps per CPU (free + allocate one of a window of %u), emulated CPUs\n",
            steps, BENCH_WINDOW);
    for (unsigned kind = BENCH_MALLOC; kind <= BENCH_PAGES; kind++) {
        for (unsigned i = 0; i < 3; i++) {
            unsigned cpus = cpu_counts[i];
            if (cpus > online_count + 1) {
                kprintf("bench %s: %u CPUs: skipped (%u online)\n", names[kind], cpus,
                        online_count + 1);
                break;
            }
            uint64_t rate = run_bench((enum bench_kind)kind, cpus, online, steps);
            if (rate == 0)
                continue;
            kprintf("bench %s: %u CPU%s: %lu.%02lu M ops/s (%lu.%02lu per CPU)%s\n", names[kind],
                    cpus, cpus == 1 ? "" : "s", rate / 1000000, rate / 10000 % 100,
                    rate / cpus / 1000000, rate / cpus / 10000 % 100,
                    job.failures ? " (some allocations failed)" : "");
        }
    }
    return 0;
}

SHELL_COMMAND(bench, "bench [STEPS]", "malloc and page-cache throughput on 1, 2 and 4 CPUs",
              command_bench);
