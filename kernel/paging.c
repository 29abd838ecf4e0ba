/*
 * paging.c: build the kernel's own page tables (see paging.h for the layout).
 *
 * x86-64 four-level paging: a virtual address splits into four 9-bit indexes
 * (PML4, PDPT, PD, PT) and a 12-bit offset. A PDPT entry may map 1 GiB at
 * once and a PD entry 2 MiB (the "huge" bit), which saves tables and TLB
 * entries: the direct map of 8 GiB takes a handful of table pages.
 */
#include "kernel/paging.h"

#include "kernel/cpu.h"
#include "kernel/memlayout.h"
#include "kernel/panic.h"
#include "lib/boot_only.h"
#include "lib/string.h"

#define PTE_PRESENT (1ull << 0)
#define PTE_WRITABLE (1ull << 1)
#define PTE_WRITE_THROUGH (1ull << 3)
#define PTE_CACHE_DISABLE (1ull << 4)
#define PTE_HUGE (1ull << 7)
#define PTE_NO_EXECUTE (1ull << 63)
#define PTE_ADDRESS_MASK 0x000FFFFFFFFFF000ull

#define PAGE_4K 0x1000ull
#define PAGE_2M 0x200000ull
#define PAGE_1G 0x40000000ull
#define MSR_EFER 0xC0000080
#define EFER_NXE (1ull << 11)
#define CPUID_1G_PAGES (1u << 26) /* leaf 0x80000001, EDX */

enum level { LEVEL_PT = 0, LEVEL_PD = 1, LEVEL_PDPT = 2, LEVEL_PML4 = 3 };

extern const char __text_start[], __rodata_start[], __rodata_end[], __data_start[];
extern const char __early_page_tables_start[], __early_page_tables_end[];
extern const char boot_stack_guard[], __kernel_end[];
extern const char __boot_only_start[], __boot_only_data_start[], __boot_only_end[];

static uint64_t kernel_pml4_phys;
static paging_page_source_fn page_source;
static struct paging_stats stats;
static uint64_t no_execute; /* PTE_NO_EXECUTE if the CPU has NX, else 0 */

static unsigned table_index(uint64_t virt, enum level level)
{
    return (unsigned)(virt >> (12 + 9 * level)) & 511;
}

static uint64_t *table_at(uint64_t phys)
{
    return phys_to_virt(phys);
}

static uint64_t new_table(void)
{
    uint64_t phys = page_source ? page_source() : 0;
    if (phys == 0)
        panic("paging: out of memory for page tables");
    memset(table_at(phys), 0, PAGE_4K);
    stats.table_pages++;
    return phys;
}

/* The entry for virt at level, creating the tables above it as needed.
 * Tables above a leaf are writable and executable: rights are set at the leaf. */
static uint64_t *entry_for(uint64_t virt, enum level level)
{
    uint64_t table = kernel_pml4_phys;
    for (enum level walk = LEVEL_PML4; walk > level; walk--) {
        uint64_t *entry = &table_at(table)[table_index(virt, walk)];
        if (!(*entry & PTE_PRESENT))
            *entry = new_table() | PTE_PRESENT | PTE_WRITABLE;
        else if (*entry & PTE_HUGE)
            panic("paging: %#lx is already inside a huge page", virt);
        table = *entry & PTE_ADDRESS_MASK;
    }
    return &table_at(table)[table_index(virt, level)];
}

static bool fits(uint64_t virt, uint64_t phys, uint64_t bytes, uint64_t page)
{
    return virt % page == 0 && phys % page == 0 && bytes >= page;
}

/* Map [phys, phys + bytes) at virt, with the largest pages that fit when
 * allow_huge, counting the pages used for the direct-map statistics. */
BOOT_ONLY static void map_range(uint64_t virt, uint64_t phys, uint64_t bytes, uint64_t flags,
                                bool allow_huge)
{
    while (bytes > 0) {
        uint64_t step;
        if (allow_huge && stats.has_1g_pages && fits(virt, phys, bytes, PAGE_1G)) {
            *entry_for(virt, LEVEL_PDPT) = phys | flags | PTE_HUGE;
            step = PAGE_1G;
            stats.direct_map_1g_pages++;
        } else if (allow_huge && fits(virt, phys, bytes, PAGE_2M)) {
            *entry_for(virt, LEVEL_PD) = phys | flags | PTE_HUGE;
            step = PAGE_2M;
            stats.direct_map_2m_pages++;
        } else {
            *entry_for(virt, LEVEL_PT) = phys | flags;
            step = PAGE_4K;
            if (allow_huge)
                stats.direct_map_4k_pages++;
        }
        virt += step;
        phys += step;
        bytes -= step;
    }
}

