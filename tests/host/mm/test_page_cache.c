/*
 * test_page_cache.c: the per-CPU page caches in front of the buddy
 * (mm/page_cache.c). Host threads play the CPUs (host_set_cpu per thread).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mm/page_cache.h"
#include "tests/host/lib/test_report.h"
#include "tests/host/platform_host.h"
#include "lib/random.h"

/* Cache heads for the tests with several CPUs (the kernel allocates its own). */
static struct page_cache test_caches[16];

#define ARRAY_SIZE(array) (sizeof(array) / sizeof((array)[0]))

/* ---- helpers ------------------------------------------------------------------ */

struct fixture {
    struct buddy buddy;
    void *metadata;
    struct page_cache_set set; /* cache-line aligned: fixtures are on the heap, aligned */
};

static struct fixture *make_fixture(const struct buddy_range *ram, size_t count)
{
    /* Zones and caches are aligned to cache lines: so must the fixture be. */
    size_t size = (sizeof(struct fixture) + 63) / 64 * 64;
    struct fixture *f = aligned_alloc(_Alignof(struct fixture), size);
    assert_non_null(f);
    memset(f, 0, size);
    size_t bytes = buddy_metadata_bytes(ram, count);
    f->metadata = aligned_alloc(16, (bytes + 15) / 16 * 16);
    assert_non_null(f->metadata);
    assert_int_equal(buddy_init(&f->buddy, ram, count, f->metadata, bytes), 0);
    for (size_t i = 0; i < count; i++)
        buddy_free_range(&f->buddy, ram[i].start_pfn, ram[i].end_pfn);
    return f;
}

static void free_fixture(struct fixture *f)
{
    free(f->metadata);
    free(f);
}

static uint64_t free_pages(const struct buddy *buddy)
{
    uint64_t total = 0;
    for (unsigned z = 0; z < ZONE_COUNT; z++)
        total += buddy_free_page_count(buddy, (enum zone_id)z);
    return total;
}

static uint64_t managed_pages(const struct buddy *buddy)
{
    uint64_t total = 0;
    for (unsigned z = 0; z < ZONE_COUNT; z++)
        total += buddy_managed_page_count(buddy, (enum zone_id)z);
    return total;
}

static uint64_t blocks_signature(const struct buddy *buddy)
{
    uint64_t signature = 0;
    for (unsigned z = 0; z < ZONE_COUNT; z++)
        for (unsigned order = 0; order <= BUDDY_MAX_ORDER; order++)
            signature = signature * 1000003 + buddy_free_blocks(buddy, (enum zone_id)z, order);
    return signature;
}

/* Every CPU's list, walked both ways, holds exactly count pages, each
 * PAGE_CACHED of order 0 and linked exactly once in all the lists together. */
static void assert_lists_sound(struct fixture *f)
{
    const struct buddy *buddy = &f->buddy;
    uint8_t *seen = calloc(buddy->page_count ? buddy->page_count : 1, 1);
    assert_non_null(seen);
    for (unsigned cpu = 0; cpu < f->set.cpu_count; cpu++) {
        const struct page_cache *cache = &f->set.caches[cpu];
        assert_int_equal(cache->first == PAGE_INDEX_NONE, cache->count == 0);
        assert_int_equal(cache->last == PAGE_INDEX_NONE, cache->count == 0);
        unsigned walked = 0;
        uint32_t previous = PAGE_INDEX_NONE;
        for (uint32_t index = cache->first; index != PAGE_INDEX_NONE;
             index = buddy->pages[index].next) {
            if (index >= buddy->page_count || walked >= cache->count)
                fail_msg("cpu %u: list longer than its count %u (or a cycle)", cpu, cache->count);
            const struct page *page = &buddy->pages[index];
            if (seen[index])
                fail_msg("cpu %u: page index %u linked twice", cpu, index);
            seen[index] = 1;
            assert_int_equal(page->state, PAGE_CACHED);
            assert_int_equal(page->order, 0);
            assert_int_equal(page->prev, previous);
            previous = index;
            walked++;
        }
        assert_int_equal(walked, cache->count);
        assert_int_equal(previous, cache->last);
    }
    free(seen);
}

