/*
 * memory.h: physical memory from the firmware's map to the page allocator.
 * memory_init() is the boot sequence (see memory.c); the rest is for the shell
 * and for other subsystems that need pages.
 */
#ifndef KERNEL_MEMORY_H
#define KERNEL_MEMORY_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/multiboot2.h"
#include "mm/buddy.h"

void memory_init(const struct mb2_summary *boot, uint64_t mbi_phys);

/* Pages for the kernel: order-0 through this CPU's page cache, larger orders
 * from the buddy. 0 on out of memory. */
uint64_t memory_alloc_pages(unsigned order, enum buddy_zone_request where);
void memory_free_pages(uint64_t phys, unsigned order);

/* Exactly `pages` contiguous pages, starting at a multiple of 2^align_order
 * pages (one page goes through the page cache). 0 on out of memory. */
uint64_t memory_alloc_run(uint64_t pages, unsigned align_order);
void memory_free_run(uint64_t phys, uint64_t pages);
/* The metadata of a physical page the page allocator manages, or NULL. */
struct page *memory_page_of(uint64_t phys);

/* kernel/malloc.c: malloc is ready from the buddy hand-over point on. */
void malloc_init(void);

#endif