BOOT_ONLY static void map_kernel_piece(const char *start, const char *end, uint64_t flags)
{
    uint64_t virt = (uint64_t)start;
    if ((uint64_t)end > virt)
        map_range(virt, kernel_image_virt_to_phys(start), (uint64_t)end - virt, flags, false);
}

BOOT_ONLY static void map_kernel_image(void)
{
    uint64_t read_write = PTE_PRESENT | PTE_WRITABLE | no_execute;
    map_kernel_piece(__text_start, __boot_only_start, PTE_PRESENT); /* r-x */
    /* The boot-only pieces, until memory_free_boot_only unmaps them. */
    map_kernel_piece(__boot_only_start, __boot_only_data_start, PTE_PRESENT); /* r-x */
    map_kernel_piece(__boot_only_data_start, __boot_only_end, read_write);
    map_kernel_piece(__rodata_start, __data_start, PTE_PRESENT | no_execute); /* r-- */
    /* data and bss (rw-), less the early page tables (freed once we leave
     * them) and the guard page under the boot stack (a stack overflow must
     * fault, not write over .bss). */
    map_kernel_piece(__data_start, __early_page_tables_start, read_write);
    map_kernel_piece(__early_page_tables_end, boot_stack_guard, read_write);
    map_kernel_piece(boot_stack_guard + PAGE_4K, __kernel_end, read_write);
}

BOOT_ONLY void paging_init(const struct paging_ram_range *ram, size_t count,
                           paging_page_source_fn source)
{
    uint32_t eax, ebx, ecx, edx;
    cpuid(0x80000001, &eax, &ebx, &ecx, &edx);
    stats.has_1g_pages = edx & CPUID_1G_PAGES;
    stats.has_nx = read_msr(MSR_EFER) & EFER_NXE; /* boot/entry.asm set it if it could */
    no_execute = stats.has_nx ? PTE_NO_EXECUTE : 0;
    paging_set_pat();
    page_source = source;
    kernel_pml4_phys = new_table();

    for (size_t i = 0; i < count; i++) {
        uint64_t start = ram[i].start < PAGE_4K ? PAGE_4K : ram[i].start; /* page 0: never */
        if (ram[i].end > start)
            map_range(DIRECT_MAP_BASE + start, start, ram[i].end - start,
                      PTE_PRESENT | PTE_WRITABLE | no_execute, true);
    }
    map_kernel_image();
    if (!paging_map_device(VGA_TEXT_PHYS, 0x8000))
        panic("paging: cannot map the VGA text buffer");
    write_cr3(kernel_pml4_phys); /* the early tables are no longer used */
}

void paging_set_page_source(paging_page_source_fn source)
{
    page_source = source;
}

bool paging_map_device(uint64_t phys, uint64_t bytes)
{
    uint64_t start = phys & ~(PAGE_4K - 1);
    uint64_t end = (phys + bytes + PAGE_4K - 1) & ~(PAGE_4K - 1);
    for (uint64_t page = start; page < end; page += PAGE_4K) {
        struct paging_walk walk;
        paging_walk(DIRECT_MAP_BASE + page, &walk);
        if (walk.mapped)
            continue; /* RAM, or mapped before */
        *entry_for(DIRECT_MAP_BASE + page, LEVEL_PT) =
            page | PTE_PRESENT | PTE_WRITABLE | PTE_CACHE_DISABLE | PTE_WRITE_THROUGH | no_execute;
        __asm__ volatile("invlpg (%0)" : : "r"(DIRECT_MAP_BASE + page) : "memory");
    }
    return true;
}

const struct paging_stats *paging_stats(void)
{
    return &stats;
}

void paging_walk(uint64_t virt, struct paging_walk *walk)
{
    static const char *const level_names[] = {"PT", "PD", "PDPT", "PML4"};
    *walk = (struct paging_walk){0};
    /* Our tables once built (also while paging_init is still filling them),
     * else whatever CR3 holds (the early tables). */
    uint64_t table = kernel_pml4_phys ? kernel_pml4_phys : read_cr3() & PTE_ADDRESS_MASK;
    for (int level = LEVEL_PML4; level >= LEVEL_PT; level--) {
        unsigned index = table_index(virt, (enum level)level);
        uint64_t entry = table_at(table)[index];
        walk->steps[walk->step_count++] =
            (struct paging_walk_step){level_names[level], index, entry, table};
        if (!(entry & PTE_PRESENT))
            return;
        uint64_t page_bytes = PAGE_4K << (9 * level);
        if (level == LEVEL_PT || (entry & PTE_HUGE)) {
            walk->mapped = true;
            walk->page_bytes = page_bytes;
            walk->phys = (entry & PTE_ADDRESS_MASK & ~(page_bytes - 1)) | (virt & (page_bytes - 1));
            return;
        }
        table = entry & PTE_ADDRESS_MASK;
    }
}

