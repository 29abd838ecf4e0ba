/*
 * test_efi_memmap.c: lib/efi_memmap (the EFI types' names and attributes, and
 * the reconciliation of tag 6 with the EFI map). The reconciliation is checked
 * against a brute-force oracle that looks at every page on its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/efi_memmap.h"
#include "lib/multiboot2.h"
#include "lib/random.h"
#include "tests/host/lib/test_report.h"

static void names_are_the_specifications(void **state)
{
    (void)state;
    assert_string_equal(efi_memory_type_name(7), "ConventionalMemory");
    assert_string_equal(efi_memory_type_name(5), "RuntimeServicesCode");
    assert_string_equal(efi_memory_type_name(10), "ACPIMemoryNVS");
    assert_string_equal(efi_memory_type_name(14), "PersistentMemory");
    assert_string_equal(efi_memory_type_name(15), "UnacceptedMemory");
    assert_null(efi_memory_type_name(16));
    assert_null(efi_memory_type_name(0x80000000u)); /* OS-defined */
    for (uint32_t type = 0; type < 16; type++)
        assert_int_equal(efi_usable_after_boot_services(type),
                         type == 1 || type == 2 || type == 3 || type == 4 || type == 7);
}

static void attributes_are_named(void **state)
{
    (void)state;
    char out[96];
    assert_string_equal(efi_attribute_names(0xf, out, sizeof(out)), "UC WC WT WB");
    assert_string_equal(efi_attribute_names(0x800000000000000full, out, sizeof(out)),
                        "UC WC WT WB RUNTIME");
    assert_string_equal(efi_attribute_names(0x1ull | 1ull << 40, out, sizeof(out)),
                        "UC 0x10000000000");
    assert_string_equal(efi_attribute_names(0, out, sizeof(out)), "");
    /* A short buffer is cut, never overrun. */
    char small[6];
    memset(small, 'x', sizeof(small));
    efi_attribute_names(0xf, small, sizeof(small));
    assert_true(memchr(small, '\0', sizeof(small)) != NULL);
}

static void a_descriptor_past_the_end_of_memory_saturates(void **state)
{
    (void)state;
    assert_int_equal(efi_range_end(0x1000, 2), 0x3000);
    assert_int_equal(efi_range_end(0, 1ull << 52), UINT64_MAX); /* 2^64 bytes */
    assert_int_equal(efi_range_end(UINT64_MAX - 4095, 1), UINT64_MAX);
    assert_int_equal(efi_range_end(0xfff, UINT64_MAX), UINT64_MAX);
}

struct reported {
    struct efi_difference list[64];
    unsigned count;
};

static void keep(const struct efi_difference *difference, void *context)
{
    struct reported *reported = context;
    assert_true(reported->count < 64);
    reported->list[reported->count++] = *difference;
}

static void ovmf_like_maps_agree(void **state)
{
    (void)state;
    /* Tag 6 as GRUB makes it from the EFI map: usable = the usable types, merged. */
    const struct efi_range map[] = {
        {0x0, 0xa0000, MB2_MMAP_AVAILABLE},
        {0x100000, 0x806000, MB2_MMAP_AVAILABLE},
        {0x806000, 0x808000, 4},
        {0xf5ec000, 0xf6ec000, 20}, /* runtime services code: GRUB's type 20 */
    };
    const struct efi_range efi[] = {
        {0xf5ec000, 0xf6ec000, 5}, /* unsorted, as firmware may give it */
        {0x0, 0x1000, 3},          {0x1000, 0x16000, 2},    {0x16000, 0xa0000, 7},
        {0x100000, 0x14c000, 2},   {0x14c000, 0x806000, 7}, {0x806000, 0x808000, 10},
        {0x808000, 0x808000, 7}, /* zero pages: nothing */
    };
    struct reported reported = {0};
    assert_int_equal(efi_reconcile(map, 4, efi, 8, keep, &reported), 0);
}

