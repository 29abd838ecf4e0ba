/*
 * tests/host/lib/test_args.c - shell line splitting and number parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/args.h"
#include "tests/host/lib/test_report.h"

#define MAX_TEST_ARGS 8

/*
 * Splits a heap copy of text (sized exactly, so ASan notices any overrun) and checks the
 * arguments; expected_argc may be ARGS_ERROR.
 */
static void expect_split(const char *text, int max_args, int expected_argc,
                         const char *const *expected, size_t expected_count)
{
    size_t size = strlen(text) + 1;
    char *line = malloc(size);
    assert_non_null(line);
    memcpy(line, text, size);
    char *argv[MAX_TEST_ARGS + 1];
    argv[max_args] = (char *)"sentinel"; /* args_split must not write past max_args */
    int argc = args_split(line, argv, max_args);
    assert_int_equal(argc, expected_argc);
    assert_string_equal(argv[max_args], "sentinel");
    if (argc >= 0) {
        assert_int_equal((size_t)argc, expected_count);
        for (int i = 0; i < argc; i++) {
            assert_true(argv[i] >= line && argv[i] < line + size); /* in place */
            assert_string_equal(argv[i], expected[i]);
        }
    }
    free(line);
}

#define EXPECT_SPLIT(text, max_args, expected_argc, ...)                                           \
    do {                                                                                           \
        const char *const expected_[] = {"(unused)", __VA_ARGS__};                                 \
        expect_split((text), (max_args), (expected_argc), expected_ + 1,                           \
                     sizeof(expected_) / sizeof(expected_[0]) - 1);                                \
    } while (0)

static void test_split_simple_words(void **state)
{
    (void)state;
    EXPECT_SPLIT("echo hello world", MAX_TEST_ARGS, 3, "echo", "hello", "world");
    EXPECT_SPLIT("mem", MAX_TEST_ARGS, 1, "mem");
}

static void test_split_collapses_blanks(void **state)
{
    (void)state;
    EXPECT_SPLIT("   ls \t -l\t\t/  ", MAX_TEST_ARGS, 3, "ls", "-l", "/");
}

static void test_split_empty_and_blank_lines(void **state)
{
    (void)state;
    EXPECT_SPLIT("", MAX_TEST_ARGS, 0);
    EXPECT_SPLIT("  \t  ", MAX_TEST_ARGS, 0);
    EXPECT_SPLIT("", 0, 0); /* nothing to store, so no room is needed */
}

static void test_split_double_quotes(void **state)
{
    (void)state;
    EXPECT_SPLIT("echo \"hello   world\" done", MAX_TEST_ARGS, 3, "echo", "hello   world", "done");
    EXPECT_SPLIT("say \"hi there\"!", MAX_TEST_ARGS, 2, "say", "hi there!");
    EXPECT_SPLIT("a\"b c\"d e", MAX_TEST_ARGS, 2, "ab cd", "e");
    EXPECT_SPLIT("\"\" x \"\"", MAX_TEST_ARGS, 3, "", "x", "");
    EXPECT_SPLIT("\"\t\"", MAX_TEST_ARGS, 1, "\t");
}

static void test_split_unterminated_quote_fails(void **state)
{
    (void)state;
    EXPECT_SPLIT("echo \"oops", MAX_TEST_ARGS, ARGS_ERROR, "unused");
    EXPECT_SPLIT("\"", MAX_TEST_ARGS, ARGS_ERROR, "unused");
    EXPECT_SPLIT("a \"b\" \"c", MAX_TEST_ARGS, ARGS_ERROR, "unused");
}

static void test_split_argument_count_limits(void **state)
{
    (void)state;
    EXPECT_SPLIT("1 2 3 4", 4, 4, "1", "2", "3", "4"); /* exactly max_args */
    EXPECT_SPLIT("1 2 3 4 5", 4, ARGS_ERROR, "unused");
    EXPECT_SPLIT("1 2 3 4   ", 4, 4, "1", "2", "3", "4"); /* trailing blanks are no argument */
    EXPECT_SPLIT("x", 0, ARGS_ERROR, "unused");
    EXPECT_SPLIT("a b c d e f g h", MAX_TEST_ARGS, 8, "a", "b", "c", "d", "e", "f", "g", "h");
}

static void test_split_many_arguments_in_a_long_line(void **state)
{
    (void)state;
    char line[1024] = "";
    char *argv[200];
    for (int i = 0; i < 150; i++) {
        char word[16];
        snprintf(word, sizeof(word), "w%d ", i);
        strcat(line, word);
    }
    assert_int_equal(args_split(line, argv, 200), 150);
    assert_string_equal(argv[0], "w0");
    assert_string_equal(argv[149], "w149");
}

/* ---- numbers --------------------------------------------------------------------------------- */

static void expect_u64(const char *text, uint64_t expected)
{
    uint64_t value = 0xdeadbeef;
    assert_true(args_parse_u64(text, &value));
    assert_int_equal(value, expected);
}

static void expect_rejected(const char *text)
{
    uint64_t value = 0xfeedface;
    assert_false(args_parse_u64(text, &value));
    assert_int_equal(value, 0xfeedface); /* untouched */
}

static void test_parse_decimal(void **state)
{
    (void)state;
    expect_u64("0", 0);
    expect_u64("7", 7);
    expect_u64("42", 42);
    expect_u64("007", 7); /* leading zeros are decimal, not octal */
    expect_u64("4294967296", 4294967296ULL);
    expect_u64("18446744073709551615", UINT64_MAX);
}

static void test_parse_hex(void **state)
{
    (void)state;
    expect_u64("0x0", 0);
    expect_u64("0x2a", 42);
    expect_u64("0X2A", 42);
    expect_u64("0xDeadBeef", 0xdeadbeefULL);
    expect_u64("0xffffffffffffffff", UINT64_MAX);
    expect_u64("0x0000000000000000000001", 1); /* many leading zeros still fit */
}

static void test_parse_rejects_junk(void **state)
{
    (void)state;
    const char *junk[] = {"",    "0x",   "0X",  "x10",   "-1",  "+1",   " 1",    "1 ",
                          "12a", "0x1g", "1.5", "0b101", "abc", "0x-1", "1,000", "\t"};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        expect_rejected(junk[i]);
    }
}

static void test_parse_rejects_overflow(void **state)
{
    (void)state;
    expect_rejected("18446744073709551616"); /* UINT64_MAX + 1 */
    expect_rejected("18446744073709551620");
    expect_rejected("99999999999999999999999");
    expect_rejected("0x10000000000000000");
    expect_rejected("0xffffffffffffffff0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_simple_words),
        cmocka_unit_test(test_split_collapses_blanks),
        cmocka_unit_test(test_split_empty_and_blank_lines),
        cmocka_unit_test(test_split_double_quotes),
        cmocka_unit_test(test_split_unterminated_quote_fails),
        cmocka_unit_test(test_split_argument_count_limits),
        cmocka_unit_test(test_split_many_arguments_in_a_long_line),
        cmocka_unit_test(test_parse_decimal),
        cmocka_unit_test(test_parse_hex),
        cmocka_unit_test(test_parse_rejects_junk),
        cmocka_unit_test(test_parse_rejects_overflow),
    };
    return RUN_AND_REPORT(tests);
}
