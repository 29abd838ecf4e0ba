/* page_alloc.c: the page allocator's policy (see page_alloc.h). */
#include "mm/page_alloc.h"

#include "lib/boot_only.h"
#include "lib/platform.h"
#include "lib/string.h"

/* The pages the buddy manages, all zones: what the caches' watermarks scale with. */
static uint64_t managed_pages(const struct buddy *buddy)
{
    uint64_t managed = 0;
    for (int zone = 0; zone < ZONE_COUNT; zone++)
        managed += buddy_managed_page_count(buddy, (enum zone_id)zone);
    return managed;
}

BOOT_ONLY void page_alloc_init(struct page_alloc *alloc, struct buddy *buddy)
{
    alloc->buddy = buddy;
    alloc->cpus = NULL;
    page_cache_init(&alloc->caches, buddy, 1, managed_pages(buddy), NULL); /* the boot CPU's */
}

void page_alloc_set_cpu_count(struct page_alloc *alloc, unsigned count, struct page_cache *caches)
{
    page_cache_drain_all(&alloc->caches); /* the boot CPU's pages go back first */
    page_cache_init(&alloc->caches, alloc->buddy, count, managed_pages(alloc->buddy), caches);
}

void page_alloc_set_cpus(struct page_alloc *alloc, const struct page_alloc_cpus *cpus)
{
    alloc->cpus = cpus;
}

static void reclaim(struct page_alloc *alloc)
{
    if (alloc->cpus && alloc->cpus->reclaim)
        alloc->cpus->reclaim();
}

static int pages_once(struct page_alloc *alloc, unsigned order, enum buddy_zone_request where,
                      uint64_t *pfn)
{
    return order == 0 ? page_cache_alloc(&alloc->caches, where, pfn)
                      : buddy_alloc(alloc->buddy, order, where, pfn);
}

int page_alloc_pages(struct page_alloc *alloc, unsigned order, enum buddy_zone_request where,
                     uint64_t *pfn)
{
    if (pages_once(alloc, order, where, pfn) == 0)
        return 0;
    reclaim(alloc); /* the other CPUs give back what they hold, then once more */
    return pages_once(alloc, order, where, pfn);
}

int page_alloc_try_run(struct page_alloc *alloc, uint64_t pages, unsigned align_order,
                       uint64_t *pfn)
{
    if (pages == 1 && align_order == 0)
        return page_cache_alloc(&alloc->caches, BUDDY_ANY, pfn);
    return buddy_alloc_run_aligned(alloc->buddy, pages, align_order, BUDDY_ANY, pfn);
}

int page_alloc_run(struct page_alloc *alloc, uint64_t pages, unsigned align_order, uint64_t *pfn)
{
    if (page_alloc_try_run(alloc, pages, align_order, pfn) == 0)
        return 0;
    reclaim(alloc);
    return page_alloc_try_run(alloc, pages, align_order, pfn);
}

void page_alloc_free_pages(struct page_alloc *alloc, uint64_t pfn, unsigned order)
{
    if (order == 0)
        page_cache_free(&alloc->caches, pfn);
    else
        buddy_free(alloc->buddy, pfn, order);
}

void page_alloc_free_run(struct page_alloc *alloc, uint64_t pfn, uint64_t pages)
{
    if (pages == 1)
        page_cache_free(&alloc->caches, pfn);
    else
        buddy_free_run(alloc->buddy, pfn, pages);
}

void page_alloc_drain_this_cpu(struct page_alloc *alloc)
{
    page_cache_drain_this_cpu(&alloc->caches);
}

static void drain_job(void *argument)
{
    page_alloc_drain_this_cpu(argument);
}

/* Each running CPU drains its own cache (a cache is only ever touched by its
 * CPU, with interrupts off: draining it from here while it allocates would
 * race); the caches of CPUs that are not running are drained from here, as
 * nobody else can touch them. */
void page_alloc_drain_all(struct page_alloc *alloc)
{
    unsigned me = platform_cpu_index();
    for (unsigned cpu = 0; cpu < alloc->caches.cpu_count; cpu++) {
        if (cpu != me && alloc->cpus && alloc->cpus->run_on &&
            alloc->cpus->run_on(cpu, drain_job, alloc))
            continue;
        if (cpu == me)
            page_cache_drain_this_cpu(&alloc->caches);
        else
            page_cache_drain_cpu(&alloc->caches, cpu);
    }
}

uint64_t page_alloc_cached_pages(const struct page_alloc *alloc)
{
    return page_cache_total_pages(&alloc->caches);
}

uint64_t page_alloc_free_page_count(const struct page_alloc *alloc)
{
    uint64_t pages = page_alloc_cached_pages(alloc);
    for (int zone = 0; zone < ZONE_COUNT; zone++)
        pages += buddy_free_page_count(alloc->buddy, (enum zone_id)zone);
    return pages;
}

static unsigned pause_others(struct page_alloc *alloc)
{
    return alloc->cpus && alloc->cpus->pause_others ? alloc->cpus->pause_others() : 0;
}

static void resume_others(struct page_alloc *alloc)
{
    if (alloc->cpus && alloc->cpus->resume_others)
        alloc->cpus->resume_others();
}

/* The check holds every zone lock while it walks every page: at 8 GiB that is
 * long enough for a CPU waiting on a zone lock to report a deadlock that is
 * not one. So the other CPUs are paused (holding nothing) for the walk. */
bool page_alloc_check(struct page_alloc *alloc, char *error, size_t error_size, unsigned *paused)
{
    unsigned count = pause_others(alloc);
    bool ok = buddy_check(alloc->buddy, error, error_size);
    resume_others(alloc);
    if (paused)
        *paused = count;
    return ok;
}

bool page_alloc_account(struct page_alloc *alloc, struct page_alloc_account *out)
{
    memset(out, 0, sizeof(*out));
    struct buddy_census census;
    pause_others(alloc); /* their page caches change page states without a lock */
    bool sound =
        buddy_check_census(alloc->buddy, &census, out->metadata_error, sizeof(out->metadata_error));
    out->cached_pages = page_cache_total_pages(&alloc->caches);
    for (int zone = 0; zone < ZONE_COUNT; zone++) {
        out->free_pages[zone] = buddy_free_page_count(alloc->buddy, (enum zone_id)zone);
        out->allocated_pages += census.allocated_pages[zone];
    }
    resume_others(alloc);
    return sound;
}
