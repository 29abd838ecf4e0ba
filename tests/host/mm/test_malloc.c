/*
 * test_malloc.c: the kernel's malloc (mm/malloc.c) over a test page source
 * (malloc_test_pages.h). Host threads play the CPUs (host_set_cpu).
 *
 * Every test starts malloc over an empty arena with one CPU and ends with
 * km_check and a count: malloc holds exactly the pages the source has out.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "mm/malloc.h"
#include "tests/host/lib/test_report.h"
#include "tests/host/mm/malloc_test_pages.h"
#include "tests/host/platform_host.h"
#include "lib/random.h"

#define ARRAY_SIZE(array) (sizeof(array) / sizeof((array)[0]))

/* ---- helpers ------------------------------------------------------------------ */

static void assert_healthy(void)
{
    char error[256];
    if (!km_check(error, sizeof(error)))
        fail_msg("km_check: %s", error);
    assert_int_equal(km_pages_held(), test_pages_in_use());
}

/* The suite runs twice (main): in release mode (magazines, the fast path)
 * and in malloc.debug (every call checked and counted at the slabs). */
static bool debug_run;

static int start_malloc(unsigned cpus)
{
    test_pages_reset();
    host_set_cpu(0, cpus);
    int result = km_init(&test_page_source, cpus);
    if (result == 0)
        km_debug_enable(debug_run);
    return result;
}

static int setup(void **state)
{
    (void)state;
    return start_malloc(1);
}

static int teardown(void **state)
{
    (void)state;
    test_pages_fail_after(-1);
    km_track_enable(false);
    char error[256];
    if (!km_check(error, sizeof(error))) {
        print_error("km_check after the test: %s\n", error);
        return -1;
    }
    return km_pages_held() == test_pages_in_use() ? 0 : -1;
}

static struct km_stats stats_now(void)
{
    struct km_stats stats;
    km_stats(&stats);
    return stats;
}

static const struct km_class_stats *class_stats(const struct km_stats *stats, size_t size)
{
    return &stats->classes[size_class_of(size)];
}

/* Pages that are not metadata: what objects and runs cost. */
static uint64_t data_pages(void)
{
    struct km_stats stats = stats_now();
    return stats.slab_pages + stats.large_pages;
}

/* Runs statement, which must panic with a message holding the address and
 * every one of the given words. */
#define ASSERT_PANICS(statement, address, ...)                                                     \
    do {                                                                                           \
        if (!HOST_EXPECT_PANIC(statement))                                                         \
            fail_msg("no panic from %s", #statement);                                              \
        assert_message_has(address, (const char *[]){__VA_ARGS__, NULL});                          \
    } while (0)

/* "class N (S bytes)", as a panic names the class of a request of size
 * bytes (whatever the class table: labs/03-size-classes changes it). */
static const char *class_text(size_t size)
{
    static char texts[4][40];
    static unsigned next;
    char *text = texts[next++ % 4];
    unsigned index = size_class_of(size);
    snprintf(text, sizeof(texts[0]), "class %u (%u bytes)", index,
             size_classes[index].object_bytes);
    return text;
}

static void assert_message_has(const void *address, const char **words)
{
    char text[32];
    snprintf(text, sizeof(text), "%p", address);
    print_message("panic: %s\n", host_last_panic);
    if (!strstr(host_last_panic, text))
        fail_msg("panic message without the address %s: %s", text, host_last_panic);
    for (; *words; words++)
        if (!strstr(host_last_panic, *words))
            fail_msg("panic message without \"%s\": %s", *words, host_last_panic);
}

static void stamp(void *ptr, size_t bytes, unsigned seed)
{
    unsigned char *p = ptr;
    size_t head = bytes < 64 ? bytes : 64;
    for (size_t i = 0; i < head; i++)
        p[i] = (unsigned char)(seed * 31 + i);
    for (size_t i = bytes - head; i < bytes; i++)
        p[i] = (unsigned char)(seed * 31 + i);
}

static bool stamp_intact(const void *ptr, size_t bytes, unsigned seed)
{
    const unsigned char *p = ptr;
    size_t head = bytes < 64 ? bytes : 64;
    for (size_t i = 0; i < head; i++)
        if (p[i] != (unsigned char)(seed * 31 + i))
            return false;
    for (size_t i = bytes - head; i < bytes; i++)
        if (p[i] != (unsigned char)(seed * 31 + i))
            return false;
    return true;
}

/* The fixed-seed generator's state (lib/random.h), the same on every host. */
static uint64_t random_state;

static size_t random_between(size_t low, size_t high)
{
    return low + (size_t)(random_next(&random_state) % (high - low + 1));
}

/* ---- sizes and classes ---------------------------------------------------------- */

static void every_class_serves_its_boundary_sizes(void **state)
{
    (void)state;
    for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++) {
        size_t below = index ? size_classes[index - 1].object_bytes : 0;
        size_t sizes[] = {below + 1, (below + 1 + size_classes[index].object_bytes) / 2,
                          size_classes[index].object_bytes};
        for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
            unsigned char *p = km_malloc(sizes[i]);
            assert_non_null(p);
            assert_int_equal((uintptr_t)p % 16, 0);
            assert_int_equal(km_malloc_usable_size(p), size_classes[index].object_bytes);
            memset(p, 0x5a, km_malloc_usable_size(p)); /* all of it is ours (ASan watches) */
            struct km_stats stats = stats_now();
            assert_int_equal(stats.classes[index].live_objects, 1);
            km_free(p);
        }
    }
    unsigned char *large = km_malloc(4097);
    assert_non_null(large);
    assert_int_equal(km_malloc_usable_size(large), 8192);
    km_free(large);
    assert_int_equal(stats_now().live_objects, 0);
    assert_healthy();
}

static void zero_and_one_byte_take_16_bytes_not_a_page(void **state)
{
    (void)state;
    void *zero = km_malloc(0), *one = km_malloc(1);
    assert_non_null(zero);
    assert_non_null(one);
    assert_ptr_not_equal(zero, one);
    assert_int_equal(km_malloc_usable_size(zero), 16);
    assert_int_equal(km_malloc_usable_size(one), 16);
    assert_int_equal(data_pages(), 1);
    km_free(zero);
    km_free(one);
}

static void a_hundred_one_byte_objects_share_one_page(void **state)
{
    (void)state;
    void *objects[100];
    for (int i = 0; i < 100; i++) {
        objects[i] = km_malloc(1);
        assert_non_null(objects[i]);
        assert_int_equal((uintptr_t)objects[i] >> 12, (uintptr_t)objects[0] >> 12);
    }
    struct km_stats stats = stats_now();
    assert_int_equal(stats.classes[0].slab_pages, 1);
    assert_int_equal(stats.slab_pages + stats.large_pages, 1);
    print_message("100 x malloc(1): %llu data page, %llu pages with metadata\n",
                  (unsigned long long)(stats.slab_pages + stats.large_pages),
                  (unsigned long long)stats.pages_held);
    for (int i = 0; i < 100; i++)
        km_free(objects[i]);
    assert_healthy();
}

static void power_of_two_classes_are_naturally_aligned(void **state)
{
    (void)state;
    for (size_t size = 16; size <= 4096; size *= 2) {
        void *objects[40];
        for (size_t i = 0; i < ARRAY_SIZE(objects); i++) {
            objects[i] = km_malloc(size);
            assert_non_null(objects[i]);
            assert_int_equal((uintptr_t)objects[i] % size, 0);
        }
        for (size_t i = 0; i < ARRAY_SIZE(objects); i++)
            km_free(objects[i]);
    }
    assert_healthy();
}

static void aligned_requests_are_aligned(void **state)
{
    (void)state;
    for (size_t align = 1; align <= 4096; align *= 2) {
        size_t sizes[] = {1, align / 2 + 1, align, align + 1, 3 * align, 4096};
        for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
            void *p = km_aligned_alloc(align, sizes[i]);
            assert_non_null(p);
            assert_int_equal((uintptr_t)p % (align < 16 ? 16 : align), 0);
            assert_true(km_malloc_usable_size(p) >= sizes[i]);
            void *q = NULL;
            if (align >= sizeof(void *)) {
                assert_int_equal(km_posix_memalign(&q, align, sizes[i]), 0);
                assert_int_equal((uintptr_t)q % align, 0);
            }
            km_free(p);
            km_free(q);
        }
    }
    /* A small request with a big alignment takes the smallest class that has it. */
    void *p = km_aligned_alloc(64, 65);
    assert_int_equal(km_malloc_usable_size(p), 128);
    km_free(p);
    p = km_aligned_alloc(4096, 100);
    assert_int_equal(km_malloc_usable_size(p), 4096);
    km_free(p);
    assert_healthy();
}

