/* test_memmap.c: cleaning the firmware memory map (real QEMU maps, every rule of
 * mm/memmap.h, and a randomized comparison with a brute-force reference). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h> /* after the headers it needs */

#include "mm/memmap.h"
#include "tests/host/lib/test_report.h"

#define KIB 1024ull
#define MIB (1024ull * 1024)
#define GIB (1024ull * MIB)
#define RAM MEMMAP_RAM
#define RES MEMMAP_RESERVED
#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* Room for the largest inputs the tests build (one entry past the limit). */
static struct memmap_entry big_input[MEMMAP_MAX_RAW_ENTRIES + 1];

/* ---- checks shared by every test ----------------------------------------- */

/* Every invariant that memmap.h promises for a filled-in map. */
static void check_invariants(const struct memmap *map)
{
    assert_true(map->region_count <= MEMMAP_MAX_REGIONS);
    uint64_t usable = 0, pages = 0;
    size_t ranges_with_pages = 0;
    for (size_t i = 0; i < map->region_count; i++) {
        const struct memmap_region *region = &map->regions[i];
        assert_true(region->start < region->end);
        if (i > 0) {
            const struct memmap_region *previous = &map->regions[i - 1];
            assert_true(previous->end <= region->start); /* sorted, disjoint */
            if (previous->end == region->start)
                assert_int_not_equal(previous->type, region->type); /* merged */
        }
        if (region->type != RAM)
            continue;
        usable += region->end - region->start;
        if (region->start > UINT64_MAX - (PAGE_SIZE - 1))
            continue; /* no whole page can start in the last partial page */
        uint64_t first = (region->start + PAGE_SIZE - 1) / PAGE_SIZE * PAGE_SIZE;
        uint64_t last = region->end / PAGE_SIZE * PAGE_SIZE;
        if (first < last) {
            pages += last - first;
            ranges_with_pages++;
        }
    }
    assert_int_equal(map->usable_bytes, usable);
    assert_int_equal(map->page_bytes, pages);
    assert_int_equal(map->usable_bytes, map->page_bytes + map->lost_to_alignment_bytes);

    /* The page ranges: aligned, non-empty, sorted, each inside one RAM region. */
    uint64_t start, end, previous_end = 0, range_bytes = 0;
    size_t index = 0, region = 0;
    for (; memmap_page_range(map, index, &start, &end); index++) {
        assert_int_equal(start % PAGE_SIZE, 0);
        assert_int_equal(end % PAGE_SIZE, 0);
        assert_true(start < end);
        assert_true(index == 0 || previous_end <= start);
        while (region < map->region_count && map->regions[region].end < end)
            region++;
        assert_true(region < map->region_count);
        assert_int_equal(map->regions[region].type, RAM);
        assert_true(map->regions[region].start <= start);
        previous_end = end;
        range_bytes += end - start;
    }
    assert_int_equal(index, ranges_with_pages);
    assert_int_equal(range_bytes, map->page_bytes);
}

/* Cleans, checks the invariants, and returns memmap_clean's result. */
static int clean(const struct memmap_entry *raw, size_t count, struct memmap *map, char *error,
                 size_t error_size)
{
    int status = memmap_clean(raw, count, map, error, error_size);
    check_invariants(map);
    return status;
}

static int clean_ok(const struct memmap_entry *raw, size_t count, struct memmap *map)
{
    char error[160];
    int status = clean(raw, count, map, error, sizeof(error));
    if (status != 0)
        print_error("memmap_clean: %s\n", error);
    return status;
}

static void expect_regions(const struct memmap *map, const struct memmap_region *expected,
                           size_t count)
{
    assert_int_equal(map->region_count, count);
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(map->regions[i].start, expected[i].start);
        assert_int_equal(map->regions[i].end, expected[i].end);
        assert_int_equal(map->regions[i].type, expected[i].type);
    }
}

/* ---- the real maps QEMU gives (../shared/notes/qemu-facts.md) -------------- */

static void pc_128m(void **state)
{
    (void)state;
    static const struct memmap_entry raw[] = {
        {0x0, 0x9fc00, RAM},
        {0x9fc00, 0x400, RES},
        {0xf0000, 0x10000, RES},
        {0x100000, 0x7ee0000, RAM},
        {0x7fe0000, 0x20000, RES},
        {0xfffc0000, 0x40000, RES},
        {0xfd00000000, 0x300000000, RES},
    };
    static const struct memmap_region expected[] = {
        {0x0, 0x9fc00, RAM},
        {0x9fc00, 0xa0000, RES},
        {0xf0000, 0x100000, RES},
        {0x100000, 0x7fe0000, RAM},
        {0x7fe0000, 0x8000000, RES},
        {0xfffc0000, 0x100000000, RES},
        {0xfd00000000, 0x10000000000, RES},
    };
    struct memmap map;
    assert_int_equal(clean_ok(raw, COUNT(raw), &map), 0);
    expect_regions(&map, expected, COUNT(expected));
    assert_int_equal(map.usable_bytes, 0x9fc00 + 0x7ee0000);
    assert_int_equal(map.page_bytes, 0x9f000 + 0x7ee0000);
    assert_int_equal(map.lost_to_alignment_bytes, 0xc00);
    assert_int_equal(map.ignored_entries, 0);
    assert_false(map.truncated);
    uint64_t start, end;
    assert_true(memmap_page_range(&map, 0, &start, &end));
    assert_int_equal(start, 0);
    assert_int_equal(end, 0x9f000);
    assert_true(memmap_page_range(&map, 1, &start, &end));
    assert_int_equal(start, 0x100000);
    assert_int_equal(end, 0x7fe0000);
    assert_false(memmap_page_range(&map, 2, &start, &end));
}

