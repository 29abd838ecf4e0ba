/*
 * tests/host/lib/test_report.h - shared ending for the host test programs.
 *
 * Every program ends by printing "N passed, M failed" as its last line; tests/host/summarize.sh
 * adds those lines up. Include after <cmocka.h>.
 */
#ifndef FERRITE_TESTS_TEST_REPORT_H
#define FERRITE_TESTS_TEST_REPORT_H

#include <stdio.h>

/* Line-buffer stdout so that a sanitizer abort cannot swallow output that was already printed. */
static inline void test_report_begin(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
}

static inline int test_report_end(size_t total, int failed)
{
    if (failed < 0 || (size_t)failed > total) {
        failed = (int)total; /* cmocka could not run the group at all */
    }
    printf("%zu passed, %d failed\n", total - (size_t)failed, failed);
    return failed == 0 ? 0 : 1;
}

#define RUN_AND_REPORT(tests)                                                                      \
    (test_report_begin(), test_report_end(sizeof(tests) / sizeof((tests)[0]),                      \
                                          cmocka_run_group_tests(tests, NULL, NULL)))

#endif /* FERRITE_TESTS_TEST_REPORT_H */