static void large_aligned_requests_are_aligned_and_exact(void **state)
{
    (void)state;
    size_t aligns[] = {8192, 16384, 65536, 1 << 20};
    size_t sizes[] = {1, 4096, 5000, 70000};
    for (size_t a = 0; a < ARRAY_SIZE(aligns); a++) {
        for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
            uint64_t before = data_pages();
            void *p = km_aligned_alloc(aligns[a], sizes[s]);
            assert_non_null(p);
            assert_int_equal((uintptr_t)p % aligns[a], 0);
            size_t pages = (sizes[s] + 4095) / 4096;
            assert_int_equal(data_pages() - before, pages); /* alignment costs no extra page */
            assert_int_equal(km_malloc_usable_size(p), pages * 4096);
            km_free(p);
        }
    }
    assert_int_equal(stats_now().large_live, 0);
    assert_healthy();
}

static void bad_alignments_are_refused(void **state)
{
    (void)state;
    void *out = (void *)0x1;
    assert_null(km_aligned_alloc(0, 16));
    assert_null(km_aligned_alloc(3, 16));
    assert_null(km_aligned_alloc(48, 16));
    assert_int_equal(km_posix_memalign(&out, 4, 16), KM_EINVAL);
    assert_int_equal(km_posix_memalign(&out, 24, 16), KM_EINVAL);
    assert_int_equal(km_posix_memalign(&out, 0, 16), KM_EINVAL);
    assert_ptr_equal(out, (void *)0x1); /* untouched on error */
    test_pages_fail_after(0);
    assert_int_equal(km_posix_memalign(&out, 64, 100), KM_ENOMEM);
    assert_int_equal(km_posix_memalign(&out, 8192, 100), KM_ENOMEM);
    assert_ptr_equal(out, (void *)0x1);
    test_pages_fail_after(-1);
    assert_healthy();
}

static void large_requests_round_to_pages_not_powers_of_two(void **state)
{
    (void)state;
    size_t sizes[] = {4097, 8192, 8193, 12289, 20 * 1024, 36 * 1024 + 1, 100000};
    for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
        size_t held = test_pages_in_use();
        void *p = km_malloc(sizes[i]);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 4096, 0);
        assert_int_equal(test_pages_in_use() - held, (sizes[i] + 4095) / 4096);
        memset(p, 1, sizes[i]);
        km_free(p);
        assert_int_equal(test_pages_in_use(), held);
    }
}

static void a_20_kib_request_takes_5_pages(void **state)
{
    (void)state;
    size_t held = km_pages_held();
    void *p = km_malloc(20 * 1024);
    assert_non_null(p);
    assert_int_equal(km_pages_held() - held, 5);
    struct km_stats stats = stats_now();
    assert_int_equal(stats.large_live, 1);
    assert_int_equal(stats.large_pages, 5);
    assert_int_equal(stats.large_requested_bytes_total, 20 * 1024);
    assert_int_equal(km_malloc_usable_size(p), 20 * 1024);
    km_free(p);
    assert_int_equal(km_pages_held(), held);
    assert_int_equal(stats_now().large_live, 0);
}

static void the_2048_class_holds_two_objects_per_page(void **state)
{
    (void)state;
    void *a = km_malloc(2000), *b = km_malloc(2048);
    assert_int_equal((uintptr_t)a >> 12, (uintptr_t)b >> 12);
    struct km_stats stats = stats_now();
    assert_int_equal(class_stats(&stats, 2048)->slab_pages, 1);
    void *c = km_malloc(2040);
    stats = stats_now();
    assert_int_equal(class_stats(&stats, 2048)->slab_pages, 2);
    assert_int_equal(class_stats(&stats, 2048)->live_objects, 3);
    km_free(a);
    km_free(b);
    km_free(c);
    assert_healthy();
}

static void no_request_from_1025_to_3584_costs_a_page(void **state)
{
    (void)state;
    size_t sizes[] = {1025, 1300, 1536, 1700, 2047, 2049, 3000, 3072, 3500, 3584};
    for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
        enum { COUNT = 64 };
        void *objects[COUNT];
        uint64_t before = data_pages();
        for (int i = 0; i < COUNT; i++)
            assert_non_null(objects[i] = km_malloc(sizes[s]));
        uint64_t pages = data_pages() - before;
        print_message("%2d x %4zu bytes: %3llu pages (%.2f per object)\n", COUNT, sizes[s],
                      (unsigned long long)pages, (double)pages / COUNT);
        assert_true(pages < COUNT);
        for (int i = 0; i < COUNT; i++)
            km_free(objects[i]);
        km_flush_cpu();
    }
    assert_healthy();
}

/* ---- calloc and realloc ---------------------------------------------------------- */

static void calloc_zeroes_and_checks_overflow(void **state)
{
    (void)state;
    /* Dirty an object and a run first, so that the zeroes are calloc's. */
    unsigned char *dirty = km_malloc(200), *dirty_large = km_malloc(9000);
    memset(dirty, 0xee, 200);
    memset(dirty_large, 0xee, 9000);
    km_free(dirty);
    km_free(dirty_large);
    unsigned char *p = km_calloc(20, 10), *large = km_calloc(9, 1000);
    assert_ptr_equal(p, dirty); /* the same object came back */
    for (size_t i = 0; i < 200; i++)
        assert_int_equal(p[i], 0);
    for (size_t i = 0; i < 9000; i++)
        assert_int_equal(large[i], 0);
    km_free(p);
    km_free(large);
    assert_null(km_calloc(SIZE_MAX / 2 + 1, 2));
    assert_null(km_calloc(SIZE_MAX, SIZE_MAX));
    assert_null(km_calloc((size_t)1 << 40, (size_t)1 << 40));
    void *empty = km_calloc(0, 100);
    assert_non_null(empty); /* like malloc(0) */
    km_free(empty);
    assert_healthy();
}

static void realloc_stays_in_place_within_a_class(void **state)
{
    (void)state;
    unsigned char *p = km_malloc(100); /* the 112-byte class */
    stamp(p, 100, 7);
    assert_ptr_equal(km_realloc(p, 112), p); /* grow within the class */
    assert_ptr_equal(km_realloc(p, 97), p);  /* shrink within the class */
    assert_true(stamp_intact(p, 97, 7));
    unsigned char *large = km_malloc(20000); /* 5 pages */
    stamp(large, 20000, 8);
    assert_ptr_equal(km_realloc(large, 20480), large);
    assert_ptr_equal(km_realloc(large, 16385), large);
    assert_true(stamp_intact(large, 64, 8)); /* the stamp's head */
    km_free(p);
    km_free(large);
    assert_healthy();
}

static void realloc_moves_across_classes_keeping_the_contents(void **state)
{
    (void)state;
    size_t steps[] = {1,    17,    100,   129,  1000, 1025, 3000, 4096,
                      4097, 20000, 70000, 5000, 4096, 300,  40,   1};
    unsigned char *p = km_realloc(NULL, steps[0]); /* realloc(NULL, n) is malloc(n) */
    assert_non_null(p);
    p[0] = 0x42;
    for (size_t i = 1; i < ARRAY_SIZE(steps); i++) {
        size_t keep = steps[i] < steps[i - 1] ? steps[i] : steps[i - 1];
        stamp(p, keep, (unsigned)i);
        unsigned char *q = km_realloc(p, steps[i]);
        assert_non_null(q);
        assert_true(stamp_intact(q, keep, (unsigned)i));
        assert_true(km_malloc_usable_size(q) >= steps[i]);
        if (size_class_of(steps[i]) != size_class_of(steps[i - 1]))
            assert_ptr_not_equal(p, q); /* a smaller class gives the memory back */
        p = q;
    }
    assert_int_equal(stats_now().live_objects, 1);
    assert_null(km_realloc(p, 0)); /* realloc(p, 0) frees p and returns NULL */
    struct km_stats stats = stats_now();
    assert_int_equal(stats.live_objects, 0);
    assert_int_equal(stats.large_live, 0);
    assert_healthy();
}