/* buddy_check passes, the lists are sound, and the census agrees with the
 * caches and the counters. */
static void assert_consistent(struct fixture *f)
{
    struct buddy_census census;
    char error[256];
    if (!buddy_check_census(&f->buddy, &census, error, sizeof(error)))
        fail_msg("buddy_check: %s", error);
    uint64_t cached = 0, free_total = 0, allocated = 0;
    for (unsigned z = 0; z < ZONE_COUNT; z++) {
        cached += census.cached_pages[z];
        free_total += census.free_pages[z];
        allocated += census.allocated_pages[z];
    }
    assert_int_equal(cached, page_cache_total_pages(&f->set)); /* no CACHED page outside a list */
    assert_lists_sound(f);
    assert_int_equal(free_total, free_pages(&f->buddy));
    assert_int_equal(free_total + cached + allocated, managed_pages(&f->buddy));
}

static struct page_cache_stats stats_of(const struct page_cache_set *set, unsigned cpu)
{
    struct page_cache_stats stats;
    page_cache_get_stats(set, cpu, &stats);
    return stats;
}

static const struct buddy_range pc_3m[] = {{1, 0x9f}, {0x100, 0x2e0}}; /* 638 pages */
static const struct buddy_range pc_128m[] = {{0x100, 0x8100}};         /* 32768 pages */

/* ---- memory ------------------------------------------------------------------- */

static void the_set_costs_a_cache_line_per_cpu_not_its_pages(void **state)
{
    (void)state;
    /* The pages are linked through their own struct page: a cache's size does
     * not depend on what it may hold. */
    assert_int_equal(sizeof(struct page_cache), 64);
    /* The set holds one head (the boot CPU's); the others are made for the
     * CPUs found. */
    assert_true(sizeof(struct page_cache_set) <= 2 * 64 + 64);
    print_message("sizeof(struct page_cache_set) = %zu bytes, %zu per CPU\n",
                  sizeof(struct page_cache_set), sizeof(struct page_cache));
}

/* ---- watermarks ----------------------------------------------------------------- */

static void watermarks_for_a_3m_machine_keep_a_few_pages(void **state)
{
    (void)state;
    static struct page_cache_set set;
    page_cache_init(&set, NULL, 1, 650, NULL);
    struct page_cache_stats stats = stats_of(&set, 0);
    assert_int_equal(stats.high, 5); /* 650 / 128 */
    assert_int_equal(stats.batch, 2);
    assert_int_equal(stats.low, 0);
    assert_int_equal(stats.pages, 0);
    assert_int_equal(set.caches[0].first, PAGE_INDEX_NONE); /* an empty list */
    assert_int_equal(set.caches[0].last, PAGE_INDEX_NONE);
    /* Never below the floor of 4, however small the machine. */
    page_cache_init(&set, NULL, 4, 650, test_caches);
    assert_int_equal(stats_of(&set, 3).high, 4);
    assert_int_equal(stats_of(&set, 3).batch, 2);
}

static void watermarks_for_128m_and_one_cpu_reach_the_capacity(void **state)
{
    (void)state;
    static struct page_cache_set set;
    page_cache_init(&set, NULL, 1, 32768, NULL);
    struct page_cache_stats stats = stats_of(&set, 0);
    assert_int_equal(stats.high, 256);
    assert_int_equal(stats.batch, 64);
    assert_int_equal(stats.low, 0);
    page_cache_init(&set, NULL, 1, 16384, NULL);
    assert_int_equal(stats_of(&set, 0).high, 128);
    assert_int_equal(stats_of(&set, 0).batch, 32);
}

