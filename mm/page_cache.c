/*
 * page_cache.c: per-CPU caches of order-0 pages (see page_cache.h for the
 * design and the watermark formula).
 *
 * The fast path is a push or a pop at the head of a list that only this CPU
 * touches, linked through the pages' struct page, with interrupts off so that
 * an interrupt handler allocating a page cannot run in the middle of it. The
 * slow path is one call into the buddy for a whole batch; the buddy's batch
 * calls take pfn arrays, so a batch goes through a small array on the stack
 * (PAGE_CACHE_MAX_BATCH pfns: 512 bytes at most).
 */
#include "mm/page_cache.h"

#include "lib/string.h"

_Static_assert(PAGE_CACHE_MAX_BATCH * sizeof(uint64_t) <= 512,
               "a batch of pfns goes on the kernel stack: keep it small");

static unsigned clamp_unsigned(uint64_t value, unsigned low, unsigned high)
{
    if (value < low)
        return low;
    return value > high ? high : (unsigned)value;
}

void page_cache_init(struct page_cache_set *set, struct buddy *buddy, unsigned cpu_count,
                     uint64_t total_pages, struct page_cache *caches)
{
    if (cpu_count == 0)
        cpu_count = 1;
    if (!caches && cpu_count > 1) {
        platform_print("page cache: %u CPUs but no array of caches: only CPU 0 gets one; the "
                       "others use the buddy directly\n",
                       cpu_count);
        cpu_count = 1;
    }
    memset(set, 0, sizeof(*set));
    set->buddy = buddy;
    set->cpu_count = cpu_count;
    set->caches = caches ? caches : &set->boot_cache;
    memset(set->caches, 0, cpu_count * sizeof(struct page_cache));

    /* high <= PAGE_CACHE_CAPACITY, so batch <= PAGE_CACHE_MAX_BATCH. */
    unsigned high = clamp_unsigned(total_pages / (128ull * cpu_count), 4, PAGE_CACHE_CAPACITY);
    unsigned batch = high / 4 > 2 ? high / 4 : 2;
    for (unsigned cpu = 0; cpu < cpu_count; cpu++) {
        struct page_cache *cache = &set->caches[cpu];
        cache->first = PAGE_INDEX_NONE;
        cache->last = PAGE_INDEX_NONE;
        cache->low = 0;
        cache->high = high;
        cache->batch = batch;
    }
}

/* The current CPU's cache, or NULL for a CPU past the clamp. Interrupts must
 * be off, so that the CPU cannot change under us. */
static struct page_cache *this_cpu_cache(struct page_cache_set *set)
{
    unsigned cpu = platform_cpu_index();
    return cpu < set->cpu_count ? &set->caches[cpu] : NULL;
}

/* ---- the list, through struct page's next/prev --------------------------- */

/* Makes page (PAGE_CACHED, in no list) the head of cache's list: the hottest. */
static void push_head(struct buddy *buddy, struct page_cache *cache, struct page *page)
{
    uint32_t index = (uint32_t)(page - buddy->pages);
    page->prev = PAGE_INDEX_NONE;
    page->next = cache->first;
    if (cache->first != PAGE_INDEX_NONE)
        buddy->pages[cache->first].prev = index;
    else
        cache->last = index;
    cache->first = index;
    cache->count++;
}

/* Unlinks the head of cache's list (not empty): the most recently freed page. */
static struct page *pop_head(struct buddy *buddy, struct page_cache *cache)
{
    struct page *page = &buddy->pages[cache->first];
    cache->first = page->next;
    if (cache->first != PAGE_INDEX_NONE)
        buddy->pages[cache->first].prev = PAGE_INDEX_NONE;
    else
        cache->last = PAGE_INDEX_NONE;
    cache->count--;
    return page;
}

/* Unlinks the tail of cache's list (not empty): the page cached longest ago. */
static struct page *pop_tail(struct buddy *buddy, struct page_cache *cache)
{
    struct page *page = &buddy->pages[cache->last];
    cache->last = page->prev;
    if (cache->last != PAGE_INDEX_NONE)
        buddy->pages[cache->last].next = PAGE_INDEX_NONE;
    else
        cache->first = PAGE_INDEX_NONE;
    cache->count--;
    return page;
}

/* ---- trips to the buddy ---------------------------------------------------- */

/* Takes up to batch pages from the buddy (they come back CACHED). The page the
 * buddy gave last ends up at the head, handed out first. */
static void refill(struct page_cache_set *set, struct page_cache *cache)
{
    uint64_t pfns[PAGE_CACHE_MAX_BATCH];
    unsigned got = buddy_alloc_cached_batch(set->buddy, BUDDY_ANY, pfns, cache->batch);
    for (unsigned i = 0; i < got; i++)
        push_head(set->buddy, cache, buddy_pfn_to_page(set->buddy, pfns[i]));
    if (got > 0)
        cache->refills++;
}

/* Gives the count coldest cached pages (from the tail) back to the buddy, up
 * to PAGE_CACHE_MAX_BATCH per call into it. One drain in the stats. */
