/*
 * malloc_commands.c: the `malloc` shell command and its subcommands, for
 * looking inside the allocator (mm/malloc.c) while it runs. The boot options
 * malloc.debug, malloc.track and malloc.poison are in kernel/heap.c.
 */
#include <stddef.h>
#include <stdint.h>

#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/ksyms.h"
#include "kernel/memory.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "kernel/shell.h"
#include "lib/args.h"
#include "lib/platform.h"
#include "lib/string.h"
#include "mm/malloc.h"
#include "mm/size_class.h"

#include "lib/alloc.h"
#include "lib/random.h"

/* km_stats (2.7 KiB) into a page of the page allocator's, taken for the
 * command that asks (not on the 16 KiB stack, not in .bss for the whole
 * run); NULL, said, when there is no page. */
static struct km_stats *stats_take(const char *who)
{
    struct km_stats *stats = memory_scratch_alloc(sizeof(*stats));
    if (stats)
        km_stats(stats);
    else
        kprintf("%s: no free page for the statistics\n", who);
    return stats;
}

static void stats_give_back(struct km_stats *stats)
{
    memory_scratch_free(stats, sizeof(*stats));
}

/* What the workload and the storm compare before and after. */
struct page_counts {
    uint64_t medium_slab_pages; /* slabs of objects above 1 KiB */
    uint64_t object_pages;      /* slabs and large runs */
    uint64_t metadata_pages;
};

static bool count_pages(const char *who, struct page_counts *out)
{
    struct km_stats *stats = stats_take(who);
    if (!stats)
        return false;
    out->medium_slab_pages = 0;
    for (unsigned i = 0; i < SIZE_CLASS_COUNT; i++)
        if (size_classes[i].object_bytes > 1024)
            out->medium_slab_pages += stats->classes[i].slab_pages;
    out->object_pages = stats->slab_pages + stats->large_pages;
    out->metadata_pages = stats->metadata_pages;
    stats_give_back(stats);
    return true;
}

/* A percentage with two decimals, from a fraction. */
static void print_percent(uint64_t part, uint64_t whole)
{
    uint64_t basis_points = whole ? part * 10000 / whole : 0;
    kprintf("%lu.%02lu%%", basis_points / 100, basis_points % 100);
}

static int malloc_classes(void)
{
    kprintf("class  object  align  slab pages  objects  tail waste  worst waste\n");
    for (unsigned i = 0; i < SIZE_CLASS_COUNT; i++) {
        const struct size_class *cls = &size_classes[i];
        kprintf("%5u  %6u  %5u  %10u  %7u  %8u B  %6u.%02u%%\n", i, cls->object_bytes,
                cls->align_bytes, cls->slab_pages, cls->objects, cls->tail_waste_bytes,
                cls->worst_waste_bp / 100u, cls->worst_waste_bp % 100u);
    }
    kprintf("worst waste: the most a request that lands in the class can waste, as a share\n"
            "of the object (the smallest such request: one byte above the class below).\n"
            "Objects are at least 16-byte aligned (as C requires of malloc), so requests of\n"
            "17-64 bytes cannot stay under 20%%: 17 in a 32-byte object wastes 47%%.\n");
    return 0;
}

static int malloc_stats(void)
{
    struct km_stats *stats = stats_take("malloc stats");
    if (!stats)
        return 1;
    kprintf("class object   live objs  in magazines  slab pages  live bytes  requested(tracked)  "
            "cumulative requested / object bytes\n");
    for (unsigned i = 0; i < SIZE_CLASS_COUNT; i++) {
        const struct km_class_stats *row = &stats->classes[i];
        if (row->allocations == 0 && row->slab_pages == 0)
            continue;
        kprintf("%5u %6u %11lu %13lu %11lu %11lu %19lu  ", i, row->object_bytes, row->live_objects,
                row->in_magazines, row->slab_pages, row->live_object_bytes,
                row->live_requested_bytes);
        if (stats->per_call_counts) {
            kprintf("%lu / %lu (", row->requested_bytes_total, row->object_bytes_total);
            print_percent(row->requested_bytes_total, row->object_bytes_total);
            kprintf(")\n");
        } else {
            kprintf("-\n");
        }
    }
    if (!stats->per_call_counts)
        kprintf("cumulative figures: not counted (the fast path counts nothing: boot with "
                "malloc.debug or malloc.track)\n");
    kprintf("large (whole pages): %lu live, %lu pages\n", stats->large_live, stats->large_pages);
    kprintf("pages held: %lu (%lu KiB): slabs %lu, large %lu, metadata %lu\n", stats->pages_held,
            stats->pages_held * 4, stats->slab_pages, stats->large_pages, stats->metadata_pages);
    kprintf("live object bytes %lu = ", stats->live_object_bytes);
    print_percent(stats->live_object_bytes, stats->pages_held * 4096);
    kprintf(" of the pages held\n");
    stats_give_back(stats);
    return 0;
}

