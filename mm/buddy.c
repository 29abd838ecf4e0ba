/*
 * buddy.c: the buddy page allocator (see buddy.h for the design and the
 * invariants).
 *
 * Reading guide: pfn <-> page index conversions first, then the free lists,
 * then the two operations everything else is built from:
 *   take_block_locked()  pop a block of the wanted order, splitting a bigger one;
 *   free_block_locked()  push a block back, merging it with its free buddies.
 * The public calls only add the checks, the locking and the page states.
 *
 * Costs: a free list operation is O(1) (doubly linked, head known); split and
 * merge are O(order); finding the smallest non-empty order is one bit scan.
 * Marking the tail pages of a block of order n writes 2^n state bytes (as
 * Linux does for compound pages); that is what lets a bad free of an interior
 * page be caught, and it costs far less than touching the pages themselves.
 */
#include "mm/buddy.h"

#include "lib/boot_only.h"
#include "lib/format.h"
#include "lib/string.h"
#include "mm/trace.h"

static uint64_t block_pages(unsigned order)
{
    return (uint64_t)1 << order;
}

/* ---- pfn <-> page ------------------------------------------------------- */

/* The section that holds pfn, or NULL for a pfn that is not RAM. Binary
 * search: there are few sections (a handful on a PC). */
static const struct buddy_section *section_of_pfn(const struct buddy *buddy, uint64_t pfn)
{
    unsigned low = 0, high = buddy->section_count; /* the answer is in [low, high) */
    while (low < high) {
        unsigned middle = low + (high - low) / 2;
        const struct buddy_section *section = &buddy->sections[middle];
        if (pfn < section->start_pfn)
            high = middle;
        else if (pfn >= section->end_pfn)
            low = middle + 1;
        else
            return section;
    }
    return NULL;
}

/* Index in buddy->pages of a pfn of section. */
static uint32_t page_index(const struct buddy_section *section, uint64_t pfn)
{
    return section->first_page + (uint32_t)(pfn - section->start_pfn);
}

/* The pfn of page index; O(1) thanks to the section number kept in the page. */
static uint64_t index_to_pfn(const struct buddy *buddy, uint32_t index)
{
    const struct buddy_section *section = &buddy->sections[buddy->pages[index].section];
    return section->start_pfn + (index - section->first_page);
}

struct page *buddy_pfn_to_page(struct buddy *buddy, uint64_t pfn)
{
    const struct buddy_section *section = section_of_pfn(buddy, pfn);
    return section ? &buddy->pages[page_index(section, pfn)] : NULL;
}

uint64_t buddy_page_to_pfn(const struct buddy *buddy, const struct page *page)
{
    return index_to_pfn(buddy, (uint32_t)(page - buddy->pages));
}

/* ---- free lists --------------------------------------------------------- */

/* Makes page index the head of a free block of 2^order pages, first in its
 * list (most recently freed first: its metadata is likely still in cache). */
static void list_push(struct buddy *buddy, struct buddy_zone *zone, uint32_t index, unsigned order)
{
    struct free_area *area = &zone->free_area[order];
    struct page *page = &buddy->pages[index];
    page->state = PAGE_FREE_HEAD;
    page->order = (uint8_t)order;
    page->prev = PAGE_INDEX_NONE;
    page->next = area->first;
    if (area->first != PAGE_INDEX_NONE)
        buddy->pages[area->first].prev = index;
    area->first = index;
    area->nr_free++;
    zone->nonempty_orders |= 1u << order;
}

/* Unlinks the free block headed by page index; its state is the caller's to set. */
static void list_remove(struct buddy *buddy, struct buddy_zone *zone, uint32_t index)
{
    struct page *page = &buddy->pages[index];
    struct free_area *area = &zone->free_area[page->order];
    if (page->prev != PAGE_INDEX_NONE)
        buddy->pages[page->prev].next = page->next;
    else
        area->first = page->next;
    if (page->next != PAGE_INDEX_NONE)
        buddy->pages[page->next].prev = page->prev;
    area->nr_free--;
    if (area->first == PAGE_INDEX_NONE)
        zone->nonempty_orders &= ~(1u << page->order);
}

/* Makes a block's head what it is now; its tails stay TAIL (see mm/page.h:
 * allocating or freeing a block does not touch them). */
static void set_head(struct page *head, enum page_state state, unsigned order)
{
    head->state = (uint8_t)state;
    head->order = (uint8_t)order;
}

/* ---- the two core operations (zone lock held) ---------------------------- */

/*
 * Takes a block of 2^order pages out of zone's free lists: the first block of
 * the smallest order >= order that has one, split in halves until it has the
 * right size (each upper half goes back to the list one order down). Returns
 * the index of its head page, or PAGE_INDEX_NONE. The block's pages are left
 * FREE_HEAD/TAIL: the caller sets the head.
 */
