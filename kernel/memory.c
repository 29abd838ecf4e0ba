/*
 * memory.c: from the firmware's memory map to a running page allocator.
 *
 *   1. the map: multiboot2 tag 6 (or, failing that, the basic meminfo tag),
 *      cleaned by mm/memmap: sorted, overlaps resolved, RAM cut to pages;
 *   2. bootmem: every RAM page, and by name everything already in use
 *      (page 0, the kernel's sections, the boot information, modules);
 *   3. the kernel's page tables (kernel/paging.c), from bootmem;
 *   4. the buddy allocator's metadata (16 bytes a page), from bootmem;
 *   5. the hand-over: every page no reservation claims goes to the buddy;
 *   6. per-CPU page caches in front of it.
 *
 * Every usable byte ends up in exactly one place, which `mem` shows.
 */
#include "kernel/memory.h"

#include "kernel/console.h"
#include "kernel/memlayout.h"
#include "kernel/paging.h"
#include "kernel/panic.h"
#include "lib/alloc.h"
#include "lib/boot_only.h"
#include "lib/format.h"
#include "lib/string.h"
#include "mm/bootmem.h"
#include "mm/memmap.h"
#include "mm/page_alloc.h"
#include "mm/page_cache.h"

#define KIB ((uint64_t)1024)
#define MAX_RAW_ENTRIES 256

extern const char __kernel_phys_start[], __text_start[], __rodata_start[], __data_start[];
extern const char __bss_start[], __early_page_tables_start[], __early_page_tables_end[];
extern const char __boot_stack_region_start[], __boot_stack_region_end[], boot_stack_guard[];
extern const char __bss_rest_start[], __kernel_end[];
extern const char __boot_only_start[], __boot_only_end[];

/* Reservation names: each is one row of `mem`. */
static const char NAME_PAGE0[] = "page 0 (kept unmapped: NULL faults)";
static const char NAME_BOOT_CODE[] = "kernel .boot (32-bit entry)";
static const char NAME_TEXT[] = "kernel text";
static const char NAME_RODATA[] = "kernel rodata";
static const char NAME_DATA[] = "kernel data";
static const char NAME_EARLY_TABLES[] = "early page tables";
static const char NAME_BOOT_STACK[] = "boot stack";
static const char NAME_BSS[] = "kernel bss";
static const char NAME_BOOT_ONLY[] = "kernel boot-only code and data";
static const char NAME_MBI[] = "boot information (MBI)";
static const char NAME_MODULE[] = "boot module";
static const char NAME_PAGE_TABLES[] = "page tables";
static const char NAME_METADATA[] = "buddy metadata (struct page)";

static char module_names[MB2_MAX_MODULES][48];
/* The firmware's map as read, with room for MAX_RAW_ENTRIES (6 KiB) while
 * booting; kept at its own size (firmware_map, from malloc) after. */
BOOT_ONLY_DATA static struct memmap_entry raw_map[MAX_RAW_ENTRIES];
static const struct memmap_entry *firmware_map;
static unsigned raw_count;
static bool raw_from_meminfo;
static struct memmap clean_map;
static struct bootmem bootmem;
static struct buddy buddy;
static struct page_alloc pages; /* the page allocator (mm/page_alloc.c) over the buddy */
static uint64_t handed_over_pages;

BOOT_ONLY static void read_firmware_map(const struct mb2_summary *boot)
{
    struct mb2_error error;
    int count = boot->has_mmap ? mb2_mmap_entry_count(&boot->mmap, &error) : -1;
    if (boot->has_mmap && count < 0)
        log_warn("memory map: %s (tag at offset %u); trying the basic meminfo tag", error.message,
                 error.offset);
    if (count > MAX_RAW_ENTRIES) {
        log_warn("memory map: %d entries, only the first %d are used", count, MAX_RAW_ENTRIES);
        count = MAX_RAW_ENTRIES;
    }
    for (int i = 0; i < count; i++) {
        struct mb2_mmap_entry entry;
        if (mb2_mmap_entry(&boot->mmap, (uint32_t)i, &entry))
            raw_map[raw_count++] = (struct memmap_entry){entry.base, entry.length, entry.type};
    }
    firmware_map = raw_map;
    if (raw_count > 0)
        return;
    if (!boot->has_meminfo)
        panic("the boot loader gave neither a memory map (tag 6) nor basic meminfo (tag 4)");
    struct mb2_mmap_entry fallback[2];
    unsigned fallback_count = mb2_meminfo_as_mmap(&boot->meminfo, fallback);
    for (unsigned i = 0; i < fallback_count; i++)
        raw_map[raw_count++] =
            (struct memmap_entry){fallback[i].base, fallback[i].length, fallback[i].type};
    raw_from_meminfo = true;
    log_warn("memory map: using the basic meminfo tag (%u KiB low, %u KiB high)",
             boot->meminfo.mem_lower_kib, boot->meminfo.mem_upper_kib);
}