/* -m 3M, the least GRUB boots from: the usable map is 0-0x9fc00 and 0x100000-0x2e0000. */
static void pc_3m(void **state)
{
    (void)state;
    static const struct memmap_entry raw[] = {
        {0x0, 0x9fc00, RAM},
        {0x9fc00, 0x400, RES},
        {0xf0000, 0x10000, RES},
        {0x100000, 0x1e0000, RAM},
        {0x2e0000, 0x20000, RES},
        {0xfffc0000, 0x40000, RES},
        {0xfd00000000, 0x300000000, RES},
    };
    struct memmap map;
    char error[128];
    assert_int_equal(clean(raw, COUNT(raw), &map, error, sizeof(error)), 0);
    assert_string_equal(error, "");
    assert_int_equal(map.region_count, 7);
    assert_int_equal(map.usable_bytes, 0x9fc00 + 0x1e0000);
    assert_int_equal(map.page_bytes, 0x9f000 + 0x1e0000);
    assert_int_equal(map.lost_to_alignment_bytes, 0xc00); /* 0x9f000-0x9fc00 */
}

static const struct memmap_entry pc_4g_raw[] = {
    {0x0, 0x9fc00, RAM},
    {0x9fc00, 0x400, RES},
    {0xf0000, 0x10000, RES},
    {0x100000, 0xbfee0000, RAM},
    {0xbffe0000, 0x20000, RES},
    {0xfffc0000, 0x40000, RES},
    {0x100000000, 0x40000000, RAM},
    {0xfd00000000, 0x300000000, RES},
};

static void pc_4g(void **state)
{
    (void)state;
    static const struct memmap_region expected[] = {
        {0x0, 0x9fc00, RAM},
        {0x9fc00, 0xa0000, RES},
        {0xf0000, 0x100000, RES},
        {0x100000, 0xbffe0000, RAM},
        {0xbffe0000, 0xc0000000, RES},
        {0xfffc0000, 0x100000000, RES},
        {0x100000000, 0x140000000, RAM},
        {0xfd00000000, 0x10000000000, RES},
    };
    struct memmap map;
    assert_int_equal(clean_ok(pc_4g_raw, COUNT(pc_4g_raw), &map), 0);
    expect_regions(&map, expected, COUNT(expected));
    assert_int_equal(map.usable_bytes, 0x9fc00 + 0xbfee0000 + 1 * GIB);
    assert_int_equal(map.lost_to_alignment_bytes, 0xc00);
    /* RAM above 4 GiB is the third page range; the 1 GiB PCI hole is nobody's. */
    uint64_t start, end;
    assert_true(memmap_page_range(&map, 2, &start, &end));
    assert_int_equal(start, 4 * GIB);
    assert_int_equal(end, 5 * GIB);
}

/* -m 8G, with the AMD HyperTransport hole just below 1 TiB. */
static void pc_8g_with_hypertransport_hole(void **state)
{
    (void)state;
    static const struct memmap_entry raw[] = {
        {0x0, 0x9fc00, RAM},
        {0x9fc00, 0x400, RES},
        {0xf0000, 0x10000, RES},
        {0x100000, 0xbfee0000, RAM},
        {0xbffe0000, 0x20000, RES},
        {0xfffc0000, 0x40000, RES},
        {0x100000000, 0x140000000, RAM},
        {0xfd00000000, 0x300000000, RES},
    };
    struct memmap map;
    assert_int_equal(clean_ok(raw, COUNT(raw), &map), 0);
    assert_int_equal(map.region_count, 8);
    assert_int_equal(map.regions[6].start, 0x100000000);
    assert_int_equal(map.regions[6].end, 0x240000000);
    assert_int_equal(map.regions[7].start, 0xfd00000000);
    assert_int_equal(map.regions[7].end, 0x10000000000);
    assert_int_equal(map.regions[7].type, RES);
    assert_int_equal(map.usable_bytes, 0x9fc00 + 0xbfee0000 + 5 * GIB);
    assert_int_equal(map.page_bytes, 0x9f000 + 0xbfee0000 + 5 * GIB);
}

/* q35 -m 4G: the 2 GiB split, MMCONFIG and the RCBA block (the top-of-low-RAM
 * ZoneHigh block sized as on pc). */
static void q35_4g(void **state)
{
    (void)state;
    static const struct memmap_entry raw[] = {
        {0x0, 0x9fc00, RAM},
        {0x9fc00, 0x400, RES},
        {0xf0000, 0x10000, RES},
        {0x100000, 0x7fee0000, RAM},
        {0x7ffe0000, 0x20000, RES},
        {0xb0000000, 0x10000000, RES},
        {0xfed1c000, 0x4000, RES},
        {0xfffc0000, 0x40000, RES},
        {0x100000000, 0x80000000, RAM},
        {0xfd00000000, 0x300000000, RES},
    };
    static const struct memmap_region expected[] = {
        {0x0, 0x9fc00, RAM},
        {0x9fc00, 0xa0000, RES},
        {0xf0000, 0x100000, RES},
        {0x100000, 0x7ffe0000, RAM},
        {0x7ffe0000, 0x80000000, RES},
        {0xb0000000, 0xc0000000, RES},
        {0xfed1c000, 0xfed20000, RES},
        {0xfffc0000, 0x100000000, RES},
        {0x100000000, 0x180000000, RAM},
        {0xfd00000000, 0x10000000000, RES},
    };
    struct memmap map;
    assert_int_equal(clean_ok(raw, COUNT(raw), &map), 0);
    expect_regions(&map, expected, COUNT(expected));
    assert_int_equal(map.usable_bytes, 0x9fc00 + 0x7fee0000 + 2 * GIB);
    assert_int_equal(map.lost_to_alignment_bytes, 0xc00);
}

