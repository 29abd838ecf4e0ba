/*
 * bootmem.h: memory before the page allocator exists (like Linux's memblock).
 *
 * Two lists: the RAM that the cleaned firmware map gives (whole pages), and
 * named reservations (the kernel image, the boot information, modules, page
 * tables, the allocator's metadata...). bootmem_alloc() carves early memory
 * out of RAM that nothing has reserved, and reserves it by name. Then, at the
 * one hand-over point, bootmem_for_each_free_range() gives every page that no
 * reservation claims to the buddy allocator.
 *
 * The same sweep accounts for every page: each RAM page is either claimed by
 * exactly one reservation (the first one registered that covers it) or free.
 */
#ifndef MM_BOOTMEM_H
#define MM_BOOTMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BOOTMEM_MAX_RAM_RANGES 128
#define BOOTMEM_MAX_RESERVATIONS 48
#define BOOTMEM_PAGE_SIZE 4096u

struct bootmem_range {
    uint64_t start, end; /* [start, end), page-aligned for RAM */
};

/* A named reservation as requested: [start, end) in bytes, not necessarily
 * page-aligned. It claims every page it touches. */
struct bootmem_reservation {
    uint64_t start, end;
    const char *name;
    bool released;          /* given back (bootmem_release) */
    uint32_t claimed_pages; /* what it claims (counted again at every change) */
};

/* Invariant: ram[] sorted, disjoint, page-aligned, non-empty ranges. */
struct bootmem {
    struct bootmem_range ram[BOOTMEM_MAX_RAM_RANGES];
    size_t ram_count;
    struct bootmem_reservation reserved[BOOTMEM_MAX_RESERVATIONS];
    size_t reserved_count;
    bool handed_over; /* after the hand-over no more allocations */
};

void bootmem_init(struct bootmem *bootmem);
/* Add a RAM range (page-aligned, sorted after the previous). false if full or
 * out of order. */
bool bootmem_add_ram(struct bootmem *bootmem, uint64_t start, uint64_t end);
/* Reserve [start, end) under name (a string that outlives bootmem). Parts
 * outside RAM claim nothing. A range that touches the last reservation of the
 * same name (the same pointer) extends it. false if the table is full. */
bool bootmem_reserve(struct bootmem *bootmem, uint64_t start, uint64_t end, const char *name);
/* Give a reservation back (by name), so its pages become free at the hand-over.
 * Returns the number of reservations released. After the hand-over the caller
 * gives the pages to the page allocator itself; the claims are counted again
 * either way. */
unsigned bootmem_release(struct bootmem *bootmem, const char *name);
/* Allocate bytes (rounded up to pages), aligned to align (a power of two,
 * at least a page), entirely below limit (0 = no limit), from the highest free
 * RAM that fits (low memory is kept for what needs it). Reserved under name.
 * Returns the physical address, or 0 if nothing fits. */
uint64_t bootmem_alloc(struct bootmem *bootmem, uint64_t bytes, uint64_t align, uint64_t limit,
                       const char *name);

/* Visit the free page ranges (RAM that no active reservation claims), in
 * address order. Marks the hand-over: later allocations fail. */
typedef void (*bootmem_range_fn)(void *ctx, uint64_t start, uint64_t end);
void bootmem_for_each_free_range(struct bootmem *bootmem, bootmem_range_fn visit, void *ctx);

/* Bytes of RAM (whole pages) that reservation index i claims: the pages it
 * touches, minus those outside RAM and those an earlier reservation claims.
 * Counted when the reservations change, so it needs no boot-only code: `mem`
 * reads it after the boot. */
uint64_t bootmem_claimed_bytes(const struct bootmem *bootmem, size_t index);
uint64_t bootmem_ram_bytes(const struct bootmem *bootmem);
uint64_t bootmem_free_bytes(const struct bootmem *bootmem);

#endif
