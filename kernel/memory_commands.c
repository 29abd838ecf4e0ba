/*
 * memory_commands.c: the shell's view of physical memory (kernel/memory.c
 * owns the data): `e820` (the firmware's map, as given and cleaned), `efimap`
 * (the EFI memory map under UEFI, reconciled with e820's), `mem`
 * (where every usable byte is), `buddy` (free lists; check, exhaust, storm),
 * `alloc` and `free` (a block of pages by hand).
 */
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/delay.h"
#include "kernel/memlayout.h"
#include "kernel/memory.h"
#include "kernel/rootfs.h"
#include "kernel/shell.h"
#include "lib/args.h"
#include "lib/efi_memmap.h"
#include "lib/format.h"
#include "lib/string.h"
#include "lib/random.h"
#include "mm/bootmem.h"
#include "mm/malloc.h"
#include "mm/memmap.h"
#include "mm/page_cache.h"

#define KIB ((uint64_t)1024)

static const char *zone_request_name(enum buddy_zone_request where)
{
    return where == BUDDY_BELOW_1M ? "low" : where == BUDDY_BELOW_4G ? "dma32" : "any";
}

static int command_e820(int argc, char **argv)
{
    (void)argc, (void)argv; /* no words: the shell checked (shell.h) */
    unsigned raw_count;
    bool from_meminfo;
    const struct memmap_entry *raw_map = memory_firmware_map(&raw_count, &from_meminfo);
    const struct memmap *clean_map = memory_clean_map();
    kprintf("firmware memory map, as given%s (%u entries):\n",
            from_meminfo ? " (made from the basic meminfo tag)" : "", raw_count);
    for (unsigned i = 0; i < raw_count; i++)
        kprintf("  0x%012lx-0x%012lx %10lu KiB  type %u %s\n", raw_map[i].base,
                raw_map[i].base + raw_map[i].length, raw_map[i].length / KIB, raw_map[i].type,
                memmap_type_name(raw_map[i].type));
    kprintf("cleaned (sorted, overlaps resolved, merged; %zu regions):\n", clean_map->region_count);
    for (size_t i = 0; i < clean_map->region_count; i++) {
        const struct memmap_region *region = &clean_map->regions[i];
        kprintf("  0x%012lx-0x%012lx %10lu KiB  %s\n", region->start, region->end,
                (region->end - region->start) / KIB, memmap_type_name(region->type));
    }
    kprintf("usable: %lu bytes, in whole pages: %lu bytes, lost to alignment: %lu bytes\n",
            clean_map->usable_bytes, clean_map->page_bytes, clean_map->lost_to_alignment_bytes);
    return 0;
}

static void print_difference(const struct efi_difference *difference, void *context)
{
    (void)context;
    char other[24];
    const char *name = NULL;
    if (difference->other_type >= 0) {
        name = difference->kind == EFI_USABLE_BUT_NOT_IN_EFI
                   ? efi_memory_type_name((uint32_t)difference->other_type)
                   : memmap_type_name((uint32_t)difference->other_type);
        if (!name) {
            ksnprintf(other, sizeof(other), "type %ld", difference->other_type);
            name = other;
        }
    }
    if (difference->kind == EFI_USABLE_BUT_NOT_IN_EFI)
        kprintf("  0x%012lx-0x%012lx usable in tag 6, but the EFI map says %s\n", difference->start,
                difference->end, name ? name : "nothing (no descriptor)");
    else
        kprintf("  0x%012lx-0x%012lx free after boot services in the EFI map, but tag 6 says "
                "%s\n",
                difference->start, difference->end, name ? name : "nothing (no entry)");
}

/* `efimap`: the EFI memory map as the firmware gave it (through GRUB, tag 17),
 * then the check that tag 6, which the kernel uses, agrees with it. */
