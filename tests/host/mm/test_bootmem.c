/* test_bootmem.c: reservations, early allocations and the hand-over sweep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "mm/bootmem.h"
#include "tests/host/lib/test_report.h"

#define KIB 1024ull
#define MIB (1024ull * 1024)

/* The -m 3M machine: RAM [0, 0x9f000) and [1 MiB, 0x2e0000) in whole pages. */
static void setup_3m(struct bootmem *bootmem)
{
    bootmem_init(bootmem);
    assert_true(bootmem_add_ram(bootmem, 0, 0x9f000));
    assert_true(bootmem_add_ram(bootmem, 0x100000, 0x2e0000));
}

static uint64_t total_claimed(const struct bootmem *bootmem)
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < bootmem->reserved_count; i++)
        bytes += bootmem_claimed_bytes(bootmem, i);
    return bytes;
}

struct collected {
    uint64_t starts[64], ends[64];
    size_t count;
};

static void collect(void *ctx, uint64_t start, uint64_t end)
{
    struct collected *c = ctx;
    c->starts[c->count] = start;
    c->ends[c->count++] = end;
}

static void ram_rules_are_enforced(void **state)
{
    (void)state;
    struct bootmem bootmem;
    bootmem_init(&bootmem);
    assert_false(bootmem_add_ram(&bootmem, 0x1000, 0x1800)); /* not page-aligned */
    assert_false(bootmem_add_ram(&bootmem, 0x2000, 0x2000)); /* empty */
    assert_true(bootmem_add_ram(&bootmem, 0x4000, 0x8000));
    assert_false(bootmem_add_ram(&bootmem, 0x3000, 0x5000)); /* out of order / overlapping */
    assert_int_equal(bootmem_ram_bytes(&bootmem), 0x4000);
}

static void every_page_is_claimed_once_or_free(void **state)
{
    (void)state;
    struct bootmem bootmem;
    setup_3m(&bootmem);
    assert_true(bootmem_reserve(&bootmem, 0, 0x1000, "page 0"));
    assert_true(bootmem_reserve(&bootmem, 0x100000, 0x120000, "kernel"));
    assert_true(bootmem_reserve(&bootmem, 0x110000, 0x130000, "overlaps kernel")); /* half */
    assert_true(bootmem_reserve(&bootmem, 0x1305a8, 0x130bc0, "boot info"));       /* partial */
    assert_true(bootmem_reserve(&bootmem, 0xa0000, 0xc0000, "outside RAM"));
    assert_int_equal(bootmem_claimed_bytes(&bootmem, 0), 0x1000);
    assert_int_equal(bootmem_claimed_bytes(&bootmem, 1), 0x20000);
    assert_int_equal(bootmem_claimed_bytes(&bootmem, 2), 0x10000); /* only the part after kernel */
    assert_int_equal(bootmem_claimed_bytes(&bootmem, 3), 0x1000);  /* touches one page */
    assert_int_equal(bootmem_claimed_bytes(&bootmem, 4), 0);
    assert_int_equal(total_claimed(&bootmem) + bootmem_free_bytes(&bootmem),
                     bootmem_ram_bytes(&bootmem));
}

static void free_ranges_exclude_reservations_and_merge(void **state)
{
    (void)state;
    struct bootmem bootmem;
    setup_3m(&bootmem);
    bootmem_reserve(&bootmem, 0, 0x1000, "page 0");
    bootmem_reserve(&bootmem, 0x100000, 0x140000, "kernel");
    bootmem_reserve(&bootmem, 0x200000, 0x201000, "module");
    struct collected c = {0};
    bootmem_for_each_free_range(&bootmem, collect, &c);
    assert_int_equal(c.count, 3);
    assert_int_equal(c.starts[0], 0x1000);
    assert_int_equal(c.ends[0], 0x9f000);
    assert_int_equal(c.starts[1], 0x140000);
    assert_int_equal(c.ends[1], 0x200000);
    assert_int_equal(c.starts[2], 0x201000);
    assert_int_equal(c.ends[2], 0x2e0000);
    /* after the hand-over, no more early allocations */
    assert_int_equal(bootmem_alloc(&bootmem, 4096, 4096, 0, "late"), 0);
}

static void alloc_takes_the_highest_fit_below_the_limit(void **state)
{
    (void)state;
    struct bootmem bootmem;
    setup_3m(&bootmem);
    bootmem_reserve(&bootmem, 0, 0x1000, "page 0");
    uint64_t high = bootmem_alloc(&bootmem, 8192, 4096, 0, "metadata");
    assert_int_equal(high, 0x2de000);
    uint64_t low = bootmem_alloc(&bootmem, 4096, 4096, 1 * MIB, "trampoline");
    assert_int_equal(low, 0x9e000);
    uint64_t aligned = bootmem_alloc(&bootmem, 4096, 64 * KIB, 0, "aligned");
    assert_int_equal(aligned % (64 * KIB), 0);
    assert_true(aligned < 0x2de000);
    assert_int_equal(bootmem_alloc(&bootmem, 8 * MIB, 4096, 0, "too big"), 0);
    assert_int_equal(bootmem_alloc(&bootmem, 4096, 4096, 0x1000, "only page 0 below"), 0);
    assert_int_equal(total_claimed(&bootmem) + bootmem_free_bytes(&bootmem),
                     bootmem_ram_bytes(&bootmem));
}

