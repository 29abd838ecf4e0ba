/*
 * malloc_test_pages.h: a page source for mm/malloc in host tests.
 *
 * One 64 MiB arena, aligned to 2 MiB (so that a run aligned to n pages in the
 * arena is aligned to n * 4096 bytes in memory), handed out in runs by the
 * kernel's own page allocator (mm/page_alloc.c over mm/buddy.c), with an owner
 * word per page (what struct page.owner is in the kernel). A bitmap of the
 * pages handed out is this file's own record: it checks its callers (freeing
 * a page it did not hand out aborts the test program) and the allocator under
 * it (a page handed out twice aborts too). Freed pages are filled
 * with junk and, under AddressSanitizer, poisoned, so that malloc touching a
 * page it gave back is caught on the spot.
 *
 * Fault injection: test_pages_fail_after(n) lets n more runs through, then
 * fails every request (NULL) until test_pages_fail_after(-1);
 * test_pages_limit(n) refuses any request that would put more than n pages
 * out at once (0: no limit), as a machine out of memory does.
 *
 * Thread-safe (one mutex): test threads play CPUs.
 *
 * Header-only (every tests/host/mm/test_*.c is a program of its own), so all
 * of it is static: each test program has its own arena.
 */
#ifndef TESTS_HOST_MM_MALLOC_TEST_PAGES_H
#define TESTS_HOST_MM_MALLOC_TEST_PAGES_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/platform.h"
#include "mm/malloc.h"
#include "mm/page_alloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_PAGES_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_PAGES_ASAN 1
#endif
#endif
#ifdef TEST_PAGES_ASAN
#include <sanitizer/asan_interface.h>
#define TEST_PAGES_POISON(start, bytes) ASAN_POISON_MEMORY_REGION(start, bytes)
#define TEST_PAGES_UNPOISON(start, bytes) ASAN_UNPOISON_MEMORY_REGION(start, bytes)
#else
#define TEST_PAGES_POISON(start, bytes) ((void)(start), (void)(bytes))
#define TEST_PAGES_UNPOISON(start, bytes) ((void)(start), (void)(bytes))
#endif

#define TEST_PAGES_BYTES (64u << 20)
#define TEST_PAGES_COUNT (TEST_PAGES_BYTES / 4096)
#define TEST_PAGES_WORDS (TEST_PAGES_COUNT / 64)

static struct {
    char *arena;
    uint64_t used[TEST_PAGES_WORDS]; /* bit set: page handed out */
    uint32_t owner[TEST_PAGES_COUNT];
    struct km_page_info page_map[TEST_PAGES_COUNT]; /* malloc's page map over the arena */
    size_t in_use;                                  /* pages handed out now */
    size_t peak;             /* most pages ever out at once since the reset */
    size_t runs;             /* successful requests since the reset */
    size_t failures;         /* requests refused (out of pages or injected) */
    long fail_after;         /* -1: never; else requests still allowed */
    size_t limit;            /* most pages out at once; 0: no limit */
    struct buddy buddy;      /* over the arena's page frames */
    struct page_alloc alloc; /* what hands the runs out */
    struct page metadata[TEST_PAGES_COUNT];
    pthread_mutex_t lock;
} test_pages = {.fail_after = -1, .lock = PTHREAD_MUTEX_INITIALIZER};

/* The lock keeps "interrupts" off as well, as the kernel's locks do: a
 * reclaim request (a signal, tests/host/platform_host.c) that arrives while a
 * thread holds it waits until it is let go, instead of freeing pages into a
 * source whose lock its own thread holds. */
static inline void test_pages_lock(void)
{
    platform_interrupts_save_disable();
    pthread_mutex_lock(&test_pages.lock);
}

static inline void test_pages_unlock(void)
{
    pthread_mutex_unlock(&test_pages.lock);
    platform_interrupts_restore(0);
}

static inline bool test_pages_is_used(size_t page)
{
    return test_pages.used[page / 64] >> (page % 64) & 1;
}

/* The first used page in [from, to), or to. */
static inline size_t test_pages_first_used(size_t from, size_t to)
{
    while (from < to) {
        uint64_t bits = test_pages.used[from / 64] >> (from % 64);
        if (bits) {
            size_t page = from + (size_t)__builtin_ctzll(bits);
            return page < to ? page : to;
        }
        from = (from / 64 + 1) * 64;
    }
    return to;
}

static inline void test_pages_mark(size_t first, size_t pages, bool used)
{
    for (size_t page = first; page < first + pages; page++) {
        if (used)
            test_pages.used[page / 64] |= 1ull << (page % 64);
        else
            test_pages.used[page / 64] &= ~(1ull << (page % 64));
    }
}