static void failed_realloc_keeps_the_original(void **state)
{
    (void)state;
    unsigned char *p = km_malloc(1000);
    stamp(p, 1000, 3);
    test_pages_fail_after(0);
    assert_null(km_realloc(p, 5000)); /* needs pages: none */
    assert_null(km_realloc(p, 2000)); /* needs a new slab: none */
    assert_true(stamp_intact(p, 1000, 3));
    assert_ptr_equal(km_realloc(p, 1024), p); /* in place needs nothing */
    test_pages_fail_after(-1);
    km_free(p);
    assert_healthy();
}

/* ---- counters and the tracker ------------------------------------------------------ */

static void counters_follow_every_allocation(void **state)
{
    (void)state;
    void *a = km_malloc(100), *b = km_malloc(110), *c = km_malloc(3000);
    struct km_stats stats = stats_now();
    const struct km_class_stats *row = class_stats(&stats, 100);
    assert_int_equal(row->object_bytes, 112);
    assert_int_equal(row->live_objects, 2);
    assert_int_equal(row->live_object_bytes, 224);
    /* Per-call counts: malloc.debug only (release mode's fast path counts nothing). */
    assert_int_equal(stats.per_call_counts, debug_run);
    assert_int_equal(row->allocations, debug_run ? 2 : 0);
    assert_int_equal(row->requested_bytes_total, debug_run ? 210 : 0);
    assert_int_equal(row->object_bytes_total, debug_run ? 224 : 0);
    assert_int_equal(row->slabs, 1);
    assert_int_equal(row->slab_pages, 1);
    assert_int_equal(class_stats(&stats, 3000)->slab_pages, 3);
    assert_int_equal(stats.live_objects, 3);
    assert_int_equal(stats.pages_held, km_pages_held());
    assert_int_equal(stats.pages_held, stats.slab_pages + stats.large_pages + stats.metadata_pages);
    km_free(a);
    km_free(b);
    km_free(c);
    stats = stats_now();
    assert_int_equal(class_stats(&stats, 100)->live_objects, 0);
    assert_int_equal(class_stats(&stats, 100)->allocations, debug_run ? 2 : 0); /* cumulative */
    assert_int_equal(class_stats(&stats, 100)->live_requested_bytes, 0);
}

static void the_tracker_keeps_requested_sizes_and_call_sites(void **state)
{
    (void)state;
    km_track_enable(true);
    const void *site_a = (const void *)0x1000, *site_b = (const void *)0x2000;
    void *objects[30];
    for (int i = 0; i < 20; i++)
        objects[i] = km_malloc_at(90, site_a); /* 96-byte class */
    for (int i = 20; i < 30; i++)
        objects[i] = km_malloc_at(1500, site_b); /* 1536-byte class */
    struct km_stats stats = stats_now();
    assert_int_equal(class_stats(&stats, 90)->live_requested_bytes, 20 * 90);
    assert_int_equal(class_stats(&stats, 90)->tracked_live_objects, 20);
    assert_int_equal(class_stats(&stats, 1500)->live_requested_bytes, 10 * 1500);
    struct km_site_stats sites[4];
    assert_int_equal(km_track_sites(sites, 4), 2);
    assert_ptr_equal(sites[0].caller, site_b); /* most live bytes first */
    assert_int_equal(sites[0].live_requested_bytes, 15000);
    assert_int_equal(sites[1].live_objects, 20);
    assert_int_equal(sites[1].allocations, 20);
    assert_ptr_equal(km_realloc(objects[0], 85), objects[0]); /* in place: 90 -> 85 */
    stats = stats_now();
    assert_int_equal(class_stats(&stats, 90)->live_requested_bytes, 19 * 90 + 85);
    for (int i = 0; i < 30; i++)
        km_free(objects[i]);
    stats = stats_now();
    assert_int_equal(class_stats(&stats, 90)->live_requested_bytes, 0);
    assert_int_equal(class_stats(&stats, 1500)->tracked_live_objects, 0);
    km_track_sites(sites, 4);
    assert_int_equal(sites[0].live_objects + sites[1].live_objects, 0);
    assert_healthy();
}

/* ---- the acceptance workload ----------------------------------------------------- */

static void mixed_workload_is_at_least_85_percent_efficient(void **state)
{
    (void)state;
    enum { SMALL = 5000, MEDIUM = 300 };
    static void *objects[SMALL + MEDIUM];
    static size_t sizes[SMALL + MEDIUM];
    random_state = 0x5eed1234abcdull;
    size_t small_left = SMALL, medium_left = MEDIUM;
    uint64_t requested = 0, medium_requested = 0;
    for (size_t i = 0; i < SMALL + MEDIUM; i++) {
        /* The two kinds interleaved at random, like a real heap fills. */
        bool small = random_between(1, small_left + medium_left) <= small_left;
        sizes[i] = small ? random_between(1, 1024) : random_between(1025, 4096);
        if (small)
            small_left--;
        else
            medium_left--;
        objects[i] = km_malloc(sizes[i]);
        assert_non_null(objects[i]);
        memset(objects[i], (int)i, sizes[i]);
        requested += sizes[i];
        medium_requested += small ? 0 : sizes[i];
    }
    struct km_stats stats = stats_now();
    uint64_t medium_pages = 0;
    for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++)
        if (size_classes[index].object_bytes > 1024)
            medium_pages += stats.classes[index].slab_pages;
    double overall = (double)requested / ((double)km_pages_held() * 4096);
    double medium = (double)medium_requested / ((double)medium_pages * 4096);
    print_message("mixed workload: %zu bytes requested in %zu pages held (%llu slab pages, "
                  "%llu metadata): %.1f%%\n",
                  (size_t)requested, km_pages_held(), (unsigned long long)stats.slab_pages,
                  (unsigned long long)stats.metadata_pages, 100 * overall);
    print_message("1025-4096 part: %zu bytes requested in %llu slab pages: %.1f%%\n",
                  (size_t)medium_requested, (unsigned long long)medium_pages, 100 * medium);
    assert_true(overall >= 0.85);
    assert_true(medium >= 0.80);
    for (size_t i = 0; i < SMALL + MEDIUM; i++)
        km_free(objects[i]);
    assert_int_equal(stats_now().live_objects, 0);
    assert_healthy();
}

/* ---- the storm -------------------------------------------------------------------- */

struct storm_slot {
    unsigned char *ptr;
    size_t size;
    size_t align;
    unsigned seed;
};

static size_t storm_size(void)
{
    unsigned kind = (unsigned)random_between(0, 99);
    if (kind < 60)
        return random_between(1, 256);
    if (kind < 85)
        return random_between(257, 4096);
    if (kind < 97)
        return random_between(4097, 16384);
    return random_between(16385, 65536);
}

static void storm_allocate(struct storm_slot *slot, unsigned seed)
{
    size_t size = storm_size(), align = 0;
    unsigned how = (unsigned)random_between(0, 99);
    unsigned char *p;
    if (how < 75) {
        p = km_malloc(size);
    } else if (how < 85) {
        align = (size_t)1 << random_between(4, 13);
        p = km_aligned_alloc(align, size);
    } else if (how < 92) {
        align = (size_t)1 << random_between(3, 14);
        void *out = NULL;
        assert_int_equal(km_posix_memalign(&out, align, size), 0);
        p = out;
    } else {
        p = km_calloc(1, size);
        for (size_t i = 0; i < size; i += 97)
            if (p[i])
                fail_msg("calloc(1, %zu): byte %zu is %#x", size, i, p[i]);
    }
    assert_non_null(p);
    if (align)
        assert_int_equal((uintptr_t)p % align, 0);
    assert_int_equal((uintptr_t)p % 16, 0);
    assert_true(km_malloc_usable_size(p) >= size);
    *slot = (struct storm_slot){p, size, align, seed};
    stamp(p, size, seed);
}

static void storm_check(const struct storm_slot *slot)
{
    if (!stamp_intact(slot->ptr, slot->size, slot->seed))
        fail_msg("object %p of %zu bytes lost its stamp", (void *)slot->ptr, slot->size);
}