static void watermarks_for_8g_and_eight_cpus_are_capped(void **state)
{
    (void)state;
    static struct page_cache_set set;
    page_cache_init(&set, NULL, 8, 2u << 20, test_caches);
    for (unsigned cpu = 0; cpu < 8; cpu++) {
        struct page_cache_stats stats = stats_of(&set, cpu);
        assert_int_equal(stats.high, PAGE_CACHE_CAPACITY);
        assert_int_equal(stats.batch, 64);
        assert_true(stats.low + stats.batch <= stats.high);
    }
    assert_int_equal(stats_of(&set, 8).high, 0); /* no such CPU */
    assert_ptr_equal(set.caches, test_caches);   /* the caller's heads */
    /* Several CPUs but no array: CPU 0 only, with a message; 0 CPUs means 1. */
    host_set_quiet(true);
    page_cache_init(&set, NULL, 10, 2u << 20, NULL);
    host_set_quiet(false);
    assert_int_equal(set.cpu_count, 1);
    assert_ptr_equal(set.caches, &set.boot_cache);
    page_cache_init(&set, NULL, 0, 2u << 20, NULL);
    assert_int_equal(set.cpu_count, 1);
}

/* ---- refill, drain, states ----------------------------------------------------------- */

static void refill_happens_when_the_cache_is_empty(void **state)
{
    (void)state;
    struct fixture *f = make_fixture(pc_128m, 1);
    host_set_cpu(0, 1);
    page_cache_init(&f->set, &f->buddy, 1, 16384, NULL); /* high 128, batch 32 */
    uint64_t pfns[40];
    assert_int_equal(page_cache_alloc(&f->set, BUDDY_ANY, &pfns[0]), 0);
    struct page_cache_stats stats = stats_of(&f->set, 0);
    assert_int_equal(stats.refills, 1);
    assert_int_equal(stats.pages, 31);
    assert_int_equal(free_pages(&f->buddy), 32768 - 32);
    for (int i = 1; i < 32; i++)
        assert_int_equal(page_cache_alloc(&f->set, BUDDY_ANY, &pfns[i]), 0);
    stats = stats_of(&f->set, 0);
    assert_int_equal(stats.refills, 1); /* 32 pages, one trip to the buddy */
    assert_int_equal(stats.pages, 0);
    assert_int_equal(page_cache_alloc(&f->set, BUDDY_ANY, &pfns[32]), 0);
    assert_int_equal(stats_of(&f->set, 0).refills, 2);
    assert_int_equal(stats_of(&f->set, 0).allocs, 33);
    for (int i = 0; i < 33; i++)
        assert_int_equal(buddy_pfn_to_page(&f->buddy, pfns[i])->state, PAGE_ALLOCATED_HEAD);
    assert_consistent(f);
    for (int i = 0; i < 33; i++)
        page_cache_free(&f->set, pfns[i]);
    page_cache_drain_all(&f->set);
    assert_consistent(f);
    free_fixture(f);
}

static void drain_happens_at_the_high_watermark(void **state)
{
    (void)state;
    struct fixture *f = make_fixture(pc_128m, 1);
    host_set_cpu(0, 1);
    page_cache_init(&f->set, &f->buddy, 1, 16384, NULL); /* high 128, batch 32 */
    uint64_t pfns[200];
    for (int i = 0; i < 200; i++) /* order 0 straight from the buddy: the cache stays empty */
        assert_int_equal(buddy_alloc(&f->buddy, 0, BUDDY_ANY, &pfns[i]), 0);
    for (int i = 0; i < 128; i++)
        page_cache_free(&f->set, pfns[i]);
    struct page_cache_stats stats = stats_of(&f->set, 0);
    assert_int_equal(stats.pages, 128);
    assert_int_equal(stats.drains, 0);
    for (int i = 0; i < 128; i++)
        assert_int_equal(buddy_pfn_to_page(&f->buddy, pfns[i])->state, PAGE_CACHED);
    assert_consistent(f);
    page_cache_free(&f->set, pfns[128]); /* one past high: batch pages go back first */
    stats = stats_of(&f->set, 0);
    assert_int_equal(stats.drains, 1);
    assert_int_equal(stats.pages, 128 - 32 + 1);
    assert_consistent(f);
    for (int i = 129; i < 200; i++)
        page_cache_free(&f->set, pfns[i]);
    stats = stats_of(&f->set, 0);
    assert_int_equal(stats.frees, 200);
    assert_true(stats.pages <= stats.high);
    assert_int_equal(stats.drains, 3);
    assert_consistent(f);
    page_cache_drain_all(&f->set);
    assert_int_equal(free_pages(&f->buddy), 32768);
    free_fixture(f);
}