static int command_efimap(int argc, char **argv)
{
    (void)argc, (void)argv; /* no words: the shell checked (shell.h) */
    const struct mb2_tag *tag = memory_efi_map();
    if (!tag) {
        kprintf("efimap: no EFI memory map: GRUB passes one (multiboot2 tag 17) only when it "
                "was booted by UEFI (make run FIRMWARE=uefi)\n");
        return 1;
    }
    unsigned count = (unsigned)mb2_efi_mmap_count(tag, NULL);
    unsigned raw_count;
    bool from_meminfo;
    const struct memmap_entry *raw_map = memory_firmware_map(&raw_count, &from_meminfo);
    size_t bytes = ((size_t)count + raw_count) * sizeof(struct efi_range);
    struct efi_range *efi = memory_scratch_alloc(bytes);
    if (!efi) {
        kprintf("efimap: no free page for a table of %zu bytes\n", bytes);
        return 1;
    }
    kprintf("EFI memory map (multiboot2 tag 17): %u descriptors of %u bytes, version %u\n", count,
            mb2_efi_mmap_descriptor_size(tag), mb2_efi_mmap_descriptor_version(tag));
    kprintf("  physical range                        pages        KiB  type                 "
            "attributes\n");
    uint64_t usable = 0;
    for (unsigned i = 0; i < count; i++) {
        struct mb2_efi_descriptor d;
        mb2_efi_mmap_descriptor(tag, i, &d);
        efi[i] =
            (struct efi_range){d.physical_start, efi_range_end(d.physical_start, d.pages), d.type};
        char attributes[96], unknown[16];
        const char *name = efi_memory_type_name(d.type);
        if (!name) {
            ksnprintf(unknown, sizeof(unknown), "type %#x", d.type);
            name = unknown;
        }
        kprintf("  0x%012lx-0x%012lx %10lu %10lu  %-20s %s\n", efi[i].start, efi[i].end, d.pages,
                (efi[i].end - efi[i].start) / KIB, name,
                efi_attribute_names(d.attribute, attributes, sizeof(attributes)));
        if (efi_usable_after_boot_services(d.type))
            usable += efi[i].end - efi[i].start;
    }
    kprintf("free after ExitBootServices (LoaderCode/Data, BootServicesCode/Data, "
            "ConventionalMemory): %lu bytes\n",
            usable);
    struct efi_range *map = efi + count;
    for (unsigned i = 0; i < raw_count; i++)
        map[i] = (struct efi_range){raw_map[i].base, raw_map[i].base + raw_map[i].length,
                                    raw_map[i].type};
    kprintf("against the memory map the kernel uses (tag 6, %u entries):\n", raw_count);
    unsigned differences = efi_reconcile(map, raw_count, efi, count, print_difference, NULL);
    if (differences == 0)
        kprintf("  the same: every usable byte of tag 6 is free in the EFI map, and the other "
                "way round\n");
    else
        kprintf("  %u difference%s\n", differences, differences == 1 ? "" : "s");
    memory_scratch_free(efi, bytes);
    return 0;
}

static void print_row(const char *name, uint64_t bytes)
{
    kprintf("  %-38s %12lu bytes %8lu KiB\n", name, bytes, bytes / KIB);
}

static void print_reservation_row(const struct bootmem_reservation *reservation, uint64_t bytes)
{
    kprintf("  %-38s %12lu bytes %8lu KiB  at %#lx-%#lx\n", reservation->name, bytes, bytes / KIB,
            reservation->start, reservation->end);
}

/* What the kernel itself holds: usable RAM minus the free pages, minus what
 * waits reclaimable in the page caches and in malloc's magazines, minus the
 * boot filesystem's module (the files' own bytes, served in place; the
 * filesystem's metadata, from malloc, counts). */
static void print_footprint(const struct memory_account *account)
{
    /* 3 KiB: off the shell's stack, and not in .bss for the whole run either */
    struct km_stats *stats = memory_scratch_alloc(sizeof(*stats));
    uint64_t in_magazines = 0;
    if (stats) {
        km_stats(stats);
        for (unsigned i = 0; i < SIZE_CLASS_COUNT; i++)
            in_magazines += stats->classes[i].in_magazines * stats->classes[i].object_bytes;
        memory_scratch_free(stats, sizeof(*stats));
    }
    const struct mb2_module *module = rootfs_module();
    uint64_t module_bytes = module ? (uint64_t)module->end - module->start : 0;
    module_bytes = (module_bytes + PAGE_SIZE - 1) / PAGE_SIZE * PAGE_SIZE; /* its pages */
    uint64_t free_bytes = account->cached;
    for (int zone = 0; zone < ZONE_COUNT; zone++)
        free_bytes += account->free[zone];
    uint64_t footprint = account->usable - free_bytes - in_magazines - module_bytes;
    kprintf("kernel footprint: %lu bytes (%lu KiB) = usable - free and cached pages - %lu in "
            "malloc's magazines - %lu of the boot filesystem's module\n",
            footprint, footprint / KIB, in_magazines, module_bytes);
}