static int malloc_top(void)
{
    struct km_site_stats *sites = memory_scratch_alloc(16 * sizeof(*sites));
    if (!sites) {
        kprintf("malloc top: no free page for the table\n");
        return 1;
    }
    size_t count = km_track_sites(sites, 16);
    if (count == 0) {
        kprintf("malloc top: nothing tracked; boot with malloc.track to record call sites\n");
        memory_scratch_free(sites, 16 * sizeof(*sites));
        return 1;
    }
    kprintf("live bytes  live objs  allocations  call site\n");
    for (size_t i = 0; i < count && i < 16; i++) {
        char where[96];
        if (sites[i].caller)
            ksyms_format_address((uint64_t)sites[i].caller, where, sizeof(where));
        else
            strlcpy(where, "(other sites)", sizeof(where));
        kprintf("%10lu %10lu %12lu  %s\n", sites[i].live_requested_bytes, sites[i].live_objects,
                sites[i].allocations, where);
    }
    memory_scratch_free(sites, 16 * sizeof(*sites));
    return 0;
}

#define WORKLOAD_SMALL 5000
#define WORKLOAD_MEDIUM 300

/* Acceptance point 3 of the malloc issue: 5000 live objects of 1-1024 bytes
 * and 300 of 1025-4096, all live at once; how much of the pages malloc holds
 * is what was asked for. */
#define OBJECTS_BYTES ((WORKLOAD_SMALL + WORKLOAD_MEDIUM) * sizeof(void *))

__attribute__((noinline)) static int malloc_workload(void)
{
    void **objects = memory_scratch_alloc(OBJECTS_BYTES);
    if (!objects) {
        kprintf("malloc workload: no memory for the list of objects\n");
        return 1;
    }
    km_flush_cpu();
    size_t pages_before = km_pages_held();
    struct page_counts before, after;
    if (!count_pages("malloc workload", &before)) {
        memory_scratch_free(objects, OBJECTS_BYTES);
        return 1;
    }
    uint64_t state = 0x2545F4914F6CDD1Dull, requested = 0, requested_medium = 0;
    for (unsigned i = 0; i < WORKLOAD_SMALL + WORKLOAD_MEDIUM; i++) {
        size_t size =
            i < WORKLOAD_SMALL ? 1 + random_next(&state) % 1024 : 1025 + random_next(&state) % 3072;
        objects[i] = malloc(size);
        if (!objects[i]) {
            kprintf("malloc workload: out of memory after %u objects\n", i);
            for (unsigned j = 0; j < i; j++)
                free(objects[j]);
            memory_scratch_free(objects, OBJECTS_BYTES);
            return 1;
        }
        memset(objects[i], 0xA5, size);
        requested += size;
        if (i >= WORKLOAD_SMALL)
            requested_medium += size;
    }
    malloc_stats();
    bool counted = count_pages("malloc workload", &after);
    uint64_t held = (km_pages_held() - pages_before) * 4096;
    uint64_t held_medium = (after.medium_slab_pages - before.medium_slab_pages) * 4096;
    for (unsigned i = 0; i < WORKLOAD_SMALL + WORKLOAD_MEDIUM; i++)
        free(objects[i]);
    memory_scratch_free(objects, OBJECTS_BYTES);
    if (!counted)
        return 1;
    kprintf("requested %lu bytes (%lu of them in 1025-4096 B objects); pages held for them: "
            "%lu bytes (%lu for 1025-4096 B)\n",
            requested, requested_medium, held, held_medium);
    kprintf("efficiency: ");
    print_percent(requested, held);
    kprintf(" overall, ");
    print_percent(requested_medium, held_medium);
    kprintf(" for 1025-4096 B\n");
    return 0;
}