/* The OVMF map has ACPI, NVS and GRUB's type 20: all kept as given. */
static void uefi_style_types_are_kept(void **state)
{
    (void)state;
    static const struct memmap_entry raw[] = {
        {0x0, 0xa0000, RAM},
        {0x100000, 0x700000, RAM},
        {0x800000, 0x8000, MEMMAP_ACPI_NVS},
        {0x808000, 0x8000, RAM},
        {0x810000, 0x10000, MEMMAP_ACPI_NVS},
        {0x820000, 0x1000000, RAM},
        {0x1820000, 0x1000, 20},
        {0x1821000, 0x3000, MEMMAP_ACPI_RECLAIMABLE},
        {0x1824000, 0x1000, MEMMAP_BAD},
    };
    struct memmap map;
    assert_int_equal(clean_ok(raw, COUNT(raw), &map), 0);
    assert_int_equal(map.region_count, COUNT(raw));
    for (size_t i = 0; i < COUNT(raw); i++) {
        assert_int_equal(map.regions[i].start, raw[i].base);
        assert_int_equal(map.regions[i].type, raw[i].type);
    }
    assert_int_equal(map.usable_bytes, 0xa0000 + 0x700000 + 0x8000 + 0x1000000);
    assert_int_equal(map.lost_to_alignment_bytes, 0);
    assert_string_equal(memmap_type_name(map.regions[6].type), "type 20");
}

/* ---- the rules, one at a time ---------------------------------------------- */

/* OSv lost the memory above 1 GiB exactly at such a boundary. */
static void entries_crossing_big_boundaries_are_kept_whole(void **state)
{
    (void)state;
    static const struct memmap_entry raw[] = {
        {0x80000, 0x100000, RAM},      /* across 1 MiB */
        {0x1ff000, 0x2000, RAM},       /* across 2 MiB */
        {GIB - 0x10000, 0x20000, RAM}, /* across 1 GiB */
        {4 * GIB - MIB, 2 * MIB, RAM}, /* across 4 GiB */
        {2 * MIB - 1, 2, RES},         /* not touching any of them, yet near */
    };
    static const struct memmap_region expected[] = {
        {0x80000, 0x180000, RAM},
        {0x1ff000, 2 * MIB - 1, RAM},
        {2 * MIB - 1, 2 * MIB + 1, RES},
        {2 * MIB + 1, 0x201000, RAM},
        {GIB - 0x10000, GIB + 0x10000, RAM},
        {4 * GIB - MIB, 4 * GIB + MIB, RAM},
    };
    struct memmap map;
    assert_int_equal(clean_ok(raw, COUNT(raw), &map), 0);
    expect_regions(&map, expected, COUNT(expected));
    assert_int_equal(map.usable_bytes, 0x100000 + 0x2000 - 2 + 0x20000 + 2 * MIB);
    uint64_t start, end;
    /* The 2-byte reservation costs both pages around 2 MiB: range 1 is at 1 GiB. */
    assert_true(memmap_page_range(&map, 1, &start, &end));
    assert_int_equal(start, GIB - 0x10000);
    assert_int_equal(end, GIB + 0x10000);
    assert_true(memmap_page_range(&map, 2, &start, &end));
    assert_int_equal(start, 4 * GIB - MIB);
    assert_int_equal(end, 4 * GIB + MIB);
}

static void zero_length_entries_are_ignored_and_counted(void **state)
{
    (void)state;
    static const struct memmap_entry raw[] = {
        {0x5000, 0, RES},
        {0x0, 0x10000, RAM},
        {0x8000, 0, MEMMAP_BAD},
        {0, 0, 0},
    };
    struct memmap map;
    assert_int_equal(clean_ok(raw, COUNT(raw), &map), 0);
    static const struct memmap_region expected[] = {{0x0, 0x10000, RAM}};
    expect_regions(&map, expected, 1);
    assert_int_equal(map.ignored_entries, 3);
}

/* Every order of the same entries gives the same map. */
static void the_order_of_the_entries_does_not_matter(void **state)
{
    (void)state;
    struct memmap sorted, shuffled;
    assert_int_equal(clean_ok(pc_4g_raw, COUNT(pc_4g_raw), &sorted), 0);
    struct memmap_entry raw[COUNT(pc_4g_raw)];
    srand(7);
    for (int round = 0; round < 200; round++) {
        memcpy(raw, pc_4g_raw, sizeof(raw));
        for (size_t i = COUNT(raw) - 1; i > 0; i--) {
            size_t j = (size_t)rand() % (i + 1);
            struct memmap_entry swap = raw[i];
            raw[i] = raw[j];
            raw[j] = swap;
        }
        if (round == 0) { /* and one exactly reversed */
            for (size_t i = 0; i < COUNT(raw); i++)
                raw[i] = pc_4g_raw[COUNT(raw) - 1 - i];
        }
        assert_int_equal(clean_ok(raw, COUNT(raw), &shuffled), 0);
        expect_regions(&shuffled, sorted.regions, sorted.region_count);
        assert_int_equal(shuffled.usable_bytes, sorted.usable_bytes);
        assert_int_equal(shuffled.page_bytes, sorted.page_bytes);
    }
}