static int command_mem(int argc, char **argv)
{
    (void)argc, (void)argv;               /* no words: the shell checked (shell.h) */
    static struct memory_account account; /* 200 bytes: off the shell's stack */
    bool balanced = memory_account(&account);
    kprintf("where every usable byte of RAM is (usable: %lu bytes = %lu KiB):\n", account.usable,
            account.usable / KIB);
    const struct bootmem *bootmem = memory_bootmem();
    for (size_t i = 0; i < bootmem->reserved_count; i++) {
        uint64_t bytes = bootmem_claimed_bytes(bootmem, i);
        if (bytes)
            print_reservation_row(&bootmem->reserved[i], bytes);
    }
    print_row("lost to alignment (partial pages)", account.lost_to_alignment);
    struct page_cache_stats cache;
    memory_page_cache_stats(0, &cache);
    char cache_row[64];
    ksnprintf(cache_row, sizeof(cache_row), "per-CPU page caches (high %u, batch %u)", cache.high,
              cache.batch);
    print_row(cache_row, account.cached);
    for (int zone = 0; zone < ZONE_COUNT; zone++) {
        char name[48];
        ksnprintf(name, sizeof(name), "free, zone %s", zone_name((enum zone_id)zone));
        print_row(name, account.free[zone]);
    }
    print_row("allocated from the page allocator", account.allocated);
    kprintf("accounted: %lu bytes, usable: %lu bytes%s\n", account.accounted, account.usable,
            account.accounted == account.usable ? "" : "   <-- MISMATCH");
    if (account.metadata_error[0])
        kprintf("page metadata: %s\n", account.metadata_error);
    print_footprint(&account);
    return balanced ? 0 : 1;
}

static int buddy_exhaust(void);
static int buddy_storm(uint64_t operations);

static int buddy_check_command(int argc, char **argv)
{
    (void)argc, (void)argv;
    char error[160];
    uint64_t started = read_tsc();
    unsigned paused;
    bool ok = memory_buddy_check(error, sizeof(error), &paused);
    if (ok && paused)
        kprintf("buddy check: ok (the other %u CPU%s paused for the walk: %lu ms)\n", paused,
                paused == 1 ? "" : "s", delay_us_since(started) / 1000);
    if (ok && !paused)
        kprintf("buddy check: ok\n");
    if (ok)
        return 0;
    kprintf("buddy check: FAILED: %s\n", error);
    return 1;
}

static int buddy_exhaust_command(int argc, char **argv)
{
    (void)argc, (void)argv;
    return buddy_exhaust();
}

static int buddy_storm_command(int argc, char **argv)
{
    uint64_t operations = 20000;
    if (argc == 2 && !args_parse_u64(argv[1], &operations))
        return SHELL_USAGE;
    return buddy_storm(operations);
}

static int buddy_free_lists(int argc, char **argv)
{
    (void)argc, (void)argv;
    kprintf("free blocks per order (order n = 2^n pages of 4 KiB):\n");
    kprintf("%-7s", "zone");
    for (unsigned order = 0; order <= BUDDY_MAX_ORDER; order++)
        kprintf(" %6u", order);
    kprintf("\n");
    for (int zone = 0; zone < ZONE_COUNT; zone++) {
        kprintf("%-7s", zone_name((enum zone_id)zone));
        for (unsigned order = 0; order <= BUDDY_MAX_ORDER; order++)
            kprintf(" %6lu", buddy_free_blocks(memory_buddy(), (enum zone_id)zone, order));
        kprintf("\n");
    }
    kprintf("(and %lu free pages in the per-CPU page caches, not in these lists)\n",
            memory_cached_pages());
    return 0;
}