static uint32_t take_block_locked(struct buddy *buddy, struct buddy_zone *zone, unsigned order)
{
    uint32_t big_enough = zone->nonempty_orders >> order;
    if (big_enough == 0)
        return PAGE_INDEX_NONE;
    unsigned found = order + (unsigned)__builtin_ctz(big_enough);
    uint32_t index = zone->free_area[found].first;
    list_remove(buddy, zone, index);
    if (found > order) /* a split: an event for debuggers (mm/trace.h) */
        trace_buddy_split(buddy_page_to_pfn(buddy, &buddy->pages[index]), found, order);
    while (found > order) {
        found--;
        list_push(buddy, zone, index + (uint32_t)block_pages(found), found);
    }
    zone->free_pages -= block_pages(order);
    return index;
}

/*
 * Gives the block of 2^order pages at pfn (in section) back to the free
 * lists. Its tail pages must already be TAIL; its head may be in any state. While the buddy (pfn ^
 * 2^order) is in the same section and is itself a free block of the same order, the two merge into
 * one block of the next order, headed by the lower of them.
 */
static void free_block_locked(struct buddy *buddy, const struct buddy_section *section,
                              uint64_t pfn, unsigned order)
{
    struct buddy_zone *zone = &buddy->zones[section->zone];
    zone->free_pages += block_pages(order);
    while (order < BUDDY_MAX_ORDER) {
        uint64_t buddy_pfn = pfn ^ block_pages(order);
        if (buddy_pfn < section->start_pfn || buddy_pfn >= section->end_pfn)
            break; /* no buddy across a hole or a zone boundary */
        uint32_t buddy_index = page_index(section, buddy_pfn);
        struct page *buddy_page = &buddy->pages[buddy_index];
        if (page_state_load(buddy_page) != PAGE_FREE_HEAD || buddy_page->order != order)
            break; /* (a page in a page cache may change state meanwhile: see page.h) */
        list_remove(buddy, zone, buddy_index);
        if (buddy_pfn < pfn) {
            buddy->pages[page_index(section, pfn)].state = PAGE_TAIL;
            pfn = buddy_pfn;
        } else {
            buddy_page->state = PAGE_TAIL;
        }
        order++;
    }
    list_push(buddy, zone, page_index(section, pfn), order);
}

/* ---- setting up ---------------------------------------------------------- */

static enum zone_id zone_of_pfn(uint64_t pfn)
{
    if (pfn < ZONE_LOW_END_PFN)
        return ZONE_LOW;
    return pfn < ZONE_DMA32_END_PFN ? ZONE_DMA32 : ZONE_NORMAL;
}

static uint64_t zone_end_pfn(enum zone_id zone)
{
    if (zone == ZONE_LOW)
        return ZONE_LOW_END_PFN;
    return zone == ZONE_DMA32 ? ZONE_DMA32_END_PFN : UINT64_MAX;
}

BOOT_ONLY size_t buddy_metadata_bytes(const struct buddy_range *ram, size_t count)
{
    uint64_t pages = 0;
    for (size_t i = 0; i < count; i++)
        if (ram[i].end_pfn > ram[i].start_pfn)
            pages += ram[i].end_pfn - ram[i].start_pfn;
    return (size_t)pages * sizeof(struct page);
}

/* Appends RAM pfns [start, end) to the section table, cut at zone boundaries
 * and joined to the previous section when they touch it in the same zone.
 * Returns NULL, or what went wrong. */
static const char *add_sections(struct buddy *buddy, uint64_t start, uint64_t end,
                                uint64_t *page_total)
{
    while (start < end) {
        enum zone_id zone = zone_of_pfn(start);
        uint64_t stop = end < zone_end_pfn(zone) ? end : zone_end_pfn(zone);
        if (stop - start >= (uint64_t)PAGE_INDEX_NONE - *page_total)
            return "more than 2^32 - 2 pages of RAM (struct page links are 32 bits)";
        struct buddy_section *last =
            buddy->section_count > 0 ? &buddy->sections[buddy->section_count - 1] : NULL;
        if (last && last->end_pfn == start && last->zone == zone) {
            last->end_pfn = stop;
        } else {
            if (buddy->section_count == BUDDY_MAX_SECTIONS)
                return "more than BUDDY_MAX_SECTIONS (64) sections (RAM ranges cut at zone "
                       "boundaries)";
            buddy->sections[buddy->section_count++] =
                (struct buddy_section){start, stop, (uint32_t)*page_total, (uint8_t)zone};
        }
        *page_total += stop - start;
        start = stop;
    }
    return NULL;
}

static int init_failed(const char *why)
{
    platform_print("buddy: %s\n", why);
    return -1;
}

