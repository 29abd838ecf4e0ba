/*
 * stress.c: `stress [OPS]`: every online CPU at once allocates and frees
 * random sizes (malloc from 1 byte to 64 KiB, and single pages through the
 * page caches), writes a pattern into each object and checks it before the
 * object is freed, and hands about a third of what it frees to another CPU,
 * which frees it there: remote frees into the owner's slabs, pages freed into
 * another CPU's page cache.
 *
 * Every byte of every object is stamped with a pattern seeded by the object's
 * address and a generation count, and checked when it is freed, wherever.
 *
 * The end, in steps with a barrier between each, so that every object is
 * freed and every remote free is folded in before the books are read:
 *   1. each CPU finishes its operations and frees what it still holds;
 *   2. each CPU frees what the others handed it;
 *   3. pages across CPUs: each allocates twice its page cache's high
 *      watermark of pages (its cache must refill from the buddy) and hands
 *      them to the next CPU, which frees them (its cache must drain);
 *   4. each CPU empties its magazines (objects go back to their slabs, remote
 *      ones too), then, once all have, gives back its empty slabs (km_flush_cpu).
 *
 * What it checks, and fails on, with the reason: no pattern broken; every
 * online CPU took part (the result of every post); with two CPUs or more,
 * every CPU handed objects over and made remote frees; every page cache
 * refilled and drained; everything handed over was freed; malloc's and the
 * buddy's invariants; the free page count back where it was. With one CPU
 * the cross-CPU part cannot happen, and the last line says so.
 * `stress N --no-handoff` keeps every free local: with two CPUs or more it
 * must fail (the check that the cross-CPU checks can fail).
 * Then, on the CPU that ran the command: the page caches drained, malloc's
 * and the buddy's invariants checked, and the free page count compared with
 * the one before (malloc's descriptor pages, which it keeps, are counted).
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
#include "lib/format.h"
#include "lib/platform.h"
#include "lib/string.h"
#include "lib/random.h"
#include "mm/malloc.h"
#include "mm/page_cache.h"

#define STRESS_LIVE 128  /* objects a CPU holds at once */
#define STRESS_INBOX 256 /* objects waiting in a CPU's inbox */
#define STRESS_DEFAULT_OPS 20000
#define STRESS_PAGE_ROUNDS 2 /* pages across CPUs: this many times the high watermark */

struct stress_object {
    uint8_t *address;
    uint32_t size;
    uint64_t seed; /* from the address and a generation count */
    bool page;     /* a page from memory_alloc_pages, not malloc */
};

struct stress_inbox {
    struct platform_lock lock;
    unsigned count;
    struct stress_object objects[STRESS_INBOX];
};

struct stress_cpu {
    struct stress_inbox inbox;
    struct stress_object live[STRESS_LIVE];
    unsigned live_count;
    uint64_t seed;
    uint64_t operations, allocations, frees, handed, received, refused, broken;
    uint64_t remote_frees_before;
    uint64_t generation;
    struct page_cache_stats cache_before;
    uint64_t *page_box; /* pages handed to this CPU in step 3 */
    unsigned page_box_count;
    uint64_t pages_moved; /* pages this CPU allocated and handed on in step 3 */
};

struct stress_run {
    unsigned cpus;         /* CPU indexes 0 .. cpus - 1 have books */
    unsigned participants; /* the online ones, listed in online[] */
    unsigned *online;
    uint64_t operations;        /* per CPU */
    struct stress_cpu *per_cpu; /* [cpus] */
    bool handoff;               /* hand a third of the frees to other CPUs (--no-handoff: none) */
    volatile bool go;           /* the workers start when every post has been answered */
    unsigned page_box_capacity;
    volatile unsigned barrier[5];
};

static struct stress_run run;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

/* Every byte of the object: byte i is byte i % 8 of mix(seed + i / 8). */
static void stamp(const struct stress_object *object)
{
    for (uint32_t i = 0; i < object->size; i += 8) {
        uint64_t word = mix(object->seed + i / 8);
        uint32_t bytes = object->size - i < 8 ? object->size - i : 8;
        memcpy(object->address + i, &word, bytes);
    }
}

static bool intact(const struct stress_object *object)
{
    for (uint32_t i = 0; i < object->size; i += 8) {
        uint64_t word = mix(object->seed + i / 8);
        uint32_t bytes = object->size - i < 8 ? object->size - i : 8;
        if (memcmp(object->address + i, &word, bytes) != 0)
            return false;
    }
    return true;
}