static inline void *test_pages_alloc(size_t pages, size_t align_pages)
{
    test_pages_lock();
    void *result = NULL;
    if (test_pages.fail_after == 0 || pages == 0 || align_pages == 0 ||
        (align_pages & (align_pages - 1)) ||
        (test_pages.limit && test_pages.in_use + pages > test_pages.limit)) {
        test_pages.failures++;
        test_pages_unlock();
        return NULL;
    }
    uint64_t arena_pfn = (uintptr_t)test_pages.arena / 4096, pfn;
    size_t start = 0;
    if (page_alloc_try_run(&test_pages.alloc, pages, (unsigned)__builtin_ctzll(align_pages),
                           &pfn) == 0) {
        start = (size_t)(pfn - arena_pfn);
        if (test_pages_first_used(start, start + pages) != start + pages) {
            fprintf(stderr, "test pages: the page allocator handed out pages %zu-%zu twice\n",
                    start, start + pages - 1);
            abort();
        }
        test_pages_mark(start, pages, true);
        result = test_pages.arena + start * 4096;
    }
    if (result) {
        if (test_pages.fail_after > 0)
            test_pages.fail_after--;
        test_pages.in_use += pages;
        if (test_pages.in_use > test_pages.peak)
            test_pages.peak = test_pages.in_use;
        test_pages.runs++;
        for (size_t page = 0; page < pages; page++) /* atomics: malloc's are (a racing */
            __atomic_store_n(&test_pages.owner[start + page], 0, __ATOMIC_RELAXED); /* free) */
        TEST_PAGES_UNPOISON(result, pages * 4096);
    } else {
        test_pages.failures++;
    }
    test_pages_unlock();
    return result;
}

static inline size_t test_pages_index(const void *addr)
{
    uintptr_t offset = (uintptr_t)addr - (uintptr_t)test_pages.arena;
    return (uintptr_t)addr < (uintptr_t)test_pages.arena || offset >= TEST_PAGES_BYTES
               ? TEST_PAGES_COUNT
               : offset / 4096;
}

static inline void test_pages_free(void *start, size_t pages)
{
    test_pages_lock();
    size_t first = test_pages_index(start);
    bool ok = first < TEST_PAGES_COUNT && (uintptr_t)start % 4096 == 0 &&
              pages <= TEST_PAGES_COUNT - first;
    for (size_t page = first; ok && page < first + pages; page++)
        ok = test_pages_is_used(page) &&
             __atomic_load_n(&test_pages.owner[page], __ATOMIC_RELAXED) == 0;
    if (!ok) {
        fprintf(stderr,
                "test pages: bad free of %zu pages at %p (not handed out, or owner word "
                "left set)\n",
                pages, start);
        abort();
    }
    test_pages_mark(first, pages, false);
    test_pages.in_use -= pages;
    page_alloc_free_run(&test_pages.alloc, (uintptr_t)start / 4096, pages);
    memset(start, 0xdb, pages * 4096); /* junk: stale reads show */
    TEST_PAGES_POISON(start, pages * 4096);
    test_pages_unlock();
}

/* The owner word of a handed-out page, NULL for any other address. */
static inline uint32_t *test_pages_owner(const void *addr)
{
    test_pages_lock();
    size_t page = test_pages_index(addr);
    uint32_t *owner =
        page < TEST_PAGES_COUNT && test_pages_is_used(page) ? &test_pages.owner[page] : NULL;
    test_pages_unlock();
    return owner;
}

/* The map's window is set by test_pages_reset (the arena is made there). */
static struct malloc_page_source test_page_source = {
    .alloc_pages = test_pages_alloc,
    .free_pages = test_pages_free,
    .page_owner = test_pages_owner,
    .page_map = test_pages.page_map,
};

/* Forgets every run (malloc must be started over too: km_init). */
static inline void test_pages_reset(void)
{
    test_pages_lock();
    if (!test_pages.arena) {
        test_pages.arena = aligned_alloc(2u << 20, TEST_PAGES_BYTES);
        if (!test_pages.arena) {
            fprintf(stderr, "test pages: no arena\n");
            abort();
        }
    }
    TEST_PAGES_UNPOISON(test_pages.arena, TEST_PAGES_BYTES);
    memset(test_pages.used, 0, sizeof(test_pages.used));
    memset(test_pages.owner, 0, sizeof(test_pages.owner));
    memset(test_pages.page_map, 0, sizeof(test_pages.page_map));
    /* A fresh buddy over the arena (whatever the last test left is forgotten). */
    struct buddy_range range = {(uintptr_t)test_pages.arena / 4096,
                                (uintptr_t)test_pages.arena / 4096 + TEST_PAGES_COUNT};
    if (buddy_init(&test_pages.buddy, &range, 1, test_pages.metadata,
                   sizeof(test_pages.metadata)) != 0) {
        fprintf(stderr, "test pages: buddy_init refused the arena\n");
        abort();
    }
    buddy_free_range(&test_pages.buddy, range.start_pfn, range.end_pfn);
    page_alloc_init(&test_pages.alloc, &test_pages.buddy);
    test_page_source.map_start = (uintptr_t)test_pages.arena;
    test_page_source.map_pages = TEST_PAGES_COUNT;
    test_pages.in_use = test_pages.peak = test_pages.runs = test_pages.failures = 0;
    test_pages.fail_after = -1;
    test_pages.limit = 0;
    TEST_PAGES_POISON(test_pages.arena, TEST_PAGES_BYTES);
    test_pages_unlock();
}

static inline void test_pages_fail_after(long requests)
{
    test_pages_lock();
    test_pages.fail_after = requests;
    test_pages_unlock();
}

static inline void test_pages_limit(size_t pages)
{
    test_pages_lock();
    test_pages.limit = pages;
    test_pages_unlock();
}

static inline size_t test_pages_in_use(void)
{
    test_pages_lock();
    size_t pages = test_pages.in_use;
    test_pages_unlock();
    return pages;
}

#endif