static void overlapping_ram_merges(void **state)
{
    (void)state;
    static const struct memmap_entry raw[] = {
        {0x10000, 0x30000, RAM}, {0x0, 0x20000, RAM},
        {0x38000, 0x10000, RAM}, {0x48000, 0x8000, RAM}, /* touching: merges too */
        {0x20000, 0x4000, RAM},                          /* inside */
    };
    struct memmap map;
    assert_int_equal(clean_ok(raw, COUNT(raw), &map), 0);
    static const struct memmap_region expected[] = {{0x0, 0x50000, RAM}};
    expect_regions(&map, expected, 1);
    assert_int_equal(map.usable_bytes, 0x50000);
}

static void reserved_wins_over_ram_in_the_middle(void **state)
{
    (void)state;
    static const struct memmap_entry raw[] = {
        {0x0, 0x100000, RAM},
        {0x40800, 0x800, RES},
    };
    static const struct memmap_region expected[] = {
        {0x0, 0x40800, RAM},
        {0x40800, 0x41000, RES},
        {0x41000, 0x100000, RAM},
    };
    struct memmap map;
    assert_int_equal(clean_ok(raw, COUNT(raw), &map), 0);
    expect_regions(&map, expected, COUNT(expected));
    assert_int_equal(map.usable_bytes, 0x100000 - 0x800);
    /* The page that the reservation shares with RAM is lost, not handed out. */
    assert_int_equal(map.lost_to_alignment_bytes, 0x800);
    uint64_t start, end;
    assert_true(memmap_page_range(&map, 0, &start, &end));
    assert_int_equal(end, 0x40000);
    assert_true(memmap_page_range(&map, 1, &start, &end));
    assert_int_equal(start, 0x41000);
}

static void reserved_wins_over_ram_at_the_edges(void **state)
{
    (void)state;
    static const struct memmap_entry raw[] = {
        {0x10000, 0x10000, RAM}, {0x8000, 0x9000, RES},  /* covers the start of the RAM */
        {0x1f000, 0x4000, RES},                          /* covers its end */
        {0x30000, 0x1000, RAM},  {0x30000, 0x1000, RES}, /* covers all of it */
    };
    static const struct memmap_region expected[] = {
        {0x8000, 0x11000, RES},
        {0x11000, 0x1f000, RAM},
        {0x1f000, 0x23000, RES},
        {0x30000, 0x31000, RES},
    };
    struct memmap map;
    assert_int_equal(clean_ok(raw, COUNT(raw), &map), 0);
    expect_regions(&map, expected, COUNT(expected));
    assert_int_equal(map.usable_bytes, 0xe000);
}

static void duplicates_collapse(void **state)
{
    (void)state;
    static const struct memmap_entry raw[] = {
        {0x0, 0x9fc00, RAM},   {0x9fc00, 0x400, RES}, {0x0, 0x9fc00, RAM},
        {0x9fc00, 0x400, RES}, {0x0, 0x9fc00, RAM},
    };
    static const struct memmap_region expected[] = {{0x0, 0x9fc00, RAM}, {0x9fc00, 0xa0000, RES}};
    struct memmap map;
    assert_int_equal(clean_ok(raw, COUNT(raw), &map), 0);
    expect_regions(&map, expected, COUNT(expected));
    assert_int_equal(map.usable_bytes, 0x9fc00);
    assert_int_equal(map.ignored_entries, 0);
}

/* BAD > ACPI_NVS > RESERVED > unknown types > ACPI_RECLAIMABLE > RAM, and
 * between unknown types the smaller number. */
static void overlaps_follow_the_documented_precedence(void **state)
{
    (void)state;
    static const uint32_t weakest_first[] = {
        MEMMAP_RAM, MEMMAP_ACPI_RECLAIMABLE, 0xffffffff,      20,         7,
        0,          MEMMAP_RESERVED,         MEMMAP_ACPI_NVS, MEMMAP_BAD,
    };
    for (size_t weak = 0; weak < COUNT(weakest_first); weak++) {
        for (size_t strong = weak + 1; strong < COUNT(weakest_first); strong++) {
            /* A covering entry of the weak type, the strong one in its middle, in
             * both orders of input. */
            struct memmap_entry raw[] = {
                {0x0, 0x10000, RAM}, /* so that there is a whole page of RAM */
                {0x100000, 0x3000, weakest_first[weak]},
                {0x101000, 0x1000, weakest_first[strong]},
            };
            for (int order = 0; order < 2; order++) {
                if (order == 1) {
                    struct memmap_entry swap = raw[1];
                    raw[1] = raw[2];
                    raw[2] = swap;
                }
                struct memmap map;
                assert_int_equal(clean_ok(raw, COUNT(raw), &map), 0);
                const struct memmap_region expected[] = {
                    {0x0, 0x10000, RAM},
                    {0x100000, 0x101000, weakest_first[weak]},
                    {0x101000, 0x102000, weakest_first[strong]},
                    {0x102000, 0x103000, weakest_first[weak]},
                };
                expect_regions(&map, expected, COUNT(expected));
            }
        }
    }
}

