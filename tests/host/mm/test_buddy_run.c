/* test_buddy_run.c: runs of an exact number of pages (buddy_alloc_run). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "mm/buddy.h"
#include "tests/host/lib/test_report.h"
#include "tests/host/platform_host.h"

#define PAGES 1024 /* pfns 0x100 .. 0x500: all in zone low/dma32 */

static struct buddy buddy;
static _Alignas(16) unsigned char metadata[PAGES * 16];

static void setup_buddy(void)
{
    struct buddy_range ram = {0x100, 0x100 + PAGES};
    assert_int_equal(buddy_metadata_bytes(&ram, 1), sizeof(metadata));
    assert_int_equal(buddy_init(&buddy, &ram, 1, metadata, sizeof(metadata)), 0);
    buddy_free_range(&buddy, 0x100, 0x100 + PAGES);
}

static uint64_t free_pages(void)
{
    uint64_t total = 0;
    for (int zone = 0; zone < ZONE_COUNT; zone++)
        total += buddy_free_page_count(&buddy, (enum zone_id)zone);
    return total;
}

static void a_run_takes_exactly_its_pages(void **state)
{
    (void)state;
    setup_buddy();
    for (uint64_t pages = 1; pages <= 64; pages++) {
        uint64_t before = free_pages(), pfn;
        assert_int_equal(buddy_alloc_run(&buddy, pages, BUDDY_ANY, &pfn), 0);
        assert_int_equal(free_pages(), before - pages);
        char error[160];
        assert_true(buddy_check(&buddy, error, sizeof(error)));
        buddy_free_run(&buddy, pfn, pages);
        assert_int_equal(free_pages(), before);
        assert_true(buddy_check(&buddy, error, sizeof(error)));
    }
}

static void five_pages_are_a_block_of_four_and_one(void **state)
{
    (void)state;
    setup_buddy();
    uint64_t pfn;
    assert_int_equal(buddy_alloc_run(&buddy, 5, BUDDY_ANY, &pfn), 0);
    assert_int_equal(buddy_pfn_to_page(&buddy, pfn)->state, PAGE_ALLOCATED_HEAD);
    assert_int_equal(buddy_pfn_to_page(&buddy, pfn)->order, 2);
    assert_int_equal(buddy_pfn_to_page(&buddy, pfn + 4)->order, 0);
    assert_int_equal(buddy_pfn_to_page(&buddy, pfn + 4)->state, PAGE_ALLOCATED_HEAD);
    assert_int_not_equal(buddy_pfn_to_page(&buddy, pfn + 5)->state, PAGE_ALLOCATED_HEAD);
    /* the wrong count is caught like any wrong-order free */
    assert_true(HOST_EXPECT_PANIC(buddy_free_run(&buddy, pfn, 6)));
}

static void random_runs_keep_every_invariant(void **state)
{
    (void)state;
    setup_buddy();
    uint64_t start = free_pages();
    uint64_t pfns[64], sizes[64];
    unsigned live = 0;
    srand(99);
    for (int step = 0; step < 20000; step++) {
        if (live > 0 && (live == 64 || rand() % 2)) {
            unsigned victim = (unsigned)rand() % live;
            buddy_free_run(&buddy, pfns[victim], sizes[victim]);
            pfns[victim] = pfns[--live];
            sizes[victim] = sizes[live];
        } else {
            uint64_t pages = 1 + (uint64_t)(rand() % 40);
            if (buddy_alloc_run(&buddy, pages, BUDDY_ANY, &pfns[live]) == 0)
                sizes[live++] = pages;
        }
        if (step % 1000 == 0) {
            char error[160];
            assert_true(buddy_check(&buddy, error, sizeof(error)));
        }
    }
    while (live > 0) {
        live--;
        buddy_free_run(&buddy, pfns[live], sizes[live]);
    }
    assert_int_equal(free_pages(), start);
    char error[160];
    assert_true(buddy_check(&buddy, error, sizeof(error)));
}

static void aligned_runs_start_on_their_alignment(void **state)
{
    (void)state;
    setup_buddy();
    uint64_t before = free_pages(), pfn;
    assert_int_equal(buddy_alloc_run_aligned(&buddy, 2, 4, BUDDY_ANY, &pfn), 0);
    assert_int_equal(pfn % 16, 0);
    assert_int_equal(free_pages(), before - 2);
    buddy_free_run(&buddy, pfn, 2);
    assert_int_equal(free_pages(), before);
    char error[160];
    assert_true(buddy_check(&buddy, error, sizeof(error)));
}

static void impossible_runs_are_refused(void **state)
{
    (void)state;
    setup_buddy();
    uint64_t pfn;
    assert_int_equal(buddy_alloc_run(&buddy, 0, BUDDY_ANY, &pfn), -1);
    assert_int_equal(buddy_alloc_run(&buddy, 1025, BUDDY_ANY, &pfn), -1); /* > 4 MiB */
    assert_int_equal(buddy_alloc_run(&buddy, 1000, BUDDY_ANY, &pfn),
                     -1); /* no 1024-block free: RAM starts at 0x100 */
}

int main(void)
{
    host_set_quiet(true);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_run_takes_exactly_its_pages),
        cmocka_unit_test(five_pages_are_a_block_of_four_and_one),
        cmocka_unit_test(random_runs_keep_every_invariant),
        cmocka_unit_test(aligned_runs_start_on_their_alignment),
        cmocka_unit_test(impossible_runs_are_refused),
    };
    return RUN_AND_REPORT(tests);
}