static void random_storm_keeps_everything_and_gives_pages_back(void **state)
{
    (void)state;
    enum { SLOTS = 4096, OPERATIONS = 1000000 };
    static struct storm_slot slots[SLOTS];
    memset(slots, 0, sizeof(slots));
    random_state = 0x5704e11e5eedull;
    size_t peak_pages = 0;
    for (unsigned op = 1; op <= OPERATIONS; op++) {
        struct storm_slot *slot = &slots[random_between(0, SLOTS - 1)];
        if (!slot->ptr) {
            storm_allocate(slot, op);
        } else if (random_between(0, 3) == 0) {
            storm_check(slot);
            size_t size = storm_size(), keep = size < slot->size ? size : slot->size;
            unsigned char *q = km_realloc(slot->ptr, size);
            assert_non_null(q);
            if (!stamp_intact(q, keep < 64 ? keep : 64, slot->seed))
                fail_msg("realloc %zu -> %zu lost the contents", slot->size, size);
            *slot = (struct storm_slot){q, size, 0, op};
            stamp(q, size, op);
        } else {
            storm_check(slot);
            km_free(slot->ptr);
            slot->ptr = NULL;
        }
        if (km_pages_held() > peak_pages)
            peak_pages = km_pages_held();
        if (op % 250000 == 0)
            assert_healthy();
    }
    for (size_t i = 0; i < SLOTS; i++) {
        if (slots[i].ptr) {
            storm_check(&slots[i]);
            km_free(slots[i].ptr);
        }
    }
    assert_healthy();
    km_drain_magazines(); /* release mode: the magazines' objects back to their slabs */
    /* What is left: the per-class keep limit, and metadata. */
    struct km_stats stats = stats_now();
    assert_int_equal(stats.live_objects, 0);
    assert_int_equal(stats.large_live, 0);
    assert_int_equal(stats.large_pages, 0);
    for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++)
        assert_true(stats.classes[index].slabs <= KM_EMPTY_SLABS_KEPT);
    uint64_t kept_limit = 0;
    for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++)
        kept_limit += KM_EMPTY_SLABS_KEPT * size_classes[index].slab_pages;
    assert_true(stats.slab_pages <= kept_limit);
    assert_int_equal(test_pages_in_use(), stats.slab_pages + stats.metadata_pages);
    print_message("storm: peak %zu pages; after freeing all: %llu kept slab pages (limit %llu), "
                  "%llu metadata pages\n",
                  peak_pages, (unsigned long long)stats.slab_pages, (unsigned long long)kept_limit,
                  (unsigned long long)stats.metadata_pages);
    km_flush_cpu();
    stats = stats_now();
    assert_int_equal(stats.slab_pages, 0);
    assert_int_equal(test_pages_in_use(), stats.metadata_pages);
    assert_healthy();
}

static void empty_slabs_go_back_past_the_keep_limit(void **state)
{
    (void)state;
    enum { COUNT = 1000 };
    void *objects[COUNT];
    for (int i = 0; i < COUNT; i++)
        objects[i] = km_malloc(500); /* 8 per one-page slab: 125 slabs */
    struct km_stats stats = stats_now();
    assert_int_equal(class_stats(&stats, 500)->slabs, 125);
    for (int i = 0; i < COUNT; i++)
        km_free(objects[i]);
    km_drain_magazines(); /* release mode: the magazine's objects back to their slabs */
    stats = stats_now();
    assert_int_equal(class_stats(&stats, 500)->slabs, KM_EMPTY_SLABS_KEPT);
    assert_healthy();
    /* The kept slab is reused: no new page for the next object. */
    size_t held = km_pages_held();
    void *again = km_malloc(500);
    assert_int_equal(km_pages_held(), held);
    km_free(again);
    km_flush_cpu();
    assert_int_equal(stats_now().slab_pages, 0);
    assert_healthy();
}

/* Fills every class's magazine (frees more objects than any magazine
 * holds) and returns the bytes the magazines then hold. */
static uint64_t bytes_in_full_magazines(void)
{
    enum { EACH = 80 }; /* more than the largest magazine (64) */
    static void *objects[SIZE_CLASS_COUNT][EACH];
    for (unsigned c = 0; c < SIZE_CLASS_COUNT; c++)
        for (unsigned i = 0; i < EACH; i++)
            assert_non_null(objects[c][i] = km_malloc(size_classes[c].object_bytes));
    for (unsigned c = 0; c < SIZE_CLASS_COUNT; c++)
        for (unsigned i = 0; i < EACH; i++)
            km_free(objects[c][i]);
    struct km_stats stats = stats_now();
    uint64_t bytes = 0;
    for (unsigned c = 0; c < SIZE_CLASS_COUNT; c++)
        bytes += stats.classes[c].in_magazines * size_classes[c].object_bytes;
    return bytes;
}

/* The rule mm/malloc.h states for memory_pages: one CPU's magazines, full,
 * hold at most a sixteenth of the memory, and the pool is smaller for it. */
static void a_small_memory_gets_short_magazines(void **state)
{
    (void)state;
    if (debug_run)
        skip(); /* malloc.debug closes the magazines */
    uint64_t plenty = bytes_in_full_magazines();
    uint64_t pool_pages = stats_now().metadata_pages;
    assert_true(plenty > 1024 * 1024); /* 64 objects of most classes */

    const size_t memory_pages = 525; /* what -m 3M leaves the page allocator */
    test_page_source.memory_pages = memory_pages;
    int started = start_malloc(1); /* a fresh start: the test pages too */
    test_page_source.memory_pages = 0;
    assert_int_equal(started, 0);
    uint64_t held = bytes_in_full_magazines();
    assert_true(held > 0);
    /* A sixteenth of the memory, unless the floor of 4 objects a class
     * (KM_MAGAZINE_MIN, mm/malloc.c) is more: it is with many classes. */
    uint64_t floor = 0;
    for (unsigned c = 0; c < SIZE_CLASS_COUNT; c++)
        floor += 4 * size_classes[c].object_bytes;
    assert_true(held <= memory_pages * 4096 / 16 || held <= floor);
    assert_true(stats_now().metadata_pages < pool_pages);
    km_drain_magazines();
    km_flush_cpu();
    assert_healthy();
}

/* ---- errors panic -------------------------------------------------------------------- */

static void double_free_panics_with_address_class_and_slab(void **state)
{
    (void)state;
    void *p = km_malloc(40); /* class 2, 48 bytes */
    void *keep = km_malloc(40);
    km_free(p);
    ASSERT_PANICS(km_free(p), p, "double free", class_text(40), "slab 0x");
    void *q = km_malloc(3000);
    km_free(q);
    ASSERT_PANICS(km_free(q), q, "double free", class_text(3000));
    km_drain_magazines(); /* release mode: q is free in its slab only from here */
    ASSERT_PANICS(km_malloc_usable_size(q), q, "is free", class_text(3000));
    km_free(keep);
    assert_healthy(); /* a caught double free changed nothing */
}

/* Release mode's limit (docs/malloc.md): a double free that is not the
 * magazine's top goes in; it is caught when the magazine gives the second
 * copy back to the slab. malloc.debug catches it at the second free. */
static void a_double_free_not_in_a_row_is_caught_by_the_flush(void **state)
{
    (void)state;
    void *p = km_malloc(40), *r = km_malloc(40);
    km_free(p);
    km_free(r);
    if (debug_run) {
        ASSERT_PANICS(km_free(p), p, "double free", "the object is free", class_text(40));
    } else {
        km_free(p); /* not on top (r is): into the magazine */
        ASSERT_PANICS(km_drain_magazines(), p, "double free", "the object is free", class_text(40));
    }
    assert_healthy();
}

static void interior_pointers_panic(void **state)
{
    (void)state;
    unsigned char *p = km_malloc(96); /* class 5 */
    ASSERT_PANICS(km_free(p + 16), p + 16, "interior pointer", class_text(96));
    ASSERT_PANICS(km_free(p + 1), p + 1, "interior pointer", class_text(96));
    ASSERT_PANICS(km_realloc(p + 8, 10), p + 8, "interior pointer");
    /* The tail of a 48-byte slab: 85 objects end at byte 4080. */
    unsigned char *small = km_malloc(48);
    unsigned char *tail = (unsigned char *)((uintptr_t)small & ~(uintptr_t)4095) + 85 * 48;
    ASSERT_PANICS(km_free(tail), tail, "tail", class_text(48));
    km_free(p);
    km_free(small);
    assert_healthy();
}