static void unknown_types_are_kept_and_not_merged_with_others(void **state)
{
    (void)state;
    static const struct memmap_entry raw[] = {
        {0x0, 0x10000, RAM},
        {0x10000, 0x1000, 7},
        {0x11000, 0x1000, 12},
        {0x12000, 0x1000, 12},
        {0x13000, 0x1000, MEMMAP_RESERVED},
        {0x14000, 0x1000, 0},
    };
    static const struct memmap_region expected[] = {
        {0x0, 0x10000, RAM},    {0x10000, 0x11000, 7},
        {0x11000, 0x13000, 12}, {0x13000, 0x14000, MEMMAP_RESERVED},
        {0x14000, 0x15000, 0},
    };
    struct memmap map;
    assert_int_equal(clean_ok(raw, COUNT(raw), &map), 0);
    expect_regions(&map, expected, COUNT(expected));
    assert_int_equal(map.usable_bytes, 0x10000); /* only type 1 is usable */
}

static void unaligned_ram_edges_are_lost_to_alignment(void **state)
{
    (void)state;
    static const struct memmap_entry raw[] = {
        {0x1234, 0x10000, RAM}, /* 0x1234-0x11234: pages 0x2000-0x11000 */
        {0x20001, 0x2fff, RAM}, /* 0x20001-0x23000: pages 0x21000-0x23000 */
        {0x30000, 0x1fff, RAM}, /* 0x30000-0x31fff: page 0x30000-0x31000 */
    };
    struct memmap map;
    assert_int_equal(clean_ok(raw, COUNT(raw), &map), 0);
    assert_int_equal(map.usable_bytes, 0x10000 + 0x2fff + 0x1fff);
    assert_int_equal(map.page_bytes, 0xf000 + 0x2000 + 0x1000);
    assert_int_equal(map.lost_to_alignment_bytes, (0x2000 - 0x1234) + 0x234 + 0xfff + 0xfff);
    static const uint64_t starts[] = {0x2000, 0x21000, 0x30000},
                          ends[] = {0x11000, 0x23000, 0x31000};
    uint64_t start, end;
    for (size_t i = 0; i < 3; i++) {
        assert_true(memmap_page_range(&map, i, &start, &end));
        assert_int_equal(start, starts[i]);
        assert_int_equal(end, ends[i]);
    }
    assert_false(memmap_page_range(&map, 3, &start, &end));
}

static void tiny_ram_regions_give_no_pages(void **state)
{
    (void)state;
    static const struct memmap_entry raw[] = {
        {0x100000, 0x100000, RAM}, {0x0, 0x1000 - 1, RAM}, /* one byte short of a page */
        {0x2800, 0x1000, RAM}, /* a page's worth, across a page boundary */
        {0x5000, 1, RAM},      /* one byte */
        {0x7fff, 2, RAM},      /* two bytes across a boundary */
    };
    struct memmap map;
    assert_int_equal(clean_ok(raw, COUNT(raw), &map), 0);
    assert_int_equal(map.region_count, 5);
    assert_int_equal(map.usable_bytes, 0x100000 + 0xfff + 0x1000 + 1 + 2);
    assert_int_equal(map.page_bytes, 0x100000);
    assert_int_equal(map.lost_to_alignment_bytes, 0xfff + 0x1000 + 1 + 2);
    uint64_t start, end;
    assert_true(memmap_page_range(&map, 0, &start, &end));
    assert_int_equal(start, 0x100000); /* the tiny ones are skipped */
    assert_false(memmap_page_range(&map, 1, &start, &end));
}

/* base + length past 2^64: clipped to end at UINT64_MAX. */
static void entries_past_2_64_are_clipped(void **state)
{
    (void)state;
    static const struct memmap_entry raw[] = {
        {0x0, 0x10000, RAM},
        {UINT64_MAX - 0x2fff, 0x10000, RAM},   /* passes 2^64 */
        {0xffff000000000000, UINT64_MAX, RES}, /* passes 2^64 by far */
        {UINT64_MAX, 5, RAM},                  /* nothing left: ignored */
        {0xfffffffffffff000, 0x1000, RES},     /* ends exactly at 2^64 */
    };
    struct memmap map;
    assert_int_equal(clean_ok(raw, COUNT(raw), &map), 0);
    static const struct memmap_region expected[] = {
        {0x0, 0x10000, RAM},
        {0xffff000000000000, UINT64_MAX, RES},
    };
    expect_regions(&map, expected, COUNT(expected));
    assert_int_equal(map.ignored_entries, 1);
    assert_int_equal(map.usable_bytes, 0x10000);

    /* RAM at the very top: 0x3000 - 1 bytes up to UINT64_MAX, two whole pages. */
    static const struct memmap_entry top[] = {
        {0x0, 0x10000, RAM},
        {UINT64_MAX - 0x2fff, UINT64_MAX, RAM},
    };
    assert_int_equal(clean_ok(top, COUNT(top), &map), 0);
    assert_int_equal(map.regions[1].start, UINT64_MAX - 0x2fff);
    assert_int_equal(map.regions[1].end, UINT64_MAX);
    assert_int_equal(map.usable_bytes, 0x10000 + 0x2fff);
    assert_int_equal(map.page_bytes, 0x10000 + 0x2000);
    assert_int_equal(map.lost_to_alignment_bytes, 0xfff); /* the last page, one byte short */
    uint64_t start, end;
    assert_true(memmap_page_range(&map, 1, &start, &end));
    assert_int_equal(start, 0xffffffffffffd000);
    assert_int_equal(end, 0xfffffffffffff000);
}

