/*
 * test_buddy.c: the buddy page allocator (mm/buddy.c).
 *
 * The buddy only ever touches its metadata, never the pages themselves, so
 * these tests describe RAM by pfns alone: 4 GiB and beyond cost nothing.
 * Every test ends with buddy_check() and, where memory was given back, with
 * the free lists exactly as they were before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mm/buddy.h"
#include "tests/host/lib/test_report.h"
#include "tests/host/platform_host.h"
#include "lib/random.h"

#define ARRAY_SIZE(array) (sizeof(array) / sizeof((array)[0]))

/* ---- helpers --------------------------------------------------------------- */

struct test_buddy {
    struct buddy buddy;
    void *metadata;
};

/* A buddy over ram; every RAM page handed over if hand_over. */
static struct buddy *make_buddy(struct test_buddy *t, const struct buddy_range *ram, size_t count,
                                bool hand_over)
{
    size_t bytes = buddy_metadata_bytes(ram, count);
    t->metadata = aligned_alloc(16, bytes < 16 ? 16 : (bytes + 15) / 16 * 16);
    assert_non_null(t->metadata);
    memset(t->metadata, 0xA5, bytes); /* "zeroed or not" */
    assert_int_equal(buddy_init(&t->buddy, ram, count, t->metadata, bytes), 0);
    if (hand_over)
        for (size_t i = 0; i < count; i++)
            buddy_free_range(&t->buddy, ram[i].start_pfn, ram[i].end_pfn);
    return &t->buddy;
}

static void free_buddy(struct test_buddy *t)
{
    free(t->metadata);
    t->metadata = NULL;
}

static void assert_buddy_ok(struct buddy *buddy)
{
    char error[256];
    if (!buddy_check(buddy, error, sizeof(error)))
        fail_msg("buddy_check: %s", error);
}

/* The free lists as the stats show them. */
struct snapshot {
    uint64_t blocks[ZONE_COUNT][BUDDY_MAX_ORDER + 1];
    uint64_t free_pages[ZONE_COUNT];
    uint64_t managed_pages[ZONE_COUNT];
};

static struct snapshot take_snapshot(const struct buddy *buddy)
{
    struct snapshot s;
    memset(&s, 0, sizeof(s));
    for (unsigned z = 0; z < ZONE_COUNT; z++) {
        for (unsigned order = 0; order <= BUDDY_MAX_ORDER; order++)
            s.blocks[z][order] = buddy_free_blocks(buddy, (enum zone_id)z, order);
        s.free_pages[z] = buddy_free_page_count(buddy, (enum zone_id)z);
        s.managed_pages[z] = buddy_managed_page_count(buddy, (enum zone_id)z);
    }
    return s;
}

static void assert_snapshot_equal(const struct snapshot *a, const struct snapshot *b)
{
    for (unsigned z = 0; z < ZONE_COUNT; z++) {
        for (unsigned order = 0; order <= BUDDY_MAX_ORDER; order++)
            if (a->blocks[z][order] != b->blocks[z][order])
                fail_msg("zone %s order %u: %llu free blocks, expected %llu",
                         zone_name((enum zone_id)z), order, (unsigned long long)b->blocks[z][order],
                         (unsigned long long)a->blocks[z][order]);
        assert_int_equal(a->free_pages[z], b->free_pages[z]);
        assert_int_equal(a->managed_pages[z], b->managed_pages[z]);
    }
}

static uint64_t total_free_pages(const struct buddy *buddy)
{
    uint64_t total = 0;
    for (unsigned z = 0; z < ZONE_COUNT; z++)
        total += buddy_free_page_count(buddy, (enum zone_id)z);
    return total;
}

static enum zone_id zone_of(uint64_t pfn)
{
    if (pfn < ZONE_LOW_END_PFN)
        return ZONE_LOW;
    return pfn < ZONE_DMA32_END_PFN ? ZONE_DMA32 : ZONE_NORMAL;
}

static bool in_ram(const struct buddy_range *ram, size_t count, uint64_t pfn)
{
    for (size_t i = 0; i < count; i++)
        if (pfn >= ram[i].start_pfn && pfn < ram[i].end_pfn)
            return true;
    return false;
}

/* Asserts that statement panics with a message containing each of the
 * (NULL-terminated) fragments. */
#define ASSERT_PANICS_WITH(statement, ...)                                                         \
    do {                                                                                           \
        assert_true(HOST_EXPECT_PANIC(statement));                                                 \
        const char *fragments[] = {__VA_ARGS__, NULL};                                             \
        for (size_t f = 0; fragments[f]; f++)                                                      \
            if (!strstr(host_last_panic, fragments[f]))                                            \
                fail_msg("panic \"%s\" does not mention \"%s\"", host_last_panic, fragments[f]);   \
    } while (0)

/* ---- metadata and set-up ----------------------------------------------------- */

static void struct_page_is_16_bytes_and_metadata_costs_16_per_page(void **state)
{
    (void)state;
    assert_true(sizeof(struct page) <= 16);
    assert_int_equal(sizeof(struct page), 16);
    assert_int_equal(offsetof(struct page, state), 8);
    assert_int_equal(offsetof(struct page, owner), 12);
    /* The -m 3M PC: [0, 640K) and [1M, 3M - 128K), with the legacy hole free. */
    const struct buddy_range pc[] = {{0, 0x9f}, {0x100, 0x2e0}};
    assert_int_equal(buddy_metadata_bytes(pc, 2), 16 * (0x9f + 0x1e0));
    /* Above 4 GiB, with the PCI hole: still 16 bytes per page of RAM, none for holes. */
    const struct buddy_range big[] = {{1, 0x9f}, {0x100, 0xc0000}, {0x100000, 0x140000}, {7, 7}};
    assert_int_equal(buddy_metadata_bytes(big, 4), 16 * (0x9e + 0xbff00 + 0x40000));
    assert_int_equal(buddy_metadata_bytes(NULL, 0), 0);
}

