/*
 * memmap.h: cleaning the firmware's memory map.
 *
 * The boot loader hands over the firmware's e820 map (multiboot2 tag 6) as raw
 * entries {base, length, type}. Nothing promises that they are sorted, that
 * they do not overlap, that none is a duplicate or zero bytes long, or even
 * that base + length fits in 64 bits. memmap_clean() turns them into what the
 * rest of the kernel relies on:
 *
 *   - a sorted list of disjoint regions, one type per byte, where
 *     overlapping entries were settled by a fixed precedence (see below);
 *   - the RAM in whole 4 KiB pages (memmap_page_range), which is all the page
 *     allocator can use;
 *   - the byte counts of the memory accounting: every usable byte is either
 *     in a whole page or "lost to alignment", so that
 *         usable_bytes == page_bytes + lost_to_alignment_bytes, to the byte.
 *
 * Overlaps: when several entries cover the same byte, the byte gets the type
 * that ranks highest here (anything that is not RAM beats RAM, so that no
 * byte a firmware has doubts about is ever handed out):
 *
 *     BAD  >  ACPI_NVS  >  RESERVED  >  unknown types  >  ACPI_RECLAIMABLE  >  RAM
 *
 * and between two unknown types, the smaller number wins. The order of the
 * entries in the input never matters.
 *
 * The end of the address space: a region is [start, end) with a 64-bit end,
 * so the last representable end is UINT64_MAX (2^64 - 1) and the very last
 * byte, at address 2^64 - 1, can never be described. An entry whose
 * base + length passes 2^64 is clipped to end at UINT64_MAX; no real machine
 * has memory up there, so nothing is lost.
 *
 * Portable (builds into the kernel and on the host); no dynamic memory, no
 * static state: memmap_clean() is reentrant.
 */
#ifndef MM_MEMMAP_H
#define MM_MEMMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef PAGE_SIZE
#define PAGE_SIZE 4096u /* bytes in a page: the unit of the page allocator */
#endif

/* The most regions a cleaned map holds. Real maps have 7 to 20. */
#define MEMMAP_MAX_REGIONS 128

/* The most raw entries memmap_clean() accepts. The work is O(n^2) in the
 * number of entries (about 33 million small steps at this limit), so the limit
 * is what keeps a hostile or corrupt map from stalling the boot. */
#define MEMMAP_MAX_RAW_ENTRIES 4096

/* The e820 / multiboot2 memory types. */
enum memmap_type {
    MEMMAP_RAM = 1,              /* usable RAM: the only type the page allocator gets */
    MEMMAP_RESERVED = 2,         /* in use by the firmware or a device (ROM, MMIO, EBDA...) */
    MEMMAP_ACPI_RECLAIMABLE = 3, /* ACPI tables; RAM once the tables have been read */
    MEMMAP_ACPI_NVS = 4,         /* ACPI non-volatile storage: must survive sleep, never touch */
    MEMMAP_BAD = 5,              /* RAM found defective */
    /* Any other value (GRUB passes 20 under UEFI, for instance) is treated as
     * reserved, and kept as given so that it can be displayed. */
};

/* One entry of the firmware's map, as given: any base, any length (even 0, even
 * past 2^64), any type. */
struct memmap_entry {
    uint64_t base;   /* first byte */
    uint64_t length; /* bytes */
    uint32_t type;   /* an enum memmap_type value, or anything else */
};

/* One region of the cleaned map: the bytes [start, end), all of one type.
 * Invariant: start < end. */
struct memmap_region {
    uint64_t start; /* first byte */
    uint64_t end;   /* one past the last byte (exclusive); at most UINT64_MAX */
    uint32_t type;  /* the type that won for these bytes (see the precedence above) */
};

/* The cleaned map, as memmap_clean() fills it in. */
struct memmap {
    /* regions[0 .. region_count - 1]. Invariants: sorted by start; disjoint
     * (regions[i].end <= regions[i + 1].start); two regions of the same type
     * never touch (regions[i].end == regions[i + 1].start implies different
     * types), because adjacent regions of one type are merged. Addresses that no
     * region covers are holes: not RAM, and the firmware said nothing of them. */
    struct memmap_region regions[MEMMAP_MAX_REGIONS];
    size_t region_count;

    /* Bytes of RAM in regions[] (the sum of the lengths of the MEMMAP_RAM
     * regions), once overlaps are resolved: the "usable" total of the memory
     * accounting. */
    uint64_t usable_bytes;
    /* Bytes of RAM in whole 4 KiB pages: the sum of what memmap_page_range()
     * returns. Always a multiple of PAGE_SIZE. */
    uint64_t page_bytes;
    /* usable_bytes - page_bytes: the partial pages at the edges of RAM regions
     * (a RAM region smaller than a page is lost entirely). Invariant:
     * usable_bytes == page_bytes + lost_to_alignment_bytes. */
    uint64_t lost_to_alignment_bytes;
    /* Raw entries that described nothing: zero bytes long, or nothing left of
     * them after clipping at UINT64_MAX. */
    unsigned ignored_entries;
    /* True if the cleaned map had more than MEMMAP_MAX_REGIONS regions: the
     * regions above regions[MEMMAP_MAX_REGIONS - 1] were dropped, are in none of
     * the counts above, and memmap_clean() put a warning in its error buffer. */
    bool truncated;
};

/*
 * Cleans raw[0 .. raw_count - 1] into *out (always fully written, even on
 * failure, so that it can be displayed).
 *
 * Returns 0 on success; error then holds "" or, if the map was truncated, a
 * warning to print. Returns -1 with a message in error if raw_count is 0 or
 * above MEMMAP_MAX_RAW_ENTRIES, or if nothing usable remains: no whole page of
 * RAM once overlaps are resolved (the kernel can use nothing smaller).
 * error may be NULL if error_size is 0; messages are cut to fit error_size.
 */
int memmap_clean(const struct memmap_entry *raw, size_t raw_count, struct memmap *out, char *error,
                 size_t error_size);

/*
 * The RAM regions clipped inward to whole pages, in address order, skipping
 * those with no whole page in them: call with index 0, 1, 2... until it
 * returns false. On true, [*start, *end) is page-aligned, not empty, and inside
 * one RAM region; the ranges are sorted, disjoint, and together cover exactly
 * page_bytes.
 */
bool memmap_page_range(const struct memmap *map, size_t index, uint64_t *start, uint64_t *end);

/* A type's name for display: "RAM", "reserved", "ACPI reclaimable", "ACPI NVS",
 * "bad", or "type N" for an unknown type up to 31 ("other" above). The strings
 * are constants: no buffer is shared between calls. */
const char *memmap_type_name(uint32_t type);

#endif
