/* test_platform.c: the host side of lib/platform.h, which the mm/ tests rely on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/platform.h"
#include "tests/host/lib/test_report.h"
#include "tests/host/platform_host.h"

static void panics_are_caught_by_tests(void **state)
{
    (void)state;
    bool panicked = HOST_EXPECT_PANIC(platform_panic("pfn %d is %s", 7, "free"));
    assert_true(panicked);
    assert_string_equal(host_last_panic, "pfn 7 is free");
    assert_false(HOST_EXPECT_PANIC((void)0));
}

static void phys_to_virt_maps_the_simulated_memory(void **state)
{
    (void)state;
    static char memory[8192];
    host_set_physical_memory(memory, 0x100000, sizeof(memory));
    assert_ptr_equal(platform_phys_to_virt(0x100000), memory);
    assert_ptr_equal(platform_phys_to_virt(0x101fff), memory + 8191);
    assert_true(HOST_EXPECT_PANIC(platform_phys_to_virt(0x102000)));
    assert_true(HOST_EXPECT_PANIC(platform_phys_to_virt(0xfffff)));
}

static void locks_and_cpu_ids(void **state)
{
    (void)state;
    struct platform_lock lock = PLATFORM_LOCK_INIT;
    host_set_cpu(2, 4);
    platform_lock_acquire(&lock);
    assert_true(platform_lock_is_held(&lock));
    assert_int_equal(lock.owner_cpu, 2);
    platform_lock_release(&lock);
    assert_false(platform_lock_is_held(&lock));
    assert_int_equal(lock.now_serving, 1);
    assert_int_equal(platform_cpu_index(), 2);
    assert_int_equal(platform_cpu_count(), 4);
    host_set_cpu(0, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(panics_are_caught_by_tests),
        cmocka_unit_test(phys_to_virt_maps_the_simulated_memory),
        cmocka_unit_test(locks_and_cpu_ids),
    };
    return RUN_AND_REPORT(tests);
}
