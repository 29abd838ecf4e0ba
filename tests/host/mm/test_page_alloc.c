/*
 * test_page_alloc.c: the page allocator's policy (mm/page_alloc.c) over a real
 * buddy allocator: single pages through the page cache, blocks and runs from
 * the buddy, the reclaim before failing (and none in the "try" version),
 * draining every CPU's cache, and the accounting that `mem` prints, which must
 * notice a page lost from the free lists.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mm/page_alloc.h"
#include "tests/host/lib/test_report.h"
#include "tests/host/platform_host.h"

/* 16 MiB of "RAM" at pfn 0x1000 (DMA32): 4096 pages. */
#define RAM_PAGES 4096u
static const struct buddy_range ram = {0x1000, 0x1000 + RAM_PAGES};

struct fixture {
    struct buddy buddy;
    struct page_alloc alloc;
    void *metadata;
};

static struct fixture *make_fixture(void)
{
    size_t size = (sizeof(struct fixture) + 63) / 64 * 64;
    struct fixture *f = aligned_alloc(64, size);
    assert_non_null(f);
    memset(f, 0, size);
    size_t bytes = buddy_metadata_bytes(&ram, 1);
    f->metadata = aligned_alloc(16, (bytes + 15) / 16 * 16);
    assert_non_null(f->metadata);
    assert_int_equal(buddy_init(&f->buddy, &ram, 1, f->metadata, bytes), 0);
    buddy_free_range(&f->buddy, ram.start_pfn, ram.end_pfn);
    host_set_cpu(0, 1);
    page_alloc_init(&f->alloc, &f->buddy);
    return f;
}

static void free_fixture(struct fixture *f)
{
    free(f->metadata);
    free(f);
}

static uint64_t free_in_buddy(const struct fixture *f)
{
    return buddy_free_page_count(&f->buddy, ZONE_DMA32);
}

/* The reclaim hook of the tests: counts its calls, and gives back the pages
 * the test parked in `parked` (as other CPUs would give back their caches). */
static unsigned reclaims;
static struct fixture *reclaim_fixture;
static uint64_t parked[RAM_PAGES];
static unsigned parked_count;

static void test_reclaim(void)
{
    reclaims++;
    while (parked_count > 0)
        page_alloc_free_pages(&reclaim_fixture->alloc, parked[--parked_count], 0);
}

static unsigned pauses, resumes;
static unsigned test_pause(void)
{
    pauses++;
    return 3;
}
static void test_resume(void)
{
    resumes++;
}

static const struct page_alloc_cpus test_cpus = {test_reclaim, NULL, test_pause, test_resume};

static void one_page_comes_from_the_page_cache(void **state)
{
    (void)state;
    struct fixture *f = make_fixture();
    uint64_t before = free_in_buddy(f), pfn;
    assert_int_equal(page_alloc_pages(&f->alloc, 0, BUDDY_ANY, &pfn), 0);
    /* The cache took a batch from the buddy and handed one page out of it. */
    assert_true(page_alloc_cached_pages(&f->alloc) > 0);
    assert_int_equal(free_in_buddy(f), before - 1 - page_alloc_cached_pages(&f->alloc));
    assert_int_equal(buddy_pfn_to_page(&f->buddy, pfn)->state, PAGE_ALLOCATED_HEAD);
    page_alloc_free_pages(&f->alloc, pfn, 0);
    assert_int_equal(page_alloc_free_page_count(&f->alloc), RAM_PAGES);
    page_alloc_drain_all(&f->alloc);
    assert_int_equal(page_alloc_cached_pages(&f->alloc), 0);
    assert_int_equal(free_in_buddy(f), RAM_PAGES);
    free_fixture(f);
}

static void runs_come_from_the_buddy_exactly(void **state)
{
    (void)state;
    struct fixture *f = make_fixture();
    uint64_t pfn;
    assert_int_equal(page_alloc_run(&f->alloc, 5, 3, &pfn), 0); /* 5 pages, 8-page aligned */
    assert_int_equal(pfn % 8, 0);
    assert_int_equal(free_in_buddy(f), RAM_PAGES - 5);
    assert_int_equal(page_alloc_cached_pages(&f->alloc), 0);
    page_alloc_free_run(&f->alloc, pfn, 5);
    assert_int_equal(free_in_buddy(f), RAM_PAGES);
    assert_int_equal(page_alloc_pages(&f->alloc, 4, BUDDY_ANY, &pfn), 0); /* a block of 16 */
    assert_int_equal(free_in_buddy(f), RAM_PAGES - 16);
    page_alloc_free_pages(&f->alloc, pfn, 4);
    char error[160];
    assert_true(page_alloc_check(&f->alloc, error, sizeof(error), NULL));
    free_fixture(f);
}