BOOT_ONLY static void reserve_kernel_image(void)
{
    uint64_t (*phys)(const void *) = kernel_image_virt_to_phys;
    bootmem_reserve(&bootmem, 0, 0x1000, NAME_PAGE0);
    bootmem_reserve(&bootmem, (uint64_t)__kernel_phys_start, phys(__text_start), NAME_BOOT_CODE);
    bootmem_reserve(&bootmem, phys(__text_start), phys(__boot_only_start), NAME_TEXT);
    bootmem_reserve(&bootmem, phys(__boot_only_start), phys(__boot_only_end), NAME_BOOT_ONLY);
    bootmem_reserve(&bootmem, phys(__rodata_start), phys(__data_start), NAME_RODATA);
    bootmem_reserve(&bootmem, phys(__data_start), phys(__early_page_tables_start), NAME_DATA);
    bootmem_reserve(&bootmem, phys(__early_page_tables_start), phys(__early_page_tables_end),
                    NAME_EARLY_TABLES);
    /* The guard page is left out: it is mapped nowhere in the kernel image,
     * so its frame is free for the buddy like any other. */
    bootmem_reserve(&bootmem, phys(boot_stack_guard) + 0x1000, phys(__boot_stack_region_end),
                    NAME_BOOT_STACK);
    bootmem_reserve(&bootmem, phys(__bss_rest_start), phys(__kernel_end), NAME_BSS);
}

BOOT_ONLY static uint64_t page_table_page_from_bootmem(void)
{
    /* Below 4 GiB: until the switch, only the early direct map reaches it. */
    return bootmem_alloc(&bootmem, 0x1000, 0x1000, EARLY_DIRECT_MAP_BYTES, NAME_PAGE_TABLES);
}

static uint64_t page_table_page_from_buddy(void)
{
    return memory_alloc_pages(0, BUDDY_ANY);
}

BOOT_ONLY static void hand_over_range(void *ctx, uint64_t start, uint64_t end)
{
    (void)ctx;
    buddy_free_range(&buddy, start >> 12, end >> 12);
    handed_over_pages += (end - start) >> 12;
}

/* The EFI memory map (tag 17), under UEFI: its payload lies in the MBI, whose
 * pages stay reserved. */
static struct mb2_tag efi_map;
static bool has_efi_map;