static void release(struct stress_cpu *me, const struct stress_object *object)
{
    if (!intact(object)) {
        me->broken++;
        if (me->broken <= 3)
            kprintf("stress: cpu %u: the %u-byte object at %p lost its pattern\n", this_cpu_index(),
                    object->size, (void *)object->address);
    }
    if (object->page)
        memory_free_pages(virt_to_phys_direct(object->address), 0);
    else
        free(object->address);
    me->frees++;
}

static bool allocate(struct stress_cpu *me, uint64_t roll, struct stress_object *object)
{
    unsigned kind = (unsigned)(roll % 100);
    uint32_t size;
    object->page = kind < 3;
    if (object->page) {
        uint64_t phys = memory_alloc_pages(0, BUDDY_ANY);
        object->address = phys ? phys_to_virt(phys) : NULL;
        size = 4096;
    } else {
        if (kind < 70)
            size = 1 + (uint32_t)(roll >> 8) % 256;
        else if (kind < 95)
            size = 257 + (uint32_t)(roll >> 8) % (4096 - 256);
        else
            size = 4097 + (uint32_t)(roll >> 8) % (65536 - 4096);
        object->address = malloc(size);
    }
    if (!object->address) {
        me->refused++;
        return false;
    }
    object->size = size;
    object->seed = (uint64_t)object->address ^ (++me->generation << 48) ^ this_cpu_index();
    stamp(object);
    me->allocations++;
    return true;
}

/* Gives object to another CPU's inbox; false if that inbox is full. */
static bool hand_over(struct stress_cpu *me, unsigned to, const struct stress_object *object)
{
    struct stress_inbox *inbox = &run.per_cpu[to].inbox;
    platform_lock_acquire(&inbox->lock);
    bool room = inbox->count < STRESS_INBOX;
    if (room)
        inbox->objects[inbox->count++] = *object;
    platform_lock_release(&inbox->lock);
    me->handed += room;
    return room;
}

static void empty_inbox(struct stress_cpu *me)
{
    struct stress_object taken[STRESS_INBOX / 4];
    for (;;) {
        platform_lock_acquire(&me->inbox.lock);
        unsigned count = me->inbox.count < STRESS_INBOX / 4 ? me->inbox.count : STRESS_INBOX / 4;
        me->inbox.count -= count;
        memcpy(taken, &me->inbox.objects[me->inbox.count], count * sizeof(taken[0]));
        platform_lock_release(&me->inbox.lock);
        if (count == 0)
            return;
        for (unsigned i = 0; i < count; i++)
            release(me, &taken[i]);
        me->received += count;
    }
}

static void barrier(unsigned which)
{
    __atomic_fetch_add(&run.barrier[which], 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&run.barrier[which], __ATOMIC_ACQUIRE) < run.participants)
        cpu_relax();
}

/* Step 3: pages across CPUs, through the page caches. */
static void move_pages(struct stress_cpu *me, unsigned my_place)
{
    struct stress_cpu *next = &run.per_cpu[run.online[(my_place + 1) % run.participants]];
    struct page_cache_stats cache;
    memory_page_cache_stats(this_cpu_index(), &cache);
    uint64_t wanted = (uint64_t)STRESS_PAGE_ROUNDS * cache.high;
    for (uint64_t i = 0; i < wanted && next->page_box_count < run.page_box_capacity; i++) {
        uint64_t phys = memory_alloc_pages(0, BUDDY_ANY);
        if (!phys) {
            me->refused++;
            break;
        }
        *(uint64_t *)phys_to_virt(phys) = mix(phys);   /* checked by the CPU that frees it */
        next->page_box[next->page_box_count++] = phys; /* only this CPU writes next's box */
        me->pages_moved++;
    }
}

static void free_moved_pages(struct stress_cpu *me)
{
    for (unsigned i = 0; i < me->page_box_count; i++) {
        uint64_t phys = me->page_box[i];
        if (*(uint64_t *)phys_to_virt(phys) != mix(phys))
            me->broken++;
        memory_free_pages(phys, 0);
    }
    me->page_box_count = 0;
}