static void the_page_freed_last_is_handed_out_first(void **state)
{
    (void)state;
    struct fixture *f = make_fixture(pc_128m, 1);
    host_set_cpu(0, 1);
    page_cache_init(&f->set, &f->buddy, 1, 16384, NULL); /* high 128, batch 32 */
    uint64_t a, b, c, again;
    assert_int_equal(page_cache_alloc(&f->set, BUDDY_ANY, &a), 0);
    assert_int_equal(page_cache_alloc(&f->set, BUDDY_ANY, &b), 0);
    assert_int_equal(page_cache_alloc(&f->set, BUDDY_ANY, &c), 0);
    page_cache_free(&f->set, b);
    page_cache_free(&f->set, c);
    page_cache_free(&f->set, a);
    assert_consistent(f);
    /* LIFO: a, then c, then b, the warmest first. */
    assert_int_equal(page_cache_alloc(&f->set, BUDDY_ANY, &again), 0);
    assert_int_equal(again, a);
    assert_int_equal(page_cache_alloc(&f->set, BUDDY_ANY, &again), 0);
    assert_int_equal(again, c);
    page_cache_free(&f->set, c); /* freed again: on top again */
    assert_int_equal(page_cache_alloc(&f->set, BUDDY_ANY, &again), 0);
    assert_int_equal(again, c);
    assert_int_equal(page_cache_alloc(&f->set, BUDDY_ANY, &again), 0);
    assert_int_equal(again, b);
    page_cache_free(&f->set, a);
    page_cache_free(&f->set, b);
    page_cache_free(&f->set, c);
    page_cache_drain_all(&f->set);
    assert_int_equal(free_pages(&f->buddy), 32768);
    assert_consistent(f);
    free_fixture(f);
}

static void a_drain_gives_back_the_coldest_pages(void **state)
{
    (void)state;
    struct fixture *f = make_fixture(pc_128m, 1);
    host_set_cpu(0, 1);
    page_cache_init(&f->set, &f->buddy, 1, 16384, NULL); /* high 128, batch 32 */
    uint64_t pfns[129];
    for (int i = 0; i < 129; i++)
        assert_int_equal(buddy_alloc(&f->buddy, 0, BUDDY_ANY, &pfns[i]), 0);
    for (int i = 0; i < 129; i++) /* the last one drains 32 first */
        page_cache_free(&f->set, pfns[i]);
    assert_int_equal(stats_of(&f->set, 0).drains, 1);
    assert_consistent(f);
    for (int i = 0; i < 32; i++) /* the 32 freed first went back to the buddy */
        assert_int_not_equal(buddy_pfn_to_page(&f->buddy, pfns[i])->state, PAGE_CACHED);
    for (int i = 32; i < 129; i++) /* the warm ones stayed */
        assert_int_equal(buddy_pfn_to_page(&f->buddy, pfns[i])->state, PAGE_CACHED);
    for (int i = 128; i >= 32; i--) { /* and come back newest first */
        uint64_t pfn;
        assert_int_equal(page_cache_alloc(&f->set, BUDDY_ANY, &pfn), 0);
        assert_int_equal(pfn, pfns[i]);
    }
    assert_int_equal(stats_of(&f->set, 0).pages, 0);
    assert_int_equal(stats_of(&f->set, 0).refills, 0);
    assert_consistent(f);
    for (int i = 32; i < 129; i++)
        page_cache_free(&f->set, pfns[i]);
    page_cache_drain_all(&f->set);
    assert_int_equal(free_pages(&f->buddy), 32768);
    assert_consistent(f);
    free_fixture(f);
}