BOOT_ONLY void memory_init(const struct mb2_summary *boot, uint64_t mbi_phys)
{
    read_firmware_map(boot);
    efi_map = boot->efi_mmap;
    has_efi_map = boot->has_efi_mmap;
    char error[128];
    if (memmap_clean(raw_map, raw_count, &clean_map, error, sizeof(error)) != 0)
        panic("memory map: %s", error);
    if (clean_map.truncated)
        log_warn("memory map: %s", error);

    bootmem_init(&bootmem);
    struct paging_ram_range ranges[BOOTMEM_MAX_RAM_RANGES];
    struct buddy_range buddy_ranges[BOOTMEM_MAX_RAM_RANGES];
    size_t range_count = 0;
    uint64_t start, end;
    for (size_t i = 0; memmap_page_range(&clean_map, i, &start, &end); i++) {
        if (range_count == BOOTMEM_MAX_RAM_RANGES || !bootmem_add_ram(&bootmem, start, end)) {
            log_warn("memory map: more than %d RAM ranges; the rest is not used",
                     BOOTMEM_MAX_RAM_RANGES);
            break;
        }
        ranges[range_count] = (struct paging_ram_range){start, end};
        buddy_ranges[range_count++] = (struct buddy_range){start >> 12, end >> 12};
    }

    reserve_kernel_image();
    bootmem_reserve(&bootmem, mbi_phys, mbi_phys + boot->total_size, NAME_MBI);
    for (unsigned i = 0; i < boot->module_count; i++) {
        /* Named by GRUB's module string: the bootfs module shows as such in `mem`. */
        ksnprintf(module_names[i], sizeof(module_names[i]), "%s '%.24s'", NAME_MODULE,
                  boot->modules[i].name);
        bootmem_reserve(&bootmem, boot->modules[i].start, boot->modules[i].end, module_names[i]);
    }

    paging_init(ranges, range_count, page_table_page_from_bootmem);
    bootmem_release(&bootmem, NAME_EARLY_TABLES); /* CR3 points at ours now */
    bootmem_release(&bootmem, NAME_BOOT_CODE);    /* nothing runs there again */

    size_t metadata_bytes = buddy_metadata_bytes(buddy_ranges, range_count);
    uint64_t metadata = bootmem_alloc(&bootmem, metadata_bytes, 0x1000, 0, NAME_METADATA);
    if (!metadata)
        panic("memory: no room for %zu bytes of page metadata", metadata_bytes);
    if (buddy_init(&buddy, buddy_ranges, range_count, phys_to_virt(metadata), metadata_bytes) != 0)
        panic("memory: the buddy allocator refused the memory map");

    bootmem_for_each_free_range(&bootmem, hand_over_range, NULL); /* the hand-over point */
    paging_set_page_source(page_table_page_from_buddy);
    page_alloc_init(&pages, &buddy); /* the boot CPU's page cache */

    const struct paging_stats *paging = paging_stats();
    log_info("paging: direct map in %lu x 1 GiB, %lu x 2 MiB, %lu x 4 KiB pages (1 GiB pages: "
             "%s; no-execute: %s); %lu page-table pages",
             paging->direct_map_1g_pages, paging->direct_map_2m_pages, paging->direct_map_4k_pages,
             paging->has_1g_pages ? "yes" : "no CPU support",
             paging->has_nx ? "on" : "no CPU support", paging->table_pages);
    log_info("memory: %lu KiB usable, %lu KiB handed to the page allocator, %lu KiB free "
             "below 1 MiB",
             clean_map.usable_bytes / KIB, handed_over_pages * 4,
             buddy_free_page_count(&buddy, ZONE_LOW) * 4);
}

static void flush_tlb_job(void *unused)
{
    (void)unused;
    paging_flush_tlb();
}

/* The firmware map, from raw_map (freed next) to a malloc'd copy. */
BOOT_ONLY static void keep_firmware_map(void)
{
    struct memmap_entry *kept = malloc(raw_count * sizeof(*kept));
    if (!kept)
        panic("memory: no room to keep the firmware's memory map (%u entries)", raw_count);
    memcpy(kept, raw_map, raw_count * sizeof(*kept));
    firmware_map = kept;
}

/* BOOT_REF: keep_firmware_map is boot-only, and runs before the free. */
BOOT_REF void memory_free_boot_only(void)
{
    keep_firmware_map();
    /* Released while bootmem's boot-only sweep can still run (it counts the
     * claims again). */
    if (bootmem_release(&bootmem, NAME_BOOT_ONLY) != 1)
        panic("memory: the boot-only reservation is missing or was freed already");
    uint64_t start = (uint64_t)__boot_only_start, end = (uint64_t)__boot_only_end;
    /* Unmapped first, on every CPU: a call into the freed code must fault,
     * not run whatever the pages hold next. */
    paging_unmap_kernel_range(start, end);
    for (unsigned cpu = 1; pages.cpus && cpu < pages.caches.cpu_count; cpu++)
        pages.cpus->run_on(cpu, flush_tlb_job, NULL);
    uint64_t first = kernel_image_virt_to_phys(__boot_only_start) >> 12;
    uint64_t last = kernel_image_virt_to_phys(__boot_only_end) >> 12;
    buddy_free_range(&buddy, first, last);
    handed_over_pages += last - first;
    log_info("memory: freed %lu KiB of boot-only code and data (%#lx-%#lx) to the page allocator",
             (last - first) * 4, first << 12, last << 12);
}

/* The page allocator's policy is mm/page_alloc.c's; these give it addresses. */
phys_addr_t memory_try_alloc_run(uint64_t count, unsigned align_order)
{
    uint64_t pfn;
    return page_alloc_try_run(&pages, count, align_order, &pfn) == 0 ? pfn << 12 : 0;
}

phys_addr_t memory_alloc_pages(unsigned order, enum buddy_zone_request where)
{
    uint64_t pfn;
    return page_alloc_pages(&pages, order, where, &pfn) == 0 ? pfn << 12 : 0;
}

