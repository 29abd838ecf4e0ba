/*
 * page_alloc.h: the page allocator, the policy above the buddy allocator.
 *
 * mm/buddy.c knows blocks of 2^order pages in zones; mm/page_cache.c keeps a
 * few free pages per CPU. This is what callers use, in the kernel
 * (kernel/memory.c holds the one instance) and on the host (libkmalloc.so's
 * chunks, the host tests' page source):
 *
 *   - one page (the most common request) through this CPU's page cache, with
 *     no lock while the cache has pages;
 *   - a block of 2^order pages, or a run of exactly N pages, straight from the
 *     buddy allocator, zones tried from the highest the request allows down;
 *   - out of memory: ask the other CPUs to give back what they hold (the
 *     reclaim hook) and try once more before failing. The "try" versions do
 *     not (malloc's page source reclaims itself, at a point where it holds
 *     nothing).
 *
 * What the other CPUs must do for it comes through hooks (struct
 * page_alloc_cpus): the kernel's SMP code hands them in; with none, there is
 * one CPU and nothing to ask. Addresses are page frame numbers (pfns).
 */
#ifndef MM_PAGE_ALLOC_H
#define MM_PAGE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/buddy.h"
#include "mm/page_cache.h"

/*
 * What the allocator asks of the other CPUs (any may be NULL: no other CPU):
 *   reclaim        every CPU gives back what it holds (malloc's magazines and
 *                  empty slabs, its page cache); called when a request fails
 *   run_on         runs job on CPU cpu and waits; false if that CPU is not
 *                  running (its page cache is then drained from here)
 *   pause_others   the other CPUs wait, holding nothing, until resume_others;
 *                  returns how many were paused
 */
struct page_alloc_cpus {
    void (*reclaim)(void);
    bool (*run_on)(unsigned cpu, void (*job)(void *), void *argument);
    unsigned (*pause_others)(void);
    void (*resume_others)(void);
};

struct page_alloc {
    struct buddy *buddy;
    struct page_cache_set caches;
    const struct page_alloc_cpus *cpus; /* NULL: one CPU */
};

/* Over a buddy that has its pages (buddy_free_range done): one CPU, one page
 * cache with watermarks sized from the buddy's managed pages. */
void page_alloc_init(struct page_alloc *alloc, struct buddy *buddy);
/* count CPUs, a page cache each in caches[0 .. count) (the caller's memory,
 * valid as long as alloc). The boot CPU's cached pages go back first. */
void page_alloc_set_cpu_count(struct page_alloc *alloc, unsigned count, struct page_cache *caches);
void page_alloc_set_cpus(struct page_alloc *alloc, const struct page_alloc_cpus *cpus);

/* A block of 2^order pages from the zones `where` allows: 0 and *pfn, or -1
 * out of memory (after a reclaim). Order 0 with BUDDY_ANY: the page cache. */
int page_alloc_pages(struct page_alloc *alloc, unsigned order, enum buddy_zone_request where,
                     uint64_t *pfn);
/* Exactly `pages` pages, the first at a multiple of 2^align_order pages
 * (one page with no alignment: the page cache). 0 and *pfn, or -1. */
int page_alloc_run(struct page_alloc *alloc, uint64_t pages, unsigned align_order, uint64_t *pfn);
/* The same without the reclaim. */
int page_alloc_try_run(struct page_alloc *alloc, uint64_t pages, unsigned align_order,
                       uint64_t *pfn);
void page_alloc_free_pages(struct page_alloc *alloc, uint64_t pfn, unsigned order);
void page_alloc_free_run(struct page_alloc *alloc, uint64_t pfn, uint64_t pages);

/* This CPU's page cache back to the buddy; or every CPU's (each running CPU
 * drains its own through run_on; the others' are drained from here). */
void page_alloc_drain_this_cpu(struct page_alloc *alloc);
void page_alloc_drain_all(struct page_alloc *alloc);

/* Free pages: in the buddy's free lists (all zones, or one) and in the
 * page caches. */
uint64_t page_alloc_free_page_count(const struct page_alloc *alloc);
uint64_t page_alloc_cached_pages(const struct page_alloc *alloc);

/* buddy_check with the other CPUs paused (*paused: how many; may be NULL). */
bool page_alloc_check(struct page_alloc *alloc, char *error, size_t error_size, unsigned *paused);

/*
 * Where the pages are, each figure counted on its own (the other CPUs paused):
 * free from the free lists' counters, cached from the page caches' counts,
 * allocated from a walk of every page's state (the heads of allocated
 * blocks). Their sum is the managed pages only if no page was lost: a page
 * taken off the free lists without becoming allocated or cached is missing.
 * true if the page metadata is sound (else metadata_error says why).
 */
struct page_alloc_account {
    uint64_t free_pages[ZONE_COUNT];
    uint64_t cached_pages;
    uint64_t allocated_pages;
    char metadata_error[160];
};
bool page_alloc_account(struct page_alloc *alloc, struct page_alloc_account *out);

#endif
