/*
 * size_class.c: the class table and the size -> class lookup (see
 * size_class.h for the reasoning behind every number).
 */
#include "mm/size_class.h"

/*
 * One row from three numbers: the class below (0 for the first), the object
 * size and the slab's page count; the rest follows (see the invariants in
 * size_class.h).
 */
#define CLASS(previous_bytes, bytes, pages)                                                        \
    {                                                                                              \
        .object_bytes = (bytes), .align_bytes = (bytes) & -(bytes),                                \
        .objects = (pages)*4096 / (bytes), .tail_waste_bytes = (pages)*4096 % (bytes),             \
        .worst_waste_bp = ((bytes) - (previous_bytes)-1) * 10000 / (bytes), .slab_pages = (pages), \
        .reciprocal = (uint32_t)((1ull << 32) / (bytes) + 1),                                      \
    }

/* Rows: CLASS(class below, size, slab pages), then in the comment the objects
 * per slab, the tail waste in bytes and the worst internal waste (rounded
 * down). */
const struct size_class size_classes[SIZE_CLASS_COUNT] = {
    CLASS(0, 16, 1),      /*  256     0    93.75% */
    CLASS(16, 32, 1),     /*  128     0    46.87% */
    CLASS(32, 48, 1),     /*   85    16    31.25% */
    CLASS(48, 64, 1),     /*   64     0    23.43% */
    CLASS(64, 80, 1),     /*   51    16    18.75% */
    CLASS(80, 96, 1),     /*   42    64    15.62% */
    CLASS(96, 112, 1),    /*   36    64    13.39% */
    CLASS(112, 128, 1),   /*   32     0    11.71% */
    CLASS(128, 160, 2),   /*   51    32    19.37% (1 page: 25 objects, 96-byte tail, 2.3%) */
    CLASS(160, 192, 1),   /*   21    64    16.14% */
    CLASS(192, 224, 1),   /*   18    64    13.83% */
    CLASS(224, 256, 1),   /*   16     0    12.10% */
    CLASS(256, 320, 3),   /*   38   128    19.68% */
    CLASS(320, 384, 2),   /*   21   128    16.40% */
    CLASS(384, 448, 1),   /*    9    64    14.06% */
    CLASS(448, 512, 1),   /*    8     0    12.30% */
    CLASS(512, 640, 3),   /*   19   128    19.84% */
    CLASS(640, 768, 3),   /*   16     0    16.53% */
    CLASS(768, 896, 2),   /*    9   128    14.17% */
    CLASS(896, 1024, 1),  /*    4     0    12.40% */
    CLASS(1024, 1280, 5), /*   16     0    19.92% */
    CLASS(1280, 1536, 3), /*    8     0    16.60% */
    CLASS(1536, 1792, 4), /*    9   256    14.22% */
    CLASS(1792, 2048, 1), /*    2     0    12.45% */
    CLASS(2048, 2560, 5), /*    8     0    19.96% */
    CLASS(2560, 3072, 3), /*    4     0    16.63% */
    CLASS(3072, 3584, 7), /*    8     0    14.25% */
    CLASS(3584, 4096, 1), /*    1     0    12.47% */
};

/* Entry i: the class of sizes 16 * i - 15 .. 16 * i (entry 0: size 0). */
const uint8_t size_class_lookup[SIZE_CLASS_LOOKUP_ENTRIES] = {
    0,  0,  1,  2,  3,  4,  5,  6,  7,  8,  8,  9,  9,  10, 10, 11, /*    0 -  240 */
    11, 12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14, 15, 15, 15, /*  241 -  496 */
    15, 16, 16, 16, 16, 16, 16, 16, 16, 17, 17, 17, 17, 17, 17, 17, /*  497 -  752 */
    17, 18, 18, 18, 18, 18, 18, 18, 18, 19, 19, 19, 19, 19, 19, 19, /*  753 - 1008 */
    19, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, /* 1009 - 1264 */
    20, 21, 21, 21, 21, 21, 21, 21, 21, 21, 21, 21, 21, 21, 21, 21, /* 1265 - 1520 */
    21, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, /* 1521 - 1776 */
    22, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, /* 1777 - 2032 */
    23, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, /* 2033 - 2288 */
    24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, /* 2289 - 2544 */
    24, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, /* 2545 - 2800 */
    25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, /* 2801 - 3056 */
    25, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, /* 3057 - 3312 */
    26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, /* 3313 - 3568 */
    26, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, /* 3569 - 3824 */
    27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, /* 3825 - 4080 */
    27,                                                             /* 4081 - 4096 */
};

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