static void too_many_entries_are_refused(void **state)
{
    (void)state;
    struct memmap map;
    char error[128];
    /* Worst case for the sweep: 4096 distinct, nested entries. */
    for (size_t i = 0; i < MEMMAP_MAX_RAW_ENTRIES; i++)
        big_input[i] = (struct memmap_entry){
            i * 0x1000, (MEMMAP_MAX_RAW_ENTRIES * 2 - 2 * i) * 0x1000 + 1, i % 7 == 3 ? RES : RAM};
    assert_int_equal(clean(big_input, MEMMAP_MAX_RAW_ENTRIES, &map, error, sizeof(error)), 0);
    big_input[MEMMAP_MAX_RAW_ENTRIES] = (struct memmap_entry){0, 0x100000, RAM};
    assert_int_equal(clean(big_input, MEMMAP_MAX_RAW_ENTRIES + 1, &map, error, sizeof(error)), -1);
    assert_string_equal(error,
                        "the memory map has 4097 entries, more than the 4096 this kernel accepts");
    assert_int_equal(map.region_count, 0);
}

static void nothing_usable_is_an_error(void **state)
{
    (void)state;
    struct memmap map;
    char error[128];
    assert_int_equal(clean(NULL, 0, &map, error, sizeof(error)), -1);
    assert_string_equal(error, "the memory map has no entries");

    static const struct memmap_entry reserved_only[] = {{0x0, 0x100000, RES}, {0x0, 0, RAM}};
    assert_int_equal(clean(reserved_only, COUNT(reserved_only), &map, error, sizeof(error)), -1);
    assert_string_equal(error,
                        "no usable RAM: none of the 2 entries leaves a byte of RAM (type 1)");
    assert_int_equal(map.region_count, 1); /* still filled in, for display */
    assert_int_equal(map.ignored_entries, 1);

    static const struct memmap_entry covered[] = {{0x1000, 0x2000, RAM},
                                                  {0x0, 0x10000, MEMMAP_BAD}};
    assert_int_equal(clean(covered, COUNT(covered), &map, error, sizeof(error)), -1);

    static const struct memmap_entry crumbs[] = {{0x800, 0x1000, RAM}, {0x2001, 0x10, RAM}};
    assert_int_equal(clean(crumbs, COUNT(crumbs), &map, error, sizeof(error)), -1);
    assert_string_equal(error, "only 4112 bytes of RAM, and not one whole 4096-byte page in them");
    assert_int_equal(map.usable_bytes, 0x1010);
    assert_int_equal(map.lost_to_alignment_bytes, 0x1010);

    static const struct memmap_entry all_empty[] = {{0x1000, 0, RAM}, {UINT64_MAX, 9, RAM}};
    assert_int_equal(clean(all_empty, COUNT(all_empty), &map, error, sizeof(error)), -1);
    assert_int_equal(map.ignored_entries, 2);
    assert_int_equal(map.region_count, 0);

    /* A small buffer gets a cut message; no buffer at all is fine too. */
    char small[8];
    assert_int_equal(clean(covered, COUNT(covered), &map, small, sizeof(small)), -1);
    assert_string_equal(small, "no usab");
    assert_int_equal(clean(covered, COUNT(covered), &map, NULL, 0), -1);
}

static void more_than_max_regions_are_truncated(void **state)
{
    (void)state;
    struct memmap map;
    char error[128];
    const size_t count = MEMMAP_MAX_REGIONS + 20;
    for (size_t i = 0; i < count; i++) /* alternating RAM and reserved, touching */
        big_input[count - 1 - i] = (struct memmap_entry){i * 0x3000, 0x3000, i % 2 ? RES : RAM};
    assert_int_equal(clean(big_input, count, &map, error, sizeof(error)), 0);
    assert_true(map.truncated);
    assert_int_equal(map.region_count, MEMMAP_MAX_REGIONS);
    assert_int_equal(map.regions[MEMMAP_MAX_REGIONS - 1].end, MEMMAP_MAX_REGIONS * 0x3000);
    /* Only what was kept is counted: 64 RAM regions of 3 pages. */
    assert_int_equal(map.usable_bytes, MEMMAP_MAX_REGIONS / 2 * 0x3000);
    assert_string_equal(error, "more than 128 regions in the memory map: everything from 0x180000 "
                               "up is ignored");

    /* Exactly MEMMAP_MAX_REGIONS is fine; so are more entries that merge. */
    assert_int_equal(clean(big_input + 20, MEMMAP_MAX_REGIONS, &map, error, sizeof(error)), 0);
    assert_false(map.truncated);
    assert_string_equal(error, "");
    for (size_t i = 0; i < count; i++)
        big_input[i] = (struct memmap_entry){i * 0x3000, 0x3000, RAM};
    assert_int_equal(clean(big_input, count, &map, error, sizeof(error)), 0);
    assert_int_equal(map.region_count, 1);
    assert_int_equal(map.usable_bytes, count * 0x3000);
}