static void out_of_memory_reclaims_once_then_fails(void **state)
{
    (void)state;
    struct fixture *f = make_fixture();
    reclaim_fixture = f;
    reclaims = parked_count = 0;
    page_alloc_set_cpus(&f->alloc, &test_cpus);
    uint64_t pfn;
    /* Take every page, parking the last ones "on other CPUs". */
    while (page_alloc_try_run(&f->alloc, 1, 0, &pfn) == 0)
        parked[parked_count++] = pfn;
    assert_int_equal(parked_count, RAM_PAGES);
    assert_int_equal(reclaims, 0); /* the try version never reclaims */
    assert_int_equal(page_alloc_try_run(&f->alloc, 2, 0, &pfn), -1);
    assert_int_equal(reclaims, 0);
    /* The reclaiming version asks once, gets everything back, and succeeds. */
    assert_int_equal(page_alloc_run(&f->alloc, 2, 1, &pfn), 0);
    assert_int_equal(reclaims, 1);
    page_alloc_free_run(&f->alloc, pfn, 2);
    /* With nothing to give back it fails after one reclaim, and changes nothing. */
    while (page_alloc_pages(&f->alloc, 0, BUDDY_ANY, &pfn) == 0)
        ;
    assert_int_equal(reclaims, 2);
    free_fixture(f);
}

static void the_account_finds_a_page_lost_from_the_free_lists(void **state)
{
    (void)state;
    struct fixture *f = make_fixture();
    pauses = resumes = 0;
    page_alloc_set_cpus(&f->alloc, &test_cpus);
    uint64_t single, run;
    assert_int_equal(page_alloc_pages(&f->alloc, 0, BUDDY_ANY, &single), 0);
    assert_int_equal(page_alloc_run(&f->alloc, 7, 0, &run), 0);
    struct page_alloc_account account;
    assert_true(page_alloc_account(&f->alloc, &account));
    assert_int_equal(pauses, 1);
    assert_int_equal(resumes, 1);
    assert_int_equal(account.allocated_pages, 8);
    assert_int_equal(account.free_pages[ZONE_DMA32] + account.cached_pages + 8, RAM_PAGES);
    /* Lost: off the free lists, neither allocated nor cached. */
    buddy_pfn_to_page(&f->buddy, single)->state = PAGE_FREE_HEAD;
    assert_false(page_alloc_account(&f->alloc, &account));
    assert_int_equal(account.allocated_pages, 7);
    assert_int_equal(account.free_pages[ZONE_DMA32] + account.cached_pages + 7, RAM_PAGES - 1);
    assert_true(account.metadata_error[0] != '\0');
    buddy_pfn_to_page(&f->buddy, single)->state = PAGE_ALLOCATED_HEAD;
    page_alloc_free_pages(&f->alloc, single, 0);
    page_alloc_free_run(&f->alloc, run, 7);
    assert_true(page_alloc_account(&f->alloc, &account));
    assert_int_equal(account.allocated_pages, 0);
    free_fixture(f);
}

/* More CPUs: each has its cache; drain_all drains the ones that do not run
 * (no run_on hook here) from this CPU. */
static struct page_cache caches[4];

static void every_cpu_has_a_cache_and_drain_all_empties_them(void **state)
{
    (void)state;
    struct fixture *f = make_fixture();
    page_alloc_set_cpu_count(&f->alloc, 4, caches);
    uint64_t pfns[4];
    for (unsigned cpu = 0; cpu < 4; cpu++) {
        host_set_cpu(cpu, 4);
        assert_int_equal(page_alloc_pages(&f->alloc, 0, BUDDY_ANY, &pfns[cpu]), 0);
    }
    for (unsigned cpu = 0; cpu < 4; cpu++) {
        host_set_cpu(cpu, 4);
        page_alloc_free_pages(&f->alloc, pfns[cpu], 0);
    }
    host_set_cpu(0, 4);
    assert_true(page_alloc_cached_pages(&f->alloc) >= 4);
    page_alloc_drain_all(&f->alloc);
    assert_int_equal(page_alloc_cached_pages(&f->alloc), 0);
    assert_int_equal(free_in_buddy(f), RAM_PAGES);
    host_set_cpu(0, 1);
    free_fixture(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_page_comes_from_the_page_cache),
        cmocka_unit_test(runs_come_from_the_buddy_exactly),
        cmocka_unit_test(out_of_memory_reclaims_once_then_fails),
        cmocka_unit_test(the_account_finds_a_page_lost_from_the_free_lists),
        cmocka_unit_test(every_cpu_has_a_cache_and_drain_all_empties_them),
    };
    return RUN_AND_REPORT(tests);
}
