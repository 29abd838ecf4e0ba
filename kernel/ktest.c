/* ktest.c: the in-kernel test runner. */
#include "kernel/ktest.h"

#include "kernel/console.h"
#include "kernel/shell.h"
#include "lib/string.h"

extern const struct ktest __ktests_start[], __ktests_end[];

bool ktest_check(struct ktest_context *context, bool ok, const char *expression, const char *file,
                 int line)
{
    if (!ok) {
        context->checks_failed++;
        kprintf("    failed: %s at %s:%d\n", expression, file, line);
    }
    return ok;
}

bool ktest_check_eq(struct ktest_context *context, uint64_t actual, uint64_t expected,
                    const char *expression, const char *file, int line)
{
    if (actual != expected) {
        context->checks_failed++;
        kprintf("    failed: %s at %s:%d (got %#lx, expected %#lx)\n", expression, file, line,
                actual, expected);
    }
    return actual == expected;
}

unsigned ktest_run_matching(const char *pattern)
{
    unsigned passed = 0, failed = 0;
    for (const struct ktest *test = __ktests_start; test < __ktests_end; test++) {
        if (pattern && *pattern && !strstr(test->name, pattern))
            continue;
        struct ktest_context context = {0};
        test->run(&context);
        if (context.checks_failed == 0) {
            passed++;
            kprintf("PASS %s\n", test->name);
        } else {
            failed++;
            kprintf("FAIL %s (%s)\n", test->name, test->file);
        }
    }
    if (passed + failed == 0) { /* a run that tests nothing must not look like a pass */
        kprintf("ktest: no test name contains \"%s\": nothing ran, counted as 1 failure\n",
                pattern);
        failed = 1;
    }
    kprintf("%u passed, %u failed\n", passed, failed);
    return failed;
}

static int command_ktest(int argc, char **argv)
{
    return ktest_run_matching(argc == 2 ? argv[1] : NULL) == 0 ? 0 : 1;
}

SHELL_COMMAND(ktest, "ktest [pattern]",
              "run the in-kernel tests (those whose name contains pattern)", command_ktest);
