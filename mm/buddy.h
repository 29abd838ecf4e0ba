/*
 * buddy.h: the buddy page allocator, which owns every page of RAM after the
 * hand-over from bootmem.
 *
 * Free memory is kept as blocks of 2^order pages, order 0..BUDDY_MAX_ORDER
 * (4 KiB .. 4 MiB), each starting at a pfn that is a multiple of 2^order. A
 * block of order n and its "buddy" (pfn ^ 2^n) together form the block of
 * order n + 1 that contains them: allocating splits a bigger block in halves
 * until it has the right size, freeing merges a block with its buddy as long
 * as the buddy is free too. Both take O(order) steps; finding a block takes
 * one bit scan (a bitmap of the non-empty orders), so nothing ever scans.
 *
 * Where pages live:
 *   - RAM comes as a sorted list of pfn ranges with holes between them (the
 *     640K-1M legacy hole, the PCI hole below 4 GiB...). The buddy cuts them
 *     into "sections": runs of pfns that are all RAM and all in one zone.
 *     struct page metadata exists for RAM only, in one array in which the
 *     sections sit back to back, so a hole costs nothing.
 *   - Zones split memory by physical address, for devices and code that can
 *     only reach low addresses:
 *         ZONE_LOW     [0, 1 MiB)      real-mode code, the AP trampoline
 *         ZONE_DMA32   [1 MiB, 4 GiB)  32-bit DMA
 *         ZONE_NORMAL  [4 GiB, ...)
 *     Each zone has its own free lists and its own lock.
 *   - A block never crosses a section boundary, hence never a zone boundary.
 *
 * Invariants (written here, checked by buddy_check()):
 *   - Every page is in exactly one state (enum page_state in mm/page.h).
 *   - A free block: its head is FREE_HEAD with its order, its other pages are
 *     TAIL; its pfn is a multiple of 2^order; it lies in one section; its
 *     head is in the free list of its zone and order, and nowhere else.
 *   - Two free buddies of the same order never both exist: they are merged.
 *   - An allocated block: ALLOCATED_HEAD with its order, then TAIL pages,
 *     aligned and inside one section like a free one. (Tails are the same in
 *     both: allocating or freeing a block writes its head only.)
 *   - Per zone: free_area[n].nr_free is the length of list n; bit n of
 *     nonempty_orders is set iff list n is not empty; free_pages is the sum of
 *     the free blocks' sizes; managed_pages counts every page not RESERVED
 *     (free + allocated + cached).
 *
 * Locking: a zone's lock guards its free lists and counters, and the state of
 * every page that is FREE in it. The owner of an allocated or cached page may
 * change its metadata without a lock (see PAGE_CACHED in mm/page.h).
 *
 * Stats are part of the design: per zone and order, the free blocks (the
 * shell's `buddy`, Linux's /proc/buddyinfo), free and managed pages.
 */
#ifndef MM_BUDDY_H
#define MM_BUDDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/platform.h"
#include "mm/page.h"

#define BUDDY_MAX_ORDER 10    /* the biggest block: 2^10 pages = 4 MiB */
#define BUDDY_MAX_SECTIONS 64 /* RAM ranges, after cutting them at zone boundaries */

/* Zone boundaries, as pfns. */
#define ZONE_LOW_END_PFN 0x100ull      /* 1 MiB */
#define ZONE_DMA32_END_PFN 0x100000ull /* 4 GiB */

enum zone_id { ZONE_LOW, ZONE_DMA32, ZONE_NORMAL, ZONE_COUNT };

/* A range of RAM: pfns [start_pfn, end_pfn). */
struct buddy_range {
    uint64_t start_pfn, end_pfn;
};

/* A run of pfns that are all RAM and all in one zone. Its pages are
 * pages[first_page .. first_page + (end_pfn - start_pfn)). */
struct buddy_section {
    uint64_t start_pfn, end_pfn;
    uint32_t first_page;
    uint8_t zone;
};

/* The free blocks of one order in one zone: a doubly linked list of head
 * pages, through struct page's next/prev. */
struct free_area {
    uint32_t first;   /* page index, or PAGE_INDEX_NONE */
    uint32_t nr_free; /* blocks in the list */
};

/* Aligned to a cache line, so that CPUs working in different zones do not
 * bounce each other's locks. */
struct buddy_zone {
    _Alignas(64) struct platform_lock lock;
    struct free_area free_area[BUDDY_MAX_ORDER + 1];
    uint32_t nonempty_orders; /* bit n set iff free_area[n] is not empty */
    bool has_ram;             /* some section is in this zone (fixed at init) */
    uint64_t free_pages;      /* in free blocks (not counting cached pages) */
    uint64_t managed_pages;   /* handed over by buddy_free_range() */
};

struct buddy {
    struct buddy_zone zones[ZONE_COUNT];
    struct page *pages; /* the metadata array, page_count entries */
    uint32_t page_count;
    unsigned section_count;
    struct buddy_section sections[BUDDY_MAX_SECTIONS]; /* sorted by pfn */
};

/* Which zones an allocation may come from, tried in this order. */
enum buddy_zone_request {
    BUDDY_ANY,      /* NORMAL, then DMA32, then LOW: low memory is used last, but used */
    BUDDY_BELOW_4G, /* DMA32, then LOW */
    BUDDY_BELOW_1M, /* LOW only */
};

/* Bytes of metadata (struct page array) the RAM ranges need: exactly
 * sizeof(struct page) = 16 bytes per page of RAM, nothing for holes. */