BOOT_ONLY int buddy_init(struct buddy *buddy, const struct buddy_range *ram, size_t count,
                         void *metadata, size_t metadata_bytes)
{
    memset(buddy, 0, sizeof(*buddy));
    for (unsigned z = 0; z < ZONE_COUNT; z++) {
        buddy->zones[z].lock = (struct platform_lock)PLATFORM_LOCK_INIT;
        for (unsigned order = 0; order <= BUDDY_MAX_ORDER; order++)
            buddy->zones[z].free_area[order].first = PAGE_INDEX_NONE;
    }

    uint64_t page_total = 0, previous_end = 0;
    for (size_t i = 0; i < count; i++) {
        if (ram[i].end_pfn < ram[i].start_pfn)
            return init_failed("a RAM range ends before it starts");
        if (ram[i].end_pfn == ram[i].start_pfn)
            continue;
        if (ram[i].start_pfn < previous_end)
            return init_failed("RAM ranges are not sorted, or overlap");
        previous_end = ram[i].end_pfn;
        const char *problem = add_sections(buddy, ram[i].start_pfn, ram[i].end_pfn, &page_total);
        if (problem)
            return init_failed(problem);
    }
    if (metadata_bytes < page_total * sizeof(struct page))
        return init_failed("metadata smaller than buddy_metadata_bytes()");
    if ((uintptr_t)metadata % 16 != 0)
        return init_failed("metadata not 16-byte aligned");

    buddy->pages = metadata;
    buddy->page_count = (uint32_t)page_total;
    for (unsigned s = 0; s < buddy->section_count; s++) {
        const struct buddy_section *section = &buddy->sections[s];
        buddy->zones[section->zone].has_ram = true;
        uint32_t end = page_index(section, section->end_pfn - 1) + 1;
        for (uint32_t index = section->first_page; index < end; index++)
            buddy->pages[index] = (struct page){
                .next = PAGE_INDEX_NONE,
                .prev = PAGE_INDEX_NONE,
                .state = PAGE_RESERVED,
                .zone = section->zone,
                .section = (uint8_t)s,
            };
    }
    return 0;
}

/* ---- the hand-over ------------------------------------------------------- */

/* The largest order of an aligned block that starts at pfn and ends by end. */
static unsigned largest_fitting_order(uint64_t pfn, uint64_t end)
{
    unsigned order = BUDDY_MAX_ORDER;
    while (order > 0 && ((pfn & (block_pages(order) - 1)) != 0 || pfn + block_pages(order) > end))
        order--;
    return order;
}

/* Panics (with no lock held) unless every page of [start, end) is RESERVED RAM. */
static void check_range_reserved(struct buddy *buddy, uint64_t start, uint64_t end)
{
    for (uint64_t pfn = start; pfn < end;) {
        const struct buddy_section *section = section_of_pfn(buddy, pfn);
        if (!section)
            platform_panic("buddy_free_range: pfn %#llx is not RAM (range [%#llx, %#llx))",
                           (unsigned long long)pfn, (unsigned long long)start,
                           (unsigned long long)end);
        uint64_t stop = end < section->end_pfn ? end : section->end_pfn;
        struct platform_lock *lock = &buddy->zones[section->zone].lock;
        platform_lock_acquire(lock);
        for (; pfn < stop; pfn++) {
            uint8_t state = buddy->pages[page_index(section, pfn)].state;
            if (state != PAGE_RESERVED) {
                platform_lock_release(lock);
                platform_panic("buddy_free_range: pfn %#llx is %s, not reserved: handed over "
                               "twice?",
                               (unsigned long long)pfn, page_state_name(state));
            }
        }
        platform_lock_release(lock);
    }
}

void buddy_free_range(struct buddy *buddy, uint64_t start_pfn, uint64_t end_pfn)
{
    check_range_reserved(buddy, start_pfn, end_pfn); /* a bad range changes nothing */
    for (uint64_t pfn = start_pfn; pfn < end_pfn;) {
        const struct buddy_section *section = section_of_pfn(buddy, pfn);
        struct buddy_zone *zone = &buddy->zones[section->zone];
        uint64_t stop = end_pfn < section->end_pfn ? end_pfn : section->end_pfn;
        platform_lock_acquire(&zone->lock);
        while (pfn < stop) {
            unsigned order = largest_fitting_order(pfn, stop);
            struct page *head = &buddy->pages[page_index(section, pfn)];
            for (uint64_t i = 1; i < block_pages(order); i++) /* the one pass over tails */
                head[i].state = PAGE_TAIL;
            zone->managed_pages += block_pages(order);
            free_block_locked(buddy, section, pfn, order);
            pfn += block_pages(order);
        }
        platform_lock_release(&zone->lock);
    }
}

/* ---- allocating and freeing ---------------------------------------------- */

