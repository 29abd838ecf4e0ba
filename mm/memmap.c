/*
 * memmap.c: see memmap.h.
 *
 * The whole cleaning is one sweep up the address space. Cut the address space
 * at every entry's start and end: between two neighbouring cuts nothing
 * changes, so every byte of such an "elementary interval" is covered by the
 * same entries and gets the same type, the one that ranks highest among them.
 * The sweep visits the intervals from the lowest address up, so the regions
 * come out sorted without any sorting, and a region that continues the last
 * one with the same type simply extends it (that is the merge).
 *
 * Each step of the sweep is one pass over all entries that finds both the
 * next cut above the current position and the entries that cover the
 * position. With n entries there are at most 2n cuts, so the work is O(n^2)
 * and needs no memory besides *out: for a real map of ten entries that is a
 * few hundred steps, and MEMMAP_MAX_RAW_ENTRIES bounds the worst case.
 */
#include "mm/memmap.h"

#include "lib/boot_only.h"
#include "lib/format.h"
#include "lib/string.h"

#define MEMMAP_PAGE_MASK ((uint64_t)PAGE_SIZE - 1)

/* Where an entry ends (exclusive): base + length, or UINT64_MAX if that would
 * pass 2^64 (see "The end of the address space" in memmap.h). */
static uint64_t entry_end(const struct memmap_entry *entry)
{
    if (entry->length > UINT64_MAX - entry->base)
        return UINT64_MAX;
    return entry->base + entry->length;
}

/* True if an entry describes no byte at all: zero bytes long, or starting at
 * UINT64_MAX, where clipping leaves nothing. */
static bool entry_is_empty(const struct memmap_entry *entry)
{
    return entry->length == 0 || entry_end(entry) == entry->base;
}

/* The rank of a type when entries overlap: the higher rank wins the byte.
 * Anything not RAM beats RAM; among the rest, the more a type says "never
 * touch", the higher it ranks. */
static unsigned type_rank(uint32_t type)
{
    switch (type) {
    case MEMMAP_RAM:
        return 0;
    case MEMMAP_ACPI_RECLAIMABLE:
        return 1;
    case MEMMAP_RESERVED:
        return 3;
    case MEMMAP_ACPI_NVS:
        return 4;
    case MEMMAP_BAD:
        return 5;
    default: /* unknown: treated as reserved, but a known "reserved" beats it */
        return 2;
    }
}

/* True if type a wins a byte that type b also claims. A total order: between
 * two unknown types (equal rank), the smaller number wins. */
static bool type_beats(uint32_t a, uint32_t b)
{
    if (type_rank(a) != type_rank(b))
        return type_rank(a) > type_rank(b);
    return a < b;
}

/* The whole pages inside [start, end): [*page_start, *page_end), rounded
 * inward. False if not even one whole page fits. */
static bool whole_pages(uint64_t start, uint64_t end, uint64_t *page_start, uint64_t *page_end)
{
    uint64_t first = start & ~MEMMAP_PAGE_MASK;
    if (first != start) {
        if (first > UINT64_MAX - PAGE_SIZE) /* the last page of the address space */
            return false;
        first += PAGE_SIZE;
    }
    uint64_t last = end & ~MEMMAP_PAGE_MASK;
    if (first >= last)
        return false;
    *page_start = first;
    *page_end = last;
    return true;
}

/* Adds [start, end) of type to the end of the map, merging it into the last
 * region if it continues it with the same type. False if the map is full. */
static bool append_region(struct memmap *map, uint64_t start, uint64_t end, uint32_t type)
{
    if (map->region_count > 0) {
        struct memmap_region *last = &map->regions[map->region_count - 1];
        if (last->end == start && last->type == type) {
            last->end = end;
            return true;
        }
    }
    if (map->region_count == MEMMAP_MAX_REGIONS)
        return false;
    map->regions[map->region_count++] = (struct memmap_region){start, end, type};
    return true;
}

/*
 * The sweep (see the top of this file), from position, the lowest start of
 * any entry. Returns false if the map filled up; *dropped_from is then the
 * start of the first region that did not fit.
 */
static bool sweep(const struct memmap_entry *raw, size_t raw_count, uint64_t position,
                  struct memmap *map, uint64_t *dropped_from)
{
    for (;;) {
        /* One pass: the next cut above position, and the winning type among
         * the entries that cover position (start <= position < end). */
        bool has_next = false, covered = false;
        uint64_t next = 0;
        uint32_t winner = 0;
        for (size_t i = 0; i < raw_count; i++) {
            if (entry_is_empty(&raw[i]))
                continue;
            uint64_t start = raw[i].base, end = entry_end(&raw[i]);
            uint64_t cut;
            if (start > position) {
                cut = start; /* not there yet */
            } else if (end > position) {
                cut = end; /* covers position */
                if (!covered || type_beats(raw[i].type, winner))
                    winner = raw[i].type;
                covered = true;
            } else {
                continue; /* behind us */
            }
            if (!has_next || cut < next)
                next = cut;
            has_next = true;
        }
        if (!has_next)
            return true; /* every entry ends at or below position */
        /* No cut lies inside [position, next), so the winner holds for all of
         * it. Uncovered intervals are holes in the map: no region. */
        if (covered && !append_region(map, position, next, winner)) {
            *dropped_from = position;
            return false;
        }
        position = next; /* next > position: the sweep always moves up */
    }
}