static void init_rejects_bad_ram_lists_and_metadata(void **state)
{
    (void)state;
    static _Alignas(16) struct page pages[256];
    struct buddy buddy;
    host_set_quiet(true);
    const struct buddy_range unsorted[] = {{10, 20}, {0, 5}};
    assert_int_equal(buddy_init(&buddy, unsorted, 2, pages, sizeof(pages)), -1);
    const struct buddy_range overlapping[] = {{0, 10}, {5, 20}};
    assert_int_equal(buddy_init(&buddy, overlapping, 2, pages, sizeof(pages)), -1);
    const struct buddy_range inverted[] = {{10, 5}};
    assert_int_equal(buddy_init(&buddy, inverted, 1, pages, sizeof(pages)), -1);
    const struct buddy_range fine[] = {{0, 100}};
    assert_int_equal(buddy_init(&buddy, fine, 1, pages, 99 * 16), -1);              /* too small */
    assert_int_equal(buddy_init(&buddy, fine, 1, (char *)pages + 4, 100 * 16), -1); /* misaligned */
    struct buddy_range many[BUDDY_MAX_SECTIONS + 1];
    for (size_t i = 0; i < ARRAY_SIZE(many); i++)
        many[i] = (struct buddy_range){2 * i, 2 * i + 1}; /* 65 ranges with holes */
    assert_int_equal(buddy_init(&buddy, many, ARRAY_SIZE(many), pages, sizeof(pages)), -1);
    assert_int_equal(buddy_init(&buddy, many, BUDDY_MAX_SECTIONS, pages, sizeof(pages)), 0);
    /* 63 ranges, but one crosses 1 MiB and one crosses 4 GiB: 65 sections. */
    struct buddy_range cut[BUDDY_MAX_SECTIONS - 1];
    for (size_t i = 0; i < ARRAY_SIZE(cut) - 2; i++)
        cut[i] = (struct buddy_range){2 * i, 2 * i + 1};
    cut[ARRAY_SIZE(cut) - 2] = (struct buddy_range){0xff, 0x101};
    cut[ARRAY_SIZE(cut) - 1] = (struct buddy_range){0xfffff, 0x100001};
    assert_int_equal(buddy_init(&buddy, cut, ARRAY_SIZE(cut), pages, sizeof(pages)), -1);
    host_set_quiet(false);
    /* Empty ranges are skipped, touching ranges joined. */
    const struct buddy_range joined[] = {{0, 0}, {0, 32}, {32, 64}, {64, 64}};
    assert_int_equal(buddy_init(&buddy, joined, 4, pages, sizeof(pages)), 0);
    assert_int_equal(buddy.section_count, 1);
    buddy_free_range(&buddy, 0, 64);
    assert_int_equal(buddy_free_blocks(&buddy, ZONE_LOW, 6), 1); /* one block across the join */
    assert_buddy_ok(&buddy);
}

static void every_page_starts_reserved(void **state)
{
    (void)state;
    const struct buddy_range ram[] = {{1, 0x9f}, {0x100, 0x180}, {0x100000, 0x100040}};
    struct test_buddy t;
    struct buddy *buddy = make_buddy(&t, ram, ARRAY_SIZE(ram), false);
    for (unsigned z = 0; z < ZONE_COUNT; z++) {
        assert_int_equal(buddy_free_page_count(buddy, (enum zone_id)z), 0);
        assert_int_equal(buddy_managed_page_count(buddy, (enum zone_id)z), 0);
    }
    uint64_t pfn;
    assert_int_equal(buddy_alloc(buddy, 0, BUDDY_ANY, &pfn), -1);
    for (uint64_t p = 0; p < 0x200; p++) {
        struct page *page = buddy_pfn_to_page(buddy, p);
        if (!in_ram(ram, ARRAY_SIZE(ram), p)) {
            assert_null(page);
            continue;
        }
        assert_non_null(page);
        assert_int_equal(page->state, PAGE_RESERVED);
        assert_int_equal(page->zone, zone_of(p));
        assert_int_equal(buddy_page_to_pfn(buddy, page), p);
    }
    struct page *normal = buddy_pfn_to_page(buddy, 0x10003f);
    assert_non_null(normal);
    assert_int_equal(normal->zone, ZONE_NORMAL);
    assert_int_equal(buddy_page_to_pfn(buddy, normal), 0x10003f);
    assert_null(buddy_pfn_to_page(buddy, 0x100040));
    assert_null(buddy_pfn_to_page(buddy, UINT64_MAX));
    struct buddy_census census;
    assert_true(buddy_check_census(buddy, &census, NULL, 0));
    assert_int_equal(census.reserved_pages[ZONE_LOW], 0x9e);
    assert_int_equal(census.reserved_pages[ZONE_DMA32], 0x80);
    assert_int_equal(census.reserved_pages[ZONE_NORMAL], 0x40);
    free_buddy(&t);
}

/* ---- the hand-over ------------------------------------------------------------- */

static void free_range_hands_over_maximal_aligned_blocks(void **state)
{
    (void)state;
    const struct buddy_range ram[] = {{0, 64}};
    struct test_buddy t;
    struct buddy *buddy = make_buddy(&t, ram, 1, false);
    buddy_free_range(buddy, 3, 29); /* 3 | 4-7 | 8-15 | 16-23 | 24-27 | 28 */
    assert_int_equal(buddy_free_blocks(buddy, ZONE_LOW, 0), 2);
    assert_int_equal(buddy_free_blocks(buddy, ZONE_LOW, 1), 0);
    assert_int_equal(buddy_free_blocks(buddy, ZONE_LOW, 2), 2);
    assert_int_equal(buddy_free_blocks(buddy, ZONE_LOW, 3), 2);
    assert_int_equal(buddy_free_page_count(buddy, ZONE_LOW), 26);
    assert_int_equal(buddy_managed_page_count(buddy, ZONE_LOW), 26);
    assert_int_equal(buddy_pfn_to_page(buddy, 8)->state, PAGE_FREE_HEAD);
    assert_int_equal(buddy_pfn_to_page(buddy, 8)->order, 3);
    assert_int_equal(buddy_pfn_to_page(buddy, 9)->state, PAGE_TAIL);
    assert_int_equal(buddy_pfn_to_page(buddy, 2)->state, PAGE_RESERVED);
    assert_int_equal(buddy_pfn_to_page(buddy, 29)->state, PAGE_RESERVED);
    assert_buddy_ok(buddy);
    /* The rest, later: everything merges into one block of 64 pages. */
    buddy_free_range(buddy, 0, 3);
    buddy_free_range(buddy, 29, 64);
    assert_int_equal(buddy_free_blocks(buddy, ZONE_LOW, 6), 1);
    assert_int_equal(buddy_free_page_count(buddy, ZONE_LOW), 64);
    assert_buddy_ok(buddy);
    free_buddy(&t);
}