/* Free blocks per zone and order, after emptying the page caches. */
struct free_lists_snapshot {
    uint64_t blocks[ZONE_COUNT][BUDDY_MAX_ORDER + 1];
};

static void take_snapshot(struct free_lists_snapshot *snapshot)
{
    memory_drain_page_caches();
    for (int zone = 0; zone < ZONE_COUNT; zone++)
        for (unsigned order = 0; order <= BUDDY_MAX_ORDER; order++)
            snapshot->blocks[zone][order] =
                buddy_free_blocks(memory_buddy(), (enum zone_id)zone, order);
}

/* Allocate every free page (through the page caches, as the kernel does),
 * write to each, free them all: the free lists must come back as they were.
 * The allocated pages are chained through their own first 8 bytes, so the
 * test needs no memory of its own. */
static int buddy_exhaust(void)
{
    struct free_lists_snapshot before, after;
    take_snapshot(&before);
    uint64_t chain = 0, pages = 0, below_1m = 0, from_1m_to_2m = 0, above_4g = 0;
    for (uint64_t phys; (phys = memory_alloc_pages(0, BUDDY_ANY)) != 0; pages++) {
        uint64_t *words = phys_to_virt(phys);
        words[0] = chain;                          /* the link */
        words[511] = phys ^ 0x5A5A5A5A5A5A5A5Aull; /* a pattern at the far end */
        chain = phys;
        below_1m += phys < 0x100000;
        from_1m_to_2m += phys >= 0x100000 && phys < 0x200000;
        above_4g += phys >= 0x100000000ull;
    }
    uint64_t broken = 0;
    while (chain) {
        uint64_t *words = phys_to_virt(chain);
        uint64_t next = words[0];
        broken += words[511] != (chain ^ 0x5A5A5A5A5A5A5A5Aull);
        memory_free_pages(chain, 0);
        chain = next;
    }
    take_snapshot(&after);
    bool identical = memcmp(&before, &after, sizeof(before)) == 0;
    kprintf("buddy exhaust: allocated, wrote and freed %lu pages (%lu KiB): %lu below 1 MiB, "
            "%lu in [1 MiB, 2 MiB), %lu above 4 GiB; patterns broken: %lu; free lists "
            "identical: %s\n",
            pages, pages * 4, below_1m, from_1m_to_2m, above_4g, broken, identical ? "yes" : "NO");
    return identical && broken == 0 ? 0 : 1;
}

/* A random storm of allocations and frees of mixed orders and zones, through
 * the same paths the kernel uses; each block is stamped and checked before it
 * is freed. At the end everything is freed and the invariants checked. */
#define STORM_MAX_LIVE 512

static int buddy_storm(uint64_t operations)
{
    struct storm_block {
        uint64_t phys;
        unsigned order;
    } *live = memory_scratch_alloc(STORM_MAX_LIVE * sizeof(*live)); /* before the snapshot */
    if (!live) {
        kprintf("buddy storm: no memory for the list of live blocks\n");
        return 1;
    }
    struct free_lists_snapshot before, after;
    take_snapshot(&before);
    uint64_t state = 0x9E3779B97F4A7C15ull, failed = 0, broken = 0;
    unsigned live_count = 0;
    for (uint64_t i = 0; i < operations; i++) {
        uint64_t roll = random_next(&state);
        if (live_count > 0 && (live_count == STORM_MAX_LIVE || roll % 3 == 0)) {
            unsigned victim = (unsigned)(roll >> 8) % live_count;
            uint64_t *stamp = phys_to_virt(live[victim].phys);
            broken += *stamp != (live[victim].phys | live[victim].order);
            memory_free_pages(live[victim].phys, live[victim].order);
            live[victim] = live[--live_count];
            continue;
        }
        unsigned order = (unsigned)(roll >> 16) % 6; /* up to 128 KiB blocks */
        enum buddy_zone_request where = (roll >> 24) % 8 == 0   ? BUDDY_BELOW_1M
                                        : (roll >> 24) % 8 == 1 ? BUDDY_BELOW_4G
                                                                : BUDDY_ANY;
        uint64_t phys = memory_alloc_pages(order, where);
        if (!phys) {
            failed++;
            continue;
        }
        *(uint64_t *)phys_to_virt(phys) = phys | order;
        live[live_count].phys = phys;
        live[live_count++].order = order;
    }
    while (live_count > 0) {
        live_count--;
        memory_free_pages(live[live_count].phys, live[live_count].order);
    }
    take_snapshot(&after);
    memory_scratch_free(live, STORM_MAX_LIVE * sizeof(*live)); /* after it: not counted */
    char error[160];
    bool consistent = buddy_check(memory_buddy(), error, sizeof(error));
    bool identical = memcmp(&before, &after, sizeof(before)) == 0;
    kprintf("buddy storm: %lu operations, %lu allocations refused (out of memory), stamps "
            "broken: %lu; free lists back as before: %s; invariants: %s\n",
            operations, failed, broken, identical ? "yes" : "NO", consistent ? "ok" : error);
    return identical && consistent && broken == 0 ? 0 : 1;
}

