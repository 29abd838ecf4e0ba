/*
 * test_size_class.c: malloc's size classes (mm/size_class.c): the table the
 * issue asks for, the lookup, the waste bounds and the alignment.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "mm/size_class.h"
#include "tests/host/lib/test_report.h"

static const unsigned expected_bytes[SIZE_CLASS_COUNT] = {
    16,  32,  48,  64,  80,  96,   112,  128,  160,  192,  224,  256,  320,  384,
    448, 512, 640, 768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096,
};

/* The page counts chosen by the rule in size_class.h. */
static const unsigned expected_pages[SIZE_CLASS_COUNT] = {
    1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 3, 2, 1, 1, 3, 3, 2, 1, 5, 3, 4, 1, 5, 3, 7, 1,
};

/* The smallest class of at least size bytes, by a plain search. */
static unsigned smallest_fitting(size_t size)
{
    for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++)
        if (size_classes[index].object_bytes >= size)
            return index;
    return SIZE_CLASS_NONE;
}

static void the_table_is_the_one_the_issue_asks_for(void **state)
{
    (void)state;
    print_message("class  size  pages  objects  tail  worst waste  align\n");
    for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++) {
        const struct size_class *cls = &size_classes[index];
        print_message("%5u  %4u  %5u  %7u  %4u  %8u.%02u%%  %5u\n", index, cls->object_bytes,
                      cls->slab_pages, cls->objects, cls->tail_waste_bytes,
                      cls->worst_waste_bp / 100, cls->worst_waste_bp % 100, cls->align_bytes);
        assert_int_equal(cls->object_bytes, expected_bytes[index]);
        assert_int_equal(cls->slab_pages, expected_pages[index]);
        assert_int_equal(cls->object_bytes % SIZE_CLASS_MIN_BYTES, 0);
        unsigned slab_bytes = cls->slab_pages * 4096u;
        assert_int_equal(cls->objects, slab_bytes / cls->object_bytes);
        assert_int_equal(cls->tail_waste_bytes, slab_bytes - cls->objects * cls->object_bytes);
        assert_true(cls->objects >= 1 && cls->objects <= SIZE_CLASS_MAX_OBJECTS);
        assert_true(cls->slab_pages >= 1 && cls->slab_pages <= SIZE_CLASS_MAX_SLAB_PAGES);
    }
    assert_int_equal(size_classes[SIZE_CLASS_COUNT - 1].object_bytes, SIZE_CLASS_MAX_BYTES);
}

/* Each class takes the fewest pages whose tail is under 2% of the slab, or
 * else the page count with the smallest tail (fewer pages on a tie). */
static void slab_page_counts_follow_the_tail_rule(void **state)
{
    (void)state;
    for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++) {
        unsigned size = size_classes[index].object_bytes, chosen = 0;
        double best = 2.0;
        for (unsigned pages = 1; pages <= SIZE_CLASS_MAX_SLAB_PAGES && !chosen; pages++) {
            double tail = (double)(pages * 4096 % size) / (pages * 4096.0);
            if (tail < 0.02)
                chosen = pages;
            else if (tail < best)
                best = tail;
        }
        for (unsigned pages = 1; !chosen; pages++)
            if ((double)(pages * 4096 % size) / (pages * 4096.0) == best)
                chosen = pages;
        assert_int_equal(size_classes[index].slab_pages, chosen);
        assert_true(size_classes[index].tail_waste_bytes * 50u <
                    size_classes[index].slab_pages * 4096u);
    }
    /* The examples of the issue. */
    assert_int_equal(size_classes[smallest_fitting(3072)].slab_pages, 3);
    assert_int_equal(size_classes[smallest_fitting(3072)].objects, 4);
    assert_int_equal(size_classes[smallest_fitting(1280)].slab_pages, 5);
    assert_int_equal(size_classes[smallest_fitting(1280)].objects, 16);
}