size_t buddy_metadata_bytes(const struct buddy_range *ram, size_t count);

/*
 * Sets up a buddy over RAM ranges (sorted by pfn, not overlapping; empty ones
 * are skipped; ranges that touch are joined). Every page starts RESERVED: no
 * memory is free until buddy_free_range() hands it over. metadata:
 * buddy_metadata_bytes() bytes, 16-byte aligned, zeroed or not (it is all
 * written). Returns 0, or -1 with a message when the ranges are not sorted,
 * overlap, need more than BUDDY_MAX_SECTIONS sections or 2^32 - 1 pages, or
 * the metadata is too small or misaligned.
 */
int buddy_init(struct buddy *buddy, const struct buddy_range *ram, size_t count, void *metadata,
               size_t metadata_bytes);

/*
 * The hand-over point: pages [start_pfn, end_pfn) go from RESERVED to the free
 * lists, as the largest aligned blocks that fit (merging with free neighbours).
 * Panics, changing nothing, if a page of the range is not RAM or not RESERVED.
 */
void buddy_free_range(struct buddy *buddy, uint64_t start_pfn, uint64_t end_pfn);

/*
 * Allocates a block of 2^order pages from the first zone of the request that
 * has one. Returns 0 with *pfn set to the block's first pfn (a multiple of
 * 2^order), or -1, changing nothing, when no zone of the request has a free
 * block of that order (or order > BUDDY_MAX_ORDER).
 */
int buddy_alloc(struct buddy *buddy, unsigned order, enum buddy_zone_request where, uint64_t *pfn);

/*
 * Frees the block of 2^order pages at pfn that buddy_alloc() returned. Panics,
 * naming the pfn and its state, on a pfn that is not RAM, not aligned to the
 * order, reserved, already free (double free), in a page cache, inside a block
 * rather than its first page, or allocated with another order.
 */
void buddy_free(struct buddy *buddy, uint64_t pfn, unsigned order);

/* Exactly `pages` contiguous pages (1 .. 2^BUDDY_MAX_ORDER), not rounded up to
 * a power of two: a 20 KiB request takes 5 pages, and the other 3 of the
 * 8-page block go straight back. Free with buddy_free_run() and the same count
 * (each piece is checked like any buddy_free). */
int buddy_alloc_run(struct buddy *buddy, uint64_t pages, enum buddy_zone_request where,
                    uint64_t *pfn);
/* The same, starting at a pfn that is a multiple of 2^align_order. */
int buddy_alloc_run_aligned(struct buddy *buddy, uint64_t pages, unsigned align_order,
                            enum buddy_zone_request where, uint64_t *pfn);
void buddy_free_run(struct buddy *buddy, uint64_t pfn, uint64_t pages);

/*
 * What a walk of the whole page array finds, per zone (buddy_check_census).
 * The page caches' pages are counted apart: they are neither free (the buddy
 * cannot hand them out) nor allocated (nobody uses them).
 */
struct buddy_census {
    uint64_t free_pages[ZONE_COUNT];
    uint64_t allocated_pages[ZONE_COUNT];
    uint64_t cached_pages[ZONE_COUNT];
    uint64_t reserved_pages[ZONE_COUNT];
};

/*
 * Checks every invariant listed at the top of this file. Returns true, or
 * false with the first broken invariant described in error, e.g.
 * "pfn 0x123: free block of order 2 not aligned". O(pages): for tests, the
 * shell and debugging, never on a hot path. Takes every zone lock; the page
 * caches change page states without a lock, so it is exact only while no CPU
 * uses a page cache (as in the shell on one CPU, or in tests).
 */
bool buddy_check(struct buddy *buddy, char *error, size_t error_size);
/* The same, also filling *census (which may be NULL) with what the walk found. */
bool buddy_check_census(struct buddy *buddy, struct buddy_census *census, char *error,
                        size_t error_size);

/* Stats: O(1) reads of the zone's counters (not locked: a snapshot). */
uint64_t buddy_free_page_count(const struct buddy *buddy, enum zone_id zone);
uint64_t buddy_managed_page_count(const struct buddy *buddy, enum zone_id zone);
uint64_t buddy_free_blocks(const struct buddy *buddy, enum zone_id zone, unsigned order);
const char *zone_name(enum zone_id zone);           /* "low", "dma32", "normal" */
const char *page_state_name(enum page_state state); /* "free head", "cached"... */

/* The metadata of pfn, or NULL if pfn is not RAM. O(log sections). */
struct page *buddy_pfn_to_page(struct buddy *buddy, uint64_t pfn);
/* The pfn of a page of the metadata array. O(1). */
uint64_t buddy_page_to_pfn(const struct buddy *buddy, const struct page *page);

/*
 * For the per-CPU page caches (mm/page_cache.c): order-0 pages in bulk, one
 * lock acquisition per zone visited.
 *
 * buddy_alloc_cached_batch: takes up to max free pages from the zones of the
 * request, in the request's order, marks them CACHED and stores their pfns.
 * Returns how many it took (0 when the zones are empty).
 *
 * buddy_free_cached_batch: gives count CACHED pages back to the free lists
 * (merging them). Panics, naming the pfn, on a page that is not CACHED.
 */
unsigned buddy_alloc_cached_batch(struct buddy *buddy, enum buddy_zone_request where,
                                  uint64_t *pfns, unsigned max);
void buddy_free_cached_batch(struct buddy *buddy, const uint64_t *pfns, unsigned count);

#endif