static void free_range_page_by_page_coalesces_in_any_order(void **state)
{
    (void)state;
    const struct buddy_range ram[] = {{0x400, 0x800}}; /* 1024 pages, aligned */
    for (int pass = 0; pass < 3; pass++) {
        struct test_buddy t;
        struct buddy *buddy = make_buddy(&t, ram, 1, false);
        for (uint64_t i = 0; i < 0x400; i++) {
            uint64_t pfn = pass == 0   ? 0x400 + i
                           : pass == 1 ? 0x7ff - i
                                       : 0x400 + ((i * 389) & 0x3ff); /* a permutation */
            buddy_free_range(buddy, pfn, pfn + 1);
            if (i % 61 == 0)
                assert_buddy_ok(buddy);
        }
        assert_int_equal(buddy_free_blocks(buddy, ZONE_DMA32, BUDDY_MAX_ORDER), 1);
        assert_int_equal(buddy_free_page_count(buddy, ZONE_DMA32), 0x400);
        assert_buddy_ok(buddy);
        free_buddy(&t);
    }
}

static void free_range_panics_on_holes_and_pages_already_free(void **state)
{
    (void)state;
    const struct buddy_range ram[] = {{0, 0x20}, {0x30, 0x40}};
    struct test_buddy t;
    struct buddy *buddy = make_buddy(&t, ram, 2, false);
    buddy_free_range(buddy, 0x4, 0x8);
    struct snapshot before = take_snapshot(buddy);
    ASSERT_PANICS_WITH(buddy_free_range(buddy, 0x10, 0x31), "0x20", "not RAM");
    ASSERT_PANICS_WITH(buddy_free_range(buddy, 0x40, 0x41), "0x40", "not RAM");
    ASSERT_PANICS_WITH(buddy_free_range(buddy, 0x0, 0x10), "0x4", "free head", "handed over");
    ASSERT_PANICS_WITH(buddy_free_range(buddy, 0x5, 0x6), "0x5", "is tail, not reserved");
    uint64_t pfn;
    assert_int_equal(buddy_alloc(buddy, 0, BUDDY_ANY, &pfn), 0);
    ASSERT_PANICS_WITH(buddy_free_range(buddy, pfn, pfn + 1), "allocated head");
    buddy_free(buddy, pfn, 0);
    /* Nothing changed: the checks come before any page moves. */
    struct snapshot after = take_snapshot(buddy);
    assert_snapshot_equal(&before, &after);
    assert_int_equal(buddy_pfn_to_page(buddy, 0x10)->state, PAGE_RESERVED);
    assert_buddy_ok(buddy);
    free_buddy(&t);
}

/* ---- split and coalesce ----------------------------------------------------------- */

static void alloc_splits_and_free_coalesces(void **state)
{
    (void)state;
    const struct buddy_range ram[] = {{0x400, 0x800}};
    struct test_buddy t;
    struct buddy *buddy = make_buddy(&t, ram, 1, true);
    struct snapshot initial = take_snapshot(buddy);
    assert_int_equal(initial.blocks[ZONE_DMA32][BUDDY_MAX_ORDER], 1);

    uint64_t pfn;
    assert_int_equal(buddy_alloc(buddy, 0, BUDDY_ANY, &pfn), 0);
    assert_int_equal(pfn, 0x400); /* the lower half is kept at each split */
    for (unsigned order = 0; order < BUDDY_MAX_ORDER; order++)
        assert_int_equal(buddy_free_blocks(buddy, ZONE_DMA32, order), 1);
    assert_int_equal(buddy_free_blocks(buddy, ZONE_DMA32, BUDDY_MAX_ORDER), 0);
    assert_int_equal(buddy_pfn_to_page(buddy, 0x401)->state, PAGE_FREE_HEAD); /* its buddy */
    assert_int_equal(buddy_pfn_to_page(buddy, 0x600)->order, 9);
    assert_buddy_ok(buddy);

    uint64_t block;
    assert_int_equal(buddy_alloc(buddy, 3, BUDDY_ANY, &block), 0);
    assert_int_equal(block, 0x408); /* the free block of order 3 */
    assert_int_equal(buddy_pfn_to_page(buddy, block)->state, PAGE_ALLOCATED_HEAD);
    assert_int_equal(buddy_pfn_to_page(buddy, block)->order, 3);
    for (uint64_t p = block + 1; p < block + 8; p++)
        assert_int_equal(buddy_pfn_to_page(buddy, p)->state, PAGE_TAIL);
    assert_int_equal(buddy_free_page_count(buddy, ZONE_DMA32), 0x400 - 9);
    assert_buddy_ok(buddy);

    buddy_free(buddy, pfn, 0);
    assert_int_equal(buddy_free_blocks(buddy, ZONE_DMA32, 3), 1); /* 0x400-0x407 merged up to 3 */
    buddy_free(buddy, block, 3);
    struct snapshot final = take_snapshot(buddy);
    assert_snapshot_equal(&initial, &final);
    assert_buddy_ok(buddy);
    free_buddy(&t);
}

static void blocks_never_span_a_hole(void **state)
{
    (void)state;
    const struct buddy_range ram[] = {{0x100, 0x11e}, {0x122, 0x140}}; /* hole 0x11e-0x121 */
    struct test_buddy t;
    struct buddy *buddy = make_buddy(&t, ram, 2, true);
    /* 0x100-0x10f | 0x110-0x117 | 0x118-0x11b | 0x11c-0x11d ... 0x122-0x123 | 0x124-0x127 |
     * 0x128-0x12f | 0x130-0x13f */
    for (unsigned order = 1; order <= 4; order++)
        assert_int_equal(buddy_free_blocks(buddy, ZONE_DMA32, order), 2);
    uint64_t pfn;
    assert_int_equal(buddy_alloc(buddy, 5, BUDDY_ANY, &pfn), -1);
    uint64_t count = 0;
    while (buddy_alloc(buddy, 1, BUDDY_ANY, &pfn) == 0) {
        assert_true(in_ram(ram, 2, pfn) && in_ram(ram, 2, pfn + 1));
        count++;
    }
    assert_int_equal(count, 30);
    assert_buddy_ok(buddy);
    free_buddy(&t);
}

