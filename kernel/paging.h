/*
 * paging.h: the kernel's page tables, built in C once the memory map is known.
 *
 *   direct map      DIRECT_MAP_BASE + phys -> phys, for every RAM page but
 *                   page 0; 1 GiB pages where the CPU has them, else 2 MiB,
 *                   4 KiB at the edges; read-write, no-execute
 *   kernel image    KERNEL_VIRT_BASE + phys, 4 KiB pages by section:
 *                   text read+execute, rodata read-only, data and bss
 *                   read-write no-execute; the boot stack's guard page and the
 *                   early page tables left out
 *   devices         paging_map_device(): uncached, in the direct map
 */
#ifndef KERNEL_PAGING_H
#define KERNEL_PAGING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where page-table pages come from: returns the physical address of a page
 * (reachable through the current direct map), or 0 when memory is out. */
typedef uint64_t (*paging_page_source_fn)(void);

struct paging_ram_range {
    uint64_t start, end; /* page-aligned physical range */
};

struct paging_stats {
    uint64_t direct_map_1g_pages, direct_map_2m_pages, direct_map_4k_pages;
    uint64_t table_pages; /* pages holding page tables */
    bool has_1g_pages, has_nx;
    bool has_pat; /* the PAT's entry 1 is write-combining (paging_set_pat) */
};

/* Build the tables for ram[] and switch CR3 to them. */
void paging_init(const struct paging_ram_range *ram, size_t count, paging_page_source_fn source);
/* Change where later table pages come from (after the buddy exists). */
void paging_set_page_source(paging_page_source_fn source);
/* Map device memory (or firmware tables) into the direct map, uncached.
 * false if out of memory for tables. */
bool paging_map_device(uint64_t phys, uint64_t bytes);
const struct paging_stats *paging_stats(void);
/* This CPU's page attribute table: entry 1 (a page-table entry with PWT set
 * and PCD clear) becomes write-combining instead of the power-on
 * write-through; the other seven stay as they were. Every CPU must hold the
 * same table (Intel SDM vol. 3, 12.12.4): paging_init sets the boot CPU's,
 * ap_main each other CPU's, before anything is mapped with entry 1. Nothing
 * when the CPU has no PAT. */
void paging_set_pat(void);
/* Maps bytes of device memory at phys to the kernel's virtual address virt
 * (both page-aligned), write-combining where the CPU has a PAT, else
 * uncached: for a framebuffer, whose writes may then leave in bursts. false if
 * out of memory for tables or if a page there is already mapped. */
bool paging_map_write_combining(uint64_t virt, uint64_t phys, uint64_t bytes);

/* Map one 4 KiB page read-write, no-execute, outside the direct map (the CPU
 * stacks area): false if virt is mapped already. */
bool paging_map_kernel_page(uint64_t virt, uint64_t phys);
uint64_t paging_kernel_pml4_phys(void);
/* Unmap the 4 KiB pages of [start, end) outside the direct map (the kernel
 * image's boot-only pages) and flush them from this CPU's TLB; the other
 * CPUs' TLBs are the caller's to flush. */
void paging_unmap_kernel_range(uint64_t start, uint64_t end);
void paging_flush_tlb(
    void); /* this CPU's whole TLB (reloads CR3; the kernel has no global pages) */

/* Starting the other CPUs: the trampoline page must stay mapped at its own
 * physical address for the instructions between "paging on" and the jump to
 * the higher half. These add that one page (read-write-execute) under PML4
 * entry 0, and take it out again (the table pages go back through free_page):
 * between the two, and only then, something is identity-mapped. */
void paging_map_identity_page(uint64_t phys);
void paging_remove_identity(void (*free_page)(uint64_t phys));

/* One step of a page-table walk, for `vtop`. */
struct paging_walk_step {
    const char *level; /* "PML4", "PDPT", "PD", "PT" */
    unsigned index;
    uint64_t entry;
    uint64_t table_phys; /* the table this entry is in */
};

struct paging_walk {
    struct paging_walk_step steps[4];
    unsigned step_count;
    bool mapped;
    uint64_t phys;       /* if mapped */
    uint64_t page_bytes; /* 4 KiB, 2 MiB or 1 GiB */
};

void paging_walk(uint64_t virt, struct paging_walk *walk);

#endif