static void released_reservations_become_free(void **state)
{
    (void)state;
    struct bootmem bootmem;
    setup_3m(&bootmem);
    uint64_t before = bootmem_free_bytes(&bootmem);
    bootmem_reserve(&bootmem, 0x150000, 0x159000, "early page tables");
    assert_int_equal(bootmem_free_bytes(&bootmem), before - 0x9000);
    assert_int_equal(bootmem_release(&bootmem, "early page tables"), 1);
    assert_int_equal(bootmem_free_bytes(&bootmem), before);
    assert_int_equal(bootmem_claimed_bytes(&bootmem, 0), 0);
    assert_int_equal(bootmem_release(&bootmem, "nothing by that name"), 0);
}

static void pages_allocated_one_by_one_share_one_reservation(void **state)
{
    (void)state;
    struct bootmem bootmem;
    setup_3m(&bootmem);
    static const char page_tables[] = "page tables";
    for (int i = 0; i < 100; i++)
        assert_int_equal(bootmem_alloc(&bootmem, 4096, 4096, 0, page_tables),
                         0x2df000 - 0x1000ull * (uint64_t)i);
    assert_int_equal(bootmem.reserved_count, 1);
    assert_int_equal(bootmem_claimed_bytes(&bootmem, 0), 100 * 4096);
}

static void the_table_has_a_limit(void **state)
{
    (void)state;
    struct bootmem bootmem;
    setup_3m(&bootmem);
    for (unsigned i = 0; i < BOOTMEM_MAX_RESERVATIONS; i++) /* apart: no merging */
        assert_true(bootmem_reserve(&bootmem, 0x2000 * (i + 1), 0x2000 * (i + 1) + 0x1000, "page"));
    assert_false(bootmem_reserve(&bootmem, 0x200000, 0x201000, "one too many"));
    assert_int_equal(bootmem_alloc(&bootmem, 4096, 4096, 0, "also too many"), 0);
}

static void random_reservations_keep_the_books_balanced(void **state)
{
    (void)state;
    srand(1234);
    for (int round = 0; round < 2000; round++) {
        struct bootmem bootmem;
        bootmem_init(&bootmem);
        uint64_t cursor = 0;
        int ranges = 1 + rand() % 6;
        for (int i = 0; i < ranges; i++) {
            cursor += 0x1000ull * (rand() % 8);
            uint64_t end = cursor + 0x1000ull * (1 + rand() % 32);
            assert_true(bootmem_add_ram(&bootmem, cursor, end));
            cursor = end;
        }
        int reservations = rand() % 12;
        for (int i = 0; i < reservations; i++) {
            uint64_t start = (uint64_t)(rand() % (int)(cursor + 0x4000));
            bootmem_reserve(&bootmem, start, start + 1 + (uint64_t)(rand() % 0x9000), "r");
            if (rand() % 3 == 0)
                bootmem_alloc(&bootmem, 1 + (uint64_t)(rand() % 0x3000), 4096,
                              (uint64_t)(rand() % 2) * cursor / 2, "a");
        }
        uint64_t claimed = total_claimed(&bootmem);
        uint64_t free_bytes = bootmem_free_bytes(&bootmem);
        assert_int_equal(claimed + free_bytes, bootmem_ram_bytes(&bootmem));
        assert_int_equal(claimed % 4096, 0);
        struct collected c = {0};
        bootmem_for_each_free_range(&bootmem, collect, &c);
        uint64_t visited = 0;
        for (size_t i = 0; i < c.count; i++) {
            assert_true(c.starts[i] < c.ends[i]);
            assert_true(i == 0 || c.ends[i - 1] < c.starts[i]); /* merged, sorted */
            visited += c.ends[i] - c.starts[i];
        }
        assert_int_equal(visited, free_bytes);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ram_rules_are_enforced),
        cmocka_unit_test(every_page_is_claimed_once_or_free),
        cmocka_unit_test(free_ranges_exclude_reservations_and_merge),
        cmocka_unit_test(alloc_takes_the_highest_fit_below_the_limit),
        cmocka_unit_test(released_reservations_become_free),
        cmocka_unit_test(pages_allocated_one_by_one_share_one_reservation),
        cmocka_unit_test(the_table_has_a_limit),
        cmocka_unit_test(random_reservations_keep_the_books_balanced),
    };
    return RUN_AND_REPORT(tests);
}