static void buddies_in_different_zones_never_merge(void **state)
{
    (void)state;
    /* One RAM range across 1 MiB: pfns 0x0 and 0x100 are buddies of order 8,
     * but they are in ZONE_LOW and ZONE_DMA32, so two sections. */
    const struct buddy_range ram[] = {{0, 0x200}, {0xffc00, 0x100400}};
    struct test_buddy t;
    struct buddy *buddy = make_buddy(&t, ram, 2, true);
    assert_int_equal(buddy->section_count, 4);
    assert_int_equal(buddy_free_blocks(buddy, ZONE_LOW, 8), 1);
    assert_int_equal(buddy_free_blocks(buddy, ZONE_LOW, 9), 0);
    assert_int_equal(buddy_free_blocks(buddy, ZONE_DMA32, 8), 1);
    assert_int_equal(buddy_free_blocks(buddy, ZONE_DMA32, 10), 1);  /* just below 4 GiB */
    assert_int_equal(buddy_free_blocks(buddy, ZONE_NORMAL, 10), 1); /* just above */
    uint64_t pfn;
    assert_int_equal(buddy_alloc(buddy, 9, BUDDY_BELOW_4G, &pfn), 0);
    assert_int_equal(pfn, 0xffc00); /* from the order-10 block, not from a merge across 1 MiB */
    buddy_free(buddy, pfn, 9);
    /* Empty LOW page by page, free it back: still order 8 at most, still no merge. */
    uint64_t low[256];
    for (int i = 0; i < 256; i++) {
        assert_int_equal(buddy_alloc(buddy, 0, BUDDY_BELOW_1M, &low[i]), 0);
        assert_int_equal(zone_of(low[i]), ZONE_LOW);
    }
    assert_int_equal(buddy_alloc(buddy, 0, BUDDY_BELOW_1M, &pfn), -1);
    for (int i = 255; i >= 0; i--)
        buddy_free(buddy, low[i], 0);
    assert_int_equal(buddy_free_blocks(buddy, ZONE_LOW, 8), 1);
    assert_int_equal(buddy_free_blocks(buddy, ZONE_DMA32, 8), 1);
    assert_buddy_ok(buddy);
    free_buddy(&t);
}

/*
 * Small RAM layouts at many alignments, with a hole: allocate everything
 * (first blocks of one order, then single pages), check that no page is given
 * twice and that holes are never given, free everything in three different
 * orders, and find the free lists exactly as they were; buddy_check after
 * every step.
 */
static void exhaustive_small_layouts_come_back_exactly(void **state)
{
    (void)state;
    static const uint64_t offsets[] = {0, 1, 3, 5, 8, 13, 0x3f};
    static const unsigned first_orders[] = {0, 2, 5};
    for (size_t o = 0; o < ARRAY_SIZE(offsets); o++) {
        for (uint64_t size = 1; size <= 64; size++) {
            uint64_t base = 0x1000 + offsets[o];
            struct buddy_range ram[2] = {{base, base + size},
                                         {base + size + 3, base + size + 3 + size / 2}};
            size_t count = size / 2 > 0 ? 2 : 1;
            uint64_t pages = size + size / 2;
            for (size_t f = 0; f < ARRAY_SIZE(first_orders); f++) {
                for (int free_order = 0; free_order < 3; free_order++) {
                    struct test_buddy t;
                    struct buddy *buddy = make_buddy(&t, ram, count, true);
                    struct snapshot initial = take_snapshot(buddy);
                    assert_int_equal(total_free_pages(buddy), pages);
                    uint64_t pfns[128];
                    unsigned orders[128];
                    bool used[256] = {false};
                    size_t blocks = 0;
                    for (unsigned order = first_orders[f];; order = 0) {
                        uint64_t pfn;
                        while (buddy_alloc(buddy, order, BUDDY_ANY, &pfn) == 0) {
                            assert_int_equal(pfn & ((1u << order) - 1), 0);
                            for (uint64_t p = pfn; p < pfn + (1u << order); p++) {
                                assert_true(in_ram(ram, count, p));
                                assert_false(used[p - base]);
                                used[p - base] = true;
                            }
                            pfns[blocks] = pfn;
                            orders[blocks++] = order;
                            assert_buddy_ok(buddy);
                        }
                        if (order == 0)
                            break;
                    }
                    assert_int_equal(total_free_pages(buddy), 0);
                    for (size_t i = 0; i < blocks; i++) {
                        size_t k = free_order == 0   ? i
                                   : free_order == 1 ? blocks - 1 - i
                                                     : (i * 7 + 3) % blocks;
                        if (free_order == 2 && blocks % 7 == 0)
                            k = i; /* 7 shares a factor with blocks: not a permutation */
                        buddy_free(buddy, pfns[k], orders[k]);
                        assert_buddy_ok(buddy);
                    }
                    struct snapshot final = take_snapshot(buddy);
                    assert_snapshot_equal(&initial, &final);
                    free_buddy(&t);
                }
            }
        }
    }
}

/* ---- zones ------------------------------------------------------------------------ */

static const struct buddy_range three_zones[] = {
    {0x1, 0x9f},          /* LOW: 158 pages (page 0 kept out, the 640K-1M hole) */
    {0x100, 0x200},       /* DMA32: 256 pages */
    {0x100000, 0x100080}, /* NORMAL: 128 pages */
};

static void any_takes_normal_first_and_low_last(void **state)
{
    (void)state;
    struct test_buddy t;
    struct buddy *buddy = make_buddy(&t, three_zones, 3, true);
    struct snapshot initial = take_snapshot(buddy);
    uint64_t pfns[542];
    for (int i = 0; i < 542; i++) {
        assert_int_equal(buddy_alloc(buddy, 0, BUDDY_ANY, &pfns[i]), 0);
        enum zone_id expected = i < 128 ? ZONE_NORMAL : i < 384 ? ZONE_DMA32 : ZONE_LOW;
        assert_int_equal(zone_of(pfns[i]), expected);
    }
    uint64_t pfn;
    assert_int_equal(buddy_alloc(buddy, 0, BUDDY_ANY, &pfn), -1);
    assert_buddy_ok(buddy);
    for (int i = 0; i < 542; i++)
        buddy_free(buddy, pfns[i], 0);
    struct snapshot final = take_snapshot(buddy);
    assert_snapshot_equal(&initial, &final);
    free_buddy(&t);
}