static bool parse_zone(const char *text, enum buddy_zone_request *where)
{
    if (strcmp(text, "any") == 0 || strcmp(text, "normal") == 0)
        *where = BUDDY_ANY;
    else if (strcmp(text, "dma32") == 0)
        *where = BUDDY_BELOW_4G;
    else if (strcmp(text, "low") == 0)
        *where = BUDDY_BELOW_1M;
    else
        return false;
    return true;
}

static int command_alloc(int argc, char **argv)
{
    uint64_t order;
    enum buddy_zone_request where = BUDDY_ANY;
    if (!args_parse_u64(argv[1], &order) || order > BUDDY_MAX_ORDER ||
        (argc == 3 && !parse_zone(argv[2], &where))) {
        kprintf("alloc: ORDER is 0-%d (a block of 2^ORDER pages), the zone low, dma32 or normal\n",
                BUDDY_MAX_ORDER);
        return SHELL_USAGE;
    }
    uint64_t phys = memory_alloc_pages((unsigned)order, where);
    if (!phys) {
        kprintf("alloc: no free block of order %lu (zone %s)\n", order, zone_request_name(where));
        return 1;
    }
    kprintf("%#lx (%lu KiB, order %lu)\n", phys, ((uint64_t)4 << order), order);
    return 0;
}

static int command_free(int argc, char **argv)
{
    (void)argc; /* "free ADDR": one word (the shell checked) */
    uint64_t phys;
    if (!args_parse_u64(argv[1], &phys) || (phys & 0xFFF)) {
        kprintf("free: ADDR is a page address that alloc printed\n");
        return SHELL_USAGE;
    }
    struct page *page = memory_page_of(phys);
    if (!page) {
        kprintf("free: %#lx is not in RAM that the page allocator manages\n", phys);
        return 1;
    }
    if (page->state != PAGE_ALLOCATED_HEAD) {
        kprintf(
            "free: %#lx is not the start of an allocated block (page state: %s); nothing freed\n",
            phys, page_state_name((enum page_state)page->state));
        return 1;
    }
    memory_free_pages(phys, page->order);
    kprintf("freed %#lx (order %u)\n", phys, page->order);
    return 0;
}

SHELL_COMMAND(e820, "e820", "the firmware's memory map, as given and cleaned", command_e820);
SHELL_COMMAND(mem, "mem", "where every usable byte of RAM is", command_mem);
SHELL_COMMAND(efimap, "efimap", "the EFI memory map (UEFI only), checked against the one in use",
              command_efimap);
static const struct shell_subcommand buddy_subcommands[] = {
    {"", "", "the free lists: free blocks per zone and order", buddy_free_lists},
    {"check", "check", "check every invariant of the page metadata and free lists",
     buddy_check_command},
    {"exhaust", "exhaust", "allocate every free page, write it, free them all",
     buddy_exhaust_command},
    {"storm", "storm [N]", "N random allocations and frees (default 20000), then check",
     buddy_storm_command},
};
SHELL_COMMAND_TABLE(buddy, "the buddy allocator: free lists, check, exhaust, storm",
                    buddy_subcommands);
SHELL_COMMAND(alloc, "alloc ORDER [low|dma32|normal]", "allocate 2^ORDER pages, print the address",
              command_alloc);
SHELL_COMMAND(free, "free ADDR", "give back a block that alloc printed", command_free);