static void each_kind_of_difference_is_reported_with_the_other_maps_type(void **state)
{
    (void)state;
    const struct efi_range map[] = {
        {0x0, 0x10000, MB2_MMAP_AVAILABLE},
        {0x20000, 0x30000, MB2_MMAP_RESERVED},
    };
    const struct efi_range efi[] = {
        {0x0, 0x8000, 7},      {0x8000, 0x9000, 6}, /* runtime data inside tag 6's usable range */
        {0x9000, 0xc000, 4}, /* then a gap 0xc000-0xe000 with no descriptor */
        {0xe000, 0x10000, 3},  {0x20000, 0x22000, 7}, /* free in EFI, reserved in tag 6 */
        {0x40000, 0x41000, 1},                        /* free in EFI, nothing in tag 6 */
    };
    struct reported r = {0};
    assert_int_equal(efi_reconcile(map, 2, efi, 6, keep, &r), 4);
    assert_int_equal(r.list[0].kind, EFI_USABLE_BUT_NOT_IN_EFI);
    assert_int_equal(r.list[0].start, 0x8000);
    assert_int_equal(r.list[0].end, 0x9000);
    assert_int_equal(r.list[0].other_type, 6);
    assert_int_equal(r.list[1].kind, EFI_USABLE_BUT_NOT_IN_EFI);
    assert_int_equal(r.list[1].start, 0xc000);
    assert_int_equal(r.list[1].end, 0xe000);
    assert_int_equal(r.list[1].other_type, -1);
    assert_int_equal(r.list[2].kind, EFI_FREE_BUT_NOT_USABLE);
    assert_int_equal(r.list[2].start, 0x20000);
    assert_int_equal(r.list[2].end, 0x22000);
    assert_int_equal(r.list[2].other_type, MB2_MMAP_RESERVED);
    assert_int_equal(r.list[3].kind, EFI_FREE_BUT_NOT_USABLE);
    assert_int_equal(r.list[3].start, 0x40000);
    assert_int_equal(r.list[3].other_type, -1);
}

/* Random maps over 64 pages, overlapping and unsorted: the bytes reported for
 * each kind equal, page for page, what a per-page look at both maps says. */
static void random_maps_match_a_page_by_page_oracle(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed;
    for (int round = 0; round < 20000; round++) {
        struct efi_range map[6], efi[10];
        size_t map_count = 1 + random_next(&seed) % 6, efi_count = random_next(&seed) % 10;
        for (size_t i = 0; i < map_count; i++) {
            uint64_t a = random_next(&seed) % 64, b = random_next(&seed) % 65;
            map[i] =
                (struct efi_range){a * 4096, (a > b ? a : b) * 4096,
                                   random_next(&seed) % 3 ? MB2_MMAP_AVAILABLE : MB2_MMAP_RESERVED};
        }
        for (size_t i = 0; i < efi_count; i++) {
            uint64_t a = random_next(&seed) % 64, pages = random_next(&seed) % 20;
            efi[i] = (struct efi_range){a * 4096, efi_range_end(a * 4096, pages),
                                        (uint32_t)(random_next(&seed) % 12)};
        }
        bool free_in_efi[64] = {0}, in_usable_entry[64] = {0};
        for (size_t i = 0; i < map_count; i++)
            for (uint64_t p = map[i].start / 4096; p < map[i].end / 4096; p++)
                if (map[i].type == MB2_MMAP_AVAILABLE)
                    in_usable_entry[p] = true;
        for (size_t i = 0; i < efi_count; i++)
            for (uint64_t p = efi[i].start / 4096; p < efi[i].end / 4096 && p < 64; p++)
                if (efi_usable_after_boot_services(efi[i].type))
                    free_in_efi[p] = true;
        /* The oracle counts each page once per entry (of either map) it lies in,
         * as efi_reconcile reports a range once per entry. */
        uint64_t expected[2] = {0, 0};
        for (size_t i = 0; i < map_count; i++)
            for (uint64_t p = map[i].start / 4096; p < map[i].end / 4096; p++)
                if (map[i].type == MB2_MMAP_AVAILABLE && !free_in_efi[p])
                    expected[EFI_USABLE_BUT_NOT_IN_EFI] += 4096;
        for (size_t i = 0; i < efi_count; i++)
            if (efi_usable_after_boot_services(efi[i].type))
                for (uint64_t p = efi[i].start / 4096; p < efi[i].end / 4096; p++)
                    if (p >= 64 || !in_usable_entry[p])
                        expected[EFI_FREE_BUT_NOT_USABLE] += 4096;
        struct reported r = {0};
        efi_reconcile(map, map_count, efi, efi_count, keep, &r);
        uint64_t got[2] = {0, 0};
        for (unsigned i = 0; i < r.count; i++) {
            assert_true(r.list[i].start < r.list[i].end);
            got[r.list[i].kind] += r.list[i].end - r.list[i].start;
        }
        assert_int_equal(got[0], expected[0]);
        assert_int_equal(got[1], expected[1]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_are_the_specifications),
        cmocka_unit_test(attributes_are_named),
        cmocka_unit_test(a_descriptor_past_the_end_of_memory_saturates),
        cmocka_unit_test(ovmf_like_maps_agree),
        cmocka_unit_test(each_kind_of_difference_is_reported_with_the_other_maps_type),
        cmocka_unit_test(random_maps_match_a_page_by_page_oracle),
    };
    return RUN_AND_REPORT(tests);
}