static void zone_requests_are_honoured_and_failures_change_nothing(void **state)
{
    (void)state;
    struct test_buddy t;
    struct buddy *buddy = make_buddy(&t, three_zones, 3, true);
    uint64_t pfn;
    assert_int_equal(buddy_alloc(buddy, 0, BUDDY_BELOW_1M, &pfn), 0);
    assert_int_equal(zone_of(pfn), ZONE_LOW);
    buddy_free(buddy, pfn, 0);
    assert_int_equal(buddy_alloc(buddy, 4, BUDDY_BELOW_4G, &pfn), 0);
    assert_int_equal(zone_of(pfn), ZONE_DMA32);
    buddy_free(buddy, pfn, 4);
    /* No block of order 8 below 1 MiB (158 pages), one in DMA32. */
    struct snapshot before = take_snapshot(buddy);
    assert_int_equal(buddy_alloc(buddy, 8, BUDDY_BELOW_1M, &pfn), -1);
    assert_int_equal(buddy_alloc(buddy, 9, BUDDY_ANY, &pfn), -1);
    assert_int_equal(buddy_alloc(buddy, BUDDY_MAX_ORDER + 1, BUDDY_ANY, &pfn), -1);
    assert_int_equal(buddy_alloc(buddy, 0, (enum buddy_zone_request)7, &pfn), -1);
    struct snapshot after = take_snapshot(buddy);
    assert_snapshot_equal(&before, &after);
    /* Exhaust below 4 GiB: BELOW_4G and BELOW_1M fail, ANY still works. */
    uint64_t low[414];
    for (int i = 0; i < 414; i++) {
        assert_int_equal(buddy_alloc(buddy, 0, BUDDY_BELOW_4G, &low[i]), 0);
        assert_int_not_equal(zone_of(low[i]), ZONE_NORMAL);
    }
    before = take_snapshot(buddy);
    assert_int_equal(buddy_alloc(buddy, 0, BUDDY_BELOW_4G, &pfn), -1);
    assert_int_equal(buddy_alloc(buddy, 0, BUDDY_BELOW_1M, &pfn), -1);
    after = take_snapshot(buddy);
    assert_snapshot_equal(&before, &after);
    assert_int_equal(buddy_alloc(buddy, 0, BUDDY_ANY, &pfn), 0);
    assert_int_equal(zone_of(pfn), ZONE_NORMAL);
    buddy_free(buddy, pfn, 0);
    for (int i = 0; i < 414; i++)
        buddy_free(buddy, low[i], 0);
    assert_buddy_ok(buddy);
    free_buddy(&t);
}

static void stats_and_names(void **state)
{
    (void)state;
    struct test_buddy t;
    struct buddy *buddy = make_buddy(&t, three_zones, 3, true);
    assert_string_equal(zone_name(ZONE_LOW), "low");
    assert_string_equal(zone_name(ZONE_DMA32), "dma32");
    assert_string_equal(zone_name(ZONE_NORMAL), "normal");
    assert_string_equal(page_state_name(PAGE_CACHED), "cached");
    assert_string_equal(page_state_name((enum page_state)99), "(corrupt state)");
    assert_int_equal(buddy_managed_page_count(buddy, ZONE_LOW), 158);
    assert_int_equal(buddy_managed_page_count(buddy, ZONE_DMA32), 256);
    assert_int_equal(buddy_managed_page_count(buddy, ZONE_NORMAL), 128);
    assert_int_equal(buddy_free_blocks(buddy, ZONE_DMA32, 8), 1);
    assert_int_equal(buddy_free_blocks(buddy, ZONE_NORMAL, 7), 1);
    assert_int_equal(buddy_free_blocks(buddy, ZONE_NORMAL, BUDDY_MAX_ORDER + 1), 0);
    assert_int_equal(buddy_free_page_count(buddy, ZONE_COUNT), 0);
    uint64_t pfn;
    assert_int_equal(buddy_alloc(buddy, 2, BUDDY_BELOW_1M, &pfn), 0);
    struct buddy_census census;
    assert_true(buddy_check_census(buddy, &census, NULL, 0));
    assert_int_equal(census.allocated_pages[ZONE_LOW], 4);
    assert_int_equal(census.free_pages[ZONE_LOW], 154);
    assert_int_equal(census.reserved_pages[ZONE_LOW], 0);
    assert_int_equal(buddy_free_page_count(buddy, ZONE_LOW), 154);
    buddy_free(buddy, pfn, 2);
    free_buddy(&t);
}

/* ---- bad frees panic, naming the pfn ------------------------------------------------ */

static void double_free_panics(void **state)
{
    (void)state;
    struct test_buddy t;
    struct buddy *buddy = make_buddy(&t, three_zones, 3, true);
    uint64_t pfn, order3;
    assert_int_equal(buddy_alloc(buddy, 0, BUDDY_BELOW_4G, &pfn), 0);
    assert_int_equal(buddy_alloc(buddy, 3, BUDDY_BELOW_4G, &order3), 0);
    buddy_free(buddy, pfn, 0);
    char name[32];
    snprintf(name, sizeof(name), "pfn %#llx", (unsigned long long)pfn);
    ASSERT_PANICS_WITH(buddy_free(buddy, pfn, 0), name, "double free");
    buddy_free(buddy, order3, 3);
    snprintf(name, sizeof(name), "pfn %#llx", (unsigned long long)order3);
    ASSERT_PANICS_WITH(buddy_free(buddy, order3, 3), name, "double free");
    ASSERT_PANICS_WITH(buddy_free(buddy, order3 + 1, 0), "inside a free block: double free",
                       "the page is tail"); /* a tail of the merged block */
    assert_buddy_ok(buddy);                 /* the lock was released before the panic */
    assert_int_equal(buddy_alloc(buddy, 0, BUDDY_BELOW_4G, &pfn), 0);
    buddy_free(buddy, pfn, 0);
    free_buddy(&t);
}

static void free_with_the_wrong_order_panics(void **state)
{
    (void)state;
    struct test_buddy t;
    struct buddy *buddy = make_buddy(&t, three_zones, 3, true);
    uint64_t pfn;
    assert_int_equal(buddy_alloc(buddy, 2, BUDDY_ANY, &pfn), 0);
    char name[32];
    snprintf(name, sizeof(name), "pfn %#llx", (unsigned long long)pfn);
    ASSERT_PANICS_WITH(buddy_free(buddy, pfn, 0), name, "order 0", "allocated head, order 2");
    ASSERT_PANICS_WITH(buddy_free(buddy, pfn, 1), name, "another order");
    ASSERT_PANICS_WITH(buddy_free(buddy, pfn, BUDDY_MAX_ORDER + 1), name, "above");
    buddy_free(buddy, pfn, 2);
    assert_buddy_ok(buddy);
    free_buddy(&t);
}

