/*
 * heap.c: the kernel's malloc. The allocator itself is mm/malloc.c (portable:
 * the same code runs on the host as libkmalloc.so); this file gives it pages
 * from the page allocator (kernel/memory.c), its boot options, and the
 * standard C names, so kernel code and labs read like ordinary C.
 */
#include <stddef.h>
#include <stdint.h>

#include "kernel/boot_options.h"
#include "kernel/memlayout.h"
#include "kernel/memory.h"
#include "kernel/panic.h"
#include "mm/malloc.h"
#include "lib/boot_only.h"
#include "lib/string.h"

#include "lib/alloc.h"

/* ---- the page source: mm/malloc asks, the buddy answers ------------------ */

static unsigned order_of(size_t pages)
{
    unsigned order = 0;
    while (((size_t)1 << order) < pages)
        order++;
    return order;
}

static void *pages_alloc(size_t pages, size_t align_pages)
{
    uint64_t phys = memory_try_alloc_run(pages, order_of(align_pages)); /* malloc reclaims */
    return phys ? phys_to_virt(phys) : NULL;
}

static void pages_free(void *start, size_t pages)
{
    memory_free_run(virt_to_phys_direct(start), pages);
}

static uint32_t *page_owner(const void *addr)
{
    uintptr_t virt = (uintptr_t)addr;
    if (virt < DIRECT_MAP_BASE || virt >= KERNEL_VIRT_BASE)
        return NULL; /* not in the direct map: never malloc's */
    struct page *page = memory_page_of(virt_to_phys_direct(addr));
    return page ? &page->owner : NULL;
}

/* The page map (mm/malloc.h) covers the direct map of every page frame up to
 * the highest RAM: two bytes per 4 KiB, 0.05% of it (512 bytes per MiB). */
static struct malloc_page_source buddy_pages = {
    .alloc_pages = pages_alloc, .free_pages = pages_free, .page_owner = page_owner};

static bool track_requested, poison_requested, debug_requested;

static void apply_malloc_debug(const char *value, size_t len)
{
    (void)value, (void)len;
    debug_requested = true; /* applied by malloc_init */
}

BOOT_OPTION_NAMED(malloc_debug, "malloc.debug", false,
                  "every malloc and free takes the checked path: no magazines, a double free "
                  "caught at the second free, every call counted",
                  apply_malloc_debug);

static void apply_malloc_track(const char *value, size_t len)
{
    (void)value, (void)len;
    track_requested = true; /* applied by malloc_init: options come first */
}

BOOT_OPTION_NAMED(malloc_track, "malloc.track", false,
                  "record each allocation's requested size and call site (malloc top)",
                  apply_malloc_track);

static void apply_malloc_poison(const char *value, size_t len)
{
    (void)value, (void)len;
    poison_requested = true;
}

BOOT_OPTION_NAMED(malloc_poison, "malloc.poison", false,
                  "fill freed objects with 0x6b and check them on reuse (use after free)",
                  apply_malloc_poison);

void malloc_drain_job(void *unused)
{
    (void)unused;
    km_drain_magazines();
}

void malloc_flush_job(void *unused)
{
    (void)unused;
    km_flush_cpu();
}

BOOT_ONLY void malloc_init(void)
{
    uint64_t frames = memory_end_pfn();
    uint64_t map_pages = (frames * sizeof(struct km_page_info) + PAGE_SIZE - 1) / PAGE_SIZE;
    uint64_t map = memory_alloc_run(map_pages, 0);
    if (map) { /* without one, every free takes the slow path */
        buddy_pages.page_map = memset(phys_to_virt(map), 0, map_pages * PAGE_SIZE);
        buddy_pages.map_start = DIRECT_MAP_BASE;
        buddy_pages.map_pages = frames;
    }
    buddy_pages.memory_pages = memory_free_page_count(); /* sizes the magazines */
    if (km_init(&buddy_pages, 1) != 0)
        panic("malloc: cannot start");
    if (debug_requested)
        km_debug_enable(true);
    if (track_requested)
        km_track_enable(true);
    if (poison_requested)
        km_poison_enable(true);
}

/* ---- the standard names --------------------------------------------------- */

/* malloc and free are mm/malloc.c's km_malloc and km_free themselves, renamed
 * by the Makefile (-Dkm_malloc=malloc -Dkm_free=free): the fast path has no
 * wrapper around it, and the tracker's call site is malloc's caller. */

void *calloc(size_t count, size_t size)
{
    return km_calloc(count, size);
}

void *realloc(void *ptr, size_t size)
{
    return km_realloc(ptr, size);
}

void *aligned_alloc(size_t align, size_t size)
{
    return km_aligned_alloc(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    return km_posix_memalign(out, align, size);
}

size_t malloc_usable_size(void *ptr)
{
    return km_malloc_usable_size(ptr);
}
