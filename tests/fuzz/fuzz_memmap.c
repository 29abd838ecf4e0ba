/*
 * fuzz_memmap.c: libFuzzer target for mm/memmap.c, the cleaning of the
 * firmware memory map.
 *
 * The input is an array of 20-byte raw entries, little-endian:
 *     u64 base, u64 length, u32 type
 * (a trailing partial entry is ignored). Every invariant that mm/memmap.h
 * promises is checked; a violation traps.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mm/memmap.h"

#define RAW_ENTRY_BYTES 20
#define MAX_FUZZ_ENTRIES (MEMMAP_MAX_RAW_ENTRIES + 8) /* a few past the limit, to test it */

#define CHECK(condition)                                                                           \
    do {                                                                                           \
        if (!(condition))                                                                          \
            __builtin_trap();                                                                      \
    } while (0)

static uint64_t read_le64(const uint8_t *bytes)
{
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--)
        value = (value << 8) | bytes[i];
    return value;
}

static uint32_t read_le32(const uint8_t *bytes)
{
    uint32_t value = 0;
    for (int i = 3; i >= 0; i--)
        value = (value << 8) | bytes[i];
    return value;
}

static uint64_t clipped_end(const struct memmap_entry *entry)
{
    return entry->length > UINT64_MAX - entry->base ? UINT64_MAX : entry->base + entry->length;
}

/*
 * The oracle: written from the rule that mm/memmap.h states, sharing no code or
 * table with mm/memmap.c (no spec says which type wins where firmware entries
 * overlap; the rule is the one memmap.h documents):
 *
 *     BAD > ACPI_NVS > RESERVED > unknown types > ACPI_RECLAIMABLE > RAM,
 *     and between two unknown types, the smaller number wins.
 *
 * The list below is that sentence, strongest first; UNKNOWN stands for every
 * type the list does not name.
 */
#define UNKNOWN 0u
static const uint32_t strongest_first[] = {MEMMAP_BAD, MEMMAP_ACPI_NVS,         MEMMAP_RESERVED,
                                           UNKNOWN,    MEMMAP_ACPI_RECLAIMABLE, MEMMAP_RAM};

static size_t place_in_rule(uint32_t type)
{
    for (size_t i = 0; i < sizeof(strongest_first) / sizeof(strongest_first[0]); i++)
        if (strongest_first[i] == type && type != UNKNOWN)
            return i;
    return 3; /* the place of UNKNOWN */
}

/* Does type a win a byte over type b? */
static bool wins_over(uint32_t a, uint32_t b)
{
    size_t place_a = place_in_rule(a), place_b = place_in_rule(b);
    return place_a != place_b ? place_a < place_b : a < b;
}

/* The winning type of one address, found the slow way: every entry that
 * covers it. false if no entry covers it. */
static bool type_at(const struct memmap_entry *raw, size_t count, uint64_t address, uint32_t *type)
{
    bool covered = false;
    for (size_t i = 0; i < count; i++) {
        if (raw[i].base > address || clipped_end(&raw[i]) <= address)
            continue;
        if (!covered || wins_over(raw[i].type, *type))
            *type = raw[i].type;
        covered = true;
    }
    return covered;
}

/*
 * The whole cleaned map, brute force: every entry edge is a boundary; between
 * two boundaries every byte has the same type (type_at of the first); adjacent
 * pieces of one type join. For inputs of up to ORACLE_MAX_ENTRIES entries
 * (O(n^2)); the checks further down cover larger ones at every boundary.
 */
#define ORACLE_MAX_ENTRIES 256
static uint64_t edges[2 * ORACLE_MAX_ENTRIES];
static struct memmap_region expected[2 * ORACLE_MAX_ENTRIES];

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static size_t oracle_regions(const struct memmap_entry *raw, size_t count)
{
    size_t edge_count = 0, regions = 0;
    for (size_t i = 0; i < count; i++) {
        edges[edge_count++] = raw[i].base;
        edges[edge_count++] = clipped_end(&raw[i]);
    }
    qsort(edges, edge_count, sizeof(edges[0]), compare_u64);
    for (size_t i = 0; i + 1 < edge_count; i++) {
        uint64_t start = edges[i], end = edges[i + 1];
        uint32_t type;
        if (start == end || !type_at(raw, count, start, &type))
            continue;
        if (regions > 0 && expected[regions - 1].end == start && expected[regions - 1].type == type)
            expected[regions - 1].end = end;
        else
            expected[regions++] = (struct memmap_region){start, end, type};
    }
    return regions;
}

