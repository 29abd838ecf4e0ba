/*
 * memory.h: physical memory from the firmware's map to the page allocator.
 * memory_init() is the boot sequence (see memory.c); the rest is for the shell
 * and for other subsystems that need pages.
 */
#ifndef KERNEL_MEMORY_H
#define KERNEL_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/memlayout.h" /* phys_addr_t */
#include "lib/multiboot2.h"
#include "mm/buddy.h"

void memory_init(const struct mb2_summary *boot, uint64_t mbi_phys);
/* The last boot step: the kernel image's boot-only pages (lib/boot_only.h),
 * unmapped on every CPU and given to the page allocator. */
void memory_free_boot_only(void);

/* Pages for the kernel: order-0 through this CPU's page cache, larger orders
 * from the buddy. 0 on out of memory. */
phys_addr_t memory_alloc_pages(unsigned order, enum buddy_zone_request where);
void memory_free_pages(phys_addr_t phys, unsigned order);

/* Exactly `pages` contiguous pages, starting at a multiple of 2^align_order
 * pages (one page goes through the page cache). 0 on out of memory. */
phys_addr_t memory_alloc_run(uint64_t pages, unsigned align_order);
/* The same without the reclaim (smp_reclaim) on failure: for malloc's page
 * source, which reclaims itself at a point where it holds nothing. */
phys_addr_t memory_try_alloc_run(uint64_t pages, unsigned align_order);
/* This CPU's page cache back to the buddy (this CPU only: smp_reclaim). */
void memory_drain_this_cpu(void);
void memory_free_run(phys_addr_t phys, uint64_t pages);
/* The metadata of a physical page the page allocator manages, or NULL. */
struct page *memory_page_of(phys_addr_t phys);
/* A command's scratch buffer of `bytes`, in whole pages from the page
 * allocator (not malloc: a command that measures malloc must not measure its
 * own buffer), zeroed; NULL when out of memory. Buffers that sat in .bss from
 * boot to halt cost every boot their size, whether or not the command ran. */
void *memory_scratch_alloc(size_t bytes);
void memory_scratch_free(void *buffer, size_t bytes);
/* One past the highest page frame of RAM the buddy manages. */
uint64_t memory_end_pfn(void);

/* SMP: per-CPU page caches for count CPUs, in caches[0 .. count) (kernel/smp.c
 * takes the array from malloc: memory gives malloc its pages and takes
 * nothing from it). The boot CPU's cache is drained first. */
struct page_cache;
void memory_set_cpu_count(unsigned count, struct page_cache *caches);

/* What the page allocator needs from the other CPUs (mm/page_alloc.h:
 * reclaim, run_on, pause and resume), handed in by kernel/smp.c, which calls
 * memory, not the other way round. Until then there is one CPU. */
struct page_alloc_cpus;
void memory_set_cpu_hooks(const struct page_alloc_cpus *cpus);
/* Gives every CPU's cached pages back to the buddy (where all CPUs are quiet). */
void memory_drain_page_caches(void);
uint64_t memory_free_page_count_in_zone(enum zone_id zone);
/* Whether [phys, phys + length) lies inside the firmware's memory map (any
 * type: RAM, reserved, ACPI...): where firmware tables may be. */
bool memory_range_in_firmware_map(phys_addr_t phys, uint64_t length);
struct page_cache_stats;
/* Page-cache figures of one CPU; false past the CPU count. */
bool memory_page_cache_stats(unsigned cpu, struct page_cache_stats *out);
uint64_t memory_free_page_count(void); /* in the buddy and in the caches */
/* buddy_check on the kernel's buddy, the other CPUs paused for the walk
 * (*paused: how many; paused may be NULL). */
bool memory_buddy_check(char *error, size_t error_size, unsigned *paused);

/*
 * Where every usable byte is (`mem`). Each figure is counted on its own, so
 * that their sum can differ from usable: reservations from the boot
 * allocator's records, free pages from the free lists' counters, cached pages
 * from the page caches' counts, allocated pages from a walk of every page's
 * state (the heads of allocated blocks). A page that left the free lists
 * without becoming allocated, cached or reserved shows up as a mismatch.
 */
struct memory_account {
    uint64_t usable;            /* bytes of RAM in the cleaned map */
    uint64_t reserved;          /* boot allocator reservations (kernel, metadata, modules...) */
    uint64_t lost_to_alignment; /* partial pages at the edges of RAM ranges */
    uint64_t cached;            /* in the per-CPU page caches */
    uint64_t free[ZONE_COUNT];  /* in the buddy's free lists */
    uint64_t allocated;         /* allocated blocks, by page state */
    uint64_t accounted;         /* the sum of all the above */
    char metadata_error[160];   /* what the page walk found broken, or "" */
};
/* Fills *out (other CPUs paused for the walk); true if accounted == usable
 * and the page metadata is sound. */
bool memory_account(struct memory_account *out);

/* For inspection (the shell's commands in kernel/memory_commands.c, tests):
 * the one buddy allocator, the boot allocator's reservations, the cleaned
 * memory map, the firmware's map as given (from_meminfo: made up from the
 * basic meminfo tag, there being no map), and the pages in the page caches.
 * Allocate and free through memory_alloc_pages and friends, not the buddy. */
struct bootmem;
struct memmap;
struct memmap_entry;
struct buddy *memory_buddy(void);
const struct bootmem *memory_bootmem(void);
const struct memmap *memory_clean_map(void);
const struct memmap_entry *memory_firmware_map(unsigned *count, bool *from_meminfo);

/* The EFI memory map GRUB passed (tag 17, checked), or NULL: under a BIOS
 * there is none. Read it with mb2_efi_mmap_descriptor (lib/multiboot2.h). */
const struct mb2_tag *memory_efi_map(void);
uint64_t memory_cached_pages(void);

/* kernel/heap.c: malloc is ready from the buddy hand-over point on. */
void malloc_init(void);
/* Jobs to run on a CPU (smp_run_on, smp_on_each): its malloc magazines back
 * to the slabs, other CPUs' objects to their owners (km_drain_magazines); or
 * everything it holds unused, empty slabs included (km_flush_cpu). */
void malloc_drain_job(void *unused);
void malloc_flush_job(void *unused);

#endif