/* A page straight from the source (not inlined: the caller uses setjmp). */
__attribute__((noinline)) static void *source_page(void)
{
    return test_page_source.alloc_pages(1, 1);
}

__attribute__((noinline)) static void source_page_free(void *page)
{
    test_page_source.free_pages(page, 1);
}

static void foreign_pointers_panic(void **state)
{
    (void)state;
    int on_stack;
    void *from_libc = malloc(32);
    ASSERT_PANICS(km_free(&on_stack), &on_stack, "never returned by malloc", "class none");
    ASSERT_PANICS(km_free(from_libc), from_libc, "never returned by malloc", "class none");
    free(from_libc);
    /* A page of the source that malloc never handed out as an object: its own
     * metadata page (owner word 0), and a page the source has not handed out. */
    void *p = km_malloc(16);
    void *metadata = source_page();
    ASSERT_PANICS(km_free(metadata), metadata, "never returned by malloc", "owner word 0");
    source_page_free(metadata);
    char *unused = test_pages.arena + TEST_PAGES_BYTES - 4096;
    ASSERT_PANICS(km_free(unused), unused, "never returned by malloc");
    km_free(p);
    assert_healthy();
}

static void large_interior_pointers_and_double_frees_panic(void **state)
{
    (void)state;
    unsigned char *run = km_malloc(5 * 4096);
    ASSERT_PANICS(km_free(run + 4096), run + 4096, "interior pointer", "large run", "class large");
    ASSERT_PANICS(km_free(run + 3 * 4096 + 17), run + 3 * 4096 + 17, "interior pointer");
    ASSERT_PANICS(km_free(run + 100), run + 100, "interior pointer", "class large", "5 pages");
    ASSERT_PANICS(km_malloc_usable_size(run + 8192), run + 8192, "interior pointer");
    /* The message of a tail page names the run's start too. */
    char start[32];
    snprintf(start, sizeof(start), "%p", (void *)run);
    ASSERT_PANICS(km_free(run + 2 * 4096), run + 2 * 4096, start);
    km_free(run);
    ASSERT_PANICS(km_free(run), run, "never returned by malloc");
    assert_healthy();
}

static void a_cpu_without_a_pool_panics_until_it_gets_one(void **state)
{
    (void)state;
    host_set_cpu(2, 3);
    if (!HOST_EXPECT_PANIC(km_malloc(10)))
        fail_msg("CPU 2 allocated without a pool");
    assert_non_null(strstr(host_last_panic, "CPU 2 has no pool"));
    host_set_cpu(0, 3);
    assert_int_equal(km_set_cpu_count(3), 0);
    assert_int_equal(km_set_cpu_count(KM_MAX_CPUS + 1), -1);
    host_set_cpu(2, 3);
    void *p = km_malloc(10);
    assert_non_null(p);
    km_free(p);
    km_flush_cpu();
    host_set_cpu(0, 3);
    assert_healthy();
}

static void km_check_finds_a_corrupt_owner_word(void **state)
{
    (void)state;
    void *p = km_malloc(64);
    uint32_t *owner = test_pages_owner(p);
    uint32_t saved = *owner;
    *owner = saved + 1;
    char error[256];
    assert_false(km_check(error, sizeof(error)));
    print_message("km_check: %s\n", error);
    assert_non_null(strstr(error, "owner word"));
    *owner = saved;
    km_free(p);
    assert_healthy();
}

/* ---- out of memory --------------------------------------------------------------------- */

/* A fixed sequence of requests; returns how many succeeded before the first NULL. */
static int allocate_until_null(void **objects, int count)
{
    static const size_t sizes[] = {16, 100, 3000, 20000, 1, 1500, 4096, 9000, 700, 48};
    for (int i = 0; i < count; i++) {
        size_t size = sizes[i % ARRAY_SIZE(sizes)];
        objects[i] = i % 7 == 3 ? km_aligned_alloc(8192, size) : km_malloc(size);
        if (!objects[i])
            return i;
        memset(objects[i], 0x33, size);
    }
    return count;
}

static void out_of_memory_returns_null_and_corrupts_nothing(void **state)
{
    (void)state;
    enum { COUNT = 60 };
    void *objects[COUNT];
    /* Fail the source's n-th request for every n up to where the sequence no
     * longer needs the source: every step (descriptor page, directory page,
     * slab, side table, large run) fails somewhere. */
    for (long allowed = 0; allowed < 40; allowed++) {
        assert_int_equal(start_malloc(1), 0);
        km_track_enable(allowed % 2 == 1);
        test_pages_fail_after(allowed);
        int got = allocate_until_null(objects, COUNT);
        assert_healthy();
        test_pages_fail_after(-1);
        /* After the failure, malloc works again. */
        void *after = km_malloc(100);
        assert_non_null(after);
        km_free(after);
        for (int i = 0; i < got; i++)
            km_free(objects[i]);
        km_flush_cpu();
        assert_healthy();
        assert_int_equal(stats_now().live_objects, 0);
        assert_int_equal(stats_now().slab_pages + stats_now().large_pages, 0);
    }
    /* km_init itself: no page for the per-CPU state. */
    test_pages_reset();
    test_pages_fail_after(0);
    assert_int_equal(km_init(&test_page_source, 1), -1);
    test_pages_fail_after(-1);
    assert_int_equal(start_malloc(1), 0);
    /* Requests too big for any machine. */
    assert_null(km_malloc(SIZE_MAX));
    assert_null(km_malloc(SIZE_MAX - 4095));
    assert_null(km_aligned_alloc((size_t)1 << 62, 10));
    assert_null(km_malloc(TEST_PAGES_BYTES)); /* more than the arena */
    assert_healthy();
}

/* ---- CPUs ------------------------------------------------------------------------------- */

/*
 * More remote frees at once than an inbox holds (256): CPU 1 gives back
 * 2048 of CPU 0's objects; the first batches go to CPU 0's inbox, the rest,
 * finding it full, into the slabs' remote bitmaps. Every one is counted
 * freed at once, km_check counts what waits in the inbox, and CPU 0 takes
 * all of them back: its slabs go back to the source, none lost.
 */
static void an_inbox_that_is_full_sends_the_rest_to_the_remote_bitmaps(void **state)
{
    (void)state;
    assert_int_equal(start_malloc(2), 0);
    enum { COUNT = 2048 };
    static void *objects[COUNT];
    for (int i = 0; i < COUNT; i++)
        assert_non_null(objects[i] = km_malloc(64)); /* CPU 0's: 32 one-page slabs */
    host_set_cpu(1, 2);
    for (int i = 0; i < COUNT; i++) {
        km_free(objects[i]);
        if (i % 128 == 127)
            km_drain_magazines(); /* batches of up to 64, and the inbox never drains */
    }
    km_drain_magazines();
    struct km_cpu_usage usage;
    assert_true(km_cpu_usage(0, &usage));
    print_message("%lu of %d wait in CPU 0's inbox, the rest in remote bitmaps\n",
                  (unsigned long)usage.inbox_waiting, COUNT);
    if (debug_run) /* no magazines: every remote free went into a remote bitmap */
        assert_int_equal(usage.inbox_waiting, 0);
    else /* full, or nearly (batches of up to 64) */
        assert_true(usage.inbox_waiting > 192 && usage.inbox_waiting <= 256);
    struct km_stats stats = stats_now();
    assert_int_equal(class_stats(&stats, 64)->live_objects, 0);
    assert_int_equal(class_stats(&stats, 64)->remote_frees, COUNT);
    assert_int_equal(class_stats(&stats, 64)->slabs, 32);
    assert_healthy(); /* bitmaps = counters + inbox + remote bits */
    host_set_cpu(0, 2);
    km_flush_cpu(); /* the inbox, the remote queue, then the empty slabs */
    assert_true(km_cpu_usage(0, &usage));
    assert_int_equal(usage.inbox_waiting, 0);
    stats = stats_now();
    assert_int_equal(class_stats(&stats, 64)->slabs, 0);
    assert_int_equal(stats.slab_pages, 0);
    assert_healthy();
    /* And it keeps working: the same objects again. */
    for (int i = 0; i < COUNT; i++)
        assert_non_null(objects[i] = km_malloc(64));
    for (int i = 0; i < COUNT; i++)
        km_free(objects[i]);
    km_flush_cpu();
    assert_int_equal(stats_now().slab_pages, 0);
    assert_healthy();
}