phys_addr_t memory_alloc_run(uint64_t count, unsigned align_order)
{
    uint64_t pfn;
    return page_alloc_run(&pages, count, align_order, &pfn) == 0 ? pfn << 12 : 0;
}

void memory_set_cpu_hooks(const struct page_alloc_cpus *cpus)
{
    page_alloc_set_cpus(&pages, cpus);
}

void memory_drain_this_cpu(void)
{
    page_alloc_drain_this_cpu(&pages);
}

void memory_free_run(phys_addr_t phys, uint64_t count)
{
    page_alloc_free_run(&pages, phys >> 12, count);
}

void *memory_scratch_alloc(size_t bytes)
{
    uint64_t count = (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
    phys_addr_t phys = count ? memory_alloc_run(count, 0) : 0;
    if (!phys)
        return NULL;
    memset(phys_to_virt(phys), 0, count * PAGE_SIZE);
    return phys_to_virt(phys);
}

void memory_scratch_free(void *buffer, size_t bytes)
{
    if (buffer)
        memory_free_run(virt_to_phys_direct(buffer), (bytes + PAGE_SIZE - 1) / PAGE_SIZE);
}

struct page *memory_page_of(phys_addr_t phys)
{
    return buddy_pfn_to_page(&buddy, phys >> 12);
}

void memory_free_pages(phys_addr_t phys, unsigned order)
{
    page_alloc_free_pages(&pages, phys >> 12, order);
}

void memory_set_cpu_count(unsigned count, struct page_cache *caches)
{
    page_alloc_set_cpu_count(&pages, count, caches);
}

void memory_drain_page_caches(void)
{
    page_alloc_drain_all(&pages);
}

uint64_t memory_free_page_count_in_zone(enum zone_id zone)
{
    return buddy_free_page_count(&buddy, zone);
}

uint64_t memory_end_pfn(void)
{
    return buddy.section_count ? buddy.sections[buddy.section_count - 1].end_pfn : 0;
}

uint64_t memory_free_page_count(void)
{
    return page_alloc_free_page_count(&pages);
}

bool memory_buddy_check(char *error, size_t error_size, unsigned *paused)
{
    return page_alloc_check(&pages, error, error_size, paused);
}

bool memory_account(struct memory_account *out)
{
    memset(out, 0, sizeof(*out));
    out->usable = clean_map.usable_bytes;
    for (size_t i = 0; i < bootmem.reserved_count; i++)
        out->reserved += bootmem_claimed_bytes(&bootmem, i);
    out->lost_to_alignment = clean_map.lost_to_alignment_bytes;
    struct page_alloc_account account;
    bool sound = page_alloc_account(&pages, &account);
    memcpy(out->metadata_error, account.metadata_error, sizeof(out->metadata_error));
    out->cached = account.cached_pages * PAGE_SIZE;
    out->allocated = account.allocated_pages * PAGE_SIZE;
    out->accounted = out->reserved + out->lost_to_alignment + out->cached + out->allocated;
    for (int zone = 0; zone < ZONE_COUNT; zone++) {
        out->free[zone] = account.free_pages[zone] * PAGE_SIZE;
        out->accounted += out->free[zone];
    }
    return sound && out->accounted == out->usable;
}

bool memory_page_cache_stats(unsigned cpu, struct page_cache_stats *out)
{
    if (cpu >= pages.caches.cpu_count)
        return false;
    page_cache_get_stats(&pages.caches, cpu, out);
    return true;
}

bool memory_range_in_firmware_map(phys_addr_t phys, uint64_t length)
{
    for (unsigned i = 0; i < raw_count; i++) {
        uint64_t start = firmware_map[i].base, end = firmware_map[i].base + firmware_map[i].length;
        if (end >= start && phys >= start && phys + length <= end)
            return true;
    }
    return false;
}

/* ---- for inspection (kernel/memory_commands.c, tests) --------------------- */

struct buddy *memory_buddy(void)
{
    return &buddy;
}

const struct bootmem *memory_bootmem(void)
{
    return &bootmem;
}

const struct memmap *memory_clean_map(void)
{
    return &clean_map;
}

const struct mb2_tag *memory_efi_map(void)
{
    return has_efi_map ? &efi_map : NULL;
}

const struct memmap_entry *memory_firmware_map(unsigned *count, bool *from_meminfo)
{
    *count = raw_count;
    *from_meminfo = raw_from_meminfo;
    return firmware_map;
}

uint64_t memory_cached_pages(void)
{
    return page_alloc_cached_pages(&pages);
}