static void drain_all_gives_everything_back(void **state)
{
    (void)state;
    static const struct buddy_range ram[] = {{1, 0x9f}, {0x100, 0x800}, {0x100000, 0x100400}};
    struct fixture *f = make_fixture(ram, ARRAY_SIZE(ram));
    uint64_t signature = blocks_signature(&f->buddy);
    page_cache_init(&f->set, &f->buddy, 4, managed_pages(&f->buddy), test_caches);
    uint64_t pfns[4][100];
    for (unsigned cpu = 0; cpu < 4; cpu++) {
        host_set_cpu(cpu, 4);
        for (int i = 0; i < 100; i++)
            assert_int_equal(page_cache_alloc(&f->set, BUDDY_ANY, &pfns[cpu][i]), 0);
    }
    for (unsigned cpu = 0; cpu < 4; cpu++) {
        host_set_cpu(3 - cpu, 4); /* freed on another CPU than they came from */
        for (int i = 0; i < 100; i++)
            page_cache_free(&f->set, pfns[cpu][i]);
    }
    host_set_cpu(0, 1);
    assert_true(page_cache_total_pages(&f->set) > 0);
    assert_consistent(f);
    page_cache_drain_all(&f->set);
    assert_int_equal(page_cache_total_pages(&f->set), 0);
    assert_int_equal(free_pages(&f->buddy), managed_pages(&f->buddy));
    assert_int_equal(blocks_signature(&f->buddy), signature);
    assert_consistent(f);
    free_fixture(f);
}

static void zone_requests_bypass_the_cache(void **state)
{
    (void)state;
    static const struct buddy_range ram[] = {{0x10, 0x30}, {0x100, 0x200}};
    struct fixture *f = make_fixture(ram, ARRAY_SIZE(ram));
    host_set_cpu(0, 1);
    page_cache_init(&f->set, &f->buddy, 1, 8192, NULL); /* high 64, batch 16 */
    uint64_t pfn;
    assert_int_equal(page_cache_alloc(&f->set, BUDDY_BELOW_1M, &pfn), 0);
    assert_true(pfn < 0x100);
    assert_int_equal(stats_of(&f->set, 0).refills, 0);
    assert_int_equal(stats_of(&f->set, 0).pages, 0);
    page_cache_free(&f->set, pfn); /* into the cache: a free page is a free page */
    assert_int_equal(stats_of(&f->set, 0).pages, 1);
    /* Take every low page but the cached one: the next BELOW_1M request finds
     * the buddy's LOW zone empty, drains this CPU's cache and gets it. */
    uint64_t low[31];
    for (int i = 0; i < 31; i++)
        assert_int_equal(buddy_alloc(&f->buddy, 0, BUDDY_BELOW_1M, &low[i]), 0);
    assert_int_equal(buddy_free_page_count(&f->buddy, ZONE_LOW), 0);
    uint64_t last;
    assert_int_equal(page_cache_alloc(&f->set, BUDDY_BELOW_1M, &last), 0);
    assert_int_equal(last, pfn);
    assert_int_equal(stats_of(&f->set, 0).drains, 1);
    assert_int_equal(page_cache_alloc(&f->set, BUDDY_BELOW_1M, &pfn), -1);
    page_cache_free(&f->set, last);
    for (int i = 0; i < 31; i++)
        page_cache_free(&f->set, low[i]);
    page_cache_drain_all(&f->set);
    assert_int_equal(free_pages(&f->buddy), 0x20 + 0x100);
    assert_consistent(f);
    free_fixture(f);
}

static void out_of_memory_returns_minus_one(void **state)
{
    (void)state;
    struct fixture *f = make_fixture(pc_3m, ARRAY_SIZE(pc_3m));
    host_set_cpu(0, 1);
    uint64_t total = managed_pages(&f->buddy);
    uint64_t signature = blocks_signature(&f->buddy);
    page_cache_init(&f->set, &f->buddy, 1, total, NULL);
    uint64_t *pfns = malloc(total * sizeof(*pfns));
    for (uint64_t i = 0; i < total; i++)
        assert_int_equal(page_cache_alloc(&f->set, BUDDY_ANY, &pfns[i]), 0);
    uint64_t pfn;
    assert_int_equal(page_cache_alloc(&f->set, BUDDY_ANY, &pfn), -1);
    assert_int_equal(page_cache_alloc(&f->set, BUDDY_BELOW_4G, &pfn), -1);
    assert_int_equal(free_pages(&f->buddy), 0);
    assert_consistent(f);
    for (uint64_t i = 0; i < total; i++)
        page_cache_free(&f->set, pfns[i]);
    assert_true(page_cache_total_pages(&f->set) <= stats_of(&f->set, 0).high);
    page_cache_drain_all(&f->set);
    assert_int_equal(blocks_signature(&f->buddy), signature);
    assert_consistent(f);
    free(pfns);
    free_fixture(f);
}