static void remote_frees_are_reclaimed_in_batch(void **state)
{
    (void)state;
    assert_int_equal(start_malloc(2), 0);
    enum { COUNT = 64 };
    void *objects[COUNT];
    for (int i = 0; i < COUNT; i++)
        objects[i] = km_malloc(2048); /* CPU 0's: 32 one-page slabs */
    size_t held_first = km_pages_held();
    host_set_cpu(1, 2);
    for (int i = 0; i < COUNT; i++)
        km_free(objects[i]); /* remote: to CPU 0 (its inbox; in malloc.debug, the remote bitmaps) */
    km_drain_magazines();    /* release mode: CPU 1's magazine gives them back now */
    struct km_stats stats = stats_now();
    assert_int_equal(class_stats(&stats, 2048)->live_objects, 0); /* counted at once */
    assert_int_equal(class_stats(&stats, 2048)->remote_frees, COUNT);
    assert_int_equal(class_stats(&stats, 2048)->slabs, 32); /* not reclaimed yet */
    assert_healthy();
    /* A remote double free is caught at once (release mode: when it leaves
     * the magazine). */
    if (debug_run) {
        ASSERT_PANICS(km_free(objects[5]), objects[5], "double free", "another CPU",
                      class_text(2048));
    } else {
        /* Release mode: CPU 1's magazine sends it to CPU 0's inbox with the
         * first copies, and CPU 0 finds it when it takes them into its slabs. */
        km_free(objects[5]);
        km_drain_magazines();
        host_set_cpu(0, 2);
        ASSERT_PANICS(km_drain_magazines(), objects[5], "double free", "inbox");
        host_set_cpu(1, 2);
    }
    /* CPU 0 takes them back when its current slab runs out (and gives back
     * the slabs past its keep limit); the same objects again cost no more
     * pages than the first time. */
    host_set_cpu(0, 2);
    for (int i = 0; i < COUNT; i++)
        objects[i] = km_malloc(2048);
    assert_int_equal(km_pages_held(), held_first);
    assert_healthy();
    /* A free on CPU 1 of an object already free on CPU 0 is caught too. */
    km_free(objects[0]);
    km_drain_magazines();
    host_set_cpu(1, 2);
    ASSERT_PANICS(km_free(objects[0]), objects[0], "double free", "is free");
    for (int i = 1; i < COUNT; i++)
        km_free(objects[i]);
    km_drain_magazines();
    host_set_cpu(0, 2);
    km_flush_cpu();
    assert_int_equal(stats_now().slab_pages, 0);
    assert_healthy();
}

/*
 * Four threads as four CPUs, in a ring: each CPU allocates ROUNDS objects
 * (sizes 1-2048, one in 16 up to 20000), hands every one to the next CPU,
 * which frees it: every slab object is freed remotely. Each CPU also
 * allocates and frees a scratch object locally every round. A CPU whose
 * outgoing queue is full frees from its incoming one meanwhile, and after
 * its own rounds it keeps freeing until it has freed all ROUNDS objects the
 * previous CPU made for it (no deadlock: if every outgoing queue is full,
 * every incoming queue is too).
 */
enum { THREADS = 4, ROUNDS = 50000, RING = 512 };

/* A bounded queue of pointers from one thread to the next. */
struct ring {
    pthread_mutex_t lock;
    void *items[RING];
    size_t sizes[RING];
    unsigned head, count;
};

struct cpu_result {
    uint64_t handed_small; /* slab objects handed to the next CPU */
    uint64_t bad_stamps;
    bool out_of_memory;
};

static struct ring rings[THREADS];
static struct cpu_result results[THREADS];
static pthread_barrier_t barrier;

static bool ring_put(struct ring *ring, void *item, size_t size)
{
    pthread_mutex_lock(&ring->lock);
    bool ok = ring->count < RING;
    if (ok) {
        unsigned at = (ring->head + ring->count++) % RING;
        ring->items[at] = item;
        ring->sizes[at] = size;
    }
    pthread_mutex_unlock(&ring->lock);
    return ok;
}

static void *ring_take(struct ring *ring, size_t *size)
{
    pthread_mutex_lock(&ring->lock);
    void *item = NULL;
    if (ring->count) {
        item = ring->items[ring->head];
        *size = ring->sizes[ring->head];
        ring->head = (ring->head + 1) % RING;
        ring->count--;
    }
    pthread_mutex_unlock(&ring->lock);
    return item;
}

/* The first and last bytes of an object, from its size (the last first, so
 * that a 1-byte object keeps the first). */
static void thread_stamp(unsigned char *p, size_t size)
{
    p[size - 1] = (unsigned char)(size >> 3);
    p[0] = (unsigned char)size;
}

static bool thread_stamp_intact(const unsigned char *p, size_t size)
{
    return p[0] == (unsigned char)size && (size == 1 || p[size - 1] == (unsigned char)(size >> 3));
}

/* Frees one object from this CPU's incoming queue; false if it was empty. */
static bool consume_one(unsigned cpu, struct cpu_result *result)
{
    size_t size;
    unsigned char *p = ring_take(&rings[cpu], &size);
    if (!p)
        return false;
    result->bad_stamps += !thread_stamp_intact(p, size);
    km_free(p);
    return true;
}

/* A test thread takes CPU id cpu of count. host_set_cpu also writes the
 * (shared, plain) CPU count: one thread at a time. */
static void thread_becomes_cpu(unsigned cpu, unsigned count)
{
    static pthread_mutex_t set_cpu_lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&set_cpu_lock);
    host_set_cpu(cpu, count);
    pthread_mutex_unlock(&set_cpu_lock);
}

static void *cpu_thread(void *argument)
{
    unsigned cpu = (unsigned)(uintptr_t)argument;
    struct cpu_result *result = &results[cpu];
    thread_becomes_cpu(cpu, THREADS);
    pthread_barrier_wait(&barrier); /* all start together */
    uint64_t seed = 0x1234567ull * (cpu + 1), consumed = 0;
    for (unsigned round = 0; round < ROUNDS; round++) {
        uint64_t roll = random_next(&seed);
        size_t size = 1 + (size_t)(roll >> 33) % (roll >> 60 == 0 ? 20000 : 2048);
        unsigned char *p = km_malloc(size), *scratch = km_malloc(1 + round % 300);
        if (!p || !scratch) {
            result->out_of_memory = true;
            return NULL;
        }
        thread_stamp(p, size);
        km_free(scratch);
        result->handed_small += size <= SIZE_CLASS_MAX_BYTES;
        while (!ring_put(&rings[(cpu + 1) % THREADS], p, size))
            if (consume_one(cpu, result))
                consumed++;
            else
                sched_yield();
        if (consume_one(cpu, result))
            consumed++;
    }
    while (consumed < ROUNDS)
        if (consume_one(cpu, result))
            consumed++;
        else
            sched_yield();
    km_drain_magazines(); /* release mode: what it freed goes back to the slabs */
    return NULL;
}

static void poisoning_catches_a_write_after_free(void **state)
{
    (void)state;
    km_poison_enable(true);
    char *object = km_malloc(64); /* a slab made with poisoning on */
    assert_non_null(object);
    km_free(object);
    for (int i = 0; i < 64; i++)
        assert_int_equal((unsigned char)object[i], KM_POISON_BYTE);
    object[10] = 'x'; /* use after free */
    assert_true(HOST_EXPECT_PANIC(km_malloc(64)));
    assert_non_null(strstr(host_last_panic, "written after it was freed: byte 10 is 0x78"));
    km_free(object); /* it was handed out again before the check panicked */
    km_poison_enable(false);
}

static void poisoned_objects_come_back_clean_when_untouched(void **state)
{
    (void)state;
    km_poison_enable(true);
    void *objects[300];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 300; i++)
            assert_non_null(objects[i] = km_malloc((size_t)(1 + i * 7 % 3000)));
        for (int i = 0; i < 300; i++)
            km_free(objects[i]);
    }
    char error[160];
    assert_true(km_check(error, sizeof(error)));
    km_poison_enable(false);
}