static void free_of_an_unaligned_pfn_panics(void **state)
{
    (void)state;
    struct test_buddy t;
    struct buddy *buddy = make_buddy(&t, three_zones, 3, true);
    uint64_t pfn;
    assert_int_equal(buddy_alloc(buddy, 0, BUDDY_ANY, &pfn), 0);
    assert_int_equal(buddy_alloc(buddy, 0, BUDDY_ANY, &pfn), 0);
    assert_true(pfn & 1); /* the second page of a split pair */
    char name[32];
    snprintf(name, sizeof(name), "pfn %#llx", (unsigned long long)pfn);
    ASSERT_PANICS_WITH(buddy_free(buddy, pfn, 1), name, "not aligned to order 1");
    ASSERT_PANICS_WITH(buddy_free(buddy, 0x100004, 3), "pfn 0x100004", "not aligned");
    buddy_free(buddy, pfn, 0);
    buddy_free(buddy, pfn - 1, 0);
    assert_buddy_ok(buddy);
    free_buddy(&t);
}

static void free_of_an_interior_page_panics(void **state)
{
    (void)state;
    struct test_buddy t;
    struct buddy *buddy = make_buddy(&t, three_zones, 3, true);
    uint64_t pfn;
    assert_int_equal(buddy_alloc(buddy, 4, BUDDY_BELOW_4G, &pfn), 0);
    ASSERT_PANICS_WITH(buddy_free(buddy, pfn + 5, 0), "inside an allocated block",
                       "the page is tail");
    ASSERT_PANICS_WITH(buddy_free(buddy, pfn + 8, 3), "inside an allocated block");
    buddy_free(buddy, pfn, 4);
    assert_buddy_ok(buddy);
    free_buddy(&t);
}

static void free_of_a_reserved_page_or_a_hole_panics(void **state)
{
    (void)state;
    struct test_buddy t;
    struct buddy *buddy = make_buddy(&t, three_zones, 3, false);
    buddy_free_range(buddy, 0x100, 0x200);
    ASSERT_PANICS_WITH(buddy_free(buddy, 0x10, 0), "pfn 0x10", "reserved");
    ASSERT_PANICS_WITH(buddy_free(buddy, 0x0, 0), "pfn 0", "not RAM"); /* page 0: not RAM here */
    ASSERT_PANICS_WITH(buddy_free(buddy, 0xa0, 0), "pfn 0xa0", "not RAM"); /* the legacy hole */
    ASSERT_PANICS_WITH(buddy_free(buddy, 0x200000, 0), "pfn 0x200000", "not RAM");
    assert_buddy_ok(buddy);
    free_buddy(&t);
}

/* ---- buddy_check finds corruption ------------------------------------------------------ */

/* Corrupts with mutate, expects buddy_check to fail mentioning fragment, then
 * restores the metadata byte for byte and expects it to pass again. */
static void expect_check_failure(struct buddy *buddy, void (*mutate)(struct buddy *),
                                 const char *fragment)
{
    size_t bytes = buddy->page_count * sizeof(struct page);
    struct page *saved_pages = malloc(bytes);
    struct buddy saved = *buddy;
    memcpy(saved_pages, buddy->pages, bytes);
    mutate(buddy);
    char error[256];
    assert_false(buddy_check(buddy, error, sizeof(error)));
    if (!strstr(error, fragment))
        fail_msg("buddy_check said \"%s\", expected a mention of \"%s\"", error, fragment);
    memcpy(buddy->pages, saved_pages, bytes);
    *buddy = saved;
    free(saved_pages);
    assert_buddy_ok(buddy);
}

/* The layout the corruption tests start from: DMA32 pfns [0x100, 0x140), with
 * an allocated order-2 block at 0x100, an allocated page at 0x104 and the
 * rest free: 0x105 (0), 0x106 (1), 0x108 (3), 0x110 (4), 0x120 (5). */
static struct buddy *corruption_layout(struct test_buddy *t)
{
    static const struct buddy_range ram[] = {{0x100, 0x140}};
    struct buddy *buddy = make_buddy(t, ram, 1, true);
    uint64_t pfn;
    assert_int_equal(buddy_alloc(buddy, 2, BUDDY_ANY, &pfn), 0);
    assert_int_equal(pfn, 0x100);
    assert_int_equal(buddy_alloc(buddy, 0, BUDDY_ANY, &pfn), 0);
    assert_int_equal(pfn, 0x104);
    assert_buddy_ok(buddy);
    return buddy;
}

static struct page *page_at(struct buddy *buddy, uint64_t pfn)
{
    return buddy_pfn_to_page(buddy, pfn);
}

static void a_tail_becomes_a_head(struct buddy *b)
{
    page_at(b, 0x102)->state = PAGE_ALLOCATED_HEAD;
    page_at(b, 0x102)->order = 0;
}

static void tail_without_head(struct buddy *b)
{
    page_at(b, 0x104)->state = PAGE_TAIL;
}

static void unknown_state(struct buddy *b)
{
    page_at(b, 0x105)->state = 42;
}

static void misaligned_order(struct buddy *b)
{
    page_at(b, 0x106)->order = 2;
}

static void order_too_big(struct buddy *b)
{
    page_at(b, 0x100)->order = 11;
}

static void block_past_section(struct buddy *b)
{
    page_at(b, 0x100)->order = 7;
}

static void cached_with_order(struct buddy *b)
{
    page_at(b, 0x104)->state = PAGE_CACHED;
    page_at(b, 0x104)->order = 1;
}

static void broken_next_link(struct buddy *b)
{
    /* Order 0 has one block (0x105): make its list point at an allocated page. */
    page_at(b, 0x105)->next = (uint32_t)(page_at(b, 0x104) - b->pages);
}

static void link_out_of_the_array(struct buddy *b)
{
    page_at(b, 0x105)->next = 12345;
}

static void broken_prev_link(struct buddy *b)
{
    page_at(b, 0x108)->prev = 7;
}

static void nr_free_counter(struct buddy *b)
{
    b->zones[ZONE_DMA32].free_area[3].nr_free++;
}

static void free_pages_counter(struct buddy *b)
{
    b->zones[ZONE_DMA32].free_pages--;
}

static void managed_pages_counter(struct buddy *b)
{
    b->zones[ZONE_DMA32].managed_pages++;
}