static void stress_worker(void *place_pointer)
{
    unsigned my_place = (unsigned)(uintptr_t)place_pointer;
    while (!__atomic_load_n(&run.go, __ATOMIC_ACQUIRE))
        cpu_relax();
    unsigned index = this_cpu_index();
    struct stress_cpu *me = &run.per_cpu[index];
    for (uint64_t op = 0; op < run.operations; op++) {
        uint64_t roll = random_next(&me->seed);
        me->operations++;
        if (me->live_count > 0 && (me->live_count == STRESS_LIVE || roll % 2 == 0)) {
            unsigned victim = (unsigned)(roll >> 8) % me->live_count;
            struct stress_object object = me->live[victim];
            me->live[victim] = me->live[--me->live_count];
            unsigned to = run.online[(roll >> 24) % run.participants];
            if (run.handoff && run.participants > 1 && (roll >> 32) % 3 == 0 && to != index &&
                hand_over(me, to, &object))
                continue;
            release(me, &object);
        } else if (allocate(me, roll, &me->live[me->live_count])) {
            me->live_count++;
        }
        if (op % 16 == 0)
            empty_inbox(me);
    }
    while (me->live_count > 0)
        release(me, &me->live[--me->live_count]);
    barrier(0); /* nobody hands anything over any more */
    empty_inbox(me);
    barrier(1); /* nobody frees any more */
    move_pages(me, my_place);
    barrier(2); /* every box filled */
    free_moved_pages(me);
    barrier(3);
    km_drain_magazines(); /* objects of other CPUs' slabs go back to them now... */
    barrier(4);
    km_flush_cpu(); /* ...so that each CPU finds them here, and gives back its empty slabs */
}