static void every_size_maps_to_the_smallest_fitting_class(void **state)
{
    (void)state;
    assert_int_equal(size_class_of(0), 0);
    for (size_t size = 1; size <= SIZE_CLASS_MAX_BYTES; size++) {
        unsigned index = size_class_of(size);
        assert_int_equal(index, smallest_fitting(size));
        assert_int_equal(size_class_for(size, 0), index);
        assert_int_equal(size_class_for(size, 16), index);
        assert_true(size_classes[index].object_bytes >= size);
        if (index > 0)
            assert_true(size_classes[index - 1].object_bytes < size);
    }
    assert_int_equal(size_class_of(4097), SIZE_CLASS_NONE);
    assert_int_equal(size_class_of(SIZE_MAX), SIZE_CLASS_NONE);
    assert_int_equal(size_class_for(SIZE_MAX, 64), SIZE_CLASS_NONE);
}

static void one_to_sixteen_bytes_take_a_16_byte_object(void **state)
{
    (void)state;
    for (size_t size = 0; size <= 16; size++)
        assert_int_equal(size_classes[size_class_of(size)].object_bytes, 16);
    assert_int_equal(size_classes[0].slab_pages, 1);
    assert_int_equal(size_classes[0].objects, 256); /* a page holds 256 of them */
}

/* waste(r) = (class(r) - r) / class(r), as size_class.h defines it. */
static double waste_of(size_t request)
{
    unsigned size = size_classes[size_class_of(request)].object_bytes;
    return (double)(size - request) / size;
}

static void waste_is_at_most_20_percent_from_65_bytes(void **state)
{
    (void)state;
    double worst = 0;
    size_t worst_request = 0;
    for (size_t request = 65; request <= SIZE_CLASS_MAX_BYTES; request++) {
        assert_true(waste_of(request) <= 0.20);
        if (waste_of(request) > worst) {
            worst = waste_of(request);
            worst_request = request;
        }
    }
    print_message("worst waste from 65 to 4096: %zu -> %u bytes, %.2f%%\n", worst_request,
                  size_classes[size_class_of(worst_request)].object_bytes, 100 * worst);
    assert_int_equal(worst_request, 2049); /* 2049 -> 2560: 511/2560 = 19.96% */
    /* The examples of size_class.h. */
    assert_true(waste_of(65) == 15.0 / 80);
    assert_true(waste_of(129) == 31.0 / 160);
}

static void documented_worst_cases_below_65_bytes(void **state)
{
    (void)state;
    /* The documented cost of 16-byte granularity: 1, 17, 33 and 49 bytes. */
    assert_true(waste_of(1) == 15.0 / 16);
    assert_true(waste_of(17) == 15.0 / 32);
    assert_true(waste_of(33) == 15.0 / 48);
    assert_true(waste_of(49) == 15.0 / 64);
    assert_true(waste_of(17) > 0.46 && waste_of(17) < 0.47);
    /* worst_waste_bp is the worst case of each class, rounded down. */
    for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++) {
        unsigned below = index ? size_classes[index - 1].object_bytes : 0;
        double worst = waste_of(below + 1);
        for (size_t request = below + 1; request <= size_classes[index].object_bytes; request++)
            assert_true(waste_of(request) <= worst);
        assert_int_equal(size_classes[index].worst_waste_bp, (unsigned)(worst * 10000 + 1e-9));
    }
    assert_int_equal(size_classes[0].worst_waste_bp, 9375);
    assert_int_equal(size_classes[1].worst_waste_bp, 4687);
    assert_int_equal(size_classes[4].worst_waste_bp, 1875);
}

static void class_2048_holds_two_objects_per_page(void **state)
{
    (void)state;
    const struct size_class *cls = &size_classes[size_class_of(2048)];
    assert_int_equal(cls->object_bytes, 2048);
    assert_int_equal(cls->objects, 2 * cls->slab_pages);
    assert_int_equal(cls->tail_waste_bytes, 0);
}