static void nonempty_bitmap(struct buddy *b)
{
    b->zones[ZONE_DMA32].nonempty_orders &= ~(1u << 4);
}

static void wrong_zone_byte(struct buddy *b)
{
    page_at(b, 0x107)->zone = ZONE_NORMAL;
}

static void unlinked_free_head(struct buddy *b)
{
    /* 0x104 looks free but is in no list: its buddy 0x105 is free too. */
    page_at(b, 0x104)->state = PAGE_FREE_HEAD;
}

static void check_detects_corrupt_page_states(void **state)
{
    (void)state;
    struct test_buddy t;
    struct buddy *buddy = corruption_layout(&t);
    expect_check_failure(buddy, a_tail_becomes_a_head, "pfn 0x102: page 2 of the allocated block");
    expect_check_failure(buddy, tail_without_head, "pfn 0x104: tail page that follows no");
    expect_check_failure(buddy, unknown_state, "pfn 0x105: unknown state 42");
    expect_check_failure(buddy, cached_with_order, "pfn 0x104: cached page of order 1");
    expect_check_failure(buddy, wrong_zone_byte, "pfn 0x107");
    expect_check_failure(buddy, unlinked_free_head, "not merged");
    free_buddy(&t);
}

static void check_detects_corrupt_orders(void **state)
{
    (void)state;
    struct test_buddy t;
    struct buddy *buddy = corruption_layout(&t);
    expect_check_failure(buddy, misaligned_order, "pfn 0x106: free block of order 2 not aligned");
    expect_check_failure(buddy, order_too_big, "pfn 0x100: allocated block of order 11");
    expect_check_failure(buddy, block_past_section, "runs past the end of its section");
    free_buddy(&t);
}

static void check_detects_corrupt_links(void **state)
{
    (void)state;
    struct test_buddy t;
    struct buddy *buddy = corruption_layout(&t);
    expect_check_failure(buddy, broken_next_link, "pfn 0x104: in the free list of zone dma32");
    expect_check_failure(buddy, link_out_of_the_array, "past the 64 pages");
    expect_check_failure(buddy, broken_prev_link, "pfn 0x108: prev link");
    free_buddy(&t);
}

static void check_detects_corrupt_counters(void **state)
{
    (void)state;
    struct test_buddy t;
    struct buddy *buddy = corruption_layout(&t);
    expect_check_failure(buddy, nr_free_counter, "zone dma32 order 3: nr_free is 2");
    expect_check_failure(buddy, free_pages_counter, "zone dma32: free_pages is 58");
    expect_check_failure(buddy, managed_pages_counter, "zone dma32: managed_pages is 65");
    expect_check_failure(buddy, nonempty_bitmap, "nonempty_orders bit");
    free_buddy(&t);
}

static void check_detects_free_buddies_left_apart(void **state)
{
    (void)state;
    /* Build the forbidden state by hand: 0x104 and 0x105 both free blocks of
     * order 0, both linked, counters consistent. Only the merge rule is broken. */
    struct test_buddy t;
    struct buddy *buddy = corruption_layout(&t);
    struct buddy_zone *zone = &buddy->zones[ZONE_DMA32];
    struct page *page = page_at(buddy, 0x104);
    uint32_t index = (uint32_t)(page - buddy->pages);
    page->state = PAGE_FREE_HEAD;
    page->order = 0;
    page->prev = PAGE_INDEX_NONE;
    page->next = zone->free_area[0].first;
    buddy->pages[zone->free_area[0].first].prev = index;
    zone->free_area[0].first = index;
    zone->free_area[0].nr_free++;
    zone->free_pages++;
    char error[256];
    assert_false(buddy_check(buddy, error, sizeof(error)));
    assert_non_null(strstr(error, "pfn 0x104: free block of order 0 and its free buddy at pfn "
                                  "0x105 were not merged"));
    free_buddy(&t);
}

/* ---- batches for the page caches --------------------------------------------------------- */

static void cached_batches_mark_pages_and_come_back(void **state)
{
    (void)state;
    struct test_buddy t;
    struct buddy *buddy = make_buddy(&t, three_zones, 3, true);
    struct snapshot initial = take_snapshot(buddy);
    uint64_t pfns[200];
    assert_int_equal(buddy_alloc_cached_batch(buddy, BUDDY_ANY, pfns, 150), 150);
    for (int i = 0; i < 150; i++) {
        assert_int_equal(buddy_pfn_to_page(buddy, pfns[i])->state, PAGE_CACHED);
        assert_int_equal(zone_of(pfns[i]), i < 128 ? ZONE_NORMAL : ZONE_DMA32);
    }
    assert_int_equal(buddy_free_page_count(buddy, ZONE_NORMAL), 0);
    assert_int_equal(buddy_managed_page_count(buddy, ZONE_NORMAL), 128);
    struct buddy_census census;
    char error[256];
    assert_true(buddy_check_census(buddy, &census, error, sizeof(error)));
    assert_int_equal(census.cached_pages[ZONE_NORMAL], 128);
    assert_int_equal(census.cached_pages[ZONE_DMA32], 22);
    assert_int_equal(census.allocated_pages[ZONE_DMA32], 0);

    char name[32];
    snprintf(name, sizeof(name), "pfn %#llx", (unsigned long long)pfns[3]);
    ASSERT_PANICS_WITH(buddy_free(buddy, pfns[3], 0), name, "page cache", "double free");
    uint64_t not_cached;
    assert_int_equal(buddy_alloc(buddy, 0, BUDDY_BELOW_1M, &not_cached), 0);
    snprintf(name, sizeof(name), "pfn %#llx", (unsigned long long)not_cached);
    ASSERT_PANICS_WITH(buddy_free_cached_batch(buddy, &not_cached, 1), name, "not cached");
    uint64_t hole = 0xa0;
    ASSERT_PANICS_WITH(buddy_free_cached_batch(buddy, &hole, 1), "pfn 0xa0", "not RAM");
    buddy_free(buddy, not_cached, 0);
    assert_buddy_ok(buddy); /* no lock was left held */

    buddy_free_cached_batch(buddy, pfns, 150);
    struct snapshot after = take_snapshot(buddy);
    assert_snapshot_equal(&initial, &after);
    /* BELOW_1M batches come from LOW only, and stop when it is empty. */
    assert_int_equal(buddy_alloc_cached_batch(buddy, BUDDY_BELOW_1M, pfns, 200), 158);
    buddy_free_cached_batch(buddy, pfns, 158);
    after = take_snapshot(buddy);
    assert_snapshot_equal(&initial, &after);
    assert_buddy_ok(buddy);
    free_buddy(&t);
}