static void bad_frees_through_the_cache_panic(void **state)
{
    (void)state;
    struct fixture *f = make_fixture(pc_3m, ARRAY_SIZE(pc_3m));
    host_set_cpu(0, 1);
    page_cache_init(&f->set, &f->buddy, 1, managed_pages(&f->buddy), NULL);
    uint64_t pfn, block;
    assert_int_equal(page_cache_alloc(&f->set, BUDDY_ANY, &pfn), 0);
    page_cache_free(&f->set, pfn);
    char name[32];
    snprintf(name, sizeof(name), "pfn %#llx", (unsigned long long)pfn);
    assert_true(HOST_EXPECT_PANIC(page_cache_free(&f->set, pfn)));
    assert_non_null(strstr(host_last_panic, name));
    assert_non_null(strstr(host_last_panic, "double free"));
    assert_int_equal(buddy_alloc(&f->buddy, 2, BUDDY_ANY, &block), 0);
    assert_true(HOST_EXPECT_PANIC(page_cache_free(&f->set, block)));
    assert_non_null(strstr(host_last_panic, "another order"));
    assert_true(HOST_EXPECT_PANIC(page_cache_free(&f->set, 0xa0)));
    assert_non_null(strstr(host_last_panic, "pfn 0xa0 is not RAM"));
    buddy_free(&f->buddy, block, 2);
    assert_consistent(f);
    free_fixture(f);
}

static void cpus_without_a_cache_use_the_buddy(void **state)
{
    (void)state;
    struct fixture *f = make_fixture(pc_128m, 1);
    page_cache_init(&f->set, &f->buddy, 2, 32768, test_caches);
    host_set_cpu(5, 6); /* a CPU the set has no cache for */
    uint64_t pfn;
    assert_int_equal(page_cache_alloc(&f->set, BUDDY_ANY, &pfn), 0);
    assert_int_equal(page_cache_total_pages(&f->set), 0);
    assert_int_equal(free_pages(&f->buddy), 32767);
    page_cache_free(&f->set, pfn);
    assert_int_equal(free_pages(&f->buddy), 32768);
    host_set_cpu(0, 1);
    assert_consistent(f);
    free_fixture(f);
}

/* ---- several CPUs at once ------------------------------------------------------------------ */

/* Two CPUs free the same page at the same moment: exactly one of them may
 * succeed; the other must see a double free and panic. (The check used to
 * run before interrupts were off and was not atomic: both could pass, and the
 * page went into two caches.) */
struct double_free_thread {
    struct fixture *f;
    pthread_barrier_t *start;
    unsigned cpu;
    volatile uint64_t pfn;
    unsigned panics;
};

enum { DOUBLE_FREE_ROUNDS = 400 };

static void *free_the_same_page(void *arg)
{
    struct double_free_thread *thread = arg;
    host_set_cpu(thread->cpu, 2);
    for (int round = 0; round < DOUBLE_FREE_ROUNDS; round++) {
        pthread_barrier_wait(thread->start); /* the page is ready */
        pthread_barrier_wait(thread->start); /* go */
        if (HOST_EXPECT_PANIC(page_cache_free(&thread->f->set, thread->pfn)))
            thread->panics++;
        pthread_barrier_wait(thread->start); /* both done */
    }
    return NULL;
}