static int command_stress(int argc, char **argv)
{
    uint64_t operations = STRESS_DEFAULT_OPS;
    bool handoff = true, bad_usage = argc > 3;
    for (int i = 1; i < argc && !bad_usage; i++) {
        if (strcmp(argv[i], "--no-handoff") == 0)
            handoff = false;
        else if (!args_parse_u64(argv[i], &operations) || operations == 0)
            bad_usage = true;
    }
    if (bad_usage) {
        kprintf("stress: OPERATIONS per CPU is a number above 0 (default %u)\n",
                STRESS_DEFAULT_OPS);
        return SHELL_USAGE;
    }
    if (this_cpu_index() != 0) {
        kprintf("stress: run it from CPU 0\n");
        return 1;
    }
    unsigned cpus = smp_cpu_count();
    run = (struct stress_run){.cpus = cpus, .operations = operations, .handoff = handoff};
    run.per_cpu = calloc(cpus, sizeof(struct stress_cpu));
    run.online = calloc(cpus, sizeof(unsigned));
    struct page_cache_stats cache = {0};
    memory_page_cache_stats(0, &cache);
    run.page_box_capacity = STRESS_PAGE_ROUNDS * (cache.high + 1);
    bool boxes = run.per_cpu != NULL;
    for (unsigned i = 0; boxes && i < cpus; i++)
        boxes = (run.per_cpu[i].page_box = calloc(run.page_box_capacity, 8)) != NULL;
    if (!run.per_cpu || !run.online || !boxes) {
        for (unsigned i = 0; run.per_cpu && i < cpus; i++)
            free(run.per_cpu[i].page_box);
        free(run.per_cpu);
        free(run.online);
        kprintf("stress: FAILED: no memory for %u CPUs' books\n", cpus);
        return 1;
    }
    for (unsigned i = 0; i < cpus; i++) {
        if (smp_cpu(i)->state == CPU_ONLINE)
            run.online[run.participants++] = i;
        else
            kprintf("stress: CPU %u is not online: it takes no part\n", i);
    }
    for (unsigned i = 0; i < cpus; i++) {
        run.per_cpu[i].inbox.lock = (struct platform_lock)PLATFORM_LOCK_INIT;
        run.per_cpu[i].seed = 0x9E3779B97F4A7C15ull * (i + 1);
        struct km_cpu_usage usage;
        km_cpu_usage(i, &usage);
        run.per_cpu[i].remote_frees_before = usage.remote_frees;
        memory_page_cache_stats(i, &run.per_cpu[i].cache_before);
    }
    /* The baseline: every CPU's magazines emptied (remote objects go back to
     * their slabs' CPUs), then every CPU's empty slabs and every cached page
     * given back. */
    for (unsigned i = 1; i < run.participants; i++)
        smp_run_on(run.online[i], malloc_drain_job, NULL);
    km_drain_magazines();
    for (unsigned i = 1; i < run.participants; i++)
        smp_run_on(run.online[i], malloc_flush_job, NULL);
    km_flush_cpu();
    memory_drain_page_caches();
    struct km_stats stats;
    km_stats(&stats);
    uint64_t free_before = memory_free_page_count();
    uint64_t metadata_before = stats.metadata_pages;

    /* Every post must be taken: a CPU that refuses is left out, by name, and
     * the run fails at the end (the workers only start once this is settled). */
    unsigned refused_posts = 0, posted = 1; /* online[0] is this CPU, index 0 */
    for (unsigned i = 1; i < run.participants; i++) {
        if (smp_post(run.online[i], stress_worker, (void *)(uintptr_t)posted))
            run.online[posted++] = run.online[i];
        else {
            kprintf("stress: CPU %u did not take the work (its mailbox is busy)\n", run.online[i]);
            refused_posts++;
        }
    }
    run.participants = posted;
    kprintf("stress: %u CPU%s, %lu operations each (malloc 1 B-64 KiB and pages, every byte "
            "checked; %s; then %u x the high watermark of pages to the next CPU)\n",
            run.participants, run.participants == 1 ? "" : "s", operations,
            handoff ? "a third of the frees handed to another CPU" : "no frees handed over",
            STRESS_PAGE_ROUNDS);
    uint64_t started = read_tsc();
    __atomic_store_n(&run.go, true, __ATOMIC_RELEASE);
    stress_worker((void *)(uintptr_t)0);
    for (unsigned i = 1; i < run.participants; i++)
        smp_wait(run.online[i]);
    uint64_t elapsed_us = delay_us_since(started);

    memory_drain_page_caches();
    km_stats(&stats);
    uint64_t free_after = memory_free_page_count();
    uint64_t metadata_growth = stats.metadata_pages - metadata_before;
    char malloc_error[160] = "", buddy_error[160] = "";
    bool malloc_ok = km_check(malloc_error, sizeof(malloc_error));
    bool buddy_ok = memory_buddy_check(buddy_error, sizeof(buddy_error), NULL);

    kprintf("cpu  operations  allocations  handed-over  received  remote-frees  pages-moved  "
            "cache-refills  cache-drains  broken  refused\n");
    uint64_t broken = 0, handed = 0, received = 0;
    char why[160] = "";
    for (unsigned place = 0; place < run.participants; place++) {
        unsigned i = run.online[place];
        const struct stress_cpu *cpu = &run.per_cpu[i];
        struct km_cpu_usage usage;
        km_cpu_usage(i, &usage);
        struct page_cache_stats cache_after = {0};
        memory_page_cache_stats(i, &cache_after);
        uint64_t remote = usage.remote_frees - cpu->remote_frees_before;
        uint64_t refills = cache_after.refills - cpu->cache_before.refills;
        uint64_t drains = cache_after.drains - cpu->cache_before.drains;
        kprintf("%3u  %10lu  %11lu  %11lu  %8lu  %12lu  %11lu  %13lu  %12lu  %6lu  %7lu\n", i,
                cpu->operations, cpu->allocations, cpu->handed, cpu->received, remote,
                cpu->pages_moved, refills, drains, cpu->broken, cpu->refused);
        broken += cpu->broken;
        handed += cpu->handed;
        received += cpu->received;
        if (why[0])
            continue;
        if (cpu->operations != operations)
            ksnprintf(why, sizeof(why), "CPU %u did %lu operations of %lu", i, cpu->operations,
                      operations);
        else if (run.participants > 1 && (cpu->handed == 0 || remote == 0))
            ksnprintf(why, sizeof(why),
                      "cross-CPU frees did not happen: CPU %u handed over %lu "
                      "objects and made %lu remote frees",
                      i, cpu->handed, remote);
        else if (refills == 0 || drains == 0)
            ksnprintf(why, sizeof(why),
                      "CPU %u's page cache refilled %lu and drained %lu times "
                      "(both must happen)",
                      i, refills, drains);
    }
    kprintf("stress: %lu ms; free pages %lu before, %lu after + %lu kept by malloc as slab "
            "descriptors = %lu; malloc check: %s; buddy check: %s\n",
            elapsed_us / 1000, free_before, free_after, metadata_growth,
            free_after + metadata_growth, malloc_ok ? "ok" : malloc_error,
            buddy_ok ? "ok" : buddy_error);
    for (unsigned i = 0; i < cpus; i++)
        free(run.per_cpu[i].page_box);
    free(run.per_cpu);
    free(run.online);
    run.per_cpu = NULL;
    run.online = NULL;

    const char *failure = NULL;
    if (refused_posts)
        failure = "not every online CPU took part (a post was refused)";
    else if (why[0])
        failure = why;
    else if (broken)
        failure = "patterns broken";
    else if (handed != received)
        failure = "objects handed over were not all freed";
    else if (free_after + metadata_growth != free_before)
        failure = "the free page count did not come back";
    else if (!malloc_ok)
        failure = "malloc's invariants";
    else if (!buddy_ok)
        failure = "the buddy's invariants";
    if (failure) {
        kprintf("stress: FAILED: %s\n", failure);
        return 1;
    }
    if (run.participants == 1)
        kprintf("stress: passed (1 CPU: cross-CPU frees not tested)\n");
    else
        kprintf("stress: passed (%u CPUs: every one took part, handed objects over and made "
                "remote frees; every page cache refilled and drained)\n",
                run.participants);
    return 0;
}

SHELL_COMMAND(stress, "stress [OPERATIONS] [--no-handoff]",
              "all CPUs allocate, check and free at once, and free each other's objects",
              command_stress);