static void type_names(void **state)
{
    (void)state;
    assert_string_equal(memmap_type_name(MEMMAP_RAM), "RAM");
    assert_string_equal(memmap_type_name(MEMMAP_RESERVED), "reserved");
    assert_string_equal(memmap_type_name(MEMMAP_ACPI_RECLAIMABLE), "ACPI reclaimable");
    assert_string_equal(memmap_type_name(MEMMAP_ACPI_NVS), "ACPI NVS");
    assert_string_equal(memmap_type_name(MEMMAP_BAD), "bad");
    assert_string_equal(memmap_type_name(0), "type 0");
    assert_string_equal(memmap_type_name(20), "type 20");
    const char *seven = memmap_type_name(7); /* two names at once stay intact */
    assert_string_equal(memmap_type_name(31), "type 31");
    assert_string_equal(seven, "type 7");
    assert_string_equal(memmap_type_name(32), "other");
    assert_string_equal(memmap_type_name(UINT32_MAX), "other");
}

/* ---- randomized comparison with a brute-force reference -------------------- */

/*
 * The reference: a window of WINDOW_BYTES at some base address, cut into
 * GRANULE-byte granules; every entry starts and ends on a granule boundary (or
 * at UINT64_MAX), so a granule has one type, found by looking at every entry
 * that covers it. That is slow and obviously right.
 */
#define GRANULE 256u
#define WINDOW_BYTES (32 * PAGE_SIZE)
#define GRANULES (WINDOW_BYTES / GRANULE)
#define NO_TYPE UINT64_MAX

/* The precedence of memmap.h, written independently: a bigger key wins. */
static uint64_t reference_key(uint32_t type)
{
    static const unsigned rank[] = {[1] = 0, [3] = 1, [2] = 3, [4] = 4, [5] = 5};
    unsigned r = type >= 1 && type <= 5 ? rank[type] : 2;
    return ((uint64_t)r << 32) | (UINT32_MAX - type);
}

static uint64_t random_u64(void)
{
    return ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^ (uint64_t)rand();
}

struct reference {
    uint64_t type[GRANULES]; /* NO_TYPE, or the winning type */
    uint64_t usable_bytes, page_bytes;
    uint64_t page_starts[GRANULES], page_ends[GRANULES];
    size_t page_range_count;
    unsigned ignored;
};

static uint64_t granule_end(uint64_t base, size_t g)
{
    uint64_t start = base + g * GRANULE;
    return start > UINT64_MAX - GRANULE ? UINT64_MAX : start + GRANULE;
}

static void build_reference(const struct memmap_entry *raw, size_t count, uint64_t base,
                            struct reference *ref)
{
    memset(ref, 0, sizeof(*ref));
    for (size_t g = 0; g < GRANULES; g++)
        ref->type[g] = NO_TYPE;
    for (size_t i = 0; i < count; i++) {
        uint64_t end =
            raw[i].length > UINT64_MAX - raw[i].base ? UINT64_MAX : raw[i].base + raw[i].length;
        if (end <= raw[i].base) {
            ref->ignored++;
            continue;
        }
        for (size_t g = 0; g < GRANULES; g++) {
            uint64_t start = base + g * GRANULE;
            if (start < raw[i].base || start >= end)
                continue;
            if (ref->type[g] == NO_TYPE ||
                reference_key(raw[i].type) > reference_key((uint32_t)ref->type[g]))
                ref->type[g] = raw[i].type;
        }
    }
    /* Runs of RAM granules, clipped inward to pages. */
    for (size_t g = 0; g < GRANULES;) {
        if (ref->type[g] != RAM) {
            g++;
            continue;
        }
        uint64_t run_start = base + g * GRANULE, run_end = run_start;
        while (g < GRANULES && ref->type[g] == RAM)
            run_end = granule_end(base, g++);
        ref->usable_bytes += run_end - run_start;
        uint64_t first =
            run_start % PAGE_SIZE ? run_start - run_start % PAGE_SIZE + PAGE_SIZE : run_start;
        if (run_start % PAGE_SIZE &&
            run_start - run_start % PAGE_SIZE == UINT64_MAX - (PAGE_SIZE - 1))
            continue;
        uint64_t last = run_end - run_end % PAGE_SIZE;
        if (first < last) {
            ref->page_starts[ref->page_range_count] = first;
            ref->page_ends[ref->page_range_count++] = last;
            ref->page_bytes += last - first;
        }
    }
}

static uint32_t random_type(void)
{
    static const uint32_t types[] = {RAM,
                                     RAM,
                                     RAM,
                                     RAM,
                                     RAM,
                                     RAM,
                                     RAM,
                                     RAM,
                                     RES,
                                     RES,
                                     MEMMAP_ACPI_RECLAIMABLE,
                                     MEMMAP_ACPI_NVS,
                                     MEMMAP_BAD,
                                     0,
                                     7,
                                     20,
                                     UINT32_MAX};
    return types[(size_t)rand() % COUNT(types)];
}

