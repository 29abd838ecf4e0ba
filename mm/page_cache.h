/*
 * page_cache.h: per-CPU caches of free order-0 pages in front of the buddy
 * allocator (OSv's L1 page pools in front of its L2; Linux's pcp lists).
 *
 * Most page allocations are single pages, and with one lock per zone every
 * CPU would fight over the same lock for each of them. So each CPU keeps a
 * small list of free pages of its own, used with interrupts off and no lock
 * at all; it goes to the buddy only in batches, one lock acquisition for
 * `batch` pages:
 *
 *   alloc: pop the head of this CPU's list; if it is empty (count <= low),
 *          first refill `batch` pages from the buddy in one call.
 *   free:  push on the head of this CPU's list; if it is full (count >= high),
 *          first drain `batch` pages, from the tail, back to the buddy.
 *
 * The list runs through the pages' own struct page (mm/page.h), the way
 * Linux's per-CPU page lists do, so a cache costs no memory for what it
 * holds: a cached page is on no buddy free list, so its next/prev links
 * (page indexes) are unused, and the cache borrows them. The page itself is
 * never touched (it may not even be mapped); its 16 bytes of metadata exist
 * anyway, one per page of RAM. What is left per CPU is the list's two ends,
 * a count, the watermarks and the counters: one cache line. (The alternative,
 * an array of pfns per CPU, costs 8 bytes per page the cache *might* hold,
 * for every CPU the kernel *might* have: 132 KiB of bss for 64 x 256 pages.)
 *
 *      cache: first ----> [page 812] <--> [page 77] <--> [page 503] <---- last
 *                          hot: freed                      cold: freed
 *                          last, handed                    first, drained
 *                          out first                       first
 *
 * The head is the most recently freed page, whose contents and metadata are
 * most likely still in this CPU's caches: handing it out first (LIFO) reuses
 * warm memory. A drain gives back the coldest pages, from the tail, and keeps
 * the warm ones; that is why the list is doubly linked (prev) and keeps its
 * tail. Every operation is O(1) per page: no walk, ever.
 *
 * Only order 0 and BUDDY_ANY go through the caches; other orders (call
 * buddy_alloc/buddy_free directly) and zone-constrained requests go to the
 * buddy. Pages in a cache are PAGE_CACHED in their struct page: not free in
 * the buddy's eyes, not allocated either (buddy_check counts them apart), and
 * the buddy never reads or writes a CACHED page's links.
 *
 * Watermarks, the same for every CPU, sized at init from the RAM and the CPUs:
 *
 *   high  = clamp(total_pages / (128 * cpu_count), 4, PAGE_CACHE_CAPACITY)
 *   batch = max(high / 4, 2)
 *   low   = 0
 *
 * Why: pages in a cache are free yet unusable by other CPUs and by requests
 * for low memory, so all caches together keep at most 1/128 of RAM (0.8%),
 * or 4 pages per CPU if that is more: a 3 MiB machine (about 650 pages) with
 * one CPU keeps 5 pages, not OSv's fixed 512 KiB per CPU. The floor of 4
 * keeps a cache useful on the smallest machine; the ceiling,
 * PAGE_CACHE_CAPACITY (256 pages = 1 MiB, reached from 128 MiB per CPU), is
 * where a bigger cache saves no more lock acquisitions worth the memory. A
 * batch of a quarter of high means at most one trip to the buddy every batch
 * operations, and leaves room on both sides after a refill or a drain, so
 * alternating alloc/free at a watermark does not ping-pong. low = 0 refills
 * only an empty cache: no page waits in a cache for a use that never comes.
 *
 * Out of memory: when the buddy has no page for a refill, page_cache_alloc
 * fails (-1) even if other CPUs' caches hold pages: taking them would need
 * those CPUs' cooperation (an interrupt), which this simple design leaves out.
 * At most cpu_count * high pages (see above) can be stranded that way;
 * page_cache_drain_all() gives them back where all CPUs are quiet. A
 * zone-constrained request that fails drains this CPU's own cache (which may
 * hold low pages) and tries once more.
 *
 * Concurrency: a cache is touched only by its own CPU with interrupts off
 * (platform_interrupts_save_disable), so the fast path takes no lock; the
 * links of a cached page belong to that cache, and only its CPU writes them
 * (the buddy acts only on FREE pages, see mm/page.h). The
 * calls that touch other CPUs' caches (page_cache_drain_all, the stats of
 * another CPU) are exact only while those CPUs do not use their caches.
 */