/* Zones are tried from the highest the request allows down to ZONE_LOW, so
 * that the scarce low memory goes last. -1 for an unknown request. */
static int highest_zone(enum buddy_zone_request where)
{
    switch (where) {
    case BUDDY_ANY:
        return ZONE_NORMAL;
    case BUDDY_BELOW_4G:
        return ZONE_DMA32;
    case BUDDY_BELOW_1M:
        return ZONE_LOW;
    }
    return -1;
}

int buddy_alloc(struct buddy *buddy, unsigned order, enum buddy_zone_request where, uint64_t *pfn)
{
    if (order > BUDDY_MAX_ORDER)
        return -1;
    for (int z = highest_zone(where); z >= 0; z--) {
        struct buddy_zone *zone = &buddy->zones[z];
        if (!zone->has_ram)
            continue; /* e.g. no NORMAL zone below 4 GiB of RAM: not even a lock to take */
        platform_lock_acquire(&zone->lock);
        uint32_t index = take_block_locked(buddy, zone, order);
        if (index != PAGE_INDEX_NONE)
            set_head(&buddy->pages[index], PAGE_ALLOCATED_HEAD, order);
        platform_lock_release(&zone->lock);
        if (index != PAGE_INDEX_NONE) {
            *pfn = index_to_pfn(buddy, index);
            return 0;
        }
    }
    return -1;
}

/* The head of the block a TAIL page at pfn (in section) belongs to: the
 * nearest page below it at a multiple of 2, 4, 8... pages that is not a tail
 * (every page between a head and its tails is a tail of the same block).
 * NULL if there is none (corrupt metadata). */
static const struct page *head_of_tail(const struct buddy *buddy,
                                       const struct buddy_section *section, uint64_t pfn)
{
    for (unsigned order = 1; order <= BUDDY_MAX_ORDER; order++) {
        uint64_t candidate = pfn & ~(block_pages(order) - 1);
        if (candidate < section->start_pfn)
            return NULL;
        const struct page *page = &buddy->pages[page_index(section, candidate)];
        if (page_state_load(page) != PAGE_TAIL)
            return page->order >= order ? page : NULL;
    }
    return NULL;
}

/* Why the page at the head of (pfn, order) cannot be freed, or NULL if it can. */
static const char *free_problem(const struct buddy *buddy, const struct buddy_section *section,
                                uint64_t pfn, const struct page *head, unsigned order)
{
    const struct page *block;
    /* An atomic load: a page cache may be changing the state without the zone
     * lock (its compare-and-swap in page_cache_free) when two CPUs free one page. */
    switch (page_state_load(head)) {
    case PAGE_ALLOCATED_HEAD:
        return head->order == order ? NULL : "freed with another order than it was allocated with";
    case PAGE_FREE_HEAD:
        return "already free: double free";
    case PAGE_CACHED:
        return "in a per-CPU page cache, so already free: double free";
    case PAGE_TAIL:
        block = head_of_tail(buddy, section, pfn);
        if (block && page_state_load(block) == PAGE_FREE_HEAD)
            return "inside a free block: double free";
        if (block && page_state_load(block) == PAGE_ALLOCATED_HEAD)
            return "inside an allocated block, not its first page";
        return "a tail page of no block: corrupt metadata";
    case PAGE_RESERVED:
        return "reserved: it was never handed to the allocator";
    }
    return "corrupt metadata (unknown state)";
}

/* Frees the allocated block (pfn, order) of section, or panics (after letting
 * the zone lock go) naming why it cannot be freed. Zone lock held; pfn is
 * aligned to the order. */
static void free_checked_locked(struct buddy *buddy, const struct buddy_section *section,
                                uint64_t pfn, unsigned order)
{
    struct page *head = &buddy->pages[page_index(section, pfn)];
    const char *problem = free_problem(buddy, section, pfn, head, order);
    if (problem) {
        uint8_t seen_state = page_state_load(head), seen_order = head->order;
        platform_lock_release(&buddy->zones[section->zone].lock);
        platform_panic("buddy_free: pfn %#llx, order %u: %s (the page is %s, order %u)",
                       (unsigned long long)pfn, order, problem, page_state_name(seen_state),
                       seen_order);
    }
    free_block_locked(buddy, section, pfn, order);
}

void buddy_free(struct buddy *buddy, uint64_t pfn, unsigned order)
{
    const struct buddy_section *section = section_of_pfn(buddy, pfn);
    if (!section)
        platform_panic("buddy_free: pfn %#llx is not RAM", (unsigned long long)pfn);
    if (order > BUDDY_MAX_ORDER)
        platform_panic("buddy_free: pfn %#llx: order %u is above BUDDY_MAX_ORDER (%u)",
                       (unsigned long long)pfn, order, BUDDY_MAX_ORDER);
    if ((pfn & (block_pages(order) - 1)) != 0)
        platform_panic("buddy_free: pfn %#llx is not aligned to order %u (a block of %llu "
                       "pages starts at a multiple of %llu)",
                       (unsigned long long)pfn, order, (unsigned long long)block_pages(order),
                       (unsigned long long)block_pages(order));

    struct buddy_zone *zone = &buddy->zones[section->zone];
    platform_lock_acquire(&zone->lock);
    free_checked_locked(buddy, section, pfn, order);
    platform_lock_release(&zone->lock);
}