/* What one object really costs: its slab's bytes over the slab's objects. */
static void no_request_from_1025_to_3584_costs_a_whole_page(void **state)
{
    (void)state;
    for (size_t request = 1025; request <= 3584; request++) {
        const struct size_class *cls = &size_classes[size_class_of(request)];
        unsigned slab_bytes = cls->slab_pages * 4096u;
        assert_true(cls->objects >= 2);
        assert_true(slab_bytes / cls->objects < 4096);
        assert_true((uint64_t)cls->objects * cls->object_bytes + cls->tail_waste_bytes ==
                    slab_bytes);
    }
    /* 3585 to 4096 do take a page: the 4096-byte object fills it. */
    assert_int_equal(size_classes[size_class_of(3585)].objects, 1);
    assert_int_equal(size_classes[size_class_of(3585)].slab_pages, 1);
}

static void power_of_two_classes_are_aligned_to_their_size(void **state)
{
    (void)state;
    for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++) {
        unsigned size = size_classes[index].object_bytes;
        unsigned align = size & -size;
        assert_int_equal(size_classes[index].align_bytes, align);
        if ((size & (size - 1)) == 0)
            assert_int_equal(align, size);
        /* Every object of a page-aligned slab is then aligned. */
        for (unsigned object = 0; object < size_classes[index].objects; object++)
            assert_int_equal(object * size % align, 0);
    }
}

static void aligned_requests_pick_a_class_that_satisfies_them(void **state)
{
    (void)state;
    for (size_t align = 1; align <= 8192; align *= 2) {
        for (size_t size = 0; size <= SIZE_CLASS_MAX_BYTES; size++) {
            unsigned index = size_class_for(size, align);
            unsigned expected = SIZE_CLASS_NONE;
            for (unsigned candidate = 0; candidate < SIZE_CLASS_COUNT; candidate++)
                if (size_classes[candidate].object_bytes >= size &&
                    size_classes[candidate].align_bytes >= align) {
                    expected = candidate;
                    break;
                }
            assert_int_equal(index, expected);
            if (align <= 4096)
                assert_int_not_equal(index, SIZE_CLASS_NONE);
        }
    }
    assert_int_equal(size_classes[size_class_for(65, 64)].object_bytes, 128);
    assert_int_equal(size_classes[size_class_for(100, 4096)].object_bytes, 4096);
    assert_int_equal(size_classes[size_class_for(1, 1024)].object_bytes, 1024);
    assert_int_equal(size_class_for(1, 8192), SIZE_CLASS_NONE);
}

static void the_reciprocal_divides_exactly(void **state)
{
    (void)state;
    for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++) {
        unsigned size = size_classes[index].object_bytes;
        for (uint32_t offset = 0; offset < size_classes[index].slab_pages * 4096u; offset++)
            assert_int_equal(size_class_object_index(index, offset), offset / size);
    }
}

/* size_classes_init builds the table from the rules; again, it builds the same. */
static void building_again_gives_the_same_table(void **state)
{
    (void)state;
    struct size_class first[SIZE_CLASS_COUNT];
    uint8_t first_lookup[SIZE_CLASS_LOOKUP_ENTRIES];
    memcpy(first, size_classes, sizeof(first));
    memcpy(first_lookup, size_class_lookup, sizeof(first_lookup));
    size_classes_init();
    assert_memory_equal(first, size_classes, sizeof(first));
    assert_memory_equal(first_lookup, size_class_lookup, sizeof(first_lookup));
}

int main(void)
{
    size_classes_init(); /* as km_init does at boot */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(building_again_gives_the_same_table),
        cmocka_unit_test(the_table_is_the_one_the_issue_asks_for),
        cmocka_unit_test(slab_page_counts_follow_the_tail_rule),
        cmocka_unit_test(every_size_maps_to_the_smallest_fitting_class),
        cmocka_unit_test(one_to_sixteen_bytes_take_a_16_byte_object),
        cmocka_unit_test(waste_is_at_most_20_percent_from_65_bytes),
        cmocka_unit_test(documented_worst_cases_below_65_bytes),
        cmocka_unit_test(class_2048_holds_two_objects_per_page),
        cmocka_unit_test(no_request_from_1025_to_3584_costs_a_whole_page),
        cmocka_unit_test(power_of_two_classes_are_aligned_to_their_size),
        cmocka_unit_test(aligned_requests_pick_a_class_that_satisfies_them),
        cmocka_unit_test(the_reciprocal_divides_exactly),
    };
    return RUN_AND_REPORT(tests);
}