static void two_cpus_freeing_one_page_one_panics(void **state)
{
    (void)state;
    struct fixture *f = make_fixture(pc_128m, 1);
    page_cache_init(&f->set, &f->buddy, 2, 32768, test_caches);
    host_set_quiet(true);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 3);
    struct double_free_thread threads[2] = {{f, &start, 0, 0, 0}, {f, &start, 1, 0, 0}};
    pthread_t ids[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&ids[i], NULL, free_the_same_page, &threads[i]);
    unsigned wrong_rounds = 0;
    host_set_cpu(0, 2);
    for (int round = 0; round < DOUBLE_FREE_ROUNDS; round++) {
        uint64_t pfn;
        assert_int_equal(buddy_alloc(&f->buddy, 0, BUDDY_ANY, &pfn), 0);
        threads[0].pfn = threads[1].pfn = pfn;
        unsigned before = threads[0].panics + threads[1].panics;
        pthread_barrier_wait(&start);
        pthread_barrier_wait(&start);
        pthread_barrier_wait(&start);
        wrong_rounds += threads[0].panics + threads[1].panics - before != 1;
    }
    for (int i = 0; i < 2; i++)
        pthread_join(ids[i], NULL);
    host_set_quiet(false);
    host_set_cpu(0, 1);
    assert_int_equal(wrong_rounds, 0);
    page_cache_drain_all(&f->set);
    assert_int_equal(free_pages(&f->buddy), 32768);
    assert_consistent(f);
    pthread_barrier_destroy(&start);
    free_fixture(f);
}

enum { THREAD_CPUS = 8, THREAD_STEPS = 100000, THREAD_HELD = 420 };

struct cpu_thread {
    struct fixture *f;
    pthread_barrier_t *start; /* all CPUs begin together, so that they really overlap */
    uint8_t *owned;           /* per page index: 1 while some thread holds it */
    unsigned cpu;
    uint64_t errors, failures;
};

/* Runs as one CPU: random order-0 allocs and frees (and a few of order 2 and
 * zone-constrained ones, which go to the buddy while others use their caches).
 * No cmocka asserts here (they cannot leave a thread): errors are counted. */
static void *cpu_main(void *arg)
{
    struct cpu_thread *thread = arg;
    struct buddy *buddy = &thread->f->buddy;
    host_set_cpu(thread->cpu, THREAD_CPUS);
    pthread_barrier_wait(thread->start);
    uint64_t held[THREAD_HELD];
    unsigned held_orders[THREAD_HELD];
    unsigned count = 0;
    uint64_t seed = 0x9e3779b97f4a7c15ull * (thread->cpu + 1);
    for (int step = 0; step < THREAD_STEPS; step++) {
        uint64_t random = random_next(&seed);
        bool do_alloc = count == 0 || (count < THREAD_HELD && (random & 0xff) < 130);
        if (do_alloc) {
            unsigned kind = (unsigned)(random >> 8) % 32;
            unsigned order = kind == 0 ? 2 : 0;
            uint64_t pfn;
            int status = kind == 0   ? buddy_alloc(buddy, 2, BUDDY_ANY, &pfn)
                         : kind == 1 ? page_cache_alloc(&thread->f->set, BUDDY_BELOW_4G, &pfn)
                                     : page_cache_alloc(&thread->f->set, BUDDY_ANY, &pfn);
            if (status != 0) {
                thread->failures++;
                continue;
            }
            for (uint64_t p = pfn; p < pfn + (1u << order); p++) {
                struct page *page = buddy_pfn_to_page(buddy, p);
                if (!page || __atomic_exchange_n(&thread->owned[page - buddy->pages], 1,
                                                 __ATOMIC_RELAXED) != 0)
                    thread->errors++; /* given to two holders at once */
            }
            held[count] = pfn;
            held_orders[count++] = order;
        } else {
            unsigned victim = (unsigned)(random >> 8) % count;
            uint64_t pfn = held[victim];
            unsigned order = held_orders[victim];
            held[victim] = held[--count];
            held_orders[victim] = held_orders[count];
            for (uint64_t p = pfn; p < pfn + (1u << order); p++)
                __atomic_store_n(&thread->owned[buddy_pfn_to_page(buddy, p) - buddy->pages], 0,
                                 __ATOMIC_RELAXED);
            if (order == 0)
                page_cache_free(&thread->f->set, pfn);
            else
                buddy_free(buddy, pfn, order);
        }
    }
    while (count > 0) {
        count--;
        for (uint64_t p = held[count]; p < held[count] + (1u << held_orders[count]); p++)
            __atomic_store_n(&thread->owned[buddy_pfn_to_page(buddy, p) - buddy->pages], 0,
                             __ATOMIC_RELAXED);
        if (held_orders[count] == 0)
            page_cache_free(&thread->f->set, held[count]);
        else
            buddy_free(buddy, held[count], held_orders[count]);
    }
    return NULL;
}