/* ---- runs of an exact number of pages ------------------------------------ */

static unsigned order_for_pages(uint64_t pages)
{
    unsigned order = 0;
    while (block_pages(order) < pages)
        order++;
    return order;
}

/*
 * A run of `pages` pages starting at a pfn aligned to the next power of two
 * is kept as allocated blocks whose sizes are the binary digits of `pages`,
 * largest first: 5 pages = a block of 4, then a block of 1. Each is aligned
 * to its own size, so each is a proper buddy block.
 */
int buddy_alloc_run(struct buddy *buddy, uint64_t pages, enum buddy_zone_request where,
                    uint64_t *pfn)
{
    return buddy_alloc_run_aligned(buddy, pages, 0, where, pfn);
}

/* Keeps the first `pages` pages of the block of 2^order pages at start (taken
 * off the free lists, so its pages are FREE_HEAD then TAIL) as allocated
 * pieces, and gives the rest straight back: one head written per piece
 * (free_block_locked takes a head in any state). Zone lock held. */
static void keep_run_locked(struct buddy *buddy, const struct buddy_section *section,
                            uint64_t start, unsigned order, uint64_t pages)
{
    uint64_t offset = 0;
    for (int bit = (int)order; bit >= 0; bit--) { /* the kept pieces */
        if (pages & block_pages((unsigned)bit)) {
            set_head(&buddy->pages[page_index(section, start + offset)], PAGE_ALLOCATED_HEAD,
                     (unsigned)bit);
            offset += block_pages((unsigned)bit);
        }
    }
    while (offset < block_pages(order)) { /* the tail goes straight back */
        unsigned piece = (unsigned)__builtin_ctzll(start + offset);
        while (offset + block_pages(piece) > block_pages(order))
            piece--;
        free_block_locked(buddy, section, start + offset, piece);
        offset += block_pages(piece);
    }
}

int buddy_alloc_run_aligned(struct buddy *buddy, uint64_t pages, unsigned align_order,
                            enum buddy_zone_request where, uint64_t *pfn)
{
    if (pages == 0 || pages > block_pages(BUDDY_MAX_ORDER) || align_order > BUDDY_MAX_ORDER)
        return -1;
    unsigned order = order_for_pages(pages);
    if (order < align_order)
        order = align_order; /* a bigger block for its alignment; the tail goes back */
    for (int z = highest_zone(where); z >= 0; z--) {
        struct buddy_zone *zone = &buddy->zones[z];
        if (!zone->has_ram)
            continue;
        platform_lock_acquire(&zone->lock);
        uint32_t index = take_block_locked(buddy, zone, order);
        if (index != PAGE_INDEX_NONE) {
            uint64_t start = index_to_pfn(buddy, index);
            keep_run_locked(buddy, &buddy->sections[buddy->pages[index].section], start, order,
                            pages);
            platform_lock_release(&zone->lock);
            *pfn = start;
            return 0;
        }
        platform_lock_release(&zone->lock);
    }
    return -1;
}

/* A run is freed piece by piece under one lock when it lies in one section
 * (as every run this allocator handed out does); anything else goes through
 * buddy_free piece by piece, which names what is wrong. */
void buddy_free_run(struct buddy *buddy, uint64_t pfn, uint64_t pages)
{
    if (pages == 0 || pages > block_pages(BUDDY_MAX_ORDER))
        platform_panic("buddy_free_run: pfn %#llx: a run of %llu pages cannot exist",
                       (unsigned long long)pfn, (unsigned long long)pages);
    const struct buddy_section *section = section_of_pfn(buddy, pfn);
    bool one_lock = section && pfn + pages <= section->end_pfn &&
                    (pfn & (block_pages(order_for_pages(pages)) - 1)) == 0;
    struct buddy_zone *zone = one_lock ? &buddy->zones[section->zone] : NULL;
    if (one_lock)
        platform_lock_acquire(&zone->lock);
    uint64_t offset = 0;
    for (int bit = (int)order_for_pages(pages); bit >= 0; bit--) {
        if (pages & block_pages((unsigned)bit)) {
            if (one_lock)
                free_checked_locked(buddy, section, pfn + offset, (unsigned)bit);
            else
                buddy_free(buddy, pfn + offset, (unsigned)bit);
            offset += block_pages((unsigned)bit);
        }
    }
    if (one_lock)
        platform_lock_release(&zone->lock);
}

