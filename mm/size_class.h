/*
 * size_class.h: the sizes malloc hands out (mm/malloc.c), and why.
 *
 * A small request is rounded up to one of 28 size classes; every slab (a run
 * of 1 to 8 pages, see mm/malloc.h) holds objects of a single class, packed
 * back to back from the slab's first byte. size_classes_init (size_class.c)
 * builds the table at boot from two rules, next_class_bytes (the sizes) and
 * slab_pages_for (the pages), and checks it; the classes they give:
 *
 *   16, 32, 48, 64, 80, 96, 112, 128          steps of 16 bytes
 *   160, 192, 224, 256                        then four classes per doubling:
 *   320, 384, 448, 512                        steps of a quarter of the
 *   640, 768, 896, 1024                       power of two below
 *   1280, 1536, 1792, 2048
 *   2560, 3072, 3584, 4096
 *
 * Anything above 4096 bytes is a "large" request: whole pages, exactly
 * ceil(size / 4096) of them (20 KiB takes 5 pages, not 8).
 *
 * Internal waste. A request of r bytes in a class of S bytes wastes S - r;
 * the worst case is the smallest request of the class, one byte more than
 * the class below (P): (S - P - 1) / S. Every class is a multiple of 16,
 * because C wants malloc(17) aligned for any type (long double: 16 bytes),
 * so every object must start at a multiple of 16. That decision makes large
 * waste unavoidable for the smallest requests:
 *
 *    1 -> 16:  15/16  = 93.8%     (but a 1-byte request costs 16 bytes, not a page)
 *   17 -> 32:  15/32  = 46.9%
 *   33 -> 48:  15/48  = 31.3%
 *   49 -> 64:  15/64  = 23.4%
 *
 * From 65 bytes on, the classes keep the worst case at or under 20%:
 *
 *   65 -> 80:     15/80   = 18.75%   (steps of 16: the worst case shrinks to
 *   113 -> 128:   15/128  = 11.7%     15/S as S grows)
 *   129 -> 160:   31/160  = 19.4%    (steps of S/4 after a power of two: the
 *   257 -> 320:   63/320  = 19.7%     first class of each doubling is the
 *   1025 -> 1280: 255/1280 = 19.9%    worst, just under 1/5)
 *   3585 -> 4096: 511/4096 = 12.5%
 *
 * On average a uniform request wastes about half the worst case.
 *
 * Tail waste. A slab of p pages holds floor(p * 4096 / S) objects; the rest
 * of the slab is the tail. Each class takes the fewest pages (1 to 8) whose
 * tail is under 2% of the slab, or failing that the page count with the
 * smallest tail: 3072 takes 3 pages (4 objects, no tail), 1280 takes 5 pages
 * (16 objects, no tail), 2048 takes 1 page (2 objects). Since the slab's
 * metadata lives elsewhere (mm/malloc.h), no class from 1280 to 3584 costs a
 * whole page per object: their slabs hold 16, 8, 9, 2, 8, 4 and 8 objects.
 * Only 3585-4096 does, and a 4096-byte object fills its page.
 *
 * Natural alignment. A slab starts on a page, so the object at index i of a
 * class of S bytes sits at offset i * S from a 4096-aligned address: it is
 * aligned to the largest power of two that divides S (S itself for a
 * power-of-two class). align_bytes in the table; aligned requests pick the
 * smallest class that fits both the size and the alignment (size_class_for).
 */
#ifndef MM_SIZE_CLASS_H
#define MM_SIZE_CLASS_H

#include <stddef.h>
#include <stdint.h>

#define SIZE_CLASS_COUNT 28
#define SIZE_CLASS_MIN_BYTES 16   /* and every class is a multiple of it */
#define SIZE_CLASS_MAX_BYTES 4096 /* above: a large (page-run) allocation */
#define SIZE_CLASS_MAX_SLAB_PAGES 8
#define SIZE_CLASS_MAX_OBJECTS 256 /* the 16-byte class: one page of 16-byte objects */
#define SIZE_CLASS_NONE 255u       /* "no class fits": use whole pages */

/* malloc keeps a page's class as (class + 1) * 4 in a byte (mm/malloc.c). */
_Static_assert(SIZE_CLASS_COUNT <= 62, "a class index must fit struct page's byte");

/*
 * One class. Invariants (tests/host/mm/test_size_class.c checks them all):
 *   object_bytes is a multiple of 16, and the classes grow strictly;
 *   objects = slab_pages * 4096 / object_bytes, 1 <= objects <= 256;
 *   tail_waste_bytes = slab_pages * 4096 - objects * object_bytes;
 *   align_bytes = the largest power of two dividing object_bytes;
 *   worst_waste_bp = the worst internal waste of a request in this class, in
 *     hundredths of a percent (1875 = 18.75%), rounded down;
 *   reciprocal = floor(2^32 / object_bytes) + 1, so that for every offset o in
 *     a slab, o / object_bytes == (o * reciprocal) >> 32 (a multiply instead of
 *     a division on every free: exact for o < 2^20, and slabs are <= 2^15).
 */
struct size_class {
    uint16_t object_bytes;
    uint16_t align_bytes;
    uint16_t objects; /* per slab */
    uint16_t tail_waste_bytes;
    uint16_t worst_waste_bp;
    uint8_t slab_pages;
    uint32_t reciprocal;
};

/* Built by size_classes_init; read-only after it. */
extern struct size_class size_classes[SIZE_CLASS_COUNT];

/* size_class_lookup[(size + 15) / 16] is the smallest class holding size
 * bytes, for size 0..4096 (size 0 gets class 0, the 16-byte class). */
#define SIZE_CLASS_LOOKUP_ENTRIES (SIZE_CLASS_MAX_BYTES / 16 + 1)
extern uint8_t size_class_lookup[SIZE_CLASS_LOOKUP_ENTRIES];

/* Builds size_classes and size_class_lookup from the rules in size_class.c,
 * and panics naming the class and the rule when the rules give a table the
 * allocator cannot use (for example a class that is not a multiple of 16, or
 * a count other than SIZE_CLASS_COUNT). km_init calls it; calling it again
 * builds the same table. */
void size_classes_init(void);

/* The smallest class holding size bytes, or SIZE_CLASS_NONE above 4096. O(1). */
static inline unsigned size_class_of(size_t size)
{
    if (size > SIZE_CLASS_MAX_BYTES)
        return SIZE_CLASS_NONE;
    return size_class_lookup[(size + 15) >> 4];
}

/* The smallest class whose objects hold size bytes and are aligned to align
 * (a power of two; 0 means no requirement), or SIZE_CLASS_NONE when none does
 * (size above 4096 or align above 4096). */
unsigned size_class_for(size_t size, size_t align);

/* The object index of byte offset (from the slab's start) in class index. */
static inline uint32_t size_class_object_index(unsigned index, uint32_t offset)
{
    return (uint32_t)(((uint64_t)offset * size_classes[index].reciprocal) >> 32);
}

#endif