/* ---- random sequences ----------------------------------------------------------------------- */

/*
 * 200,000 random allocations and frees of mixed orders and zone requests over
 * about 3,800 pages with holes in all three zones. An ownership map checks
 * that no page is handed out twice; buddy_check runs every 1,000 steps; at the
 * end every block is freed and the free lists must be exactly as they began.
 */
static void random_sequences_keep_every_invariant(void **state)
{
    (void)state;
    static const struct buddy_range ram[] = {
        {0x1, 0x9f},
        {0x100, 0x3f0},
        {0x3f3, 0x700},
        {0x7ff, 0xa01},
        {0xfff80, 0x100000 + 0x300},
        {0x100400, 0x100800},
    };
    static const uint64_t seeds[] = {1, 0x9e3779b97f4a7c15ull, 20240521};
    struct block {
        uint64_t pfn;
        unsigned order;
    };
    enum { MAX_LIVE = 1500, STEPS = 200000 };
    for (size_t s = 0; s < ARRAY_SIZE(seeds); s++) {
        struct test_buddy t;
        struct buddy *buddy = make_buddy(&t, ram, ARRAY_SIZE(ram), true);
        struct snapshot initial = take_snapshot(buddy);
        uint64_t managed = 0;
        for (unsigned z = 0; z < ZONE_COUNT; z++)
            managed += buddy_managed_page_count(buddy, (enum zone_id)z);
        uint8_t *owned = calloc(buddy->page_count, 1);
        struct block *live = malloc(MAX_LIVE * sizeof(*live));
        size_t live_count = 0;
        uint64_t random = seeds[s], failures = 0, live_pages = 0;
        for (int step = 0; step < (s == 0 ? STEPS : STEPS / 4); step++) {
            uint64_t r = random_next(&random);
            bool do_alloc = live_count == 0 || (live_count < MAX_LIVE && (r & 0xff) < 132);
            if (do_alloc) {
                /* Mostly small orders, sometimes big ones. */
                unsigned order = (r >> 8) % 16 < 10 ? (unsigned)((r >> 12) % 3)
                                                    : (unsigned)((r >> 12) % (BUDDY_MAX_ORDER + 1));
                enum buddy_zone_request where = (r >> 20) % 8 == 0   ? BUDDY_BELOW_1M
                                                : (r >> 20) % 8 == 1 ? BUDDY_BELOW_4G
                                                                     : BUDDY_ANY;
                uint64_t pfn;
                if (buddy_alloc(buddy, order, where, &pfn) != 0) {
                    failures++;
                    continue;
                }
                assert_int_equal(pfn & ((1ull << order) - 1), 0);
                if (where == BUDDY_BELOW_1M)
                    assert_true(pfn + (1ull << order) <= ZONE_LOW_END_PFN);
                if (where == BUDDY_BELOW_4G)
                    assert_true(pfn + (1ull << order) <= ZONE_DMA32_END_PFN);
                for (uint64_t p = pfn; p < pfn + (1ull << order); p++) {
                    struct page *page = buddy_pfn_to_page(buddy, p);
                    assert_non_null(page);
                    assert_int_equal(page->zone, zone_of(pfn)); /* one zone per block */
                    uint32_t index = (uint32_t)(page - buddy->pages);
                    assert_false(owned[index]);
                    owned[index] = 1;
                }
                live[live_count++] = (struct block){pfn, order};
                live_pages += 1ull << order;
            } else {
                size_t victim = (size_t)((r >> 8) % live_count);
                struct block block = live[victim];
                live[victim] = live[--live_count];
                for (uint64_t p = block.pfn; p < block.pfn + (1ull << block.order); p++)
                    owned[buddy_pfn_to_page(buddy, p) - buddy->pages] = 0;
                buddy_free(buddy, block.pfn, block.order);
                live_pages -= 1ull << block.order;
            }
            if (step % 1000 == 0) {
                assert_buddy_ok(buddy);
                assert_int_equal(total_free_pages(buddy) + live_pages, managed);
            }
        }
        assert_true(failures > 0); /* the sequence did reach out-of-memory */
        while (live_count > 0) {
            live_count--;
            buddy_free(buddy, live[live_count].pfn, live[live_count].order);
        }
        assert_buddy_ok(buddy);
        struct snapshot final = take_snapshot(buddy);
        assert_snapshot_equal(&initial, &final);
        free(owned);
        free(live);
        free_buddy(&t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(struct_page_is_16_bytes_and_metadata_costs_16_per_page),
        cmocka_unit_test(init_rejects_bad_ram_lists_and_metadata),
        cmocka_unit_test(every_page_starts_reserved),
        cmocka_unit_test(free_range_hands_over_maximal_aligned_blocks),
        cmocka_unit_test(free_range_page_by_page_coalesces_in_any_order),
        cmocka_unit_test(free_range_panics_on_holes_and_pages_already_free),
        cmocka_unit_test(alloc_splits_and_free_coalesces),
        cmocka_unit_test(blocks_never_span_a_hole),
        cmocka_unit_test(buddies_in_different_zones_never_merge),
        cmocka_unit_test(exhaustive_small_layouts_come_back_exactly),
        cmocka_unit_test(any_takes_normal_first_and_low_last),
        cmocka_unit_test(zone_requests_are_honoured_and_failures_change_nothing),
        cmocka_unit_test(stats_and_names),
        cmocka_unit_test(double_free_panics),
        cmocka_unit_test(free_with_the_wrong_order_panics),
        cmocka_unit_test(free_of_an_unaligned_pfn_panics),
        cmocka_unit_test(free_of_an_interior_page_panics),
        cmocka_unit_test(free_of_a_reserved_page_or_a_hole_panics),
        cmocka_unit_test(check_detects_corrupt_page_states),
        cmocka_unit_test(check_detects_corrupt_orders),
        cmocka_unit_test(check_detects_corrupt_links),
        cmocka_unit_test(check_detects_corrupt_counters),
        cmocka_unit_test(check_detects_free_buddies_left_apart),
        cmocka_unit_test(cached_batches_mark_pages_and_come_back),
        cmocka_unit_test(random_sequences_keep_every_invariant),
    };
    return RUN_AND_REPORT(tests);
}