/* ---- batches for the page caches ------------------------------------------ */

unsigned buddy_alloc_cached_batch(struct buddy *buddy, enum buddy_zone_request where,
                                  uint64_t *pfns, unsigned max)
{
    unsigned taken = 0;
    for (int z = highest_zone(where); z >= 0 && taken < max; z--) {
        struct buddy_zone *zone = &buddy->zones[z];
        if (!zone->has_ram)
            continue;
        platform_lock_acquire(&zone->lock);
        while (taken < max) {
            uint32_t index = take_block_locked(buddy, zone, 0);
            if (index == PAGE_INDEX_NONE)
                break;
            buddy->pages[index].state = PAGE_CACHED;
            buddy->pages[index].order = 0;
            pfns[taken++] = index_to_pfn(buddy, index);
        }
        platform_lock_release(&zone->lock);
    }
    return taken;
}

void buddy_free_cached_batch(struct buddy *buddy, const uint64_t *pfns, unsigned count)
{
    struct buddy_zone *locked = NULL; /* pages of one cache are mostly of one zone: one lock */
    for (unsigned i = 0; i < count; i++) {
        const struct buddy_section *section = section_of_pfn(buddy, pfns[i]);
        struct buddy_zone *zone = section ? &buddy->zones[section->zone] : NULL;
        if (zone != locked) {
            if (locked)
                platform_lock_release(&locked->lock);
            if (zone)
                platform_lock_acquire(&zone->lock);
            locked = zone;
        }
        if (!section)
            platform_panic("buddy_free_cached_batch: pfn %#llx is not RAM",
                           (unsigned long long)pfns[i]);
        uint8_t state = buddy->pages[page_index(section, pfns[i])].state;
        if (state != PAGE_CACHED) {
            platform_lock_release(&zone->lock);
            platform_panic("buddy_free_cached_batch: pfn %#llx is %s, not cached",
                           (unsigned long long)pfns[i], page_state_name(state));
        }
        free_block_locked(buddy, section, pfns[i], 0);
    }
    if (locked)
        platform_lock_release(&locked->lock);
}

/* ---- stats ----------------------------------------------------------------- */

uint64_t buddy_free_page_count(const struct buddy *buddy, enum zone_id zone)
{
    return zone < ZONE_COUNT ? buddy->zones[zone].free_pages : 0;
}

uint64_t buddy_managed_page_count(const struct buddy *buddy, enum zone_id zone)
{
    return zone < ZONE_COUNT ? buddy->zones[zone].managed_pages : 0;
}

uint64_t buddy_free_blocks(const struct buddy *buddy, enum zone_id zone, unsigned order)
{
    if (zone >= ZONE_COUNT || order > BUDDY_MAX_ORDER)
        return 0;
    return buddy->zones[zone].free_area[order].nr_free;
}

const char *zone_name(enum zone_id zone)
{
    static const char *const names[ZONE_COUNT] = {"low", "dma32", "normal"};
    return zone < ZONE_COUNT ? names[zone] : "(bad zone)";
}

const char *page_state_name(enum page_state state)
{
    static const char *const names[PAGE_STATE_COUNT] = {
        "reserved", "free head", "allocated head", "tail", "cached",
    };
    return state < PAGE_STATE_COUNT ? names[state] : "(corrupt state)";
}

/* ---- buddy_check ----------------------------------------------------------- */

/*
 * The check walks the page array section by section (every page's state,
 * every block's alignment, extent and tails, every pair of free buddies), then
 * every free list (links, membership, lengths), then the counters. What it
 * finds goes into a census; struct page fields are bounds-checked before they
 * are used as indices, so corrupt metadata cannot make the check itself crash.
 */
struct check {
    struct buddy *buddy;
    struct buddy_census census;
    uint32_t free_heads[ZONE_COUNT][BUDDY_MAX_ORDER + 1]; /* free blocks the walk found */
    char *error;
    size_t error_size;
};

/* The zone and section bytes of the page at pfn, in section s. */
static bool check_page_place(struct check *check, unsigned s, uint64_t pfn, const struct page *page)
{
    uint8_t zone = check->buddy->sections[s].zone;
    if (page->zone == zone && page->section == s)
        return true;
    ksnprintf(check->error, check->error_size,
              "pfn %#llx: page says zone %u section %u, but it is in zone %u section %u",
              (unsigned long long)pfn, page->zone, page->section, zone, s);
    return false;
}