#define STORM_LIVE 1024

/* Random malloc/free of 1 B to 64 KiB with mixed alignments, every object
 * stamped and checked; then everything freed: the free pages come back. */
__attribute__((noinline)) static int malloc_storm(uint64_t operations)
{
    struct storm_object {
        uint8_t *object;
        size_t size;
    } *live = memory_scratch_alloc(STORM_LIVE * sizeof(*live));
    if (!live) {
        kprintf("malloc storm: no memory for the list of live objects\n");
        return 1;
    }
    km_flush_cpu();
    struct page_counts before, after; /* before: the objects live already */
    if (!count_pages("malloc storm", &before)) {
        memory_scratch_free(live, STORM_LIVE * sizeof(*live));
        return 1;
    }
    uint64_t object_pages_before = before.object_pages;
    uint64_t state = 0x9E3779B97F4A7C15ull, refused = 0, broken = 0;
    unsigned count = 0;
    for (uint64_t op = 0; op < operations; op++) {
        uint64_t roll = random_next(&state);
        if (count > 0 && (count == STORM_LIVE || roll % 2 == 0)) {
            unsigned victim = (unsigned)(roll >> 8) % count;
            uint8_t *object = live[victim].object;
            size_t size = live[victim].size;
            /* the first byte holds the size, the last (when not the same byte) size/8 */
            broken += object[0] != (uint8_t)size ||
                      (size > 1 && object[size - 1] != (uint8_t)(size >> 3));
            free(object);
            live[victim] = live[--count];
            continue;
        }
        size_t size = (roll >> 16) % 8 == 0 ? 1 + (roll >> 24) % 65536 : 1 + (roll >> 24) % 2048;
        size_t align = (size_t)1 << ((roll >> 40) % 13); /* 1 .. 4096 */
        uint8_t *object = (roll >> 44) % 4 == 0 ? aligned_alloc(align, size) : malloc(size);
        if (!object) {
            refused++;
            continue;
        }
        if ((roll >> 44) % 4 == 0 && ((uintptr_t)object & (align - 1)))
            broken++;
        object[size - 1] = (uint8_t)(size >> 3);
        object[0] = (uint8_t)size;
        live[count].object = object;
        live[count++].size = size;
    }
    while (count > 0) {
        count--;
        free(live[count].object);
    }
    memory_scratch_free(live, STORM_LIVE * sizeof(*live));
    km_flush_cpu();
    char error[160];
    bool consistent = km_check(error, sizeof(error));
    if (!count_pages("malloc storm", &after))
        return 1;
    uint64_t object_pages_after = after.object_pages;
    kprintf("malloc storm: %lu operations, %lu refused (out of memory), stamps or alignment "
            "broken: %lu; slab and large pages: %lu before, %lu after freeing all (%s); "
            "%lu metadata pages; check: %s\n",
            operations, refused, broken, object_pages_before, object_pages_after,
            object_pages_after == object_pages_before ? "the same" : "NOT the same",
            after.metadata_pages, consistent ? "ok" : error);
    return consistent && broken == 0 && object_pages_after == object_pages_before ? 0 : 1;
}

/* ---- leaks: what each call site holds now, against a mark ------------------ */

#define LEAK_SITES 64

/* The mark: a page of the page allocator's from the first mark on (kept
 * between commands, not in .bss from boot). */
static struct km_site_stats *marked;
static size_t marked_count;
static bool mark_taken;

static int malloc_leaks_mark(void)
{
    if (!marked)
        marked = memory_scratch_alloc(LEAK_SITES * sizeof(*marked));
    if (!marked) {
        kprintf("malloc leaks: no free page for the mark\n");
        return 1;
    }
    marked_count = km_track_sites(marked, LEAK_SITES);
    if (marked_count > LEAK_SITES)
        marked_count = LEAK_SITES;
    mark_taken = true;
    kprintf("malloc leaks: mark taken (%zu call sites hold memory now)\n", marked_count);
    return 0;
}

