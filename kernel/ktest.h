/*
 * ktest.h: tests that run inside the kernel, on the real machine state.
 *
 *     KTEST(gdt_has_tss) {
 *         KTEST_EXPECT(gdt_loaded_task_register() == GDT_TSS);
 *     }
 *
 * KTEST puts a descriptor in the .ktests linker section; `ktest [pattern]`
 * (or the `test` boot option) runs every test whose name contains pattern.
 * A failed expectation prints the expression and file:line; the test goes on.
 */
#ifndef KERNEL_KTEST_H
#define KERNEL_KTEST_H

#include <stdbool.h>
#include <stdint.h>

struct ktest_context {
    unsigned checks_failed;
};

struct ktest {
    const char *name;
    const char *file;
    void (*run)(struct ktest_context *ktest_context);
};

#define KTEST(test_name)                                                                           \
    static void ktest_run_##test_name(struct ktest_context *ktest_context);                        \
    static const struct ktest ktest_descriptor_##test_name                                         \
        __attribute__((used, section(".ktests"), aligned(8))) = {#test_name, __FILE__,             \
                                                                 ktest_run_##test_name};           \
    static void ktest_run_##test_name(struct ktest_context *ktest_context)

#define KTEST_EXPECT(expr) ktest_check(ktest_context, (expr), #expr, __FILE__, __LINE__)

/* Integer equality that prints both values when they differ. */
#define KTEST_EXPECT_EQ(actual, expected)                                                          \
    ktest_check_eq(ktest_context, (uint64_t)(actual), (uint64_t)(expected),                        \
                   #actual " == " #expected, __FILE__, __LINE__)

bool ktest_check(struct ktest_context *context, bool ok, const char *expression, const char *file,
                 int line);
bool ktest_check_eq(struct ktest_context *context, uint64_t actual, uint64_t expected,
                    const char *expression, const char *file, int line);

/* Runs the matching tests (NULL or "" = all), prints PASS/FAIL per test and
 * "N passed, M failed"; returns the number failed. A pattern that matches no
 * test counts as one failure ("0 passed, 1 failed"). */
unsigned ktest_run_matching(const char *pattern);

#endif