/* A block (free or allocated) whose head is at pfn, index in section s. */
static bool check_block(struct check *check, unsigned s, uint64_t pfn, uint32_t index)
{
    const struct buddy_section *section = &check->buddy->sections[s];
    const struct page *head = &check->buddy->pages[index];
    bool is_free = head->state == PAGE_FREE_HEAD;
    const char *kind = is_free ? "free" : "allocated";
    unsigned order = head->order;
    if (order > BUDDY_MAX_ORDER) {
        ksnprintf(check->error, check->error_size, "pfn %#llx: %s block of order %u (max %u)",
                  (unsigned long long)pfn, kind, order, BUDDY_MAX_ORDER);
        return false;
    }
    if ((pfn & (block_pages(order) - 1)) != 0) {
        ksnprintf(check->error, check->error_size, "pfn %#llx: %s block of order %u not aligned",
                  (unsigned long long)pfn, kind, order);
        return false;
    }
    if (pfn + block_pages(order) > section->end_pfn) {
        ksnprintf(check->error, check->error_size,
                  "pfn %#llx: %s block of order %u runs past the end of its section (pfn %#llx)",
                  (unsigned long long)pfn, kind, order, (unsigned long long)section->end_pfn);
        return false;
    }
    for (uint32_t i = 1; i < block_pages(order); i++) {
        if (!check_page_place(check, s, pfn + i, &head[i]))
            return false;
        if (head[i].state != PAGE_TAIL) {
            ksnprintf(check->error, check->error_size,
                      "pfn %#llx: page %u of the %s block of order %u at pfn %#llx is %s, not "
                      "a tail",
                      (unsigned long long)(pfn + i), i, kind, order, (unsigned long long)pfn,
                      page_state_name(head[i].state));
            return false;
        }
    }
    if (!is_free) {
        check->census.allocated_pages[section->zone] += block_pages(order);
        return true;
    }
    check->census.free_pages[section->zone] += block_pages(order);
    check->free_heads[section->zone][order]++;
    uint64_t buddy_pfn = pfn ^ block_pages(order);
    if (order < BUDDY_MAX_ORDER && buddy_pfn >= section->start_pfn &&
        buddy_pfn < section->end_pfn) {
        const struct page *buddy_page = &check->buddy->pages[page_index(section, buddy_pfn)];
        if (page_state_load(buddy_page) == PAGE_FREE_HEAD && buddy_page->order == order) {
            ksnprintf(check->error, check->error_size,
                      "pfn %#llx: free block of order %u and its free buddy at pfn %#llx were "
                      "not merged",
                      (unsigned long long)pfn, order, (unsigned long long)buddy_pfn);
            return false;
        }
    }
    return true;
}

static bool check_pages(struct check *check)
{
    struct buddy *buddy = check->buddy;
    uint32_t expected_first = 0;
    for (unsigned s = 0; s < buddy->section_count; s++) {
        const struct buddy_section *section = &buddy->sections[s];
        if (section->first_page != expected_first || section->start_pfn >= section->end_pfn ||
            (s > 0 && section->start_pfn < buddy->sections[s - 1].end_pfn) ||
            section->zone != zone_of_pfn(section->start_pfn) ||
            section->zone != zone_of_pfn(section->end_pfn - 1)) {
            ksnprintf(check->error, check->error_size,
                      "section %u [pfn %#llx, %#llx): corrupt section table", s,
                      (unsigned long long)section->start_pfn, (unsigned long long)section->end_pfn);
            return false;
        }
        expected_first += (uint32_t)(section->end_pfn - section->start_pfn);
        for (uint64_t pfn = section->start_pfn; pfn < section->end_pfn;) {
            uint32_t index = page_index(section, pfn);
            const struct page *page = &buddy->pages[index];
            if (!check_page_place(check, s, pfn, page))
                return false;
            switch (page->state) {
            case PAGE_RESERVED:
                check->census.reserved_pages[section->zone]++;
                pfn++;
                break;
            case PAGE_CACHED:
                if (page->order != 0) {
                    ksnprintf(check->error, check->error_size,
                              "pfn %#llx: cached page of order %u (must be 0)",
                              (unsigned long long)pfn, page->order);
                    return false;
                }
                check->census.cached_pages[section->zone]++;
                pfn++;
                break;
            case PAGE_FREE_HEAD:
            case PAGE_ALLOCATED_HEAD:
                if (!check_block(check, s, pfn, index))
                    return false;
                pfn += block_pages(page->order);
                break;
            case PAGE_TAIL:
                ksnprintf(check->error, check->error_size,
                          "pfn %#llx: tail page that follows no block head",
                          (unsigned long long)pfn);
                return false;
            default:
                ksnprintf(check->error, check->error_size, "pfn %#llx: unknown state %u",
                          (unsigned long long)pfn, page->state);
                return false;
            }
        }
    }
    if (expected_first != buddy->page_count) {
        ksnprintf(check->error, check->error_size,
                  "the sections cover %u pages, but page_count is %u", expected_first,
                  buddy->page_count);
        return false;
    }
    return true;
}