static const struct km_site_stats *marked_site(const void *caller)
{
    for (size_t i = 0; i < marked_count; i++)
        if (marked[i].caller == caller)
            return &marked[i];
    return NULL;
}

static int malloc_leaks(void)
{
    if (!mark_taken) {
        kprintf("malloc leaks: no mark yet: run 'malloc leaks mark' first (and boot with "
                "malloc.track)\n");
        return 1;
    }
    struct km_site_stats *now = memory_scratch_alloc(LEAK_SITES * sizeof(*now));
    if (!now) {
        kprintf("malloc leaks: no free page for the table\n");
        return 1;
    }
    size_t count = km_track_sites(now, LEAK_SITES);
    unsigned shown = 0;
    kprintf("live since the mark:  objects      bytes  call site\n");
    for (size_t i = 0; i < count && i < LEAK_SITES; i++) {
        const struct km_site_stats *then = marked_site(now[i].caller);
        uint64_t objects_then = then ? then->live_objects : 0;
        uint64_t bytes_then = then ? then->live_requested_bytes : 0;
        if (now[i].live_objects <= objects_then)
            continue;
        char where[96];
        if (now[i].caller)
            ksyms_format_address((uint64_t)now[i].caller, where, sizeof(where));
        else
            strlcpy(where, "(other sites)", sizeof(where));
        kprintf("%29lu %10lu  %s\n", now[i].live_objects - objects_then,
                now[i].live_requested_bytes - bytes_then, where);
        shown++;
    }
    kprintf("malloc leaks: %u call site(s) hold more than at the mark\n", shown);
    memory_scratch_free(now, LEAK_SITES * sizeof(*now));
    return 0;
}

/* For labs: lose track of some objects on purpose, then find them. */
__attribute__((noinline)) static int malloc_leak_on_purpose(uint64_t count)
{
    for (uint64_t i = 0; i < count; i++)
        if (!malloc(48))
            return 1;
    kprintf("malloc leak: %lu objects of 48 bytes allocated and forgotten\n", count);
    return 0;
}

/* Runs fn on every online CPU, this one last; the count of those reached. */
static unsigned on_every_cpu(void (*fn)(void *), unsigned *missed)
{
    unsigned me = this_cpu_index(), reached = 1;
    for (unsigned i = 0; i < smp_cpu_count(); i++) {
        struct cpu *cpu = smp_cpu(i);
        if (i == me || !cpu || cpu->state != CPU_ONLINE)
            continue;
        if (smp_run_on(i, fn, NULL))
            reached++;
        else
            (*missed)++;
    }
    fn(NULL);
    return reached;
}

/* Every CPU's magazines back to the slabs (remote objects to their CPUs),
 * then every CPU's empty slabs and the page caches back to the buddy: what a
 * failing allocation does before it gives up, by hand. */
static int malloc_drain(void)
{
    size_t held = km_pages_held();
    uint64_t free_before = memory_free_page_count();
    unsigned missed = 0;
    on_every_cpu(malloc_drain_job, &missed);
    unsigned reached = on_every_cpu(malloc_flush_job, &missed);
    memory_drain_page_caches();
    kprintf("malloc drain: %u CPU(s) flushed%s; malloc holds %lu pages (was %lu); free pages "
            "%lu (were %lu)\n",
            reached, missed ? " (some did not answer)" : "", (uint64_t)km_pages_held(),
            (uint64_t)held, memory_free_page_count(), free_before);
    return missed ? 1 : 0;
}

/* ---- two CPUs out of memory at once ----------------------------------------- */

/* This CPU and the next online one each allocate 4 KiB objects until malloc
 * says NULL (chained through their first bytes: no array needed), at the same
 * time, so that both reclaim at once (kernel/smp.c, smp_reclaim) and each
 * answers the other while it waits. Both must come back. Then everything is
 * freed, the magazines and caches drained, and the free page count must be
 * what it was. */
struct oom_side {
    void *chain;
    uint64_t objects;
};

static struct oom_side oom_sides[2];
static volatile bool oom_go;

static void oom_fill(struct oom_side *side)
{
    while (!oom_go)
        cpu_relax();
    for (;;) {
        void **object = malloc(4096);
        if (!object)
            break;
        *object = side->chain;
        side->chain = object;
        side->objects++;
    }
}