static void random_maps_match_a_brute_force_reference(void **state)
{
    (void)state;
    /* Windows at 0, across 4 GiB, and at the very top (where lengths overflow). */
    static const uint64_t bases[] = {0, 4 * GIB - WINDOW_BYTES / 2, (uint64_t)0 - WINDOW_BYTES};
    static struct reference ref;
    static struct memmap map;
    struct memmap_entry raw[40];
    srand(12345);
    unsigned failures_expected = 0, checked = 0;
    for (int round = 0; round < 20000; round++) {
        uint64_t base = bases[(size_t)rand() % COUNT(bases)];
        bool top = base == (uint64_t)0 - WINDOW_BYTES;
        size_t count = (size_t)rand() % (COUNT(raw) + 1);
        for (size_t i = 0; i < count; i++) {
            size_t first = (size_t)rand() % GRANULES;
            size_t max_length = GRANULES - first;
            /* Long (anything up to the window's end), page-sized, or short. */
            int kind = rand() % 32;
            size_t limit = kind == 0 ? max_length : kind < 8 ? 2 * PAGE_SIZE / GRANULE : 6;
            size_t length = (size_t)rand() % ((limit < max_length ? limit : max_length) + 1);
            raw[i] = (struct memmap_entry){base + first * GRANULE, length * GRANULE, random_type()};
            if (top && rand() % 8 == 0) /* past 2^64 */
                raw[i].length = rand() % 2 ? UINT64_MAX : random_u64() | (1ull << 63);
            if (i == 0 && rand() % 2) { /* RAM over most of the window, as in real maps */
                size_t from = (size_t)rand() % (PAGE_SIZE / GRANULE);
                size_t to = GRANULES - (size_t)rand() % (PAGE_SIZE / GRANULE);
                raw[i] = (struct memmap_entry){base + from * GRANULE, (to - from) * GRANULE, RAM};
            }
            if (rand() % 50 == 0)
                raw[i] = (struct memmap_entry){UINT64_MAX, (uint64_t)rand() % 3, random_type()};
        }
        build_reference(raw, count, base, &ref);
        char error[160];
        int status = memmap_clean(raw, count, &map, error, sizeof(error));
        check_invariants(&map);
        assert_int_equal(status, ref.page_bytes == 0 ? -1 : 0);
        failures_expected += status != 0;
        assert_int_equal(map.ignored_entries, ref.ignored);
        assert_false(map.truncated);
        assert_int_equal(map.usable_bytes, ref.usable_bytes);
        assert_int_equal(map.page_bytes, ref.page_bytes);

        /* Types per granule: walk regions and granules together. */
        size_t r = 0;
        for (size_t g = 0; g < GRANULES; g++) {
            uint64_t start = base + g * GRANULE;
            while (r < map.region_count && map.regions[r].end <= start)
                r++;
            bool inside = r < map.region_count && map.regions[r].start <= start;
            if (inside) {
                assert_int_equal(map.regions[r].type, ref.type[g]);
                assert_true(map.regions[r].end >= granule_end(base, g));
            } else {
                assert_true(ref.type[g] == NO_TYPE);
                assert_true(r == map.region_count || map.regions[r].start >= granule_end(base, g));
            }
            checked++;
        }
        /* Nothing outside the window (or the top's clipped end). */
        if (map.region_count > 0) {
            assert_true(map.regions[0].start >= base);
            assert_true(map.regions[map.region_count - 1].end - base <= WINDOW_BYTES);
        }

        /* Page ranges exactly as the reference computes them. */
        uint64_t page_start, page_end;
        for (size_t i = 0; i < ref.page_range_count; i++) {
            assert_true(memmap_page_range(&map, i, &page_start, &page_end));
            assert_int_equal(page_start, ref.page_starts[i]);
            assert_int_equal(page_end, ref.page_ends[i]);
        }
        assert_false(memmap_page_range(&map, ref.page_range_count, &page_start, &page_end));
    }
    /* The generator reaches both outcomes. */
    print_message("%u of 20000 maps had no whole page of RAM\n", failures_expected);
    assert_true(failures_expected > 100);
    assert_true(failures_expected < 15000);
    assert_int_equal(checked, 20000u * GRANULES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pc_128m),
        cmocka_unit_test(pc_3m),
        cmocka_unit_test(pc_4g),
        cmocka_unit_test(pc_8g_with_hypertransport_hole),
        cmocka_unit_test(q35_4g),
        cmocka_unit_test(uefi_style_types_are_kept),
        cmocka_unit_test(entries_crossing_big_boundaries_are_kept_whole),
        cmocka_unit_test(zero_length_entries_are_ignored_and_counted),
        cmocka_unit_test(the_order_of_the_entries_does_not_matter),
        cmocka_unit_test(overlapping_ram_merges),
        cmocka_unit_test(reserved_wins_over_ram_in_the_middle),
        cmocka_unit_test(reserved_wins_over_ram_at_the_edges),
        cmocka_unit_test(duplicates_collapse),
        cmocka_unit_test(overlaps_follow_the_documented_precedence),
        cmocka_unit_test(unknown_types_are_kept_and_not_merged_with_others),
        cmocka_unit_test(unaligned_ram_edges_are_lost_to_alignment),
        cmocka_unit_test(tiny_ram_regions_give_no_pages),
        cmocka_unit_test(entries_past_2_64_are_clipped),
        cmocka_unit_test(too_many_entries_are_refused),
        cmocka_unit_test(nothing_usable_is_an_error),
        cmocka_unit_test(more_than_max_regions_are_truncated),
        cmocka_unit_test(type_names),
        cmocka_unit_test(random_maps_match_a_brute_force_reference),
    };
    return RUN_AND_REPORT(tests);
}