#define MSR_PAT 0x277
#define CPUID_PAT (1u << 16) /* CPUID 1, EDX */
/* PA0..PA7, one byte each from the low end: WB, WC (power-on: WT), UC-, UC,
 * WB, WT, UC-, UC. */
#define PAT_WITH_WRITE_COMBINING 0x0007040600070106ull

void paging_set_pat(void)
{
    uint32_t eax, ebx, ecx, edx;
    cpuid(1, &eax, &ebx, &ecx, &edx);
    if (!(edx & CPUID_PAT))
        return;
    write_msr(MSR_PAT, PAT_WITH_WRITE_COMBINING);
    stats.has_pat = true;
}

BOOT_ONLY bool paging_map_write_combining(uint64_t virt, uint64_t phys, uint64_t bytes)
{
    uint64_t cache = stats.has_pat ? PTE_WRITE_THROUGH /* PAT entry 1: WC */
                                   : PTE_CACHE_DISABLE | PTE_WRITE_THROUGH;
    for (uint64_t offset = 0; offset < bytes; offset += PAGE_4K) {
        uint64_t *entry = entry_for(virt + offset, LEVEL_PT);
        if (*entry & PTE_PRESENT)
            return false;
        *entry = (phys + offset) | PTE_PRESENT | PTE_WRITABLE | cache | no_execute;
        __asm__ volatile("invlpg (%0)" : : "r"(virt + offset) : "memory");
    }
    return true;
}

BOOT_ONLY bool paging_map_kernel_page(uint64_t virt, uint64_t phys)
{
    uint64_t *entry = entry_for(virt, LEVEL_PT);
    if (*entry & PTE_PRESENT)
        return false;
    *entry = phys | PTE_PRESENT | PTE_WRITABLE | no_execute;
    __asm__ volatile("invlpg (%0)" : : "r"(virt) : "memory");
    return true;
}

void paging_unmap_kernel_range(uint64_t start, uint64_t end)
{
    for (uint64_t virt = start & ~(PAGE_4K - 1); virt < end; virt += PAGE_4K) {
        struct paging_walk walk;
        paging_walk(virt, &walk);
        if (!walk.mapped)
            continue;
        if (walk.page_bytes != PAGE_4K)
            panic("paging: %#lx is inside a huge page; only 4 KiB pages are unmapped", virt);
        *entry_for(virt, LEVEL_PT) = 0;
        __asm__ volatile("invlpg (%0)" : : "r"(virt) : "memory");
    }
}

void paging_flush_tlb(void)
{
    write_cr3(read_cr3());
}

uint64_t paging_kernel_pml4_phys(void)
{
    return kernel_pml4_phys;
}

BOOT_ONLY void paging_map_identity_page(uint64_t phys)
{
    *entry_for(phys, LEVEL_PT) = phys | PTE_PRESENT | PTE_WRITABLE; /* executable */
    __asm__ volatile("invlpg (%0)" : : "r"(phys) : "memory");
}

/* Frees the tables under entry (a PDPT, PD or PT entry at level), then clears it. */
BOOT_ONLY static void free_tables_under(uint64_t *entry, enum level level,
                                        void (*free_page)(uint64_t))
{
    if (!(*entry & PTE_PRESENT) || (*entry & PTE_HUGE) || level == LEVEL_PT) {
        *entry = 0;
        return;
    }
    uint64_t table = *entry & PTE_ADDRESS_MASK;
    for (unsigned i = 0; i < 512; i++)
        free_tables_under(&table_at(table)[i], (enum level)(level - 1), free_page);
    *entry = 0;
    free_page(table);
    stats.table_pages--;
}

BOOT_ONLY void paging_remove_identity(void (*free_page)(uint64_t phys))
{
    free_tables_under(&table_at(kernel_pml4_phys)[0], LEVEL_PML4, free_page);
    write_cr3(read_cr3()); /* flush this CPU's TLB; the others flush on request */
}