static void oom_other_cpu(void *unused)
{
    (void)unused;
    oom_fill(&oom_sides[1]);
}

static int malloc_oom(void)
{
    unsigned me = this_cpu_index(), other = me;
    for (unsigned i = 1; i < smp_cpu_count() && other == me; i++) {
        struct cpu *cpu = smp_cpu((me + i) % smp_cpu_count());
        if (cpu && cpu->state == CPU_ONLINE)
            other = (me + i) % smp_cpu_count();
    }
    unsigned missed = 0;
    on_every_cpu(malloc_drain_job, &missed);
    on_every_cpu(malloc_flush_job, &missed);
    memory_drain_page_caches();
    uint64_t free_before = memory_free_page_count();
    struct page_counts before, after; /* each takes a page and gives it back */
    if (!count_pages("malloc oom", &before))
        return 1;
    uint64_t metadata_before = before.metadata_pages;
    memset(oom_sides, 0, sizeof(oom_sides));
    oom_go = false;
    bool two = other != me && smp_post(other, oom_other_cpu, NULL);
    oom_go = true;
    oom_fill(&oom_sides[0]);
    if (two)
        smp_wait(other);
    kprintf("malloc oom: CPU %u got %lu objects of 4 KiB, then NULL", me, oom_sides[0].objects);
    if (two)
        kprintf("; CPU %u got %lu, then NULL; both came back", other, oom_sides[1].objects);
    else
        kprintf(" (no other CPU online: alone)");
    kprintf("\n");
    for (unsigned side = 0; side < 2; side++)
        while (oom_sides[side].chain) {
            void **object = oom_sides[side].chain;
            oom_sides[side].chain = *object;
            free(object);
        }
    on_every_cpu(malloc_drain_job, &missed);
    on_every_cpu(malloc_flush_job, &missed);
    memory_drain_page_caches();
    uint64_t free_after = memory_free_page_count();
    if (!count_pages("malloc oom", &after))
        return 1;
    /* Slab descriptor pages are kept for the next slabs (mm/malloc.c). */
    uint64_t metadata_growth = after.metadata_pages - metadata_before;
    bool same = free_after + metadata_growth == free_before;
    kprintf("malloc oom: free pages %lu before, %lu after freeing all + %lu kept by malloc as "
            "slab descriptors = %lu (%s)\n",
            free_before, free_after, metadata_growth, free_after + metadata_growth,
            same ? "the same" : "NOT the same");
    return same && oom_sides[0].objects > 0 && !missed ? 0 : 1;
}

/* The subcommands' entry points: most take no words (the shell checked). */
#define WITHOUT_WORDS(function)                                                                    \
    static int function##_command(int argc, char **argv)                                           \
    {                                                                                              \
        (void)argc, (void)argv;                                                                    \
        return function();                                                                         \
    }
WITHOUT_WORDS(malloc_classes)
WITHOUT_WORDS(malloc_stats)
WITHOUT_WORDS(malloc_top)
WITHOUT_WORDS(malloc_workload)
WITHOUT_WORDS(malloc_drain)
WITHOUT_WORDS(malloc_oom)

static int malloc_storm_command(int argc, char **argv)
{
    uint64_t operations = 100000;
    if (argc == 2 && !args_parse_u64(argv[1], &operations))
        return SHELL_USAGE;
    return malloc_storm(operations);
}

static int malloc_leaks_command(int argc, char **argv)
{
    if (argc == 1)
        return malloc_leaks();
    if (strcmp(argv[1], "mark") != 0)
        return SHELL_USAGE;
    return malloc_leaks_mark();
}

static int malloc_leak_command(int argc, char **argv)
{
    (void)argc;
    uint64_t count;
    if (!args_parse_u64(argv[1], &count))
        return SHELL_USAGE;
    return malloc_leak_on_purpose(count);
}

/* ---- one object on demand: lessons and GDB (docs/gdb.md) -------------------- */

#define HANDED_OUT_MAX 64

/* The objects `malloc alloc` handed out and `malloc free` has not taken back.
 * `malloc free` takes only these, so that a mistyped address is an error
 * message, not a panic in free. Any CPU may use them (`on 1 malloc free
 * ADDR`), so the table is under a lock (never held across malloc or free). */
