/*
 * size_class.c: the class table and the size -> class lookup, built once at
 * boot (size_classes_init, from km_init) from two rules: which sizes the
 * classes have, and how many pages each class's slab takes. size_class.h
 * argues for both and lists the table they give; `malloc classes` prints it
 * on a running kernel. Lab 3 (labs/03-size-classes) has students write the
 * two rules.
 */
#include "mm/size_class.h"

#include "lib/boot_only.h"
#include "lib/platform.h"

#define PAGE_BYTES 4096u

/* Written once by size_classes_init, before the first malloc; only read after. */
struct size_class size_classes[SIZE_CLASS_COUNT];
uint8_t size_class_lookup[SIZE_CLASS_LOOKUP_ENTRIES];

/* ---- the design: two rules ---------------------------------------------- */

/*
 * The class after a class of previous bytes (0: the first class). Steps of
 * 16 bytes up to 128 (16 is the alignment every object needs, so no finer
 * step is possible); then four classes per doubling, steps of a quarter of
 * the power of two at or below previous, which keeps the worst internal waste
 * of each class just under 1/5 (size_class.h).
 */
BOOT_ONLY static unsigned next_class_bytes(unsigned previous)
{
    if (previous < 128)
        return previous + SIZE_CLASS_MIN_BYTES;
    unsigned power = 128;
    while (power * 2 <= previous)
        power *= 2;
    return previous + power / 4;
}

/*
 * The pages of a slab of bytes-sized objects: the fewest (1 to 8) whose tail
 * (the bytes after the last whole object) is under 2% of the slab; failing
 * that, the count with the smallest tail as a share of the slab (the fewer
 * pages on a tie).
 */
BOOT_ONLY static unsigned slab_pages_for(unsigned bytes)
{
    unsigned best_pages = 1, best_tail = PAGE_BYTES % bytes;
    for (unsigned pages = 1; pages <= SIZE_CLASS_MAX_SLAB_PAGES; pages++) {
        unsigned slab = pages * PAGE_BYTES, tail = slab % bytes;
        if (tail * 50 < slab)
            return pages;
        /* tail / slab < best_tail / (best_pages * 4096), without division */
        if ((uint64_t)tail * best_pages * PAGE_BYTES < (uint64_t)best_tail * slab) {
            best_pages = pages;
            best_tail = tail;
        }
    }
    return best_pages;
}

/* ---- the table from the rules ------------------------------------------- */

BOOT_ONLY static void fill_class(struct size_class *cls, unsigned previous, unsigned bytes,
                                 unsigned pages)
{
    cls->object_bytes = (uint16_t)bytes;
    cls->align_bytes = (uint16_t)(bytes & -bytes);
    cls->slab_pages = (uint8_t)pages;
    cls->objects = (uint16_t)(pages * PAGE_BYTES / bytes);
    cls->tail_waste_bytes = (uint16_t)(pages * PAGE_BYTES % bytes);
    cls->worst_waste_bp = (uint16_t)((bytes - previous - 1) * 10000u / bytes);
    cls->reciprocal = (uint32_t)((1ull << 32) / bytes + 1);
}

/* A design the allocator cannot use stops the boot here, saying which class
 * breaks which rule of size_class.h, rather than corrupting memory later. */
BOOT_ONLY static void check_class(unsigned index, unsigned previous, unsigned bytes, unsigned pages)
{
    const char *rule = NULL;
    if (bytes <= previous)
        rule = "is not larger than the class below";
    else if (bytes % SIZE_CLASS_MIN_BYTES != 0)
        rule = "is not a multiple of 16 (objects must stay 16-byte aligned)";
    else if (bytes > SIZE_CLASS_MAX_BYTES)
        rule = "is above 4096 (the last class must be exactly 4096)";
    else if (pages < 1 || pages > SIZE_CLASS_MAX_SLAB_PAGES)
        rule = "has a slab of 0 or more than 8 pages";
    else if (pages * PAGE_BYTES / bytes > SIZE_CLASS_MAX_OBJECTS)
        rule = "has more than 256 objects in a slab (the slab's bitmap holds 256)";
    if (rule)
        platform_panic("size classes: class %u (%u bytes, %u-page slab) %s; see mm/size_class.h",
                       index, bytes, pages, rule);
}

BOOT_ONLY void size_classes_init(void)
{
    unsigned previous = 0, count = 0;
    while (previous < SIZE_CLASS_MAX_BYTES && count < SIZE_CLASS_COUNT) {
        unsigned bytes = next_class_bytes(previous), pages = slab_pages_for(bytes);
        check_class(count, previous, bytes, pages);
        fill_class(&size_classes[count++], previous, bytes, pages);
        previous = bytes;
    }
    if (count != SIZE_CLASS_COUNT || previous != SIZE_CLASS_MAX_BYTES)
        platform_panic("size classes: the rules give %s%u classes up to %u bytes, but "
                       "SIZE_CLASS_COUNT (mm/size_class.h) is %u and the last class must be %u",
                       previous < SIZE_CLASS_MAX_BYTES ? "only " : "", count, previous,
                       SIZE_CLASS_COUNT, SIZE_CLASS_MAX_BYTES);
    /* Row r holds sizes 16r - 15 .. 16r (row 0: size 0); the classes grow, so
     * one pass over both finds each row's smallest class. */
    unsigned index = 0;
    for (unsigned row = 0; row < SIZE_CLASS_LOOKUP_ENTRIES; row++) {
        while (size_classes[index].object_bytes < row * SIZE_CLASS_MIN_BYTES)
            index++;
        size_class_lookup[row] = (uint8_t)index;
    }
}

unsigned size_class_for(size_t size, size_t align)
{
    unsigned index = size_class_of(size);
    if (align <= SIZE_CLASS_MIN_BYTES || index == SIZE_CLASS_NONE)
        return index;
    /* Walk up to the first class aligned enough: the 4096 class is aligned to
     * 4096, so any align up to 4096 stops by then. At most 27 steps, and only
     * for requests that ask for more than 16-byte alignment. */
    for (; index < SIZE_CLASS_COUNT; index++)
        if (size_classes[index].align_bytes >= align)
            return index;
    return SIZE_CLASS_NONE;
}
