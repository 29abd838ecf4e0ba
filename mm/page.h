/*
 * page.h: the physical page and its 16 bytes of metadata, shared by the buddy
 * allocator (mm/buddy.c) and the per-CPU page caches (mm/page_cache.c). The
 * slab allocator (mm/malloc.c) keeps its own page map (struct km_page_info)
 * and a page's owner word.
 *
 * Every page of RAM has one struct page, and nothing else does: the buddy keeps
 * them in one array that covers the RAM ranges back to back (see buddy.h), so
 * the metadata costs 16 / 4096 = 0.39% of RAM and holes cost nothing.
 */
#ifndef MM_PAGE_H
#define MM_PAGE_H

#include <stdint.h>

#define PAGE_SHIFT 12 /* a page is 4 KiB */
#ifndef PAGE_SIZE
#define PAGE_SIZE 4096u /* bytes; other headers may define it too, with this same value */
#endif

/* A link that points nowhere: the end of a free list. */
#define PAGE_INDEX_NONE UINT32_MAX

/*
 * What a page is doing. Each page is in exactly one state:
 *
 *   RESERVED        not managed by the buddy: kernel image, boot information,
 *                   metadata... Every page starts here; buddy_free_range() is
 *                   the only way out, and nothing comes back.
 *   FREE_HEAD       first page of a free block of 2^order pages, linked into
 *                   its zone's free list for that order.
 *   ALLOCATED_HEAD  first page of an allocated block; order is the block's.
 *   TAIL            any other page of a block, free or allocated: its head
 *                   says which (the nearest head below it at a multiple of
 *                   2, 4, 8... pages: see head_of_tail() in mm/buddy.c).
 *   CACHED          a free order-0 page held by a per-CPU page cache: the
 *                   buddy does not see it as free (it is not in a free list,
 *                   it never coalesces) until the cache gives it back.
 *
 * Why tails do not say free or allocated: then allocating or freeing a block
 * writes its head only, whatever its size (a 4 MiB block has 1023 tails, and
 * writing each of their states on every allocation and free was a tenth of
 * the time of a program that allocates such blocks). Tails change only when
 * blocks are cut or joined: a split makes the head of the upper half a head,
 * a merge makes the upper buddy's head a tail. Linux does the same (only a
 * free block's head carries PageBuddy).
 *
 * The transitions: RESERVED -> FREE (hand-over), FREE <-> ALLOCATED (buddy,
 * under the zone lock), FREE <-> CACHED (buddy, in batches, under the zone
 * lock), CACHED <-> ALLOCATED_HEAD of order 0 (a page cache, with no lock: the
 * CPU that holds the page owns it, and neither state is FREE_HEAD, the only
 * state the buddy acts on when it looks at a page it does not own).
 */
enum page_state {
    PAGE_RESERVED = 0, /* so that zeroed metadata means "not managed" */
    PAGE_FREE_HEAD,
    PAGE_ALLOCATED_HEAD,
    PAGE_TAIL,
    PAGE_CACHED,
    PAGE_STATE_COUNT
};

/*
 * struct page: 16 bytes, laid out as
 *
 *   offset  0  uint32_t next     free list: index of the next free block's head page
 *   offset  4  uint32_t prev     free list: index of the previous one
 *   offset  8  uint8_t  state    enum page_state
 *   offset  9  uint8_t  order    heads only: the block is 2^order pages
 *   offset 10  uint8_t  zone     enum zone_id, fixed at buddy_init
 *   offset 11  uint8_t  section  index in the buddy's section table, fixed at buddy_init
 *   offset 12  uint32_t owner    mm/malloc.c's owner word (a slab's descriptor index + 1,
 *                                or KM_OWNER_LARGE and a large run's page count on the
 *                                run's first page); the buddy never touches it after init
 *
 * Links are 32-bit indices into the page array, not pointers: half the size,
 * and they mean the same thing in the kernel, on the host and in GDB. 2^32 - 1
 * pages (16 TiB of RAM) is the limit this sets.
 *
 * Invariants (buddy_check() verifies them all):
 *   - next/prev are meaningful in a FREE_HEAD (its buddy free list) and in a
 *     CACHED page (its CPU's page-cache list), PAGE_INDEX_NONE at the list
 *     ends; elsewhere they are stale.
 *   - order is meaningful only in a head (FREE_HEAD, ALLOCATED_HEAD) and in a
 *     CACHED page (always 0); a head's pfn is a multiple of 2^order.
 *   - zone and section never change after buddy_init.
 */
struct page {
    uint32_t next;
    uint32_t prev;
    uint8_t state;
    uint8_t order;
    uint8_t zone;
    uint8_t section;
    uint32_t owner;
};

_Static_assert(sizeof(struct page) == 16, "struct page must stay 16 bytes: 0.39% of RAM");

/*
 * The one field two CPUs may touch at once without a common lock: a page
 * cache turns a page it holds CACHED <-> ALLOCATED_HEAD with no lock, while
 * another CPU, merging a neighbour under the zone lock, reads that page's
 * state to see whether it is a free buddy. Either value means "not free", so
 * the answer is right whichever it reads; relaxed atomics (plain byte moves on
 * x86-64) make that a defined read instead of a C data race.
 */
static inline uint8_t page_state_load(const struct page *page)
{
    return __atomic_load_n(&page->state, __ATOMIC_RELAXED);
}

static inline void page_state_store(struct page *page, uint8_t state)
{
    __atomic_store_n(&page->state, state, __ATOMIC_RELAXED);
}

#endif