static struct platform_lock handed_out_lock = PLATFORM_LOCK_INIT;
static void *handed_out[HANDED_OUT_MAX];

/* Puts object in a free slot of the table: false if there is none. */
static bool hand_out(void *object)
{
    bool stored = false;
    platform_lock_acquire(&handed_out_lock);
    for (unsigned i = 0; i < HANDED_OUT_MAX && !stored; i++)
        if (!handed_out[i]) {
            handed_out[i] = object;
            stored = true;
        }
    platform_lock_release(&handed_out_lock);
    return stored;
}

/* Takes object out of the table: false if it is not there. */
static bool take_back(void *object)
{
    bool found = false;
    platform_lock_acquire(&handed_out_lock);
    for (unsigned i = 0; i < HANDED_OUT_MAX && !found; i++)
        if (handed_out[i] == object) {
            handed_out[i] = NULL;
            found = true;
        }
    platform_lock_release(&handed_out_lock);
    return found;
}

static int malloc_alloc_command(int argc, char **argv)
{
    (void)argc;
    uint64_t size;
    if (!args_parse_u64(argv[1], &size))
        return SHELL_USAGE;
    void *object = malloc(size);
    if (!object) {
        kprintf("malloc alloc: no memory for %lu bytes\n", size);
        return 1;
    }
    if (!hand_out(object)) {
        free(object);
        kprintf("malloc alloc: %u objects are out already; give some back with `malloc free "
                "ADDR`\n",
                HANDED_OUT_MAX);
        return 1;
    }
    unsigned cls = size_class_of(size);
    kprintf("malloc alloc: %p (%lu bytes asked, %zu usable", object, size,
            km_malloc_usable_size(object));
    if (cls != SIZE_CLASS_NONE)
        kprintf(", class %u of %u-byte objects", cls, size_classes[cls].object_bytes);
    kprintf(") on CPU %u\n", this_cpu_index());
    return 0;
}

static int malloc_free_command(int argc, char **argv)
{
    (void)argc;
    uint64_t address;
    if (!args_parse_u64(argv[1], &address))
        return SHELL_USAGE;
    void *object = (void *)address;
    if (!take_back(object)) {
        kprintf("malloc free: %p is not an object that `malloc alloc` handed out (or it was "
                "freed already)\n",
                object);
        return 1;
    }
    free(object);
    kprintf("malloc free: %p freed on CPU %u\n", object, this_cpu_index());
    return 0;
}

static int malloc_check_command(int argc, char **argv)
{
    (void)argc, (void)argv;
    char error[160];
    bool ok = km_check(error, sizeof(error));
    kprintf("malloc check: %s%s\n", ok ? "ok" : "FAILED: ", ok ? "" : error);
    return ok ? 0 : 1;
}

static const struct shell_subcommand malloc_subcommands[] = {
    {"classes", "classes", "the size classes: slabs, objects, waste", malloc_classes_command},
    {"stats", "stats", "live objects and pages per class, what the magazines hold",
     malloc_stats_command},
    {"top", "top", "live bytes per call site (malloc.track)", malloc_top_command},
    {"workload", "workload", "a mixed workload: requested / held bytes", malloc_workload_command},
    {"storm", "storm [N]", "N random mallocs and frees (default 100000), checked",
     malloc_storm_command},
    {"check", "check", "check every slab's invariants", malloc_check_command},
    {"drain", "drain", "every CPU's magazines and empty slabs back to the page allocator",
     malloc_drain_command},
    {"oom", "oom", "two CPUs run out of memory at once; both must come back", malloc_oom_command},
    {"leaks", "leaks [mark]", "objects allocated since the mark (malloc.track); mark: set it",
     malloc_leaks_command},
    {"leak", "leak N", "lose N objects on purpose (to see `malloc leaks` find them)",
     malloc_leak_command},
    {"alloc", "alloc SIZE", "allocate one object and print its address (for GDB and lessons)",
     malloc_alloc_command},
    {"free", "free ADDR",
     "free an object `malloc alloc` gave (`on CPU malloc free ADDR`: a remote "
     "free)",
     malloc_free_command},
};
SHELL_COMMAND_TABLE(malloc, "look inside the kernel's malloc", malloc_subcommands);