static void drain(struct page_cache_set *set, struct page_cache *cache, unsigned count)
{
    if (count > cache->count)
        count = cache->count;
    if (count == 0)
        return;
    while (count > 0) {
        uint64_t pfns[PAGE_CACHE_MAX_BATCH];
        unsigned chunk = count < PAGE_CACHE_MAX_BATCH ? count : PAGE_CACHE_MAX_BATCH;
        for (unsigned i = 0; i < chunk; i++)
            pfns[i] = buddy_page_to_pfn(set->buddy, pop_tail(set->buddy, cache));
        buddy_free_cached_batch(set->buddy, pfns, chunk);
        count -= chunk;
    }
    cache->drains++;
}

/* ---- the API ----------------------------------------------------------------- */

/* A zone-constrained request: straight to the buddy. If that fails, this
 * CPU's cache may hold the very pages wanted (low ones): give them back and
 * try once more. */
static int alloc_bypassing_cache(struct page_cache_set *set, enum buddy_zone_request where,
                                 uint64_t *pfn)
{
    if (buddy_alloc(set->buddy, 0, where, pfn) == 0)
        return 0;
    page_cache_drain_this_cpu(set);
    return buddy_alloc(set->buddy, 0, where, pfn);
}

int page_cache_alloc(struct page_cache_set *set, enum buddy_zone_request where, uint64_t *pfn)
{
    if (where != BUDDY_ANY)
        return alloc_bypassing_cache(set, where, pfn);

    uint64_t interrupts = platform_interrupts_save_disable();
    struct page_cache *cache = this_cpu_cache(set);
    if (!cache) {
        platform_interrupts_restore(interrupts);
        return buddy_alloc(set->buddy, 0, where, pfn);
    }
    if (cache->count <= cache->low)
        refill(set, cache);
    if (cache->count == 0) {
        platform_interrupts_restore(interrupts);
        return -1;
    }
    struct page *page = pop_head(set->buddy, cache);
    cache->allocs++;
    platform_interrupts_restore(interrupts);

    /* The page is ours now: no lock needed to change its state. */
    page_state_store(page, PAGE_ALLOCATED_HEAD);
    *pfn = buddy_page_to_pfn(set->buddy, page);
    return 0;
}

void page_cache_free(struct page_cache_set *set, uint64_t pfn)
{
    struct page *page = buddy_pfn_to_page(set->buddy, pfn);
    uint64_t interrupts = platform_interrupts_save_disable();
    struct page_cache *cache = this_cpu_cache(set);
    /* Taking the page is one compare-and-swap, ALLOCATED_HEAD -> CACHED, with
     * interrupts off: of two CPUs freeing the same page at once exactly one
     * wins, and the other goes to the buddy, whose checks panic (a double
     * free). A plain check then store let both pass. */
    uint8_t allocated = PAGE_ALLOCATED_HEAD;
    if (!cache || !page || page->order != 0 ||
        !__atomic_compare_exchange_n(&page->state, &allocated, PAGE_CACHED, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_RELAXED)) {
        platform_interrupts_restore(interrupts);
        buddy_free(set->buddy, pfn, 0); /* not a page we may cache: the buddy's checks panic */
        return;
    }
    if (cache->count >= cache->high)
        drain(set, cache, cache->batch);
    push_head(set->buddy, cache, page);
    cache->frees++;
    platform_interrupts_restore(interrupts);
}

void page_cache_drain_this_cpu(struct page_cache_set *set)
{
    uint64_t interrupts = platform_interrupts_save_disable();
    struct page_cache *cache = this_cpu_cache(set);
    if (cache)
        drain(set, cache, cache->count);
    platform_interrupts_restore(interrupts);
}

void page_cache_drain_cpu(struct page_cache_set *set, unsigned cpu)
{
    if (cpu < set->cpu_count)
        drain(set, &set->caches[cpu], set->caches[cpu].count);
}

void page_cache_drain_all(struct page_cache_set *set)
{
    for (unsigned cpu = 0; cpu < set->cpu_count; cpu++)
        drain(set, &set->caches[cpu], set->caches[cpu].count);
}

void page_cache_get_stats(const struct page_cache_set *set, unsigned cpu,
                          struct page_cache_stats *stats)
{
    memset(stats, 0, sizeof(*stats));
    if (cpu >= set->cpu_count)
        return;
    const struct page_cache *cache = &set->caches[cpu];
    stats->pages = cache->count;
    stats->low = cache->low;
    stats->high = cache->high;
    stats->batch = cache->batch;
    stats->allocs = cache->allocs;
    stats->frees = cache->frees;
    stats->refills = cache->refills;
    stats->drains = cache->drains;
}

uint64_t page_cache_total_pages(const struct page_cache_set *set)
{
    uint64_t total = 0;
    for (unsigned cpu = 0; cpu < set->cpu_count; cpu++)
        total += set->caches[cpu].count;
    return total;
}