static void four_cpus_with_cross_cpu_frees_balance(void **state)
{
    (void)state;
    assert_int_equal(start_malloc(THREADS), 0);
    pthread_barrier_init(&barrier, NULL, THREADS);
    memset(results, 0, sizeof(results));
    for (unsigned i = 0; i < THREADS; i++) {
        memset(&rings[i], 0, sizeof(rings[i]));
        pthread_mutex_init(&rings[i].lock, NULL);
    }
    pthread_t threads[THREADS];
    for (unsigned i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, cpu_thread, (void *)(uintptr_t)i), 0);
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&barrier);
    uint64_t handed_small = 0;
    for (unsigned i = 0; i < THREADS; i++) {
        pthread_mutex_destroy(&rings[i].lock);
        assert_false(results[i].out_of_memory);
        assert_int_equal(results[i].bad_stamps, 0);
        assert_int_equal(rings[i].count, 0);
        handed_small += results[i].handed_small;
    }
    host_set_cpu(0, THREADS);
    assert_healthy();
    struct km_stats stats = stats_now();
    uint64_t remote = 0, allocations = 0;
    for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++) {
        remote += stats.classes[index].remote_frees;
        allocations += stats.classes[index].allocations;
    }
    print_message("%u CPUs: %llu slab allocations, %llu remote frees, %llu large; "
                  "%zu pages held before the flush\n",
                  THREADS, (unsigned long long)allocations, (unsigned long long)remote,
                  (unsigned long long)stats.large_allocations, km_pages_held());
    assert_int_equal(stats.live_objects, 0);
    assert_int_equal(stats.large_live, 0);
    if (debug_run) {
        assert_int_equal(remote, handed_small); /* every handed object, and nothing else */
        assert_int_equal(allocations, handed_small + THREADS * ROUNDS);
    } else {
        /* Objects move between CPUs through the magazines (a freed object is
         * reused by the CPU that freed it): a remote free happens when it goes
         * back to a slab of another CPU, at most once per free. */
        assert_true(remote > 0 && remote <= handed_small + THREADS * ROUNDS);
    }
    /* Each CPU folds in what others freed for it and gives its empty slabs back. */
    for (unsigned cpu = 0; cpu < THREADS; cpu++) {
        host_set_cpu(cpu, THREADS);
        km_flush_cpu();
    }
    host_set_cpu(0, THREADS);
    stats = stats_now();
    assert_int_equal(stats.slab_pages, 0);
    assert_int_equal(test_pages_in_use(), stats.metadata_pages);
    assert_healthy();
}

/*
 * The race the remote_state protocol exists for: CPU 0 allocates objects
 * whose slabs hold 1, 2 or 4 objects, and three other CPUs free them, so that
 * nearly every reclaim leaves a slab fully free and CPU 0 retires slabs while
 * remote frees into them may still be in flight.
 */
enum { RACE_OBJECTS = 60000 };

_Static_assert(RACE_OBJECTS % 3 == 0, "each of the three freeing CPUs frees a third");

static void *race_thread(void *argument)
{
    unsigned cpu = (unsigned)(uintptr_t)argument;
    struct cpu_result *result = &results[cpu];
    thread_becomes_cpu(cpu, THREADS);
    pthread_barrier_wait(&barrier);
    if (cpu == 0) {
        static const size_t sizes[] = {4096, 2048, 3000, 3584};
        for (unsigned i = 0; i < RACE_OBJECTS; i++) {
            size_t size = sizes[i % 4];
            unsigned char *p = km_malloc(size);
            if (!p) {
                result->out_of_memory = true;
                return NULL;
            }
            thread_stamp(p, size);
            while (!ring_put(&rings[1 + i % 3], p, size))
                sched_yield();
        }
        return NULL;
    }
    for (unsigned freed = 0; freed < RACE_OBJECTS / 3;)
        if (consume_one(cpu, result))
            freed++;
        else
            sched_yield();
    km_drain_magazines(); /* release mode: the last ones leave the magazine */
    return NULL;
}

static void remote_frees_race_with_slab_retirement(void **state)
{
    (void)state;
    assert_int_equal(start_malloc(THREADS), 0);
    pthread_barrier_init(&barrier, NULL, THREADS);
    memset(results, 0, sizeof(results));
    for (unsigned i = 0; i < THREADS; i++) {
        memset(&rings[i], 0, sizeof(rings[i]));
        pthread_mutex_init(&rings[i].lock, NULL);
    }
    pthread_t threads[THREADS];
    for (unsigned i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, race_thread, (void *)(uintptr_t)i), 0);
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&barrier);
    for (unsigned i = 0; i < THREADS; i++) {
        pthread_mutex_destroy(&rings[i].lock);
        assert_false(results[i].out_of_memory);
        assert_int_equal(results[i].bad_stamps, 0);
    }
    host_set_cpu(0, THREADS);
    assert_healthy();
    struct km_stats stats = stats_now();
    assert_int_equal(stats.live_objects, 0);
    uint64_t remote = 0;
    for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++)
        remote += stats.classes[index].remote_frees;
    assert_int_equal(remote, RACE_OBJECTS);
    print_message("%d objects of CPU 0 freed by 3 other CPUs; %zu pages held before the flush\n",
                  RACE_OBJECTS, km_pages_held());
    km_flush_cpu();
    assert_int_equal(stats_now().slab_pages, 0);
    assert_healthy();
}

/*
 * Two CPUs free the same large run at once: exactly one goes on, the other
 * panics (the run's head owner word is taken with one compare-and-swap), and
 * the page source gets the run back once (it aborts the program on a second
 * free of the same pages).
 */
enum { LARGE_RACE_ROUNDS = 2000 };

static struct {
    void *run;
    pthread_barrier_t start, done;
    unsigned panics;
} large_race;

static void *large_race_thread(void *argument)
{
    unsigned cpu = (unsigned)(uintptr_t)argument;
    thread_becomes_cpu(cpu, 3);
    for (unsigned round = 0; round < LARGE_RACE_ROUNDS; round++) {
        pthread_barrier_wait(&large_race.start);
        void *run = __atomic_load_n(&large_race.run, __ATOMIC_ACQUIRE);
        if (HOST_EXPECT_PANIC(km_free(run)))
            __atomic_fetch_add(&large_race.panics, 1, __ATOMIC_RELAXED);
        pthread_barrier_wait(&large_race.done);
    }
    return NULL;
}

static void a_large_run_freed_by_two_cpus_at_once_is_caught(void **state)
{
    (void)state;
    assert_int_equal(start_malloc(3), 0);
    size_t held = test_pages_in_use();
    large_race.panics = 0;
    pthread_barrier_init(&large_race.start, NULL, 3);
    pthread_barrier_init(&large_race.done, NULL, 3);
    pthread_t threads[2];
    for (unsigned i = 0; i < 2; i++)
        assert_int_equal(
            pthread_create(&threads[i], NULL, large_race_thread, (void *)(uintptr_t)(i + 1)), 0);
    for (unsigned round = 0; round < LARGE_RACE_ROUNDS; round++) {
        void *run = km_malloc(5 * 4096 + round % 3 * 4096);
        assert_non_null(run);
        __atomic_store_n(&large_race.run, run, __ATOMIC_RELEASE);
        pthread_barrier_wait(&large_race.start);
        pthread_barrier_wait(&large_race.done);
    }
    for (unsigned i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&large_race.start);
    pthread_barrier_destroy(&large_race.done);
    assert_int_equal(large_race.panics, LARGE_RACE_ROUNDS);
    assert_int_equal(test_pages_in_use(), held);
    assert_int_equal(stats_now().large_live, 0);
    assert_healthy();
}

/* ---- reclaim: memory held by another CPU comes back before NULL ------------------ */

/* A thread that waits for a reclaim signal waits here, in nanosleep: under
 * ThreadSanitizer a signal reaches a thread blocked in nanosleep at once, but
 * not one blocked in pthread_barrier_wait. */
static void wait_for(unsigned *flag)
{
    const struct timespec pause = {0, 100000};
    while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE))
        nanosleep(&pause, NULL);
}

static struct {
    unsigned ready, finished;
} strand;

/* CPU 1 allocates and frees 64 objects of 3000 bytes: they stay in its
 * magazine and slabs (memory nobody uses), then it waits, blocked. */
static void *strand_thread(void *argument)
{
    (void)argument;
    host_set_cpu(1, 2);
    void *objects[64];
    for (int i = 0; i < 64; i++)
        objects[i] = km_malloc(3000);
    for (int i = 0; i < 64; i++)
        km_free(objects[i]);
    __atomic_store_n(&strand.ready, 1, __ATOMIC_RELEASE);
    wait_for(&strand.finished); /* a reclaim signal arrives in here */
    return NULL;
}