static struct memmap_entry raw[MAX_FUZZ_ENTRIES];
static struct memmap map;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t count = size / RAW_ENTRY_BYTES;
    if (count > MAX_FUZZ_ENTRIES)
        count = MAX_FUZZ_ENTRIES;
    unsigned empty = 0;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *bytes = data + i * RAW_ENTRY_BYTES;
        raw[i].base = read_le64(bytes);
        raw[i].length = read_le64(bytes + 8);
        raw[i].type = read_le32(bytes + 16);
        empty += raw[i].length == 0 || clipped_end(&raw[i]) == raw[i].base;
    }

    char error[96];
    memset(error, 'x', sizeof(error));
    int status = memmap_clean(raw, count, &map, error, sizeof(error));
    CHECK(status == 0 || status == -1);
    CHECK(memchr(error, '\0', sizeof(error)) != NULL);
    if (count == 0 || count > MEMMAP_MAX_RAW_ENTRIES) {
        CHECK(status == -1 && map.region_count == 0 && error[0] != '\0');
        return 0;
    }
    CHECK(map.ignored_entries == empty);
    CHECK((status == 0) == (map.page_bytes > 0));
    CHECK(status == 0 ? (error[0] != '\0') == map.truncated : error[0] != '\0');

    /* The brute-force map, region for region (up to where a truncated map stops). */
    if (count <= ORACLE_MAX_ENTRIES) {
        size_t want = oracle_regions(raw, count);
        CHECK(map.truncated ? want > MEMMAP_MAX_REGIONS : want == map.region_count);
        for (size_t i = 0; i < map.region_count; i++)
            CHECK(map.regions[i].start == expected[i].start &&
                  map.regions[i].end == expected[i].end && map.regions[i].type == expected[i].type);
    }

    /* Regions: sorted, disjoint, merged, each of the type the entries give it
     * (checked at its first and last byte and around it). */
    CHECK(map.region_count <= MEMMAP_MAX_REGIONS);
    uint64_t usable = 0, pages = 0;
    size_t ranges_with_pages = 0;
    for (size_t i = 0; i < map.region_count; i++) {
        const struct memmap_region *region = &map.regions[i];
        uint32_t type = 0;
        CHECK(region->start < region->end);
        if (i > 0) {
            CHECK(map.regions[i - 1].end <= region->start);
            CHECK(map.regions[i - 1].end < region->start ||
                  map.regions[i - 1].type != region->type);
        }
        CHECK(type_at(raw, count, region->start, &type) && type == region->type);
        CHECK(type_at(raw, count, region->end - 1, &type) && type == region->type);
        /* Just below a region: another region's type, or a hole. */
        if (region->start > 0 && (i == 0 || map.regions[i - 1].end < region->start))
            CHECK(!type_at(raw, count, region->start - 1, &type));
        if (region->type != MEMMAP_RAM)
            continue;
        usable += region->end - region->start;
        if (region->start <= UINT64_MAX - (PAGE_SIZE - 1)) {
            uint64_t first = (region->start + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
            uint64_t last = region->end & ~(uint64_t)(PAGE_SIZE - 1);
            if (first < last) {
                pages += last - first;
                ranges_with_pages++;
            }
        }
    }
    /* Types only change at entry boundaries, so checking the type at every
     * boundary checks every byte: inside a region it must be the region's type;
     * outside every region (and below where a truncated map stops) a hole. */
    uint64_t kept_below = map.truncated ? map.regions[MEMMAP_MAX_REGIONS - 1].end : UINT64_MAX;
    for (size_t i = 0; i < 2 * count; i++) {
        const struct memmap_entry *entry = &raw[i / 2];
        uint64_t boundary = i % 2 ? clipped_end(entry) : entry->base;
        if (boundary == UINT64_MAX || boundary >= kept_below)
            continue;
        size_t r = 0;
        while (r < map.region_count && map.regions[r].end <= boundary)
            r++;
        uint32_t type = 0;
        if (r < map.region_count && map.regions[r].start <= boundary)
            CHECK(type_at(raw, count, boundary, &type) && type == map.regions[r].type);
        else
            CHECK(!type_at(raw, count, boundary, &type));
    }
    /* Not truncated: nothing above the last region. */
    if (!map.truncated && map.region_count > 0) {
        uint32_t type;
        uint64_t top = map.regions[map.region_count - 1].end;
        CHECK(top == UINT64_MAX || !type_at(raw, count, top, &type));
    }
    if (map.truncated)
        CHECK(map.region_count == MEMMAP_MAX_REGIONS);
    CHECK(map.usable_bytes == usable);
    CHECK(map.page_bytes == pages);
    CHECK(map.usable_bytes == map.page_bytes + map.lost_to_alignment_bytes);

    /* Page ranges: aligned, sorted, each inside a RAM region, adding up. */
    uint64_t start, end, previous_end = 0, total = 0;
    size_t index = 0, region = 0;
    for (; memmap_page_range(&map, index, &start, &end); index++) {
        CHECK(start % PAGE_SIZE == 0 && end % PAGE_SIZE == 0 && start < end);
        CHECK(index == 0 || previous_end <= start);
        while (region < map.region_count && map.regions[region].end < end)
            region++;
        CHECK(region < map.region_count);
        CHECK(map.regions[region].type == MEMMAP_RAM && map.regions[region].start <= start);
        previous_end = end;
        total += end - start;
    }
    CHECK(index == ranges_with_pages);
    CHECK(total == map.page_bytes);

    /* The type names never fail. */
    for (size_t i = 0; i < map.region_count; i++)
        CHECK(memmap_type_name(map.regions[i].type)[0] != '\0');
    return 0;
}
