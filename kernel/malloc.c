/*
 * malloc.c: the kernel's malloc. The allocator itself is mm/malloc.c (portable:
 * the same code runs on the host as libkmalloc.so); this file gives it pages
 * from the buddy allocator and exports the standard C names, so kernel code
 * and labs read like ordinary C.
 */
#include <stddef.h>
#include <stdint.h>

#include "kernel/boot_options.h"
#include "kernel/memlayout.h"
#include "kernel/memory.h"
#include "kernel/panic.h"
#include "mm/malloc.h"

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
    uint64_t phys = memory_alloc_run(pages, order_of(align_pages));
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

static const struct malloc_page_source buddy_pages = {pages_alloc, pages_free, page_owner};

static bool track_requested, poison_requested;

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

void malloc_init(void)
{
    if (km_init(&buddy_pages, 1) != 0)
        panic("malloc: cannot start");
    if (track_requested)
        km_track_enable(true);
    if (poison_requested)
        km_poison_enable(true);
}

/* ---- the standard names --------------------------------------------------- */

void *malloc(size_t size)
{
    return km_malloc_at(size, __builtin_return_address(0));
}

void free(void *ptr)
{
    km_free(ptr);
}

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