/* Runs after check_pages(), so every page's section byte is known to be valid. */
static bool check_list(struct check *check, unsigned z, unsigned order)
{
    struct buddy *buddy = check->buddy;
    const struct free_area *area = &buddy->zones[z].free_area[order];
    uint32_t count = 0, previous = PAGE_INDEX_NONE;
    for (uint32_t index = area->first; index != PAGE_INDEX_NONE;) {
        if (index >= buddy->page_count) {
            ksnprintf(check->error, check->error_size,
                      "zone %s order %u: link to page index %u, past the %u pages", zone_name(z),
                      order, index, buddy->page_count);
            return false;
        }
        const struct page *page = &buddy->pages[index];
        uint64_t pfn = index_to_pfn(buddy, index);
        if (page->state != PAGE_FREE_HEAD || page->order != order || page->zone != z) {
            ksnprintf(check->error, check->error_size,
                      "pfn %#llx: in the free list of zone %s order %u, but it is %s of order %u "
                      "in zone %s",
                      (unsigned long long)pfn, zone_name(z), order, page_state_name(page->state),
                      page->order, zone_name(page->zone));
            return false;
        }
        if (page->prev != previous) {
            ksnprintf(check->error, check->error_size,
                      "pfn %#llx: prev link is page %u, but page %u comes before it in the list",
                      (unsigned long long)pfn, page->prev, previous);
            return false;
        }
        if (count == area->nr_free) {
            ksnprintf(check->error, check->error_size,
                      "zone %s order %u: the list is longer than nr_free = %u (a loop?) at pfn "
                      "%#llx",
                      zone_name(z), order, area->nr_free, (unsigned long long)pfn);
            return false;
        }
        count++;
        previous = index;
        index = page->next;
    }
    if (count != area->nr_free || count != check->free_heads[z][order]) {
        ksnprintf(check->error, check->error_size,
                  "zone %s order %u: nr_free is %u, the list has %u blocks, the page array %u",
                  zone_name(z), order, area->nr_free, count, check->free_heads[z][order]);
        return false;
    }
    bool bit = (buddy->zones[z].nonempty_orders >> order) & 1;
    if (bit != (count > 0)) {
        ksnprintf(check->error, check->error_size,
                  "zone %s order %u: nonempty_orders bit is %u, but the list has %u blocks",
                  zone_name(z), order, bit, count);
        return false;
    }
    return true;
}

static bool check_zone(struct check *check, unsigned z)
{
    const struct buddy_zone *zone = &check->buddy->zones[z];
    if (zone->nonempty_orders >> (BUDDY_MAX_ORDER + 1)) {
        ksnprintf(check->error, check->error_size,
                  "zone %s: nonempty_orders %#x has bits above "
                  "order %u",
                  zone_name(z), zone->nonempty_orders, BUDDY_MAX_ORDER);
        return false;
    }
    for (unsigned order = 0; order <= BUDDY_MAX_ORDER; order++)
        if (!check_list(check, z, order))
            return false;
    const struct buddy_census *census = &check->census;
    if (zone->free_pages != census->free_pages[z]) {
        ksnprintf(check->error, check->error_size,
                  "zone %s: free_pages is %llu, but the free blocks hold %llu pages", zone_name(z),
                  (unsigned long long)zone->free_pages, (unsigned long long)census->free_pages[z]);
        return false;
    }
    uint64_t managed = census->free_pages[z] + census->allocated_pages[z] + census->cached_pages[z];
    if (zone->managed_pages != managed) {
        ksnprintf(check->error, check->error_size,
                  "zone %s: managed_pages is %llu, but %llu pages are free, allocated or cached",
                  zone_name(z), (unsigned long long)zone->managed_pages,
                  (unsigned long long)managed);
        return false;
    }
    return true;
}

bool buddy_check_census(struct buddy *buddy, struct buddy_census *census, char *error,
                        size_t error_size)
{
    char scratch[1];
    struct check check = {.buddy = buddy, .error = error, .error_size = error_size};
    if (!error || error_size == 0) {
        check.error = scratch;
        check.error_size = sizeof(scratch);
    }
    check.error[0] = '\0';

    for (unsigned z = 0; z < ZONE_COUNT; z++) /* always in this order: no deadlock */
        platform_lock_acquire(&buddy->zones[z].lock);
    bool ok = check_pages(&check);
    for (unsigned z = 0; ok && z < ZONE_COUNT; z++)
        ok = check_zone(&check, z);
    for (unsigned z = ZONE_COUNT; z-- > 0;)
        platform_lock_release(&buddy->zones[z].lock);

    if (census)
        *census = check.census;
    return ok;
}

bool buddy_check(struct buddy *buddy, char *error, size_t error_size)
{
    return buddy_check_census(buddy, NULL, error, error_size);
}