BOOT_ONLY int memmap_clean(const struct memmap_entry *raw, size_t raw_count, struct memmap *out,
                           char *error, size_t error_size)
{
    memset(out, 0, sizeof(*out));
    if (error && error_size > 0)
        error[0] = '\0';
    if (raw_count == 0 || !raw) {
        ksnprintf(error, error ? error_size : 0, "the memory map has no entries");
        return -1;
    }
    if (raw_count > MEMMAP_MAX_RAW_ENTRIES) {
        ksnprintf(error, error ? error_size : 0,
                  "the memory map has %zu entries, more than the %d this kernel accepts", raw_count,
                  MEMMAP_MAX_RAW_ENTRIES);
        return -1;
    }

    /* Count the entries that describe nothing; find the lowest start. */
    bool any = false;
    uint64_t lowest = 0;
    for (size_t i = 0; i < raw_count; i++) {
        if (entry_is_empty(&raw[i])) {
            out->ignored_entries++;
        } else if (!any || raw[i].base < lowest) {
            lowest = raw[i].base;
            any = true;
        }
    }

    uint64_t dropped_from = 0;
    if (any && !sweep(raw, raw_count, lowest, out, &dropped_from)) {
        out->truncated = true;
        ksnprintf(error, error ? error_size : 0,
                  "more than %d regions in the memory map: everything from %#llx up is ignored",
                  MEMMAP_MAX_REGIONS, (unsigned long long)dropped_from);
    }

    /* The accounting. RAM regions are disjoint and below 2^64, so no sum can
     * overflow. */
    for (size_t i = 0; i < out->region_count; i++) {
        const struct memmap_region *region = &out->regions[i];
        uint64_t page_start, page_end;
        if (region->type != MEMMAP_RAM)
            continue;
        out->usable_bytes += region->end - region->start;
        if (whole_pages(region->start, region->end, &page_start, &page_end))
            out->page_bytes += page_end - page_start;
    }
    out->lost_to_alignment_bytes = out->usable_bytes - out->page_bytes;

    if (out->page_bytes == 0) {
        if (out->usable_bytes == 0)
            ksnprintf(error, error ? error_size : 0,
                      "no usable RAM: none of the %zu entries leaves a byte of RAM (type 1)",
                      raw_count);
        else
            ksnprintf(error, error ? error_size : 0,
                      "only %llu bytes of RAM, and not one whole %u-byte page in them",
                      (unsigned long long)out->usable_bytes, PAGE_SIZE);
        return -1;
    }
    return 0;
}

BOOT_ONLY bool memmap_page_range(const struct memmap *map, size_t index, uint64_t *start,
                                 uint64_t *end)
{
    size_t found = 0;
    for (size_t i = 0; i < map->region_count; i++) {
        const struct memmap_region *region = &map->regions[i];
        uint64_t page_start, page_end;
        if (region->type != MEMMAP_RAM ||
            !whole_pages(region->start, region->end, &page_start, &page_end))
            continue;
        if (found == index) {
            *start = page_start;
            *end = page_end;
            return true;
        }
        found++;
    }
    return false;
}

const char *memmap_type_name(uint32_t type)
{
    /* Constant strings, so that two names can be printed in one call. */
    static const char *const numbered[32] = {
        "type 0",  "type 1",  "type 2",  "type 3",  "type 4",  "type 5",  "type 6",  "type 7",
        "type 8",  "type 9",  "type 10", "type 11", "type 12", "type 13", "type 14", "type 15",
        "type 16", "type 17", "type 18", "type 19", "type 20", "type 21", "type 22", "type 23",
        "type 24", "type 25", "type 26", "type 27", "type 28", "type 29", "type 30", "type 31",
    };
    switch (type) {
    case MEMMAP_RAM:
        return "RAM";
    case MEMMAP_RESERVED:
        return "reserved";
    case MEMMAP_ACPI_RECLAIMABLE:
        return "ACPI reclaimable";
    case MEMMAP_ACPI_NVS:
        return "ACPI NVS";
    case MEMMAP_BAD:
        return "bad";
    default:
        return type < 32 ? numbered[type] : "other";
    }
}