static void cpus_in_threads_share_the_buddy_safely(void **state)
{
    (void)state;
    /* About 2,700 pages over three zones, less than the threads would like to
     * hold together (8 x 420), so they also run out and recover. */
    static const struct buddy_range ram[] = {{1, 0x9f}, {0x100, 0x600}, {0x100000, 0x100600}};
    struct fixture *f = make_fixture(ram, ARRAY_SIZE(ram));
    uint64_t signature = blocks_signature(&f->buddy);
    page_cache_init(&f->set, &f->buddy, THREAD_CPUS, 64 * 1024,
                    test_caches); /* high 64, batch 16 */
    struct cpu_thread threads[THREAD_CPUS];
    pthread_t ids[THREAD_CPUS];
    uint8_t *owned = calloc(f->buddy.page_count, 1);
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, THREAD_CPUS), 0);
    for (unsigned cpu = 0; cpu < THREAD_CPUS; cpu++) {
        threads[cpu] = (struct cpu_thread){.f = f, .start = &start, .owned = owned, .cpu = cpu};
        assert_int_equal(pthread_create(&ids[cpu], NULL, cpu_main, &threads[cpu]), 0);
    }
    uint64_t refills = 0, drains = 0, failures = 0;
    for (unsigned cpu = 0; cpu < THREAD_CPUS; cpu++) {
        assert_int_equal(pthread_join(ids[cpu], NULL), 0);
        assert_int_equal(threads[cpu].errors, 0);
        failures += threads[cpu].failures;
        refills += stats_of(&f->set, cpu).refills;
        drains += stats_of(&f->set, cpu).drains;
        assert_true(stats_of(&f->set, cpu).pages <= stats_of(&f->set, cpu).high);
    }
    pthread_barrier_destroy(&start);
    host_set_cpu(0, 1);
    assert_true(refills > 0 && drains > 0);
    assert_consistent(f); /* the caches still hold pages: PAGE_CACHED, counted apart */
    page_cache_drain_all(&f->set);
    assert_int_equal(page_cache_total_pages(&f->set), 0);
    assert_int_equal(free_pages(&f->buddy), managed_pages(&f->buddy));
    assert_int_equal(blocks_signature(&f->buddy), signature);
    assert_consistent(f);
    print_message("threads: %llu refills, %llu drains, %llu failed allocations\n",
                  (unsigned long long)refills, (unsigned long long)drains,
                  (unsigned long long)failures);
    free(owned);
    free_fixture(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_set_costs_a_cache_line_per_cpu_not_its_pages),
        cmocka_unit_test(watermarks_for_a_3m_machine_keep_a_few_pages),
        cmocka_unit_test(watermarks_for_128m_and_one_cpu_reach_the_capacity),
        cmocka_unit_test(watermarks_for_8g_and_eight_cpus_are_capped),
        cmocka_unit_test(refill_happens_when_the_cache_is_empty),
        cmocka_unit_test(drain_happens_at_the_high_watermark),
        cmocka_unit_test(the_page_freed_last_is_handed_out_first),
        cmocka_unit_test(a_drain_gives_back_the_coldest_pages),
        cmocka_unit_test(drain_all_gives_everything_back),
        cmocka_unit_test(zone_requests_bypass_the_cache),
        cmocka_unit_test(out_of_memory_returns_minus_one),
        cmocka_unit_test(bad_frees_through_the_cache_panic),
        cmocka_unit_test(cpus_without_a_cache_use_the_buddy),
        cmocka_unit_test(two_cpus_freeing_one_page_one_panics),
        cmocka_unit_test(cpus_in_threads_share_the_buddy_safely),
    };
    return RUN_AND_REPORT(tests);
}