static void a_failing_allocation_gets_back_what_another_cpu_holds(void **state)
{
    (void)state;
    assert_int_equal(start_malloc(2), 0);
    strand.ready = strand.finished = 0;
    size_t before = test_pages_in_use();
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, strand_thread, NULL), 0);
    wait_for(&strand.ready);
    size_t held_by_cpu_1 = test_pages_in_use() - before;
    assert_true(held_by_cpu_1 >= 3);       /* at least one 3-page slab it does not use */
    test_pages_limit(test_pages_in_use()); /* not one page more */
    /* CPU 0 has no slab of the class: it needs a page, the source has none, so
     * the allocation succeeds only if CPU 1 gives its memory back. */
    void *p = km_malloc(3000);
    __atomic_store_n(&strand.finished, 1, __ATOMIC_RELEASE);
    pthread_join(thread, NULL);
    assert_non_null(p);
    struct km_stats stats = stats_now();
    /* CPU 1's magazine was emptied: what is left is CPU 0's refill (the rest of
     * the one slab it made). */
    assert_true(class_stats(&stats, 3000)->in_magazines <
                size_classes[size_class_of(3000)].objects);
    assert_true(test_pages_in_use() <= before + held_by_cpu_1); /* no page past the limit */
    test_pages_limit(0);
    km_free(p);
    assert_healthy();
}

/* Two CPUs run out of memory at the same time: each asks the other to give
 * back what it holds, and each answers the other while it waits, so both
 * come back (with memory or NULL): neither waits for the other forever. */
enum { OOM_OBJECTS = 300 };

static struct {
    pthread_barrier_t start;
    unsigned got[3], nulls[3], finished[3], may_free;
} oom;

static void *oom_thread(void *argument)
{
    unsigned cpu = (unsigned)(uintptr_t)argument;
    thread_becomes_cpu(cpu, 3);
    static void *objects[3][OOM_OBJECTS];
    pthread_barrier_wait(&oom.start);
    unsigned count = 0;
    for (unsigned i = 0; i < OOM_OBJECTS; i++) {
        void *p = km_malloc(2048 + i % 2048);
        if (p)
            objects[cpu][count++] = p;
        else
            oom.nulls[cpu]++;
    }
    oom.got[cpu] = count;
    __atomic_store_n(&oom.finished[cpu], 1, __ATOMIC_RELEASE);
    wait_for(&oom.may_free); /* the other may still ask us: answer in nanosleep */
    for (unsigned i = 0; i < count; i++)
        km_free(objects[cpu][i]);
    km_drain_magazines();
    km_flush_cpu();
    return NULL;
}

static void two_cpus_out_of_memory_at_once_both_come_back(void **state)
{
    (void)state;
    assert_int_equal(start_malloc(3), 0);
    memset(&oom, 0, sizeof(oom));
    pthread_barrier_init(&oom.start, NULL, 3);
    size_t before = test_pages_in_use();
    test_pages_limit(before + 100); /* 400 KiB for two CPUs that want ~1.8 MiB */
    pthread_t threads[2];
    for (unsigned i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, oom_thread, (void *)(uintptr_t)(i + 1)),
                         0);
    pthread_barrier_wait(&oom.start);
    wait_for(&oom.finished[1]); /* both came back from every allocation */
    wait_for(&oom.finished[2]);
    __atomic_store_n(&oom.may_free, 1, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    print_message("out of memory at once: CPU 1 got %u objects (%u NULL), CPU 2 got %u (%u NULL)\n",
                  oom.got[1], oom.nulls[1], oom.got[2], oom.nulls[2]);
    assert_true(oom.nulls[1] > 0 && oom.nulls[2] > 0);
    assert_true(oom.got[1] > 0 && oom.got[2] > 0);
    test_pages_limit(0);
    pthread_barrier_destroy(&oom.start);
    struct km_stats stats = stats_now(); /* everything back but metadata */
    assert_int_equal(stats.slab_pages + stats.large_pages, 0);
    assert_true(test_pages_in_use() >= before);
    assert_healthy();
}

/* The rule the fast path relies on: interrupt handlers never call malloc.
 * malloc.debug checks it (every call takes the slow path, which refuses);
 * release mode trusts it (the fast path checks nothing). */
static volatile sig_atomic_t handler_panicked;

static void allocating_handler(int signal)
{
    (void)signal;
    host_interrupt_enter();
    handler_panicked = HOST_EXPECT_PANIC(km_free(km_malloc(64)));
    host_interrupt_leave();
}

static void malloc_debug_refuses_an_interrupt_handler_that_allocates(void **state)
{
    (void)state;
    km_free(km_malloc(64)); /* release mode: the magazine has an object */
    struct sigaction action, old;
    memset(&action, 0, sizeof(action));
    action.sa_handler = allocating_handler;
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR1, &action, &old);
    handler_panicked = 0;
    raise(SIGUSR1);
    sigaction(SIGUSR1, &old, NULL);
    if (debug_run) {
        assert_true(handler_panicked);
        assert_non_null(strstr(host_last_panic, "called from an interrupt handler"));
    } else {
        assert_false(handler_panicked);
    }
    assert_healthy();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_class_serves_its_boundary_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(zero_and_one_byte_take_16_bytes_not_a_page, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_hundred_one_byte_objects_share_one_page, setup, teardown),
        cmocka_unit_test_setup_teardown(power_of_two_classes_are_naturally_aligned, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(aligned_requests_are_aligned, setup, teardown),
        cmocka_unit_test_setup_teardown(large_aligned_requests_are_aligned_and_exact, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bad_alignments_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(large_requests_round_to_pages_not_powers_of_two, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_20_kib_request_takes_5_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(the_2048_class_holds_two_objects_per_page, setup, teardown),
        cmocka_unit_test_setup_teardown(no_request_from_1025_to_3584_costs_a_page, setup, teardown),
        cmocka_unit_test_setup_teardown(calloc_zeroes_and_checks_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(realloc_stays_in_place_within_a_class, setup, teardown),
        cmocka_unit_test_setup_teardown(realloc_moves_across_classes_keeping_the_contents, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(failed_realloc_keeps_the_original, setup, teardown),
        cmocka_unit_test_setup_teardown(counters_follow_every_allocation, setup, teardown),
        cmocka_unit_test_setup_teardown(the_tracker_keeps_requested_sizes_and_call_sites, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(mixed_workload_is_at_least_85_percent_efficient, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(random_storm_keeps_everything_and_gives_pages_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_small_memory_gets_short_magazines, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_slabs_go_back_past_the_keep_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(double_free_panics_with_address_class_and_slab, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_double_free_not_in_a_row_is_caught_by_the_flush, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(interior_pointers_panic, setup, teardown),
        cmocka_unit_test_setup_teardown(foreign_pointers_panic, setup, teardown),
        cmocka_unit_test_setup_teardown(large_interior_pointers_and_double_frees_panic, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_cpu_without_a_pool_panics_until_it_gets_one, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(km_check_finds_a_corrupt_owner_word, setup, teardown),
        cmocka_unit_test_setup_teardown(out_of_memory_returns_null_and_corrupts_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(remote_frees_are_reclaimed_in_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(an_inbox_that_is_full_sends_the_rest_to_the_remote_bitmaps,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(poisoning_catches_a_write_after_free, setup, teardown),
        cmocka_unit_test_setup_teardown(poisoned_objects_come_back_clean_when_untouched, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(four_cpus_with_cross_cpu_frees_balance, setup, teardown),
        cmocka_unit_test_setup_teardown(remote_frees_race_with_slab_retirement, setup, teardown),
        cmocka_unit_test_setup_teardown(a_large_run_freed_by_two_cpus_at_once_is_caught, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_failing_allocation_gets_back_what_another_cpu_holds,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(two_cpus_out_of_memory_at_once_both_come_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(malloc_debug_refuses_an_interrupt_handler_that_allocates,
                                        setup, teardown),
    };
    test_report_begin();
    int failed = cmocka_run_group_tests_name("release mode (magazines)", tests, NULL, NULL);
    debug_run = true;
    failed += cmocka_run_group_tests_name("malloc.debug", tests, NULL, NULL);
    return test_report_end(2 * ARRAY_SIZE(tests), failed);
}