#ifndef MM_PAGE_CACHE_H
#define MM_PAGE_CACHE_H

#include <stdint.h>

#include "mm/buddy.h"

/* Sizes. A CPU's cache head is one cache line; the heads are made for the
 * CPUs found (the caller's array: the kernel allocates it once ACPI has
 * counted them), and before that the boot CPU uses the one inside the set.
 * The cached pages themselves cost nothing (see above). */
#define PAGE_CACHE_CAPACITY 256                        /* pages per CPU at most: the largest high */
#define PAGE_CACHE_MAX_BATCH (PAGE_CACHE_CAPACITY / 4) /* the largest batch: 64 */

/* One CPU's cache, aligned to a cache line so that two CPUs never share one.
 * Invariants: low + batch <= high <= PAGE_CACHE_CAPACITY;
 * batch <= PAGE_CACHE_MAX_BATCH; count <= high; the list from first (through
 * struct page's next) to last (through prev) holds exactly count pages, each
 * PAGE_CACHED and of order 0, each in this list only; first and last are
 * PAGE_INDEX_NONE iff count is 0. */
struct page_cache {
    _Alignas(64) uint32_t first; /* page index of the hottest page (freed last), or NONE */
    uint32_t last;               /* page index of the coldest page, or PAGE_INDEX_NONE */
    unsigned count;              /* pages in the list */
    unsigned low, high, batch;   /* watermarks, in pages */
    uint64_t allocs, frees;      /* order-0 requests served by this cache */
    uint64_t refills, drains;    /* trips to the buddy (each moved up to batch pages) */
};

_Static_assert(sizeof(struct page_cache) == 64, "one cache line per CPU");

struct page_cache_set {
    struct buddy *buddy;
    unsigned cpu_count;           /* caches[0 .. cpu_count) are in use */
    struct page_cache *caches;    /* &boot_cache, or the caller's array of cpu_count */
    struct page_cache boot_cache; /* the boot CPU's, before the CPUs are counted */
};

/* What page_cache_get_stats reports for one CPU. */
struct page_cache_stats {
    unsigned pages; /* in the cache now */
    unsigned low, high, batch;
    uint64_t allocs, frees, refills, drains;
};

/*
 * Empty caches for cpu_count CPUs (a count of 0 means 1), with watermarks
 * sized from total_pages (the pages handed to the buddy) as described above.
 * caches: an array of cpu_count heads that stays valid as long as the set,
 * or NULL for one CPU (the set's own boot_cache; a count above 1 with NULL is
 * clamped to 1, with a message, and the other CPUs use the buddy directly).
 * Any pages the set held before must have been drained.
 */
void page_cache_init(struct page_cache_set *set, struct buddy *buddy, unsigned cpu_count,
                     uint64_t total_pages, struct page_cache *caches);

/* One page for the current CPU. Requests other than BUDDY_ANY bypass the
 * cache. 0 and *pfn set, or -1 when out of memory (see above). */
int page_cache_alloc(struct page_cache_set *set, enum buddy_zone_request where, uint64_t *pfn);

/* Gives back a page that page_cache_alloc or buddy_alloc(order 0) returned.
 * Anything else (a double free, a block of another order...) panics in the
 * buddy's checks, naming the pfn. */
void page_cache_free(struct page_cache_set *set, uint64_t pfn);

/* Gives every cached page back to the buddy: this CPU's only, or all CPUs'
 * (the latter only where no other CPU is using its cache). */
void page_cache_drain_this_cpu(struct page_cache_set *set);
void page_cache_drain_all(struct page_cache_set *set);
/* Another CPU's cache, which must not be running (or not use the set). */
void page_cache_drain_cpu(struct page_cache_set *set, unsigned cpu);

/* Stats (snapshots, no lock). */
void page_cache_get_stats(const struct page_cache_set *set, unsigned cpu,
                          struct page_cache_stats *stats);
uint64_t page_cache_total_pages(const struct page_cache_set *set); /* in all caches */

#endif
