/*
 * tests/host/lib/test_format.c - lib/format.c against the host's (glibc's) snprintf.
 *
 * Most cases generate formats from every combination of flags, width, precision, length modifier
 * and boundary value, and require kvsnprintf, kvformat and vsnprintf to agree byte for byte,
 * including the returned length. Formats where C leaves behaviour undefined are either skipped
 * ('#' on %d/%i/%u) or included only where lib/format.h promises glibc's behaviour.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/format.h"
#include "tests/host/lib/test_report.h"

#define OUTPUT_BYTES 1024
#define MAX_REPORTED_MISMATCHES 20

/* ---- comparison machinery -------------------------------------------------------------------- */

/* Collects kvformat's output. Invariant: len <= sizeof(text) - 1 and text[len] == '\0'. */
struct collector {
    char text[8192];
    size_t len;
    size_t calls;
    bool saw_empty_chunk; /* the sink contract promises len > 0 */
};

static void collect(void *sink_ctx, const char *text, size_t len)
{
    struct collector *out = sink_ctx;
    out->calls++;
    if (len == 0) {
        out->saw_empty_chunk = true;
    }
    size_t room = sizeof(out->text) - 1 - out->len;
    size_t copy_len = len < room ? len : room;
    memcpy(out->text + out->len, text, copy_len);
    out->len += copy_len;
    out->text[out->len] = '\0';
}

/* Per test case: how many formats were compared and how many disagreed. */
static unsigned long checks_done;
static unsigned long mismatches;

static void reset_counters(void)
{
    checks_done = 0;
    mismatches = 0;
}

static void print_escaped(const char *label, const char *text, size_t len)
{
    printf("    %s \"", label);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            putchar(c);
        } else {
            printf("\\x%02x", c);
        }
    }
    printf("\"\n");
}

static void report_mismatch(const char *fmt, const char *expected, int expected_len,
                            const char *actual, int actual_len, const char *which)
{
    mismatches++;
    if (mismatches > MAX_REPORTED_MISMATCHES) {
        return;
    }
    printf("  mismatch (%s) for format \"%s\": expected %d, got %d\n", which, fmt, expected_len,
           actual_len);
    print_escaped("expected", expected, expected_len < 0 ? 0 : (size_t)expected_len);
    print_escaped("actual  ", actual, actual_len < 0 ? 0 : (size_t)actual_len);
}

/* Formats with vsnprintf, kvsnprintf and kvformat and records whether all three agree. */
__attribute__((format(printf, 1, 2))) static void check_format(const char *fmt, ...)
{
    char expected[OUTPUT_BYTES];
    char actual[OUTPUT_BYTES];
    static struct collector sink_output;
    va_list for_libc;
    va_list for_snprintf;
    va_list for_sink;
    va_start(for_libc, fmt);
    va_copy(for_snprintf, for_libc);
    va_copy(for_sink, for_libc);
    int expected_len = vsnprintf(expected, sizeof(expected), fmt, for_libc);
    int actual_len = kvsnprintf(actual, sizeof(actual), fmt, for_snprintf);
    sink_output.len = 0;
    sink_output.text[0] = '\0';
    sink_output.saw_empty_chunk = false;
    int sink_len = kvformat(collect, &sink_output, fmt, for_sink);
    va_end(for_sink);
    va_end(for_snprintf);
    va_end(for_libc);

    checks_done++;
    assert_true(expected_len >= 0 && expected_len < OUTPUT_BYTES); /* the table must fit */
    /* Compare raw bytes: %c of '\0' puts a NUL inside the text. */
    if (actual_len != expected_len || memcmp(actual, expected, (size_t)expected_len + 1) != 0) {
        report_mismatch(fmt, expected, expected_len, actual, actual_len, "kvsnprintf");
    } else if (sink_len != expected_len || sink_output.len != (size_t)expected_len ||
               memcmp(sink_output.text, expected, (size_t)expected_len) != 0 ||
               sink_output.saw_empty_chunk) {
        report_mismatch(fmt, expected, expected_len, sink_output.text, sink_len, "kvformat");
    }
}

static void finish_table(const char *what)
{
    printf("  %s: %lu formats compared, %lu mismatches\n", what, checks_done, mismatches);
    assert_true(checks_done > 0);
    assert_int_equal(mismatches, 0);
}

/* ---- format generation ----------------------------------------------------------------------- */

#define NO_FIELD (-1)
#define EMPTY_PRECISION (-2) /* a bare '.', which means precision 0 */

static void build_format(char *fmt, size_t size, const char *flags, int width, int precision,
                         const char *length, char conversion)
{
    char width_text[16] = "";
    char precision_text[16] = "";
    if (width != NO_FIELD) {
        snprintf(width_text, sizeof(width_text), "%d", width);
    }
    if (precision == EMPTY_PRECISION) {
        snprintf(precision_text, sizeof(precision_text), ".");
    } else if (precision != NO_FIELD) {
        snprintf(precision_text, sizeof(precision_text), ".%d", precision);
    }
    snprintf(fmt, size, "%%%s%s%s%s%c", flags, width_text, precision_text, length, conversion);
}

/* The flag string for a subset (bit mask) of "-0+ #". */
static void flags_for_mask(unsigned mask, char flags[6])
{
    static const char all_flags[] = "-0+ #";
    size_t len = 0;
    for (unsigned bit = 0; bit < 5; bit++) {
        if (mask & (1u << bit)) {
            flags[len++] = all_flags[bit];
        }
    }
    flags[len] = '\0';
}

static const int widths[] = {NO_FIELD, 1, 2, 7, 24};
static const int precisions[] = {NO_FIELD, EMPTY_PRECISION, 0, 1, 3, 20};
static const char *const length_modifiers[] = {"", "hh", "h", "l", "ll", "z", "t", "j"};

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

/* Boundary values; each test narrows them to the argument type the length modifier wants. */
static const int64_t integer_values[] = {
    0,
    1,
    -1,
    7,
    42,
    -42,
    127,
    128,
    -128,
    -129,
    255,
    256,
    300,
    32767,
    32768,
    -32768,
    -32769,
    65535,
    65536,
    INT_MAX,
    INT_MIN,
    UINT_MAX,
    (int64_t)UINT_MAX + 1,
    LLONG_MAX,
    LLONG_MIN,
    (int64_t)0x123456789abcdef0,
    -(int64_t)0x123456789abcdef,
};

/* Passes bits as exactly the type that length and signedness call for. */
static void check_integer(const char *fmt, const char *length, bool is_signed, int64_t bits)
{
    uint64_t ubits = (uint64_t)bits;
    if (strcmp(length, "") == 0) {
        if (is_signed) {
            check_format(fmt, (int)bits);
        } else {
            check_format(fmt, (unsigned)ubits);
        }
    } else if (strcmp(length, "hh") == 0 || strcmp(length, "h") == 0) {
        check_format(fmt, (int)bits); /* narrower types arrive promoted to int */
    } else if (strcmp(length, "l") == 0) {
        if (is_signed) {
            check_format(fmt, (long)bits);
        } else {
            check_format(fmt, (unsigned long)ubits);
        }
    } else if (strcmp(length, "ll") == 0) {
        if (is_signed) {
            check_format(fmt, (long long)bits);
        } else {
            check_format(fmt, (unsigned long long)ubits);
        }
    } else if (strcmp(length, "z") == 0 || strcmp(length, "t") == 0) {
        if (is_signed) {
            check_format(fmt, (ptrdiff_t)bits);
        } else {
            check_format(fmt, (size_t)ubits);
        }
    } else {
        if (is_signed) {
            check_format(fmt, (intmax_t)bits);
        } else {
            check_format(fmt, (uintmax_t)ubits);
        }
    }
}

/* Every flag subset x width x precision x length modifier x value for one conversion. */
static void check_integer_conversion(char conversion)
{
    bool is_signed = conversion == 'd' || conversion == 'i';
    bool alternate_defined = conversion == 'x' || conversion == 'X' || conversion == 'o';
    for (unsigned mask = 0; mask < 32; mask++) {
        char flags[6];
        flags_for_mask(mask, flags);
        if (!alternate_defined && strchr(flags, '#') != NULL) {
            continue; /* '#' with d, i, u is undefined behaviour in C */
        }
        for (size_t w = 0; w < COUNT_OF(widths); w++) {
            for (size_t p = 0; p < COUNT_OF(precisions); p++) {
                for (size_t l = 0; l < COUNT_OF(length_modifiers); l++) {
                    char fmt[32];
                    build_format(fmt, sizeof(fmt), flags, widths[w], precisions[p],
                                 length_modifiers[l], conversion);
                    for (size_t v = 0; v < COUNT_OF(integer_values); v++) {
                        check_integer(fmt, length_modifiers[l], is_signed, integer_values[v]);
                    }
                }
            }
        }
    }
}

/* ---- the generated tables -------------------------------------------------------------------- */

static void test_format_table_signed_decimal(void **state)
{
    (void)state;
    reset_counters();
    check_integer_conversion('d');
    check_integer_conversion('i');
    finish_table("%d %i");
}

static void test_format_table_unsigned_decimal(void **state)
{
    (void)state;
    reset_counters();
    check_integer_conversion('u');
    finish_table("%u");
}

static void test_format_table_hex(void **state)
{
    (void)state;
    reset_counters();
    check_integer_conversion('x');
    check_integer_conversion('X');
    finish_table("%x %X");
}

static void test_format_table_octal(void **state)
{
    (void)state;
    reset_counters();
    check_integer_conversion('o');
    finish_table("%o");
}

static void test_format_table_strings(void **state)
{
    (void)state;
    reset_counters();
    char long_text[301];
    memset(long_text, 'L', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    const char *strings[] = {"",          "a",         "abc",     "hello", "(null)",
                             "tab\there", "\xe9t\xe9", long_text, NULL};
    /* C leaves '0' undefined here; lib/format.h promises glibc's "ignore it". */
    const char *flag_sets[] = {"", "-", "0", "-0"};
    const int string_precisions[] = {NO_FIELD, EMPTY_PRECISION, 0, 1, 3, 5, 6, 7, 100};
    const int string_widths[] = {NO_FIELD, 1, 3, 6, 10, 40};
    for (size_t f = 0; f < COUNT_OF(flag_sets); f++) {
        for (size_t w = 0; w < COUNT_OF(string_widths); w++) {
            for (size_t p = 0; p < COUNT_OF(string_precisions); p++) {
                char fmt[32];
                build_format(fmt, sizeof(fmt), flag_sets[f], string_widths[w], string_precisions[p],
                             "", 's');
                for (size_t s = 0; s < COUNT_OF(strings); s++) {
                    check_format(fmt, strings[s]);
                }
            }
        }
    }
    finish_table("%s");
}

static void test_format_table_chars(void **state)
{
    (void)state;
    reset_counters();
    const int chars[] = {'a', 'Z', ' ', '%', '\0', '\n', 0x7f, 0x80, 0xff, -1};
    /* C leaves '0' undefined here; lib/format.h promises glibc's "ignore it". */
    const char *flag_sets[] = {"", "-", "0", "-0"};
    const int char_widths[] = {NO_FIELD, 1, 2, 5, 30};
    for (size_t f = 0; f < COUNT_OF(flag_sets); f++) {
        for (size_t w = 0; w < COUNT_OF(char_widths); w++) {
            char fmt[32];
            build_format(fmt, sizeof(fmt), flag_sets[f], char_widths[w], NO_FIELD, "", 'c');
            for (size_t c = 0; c < COUNT_OF(chars); c++) {
                check_format(fmt, chars[c]);
            }
        }
    }
    finish_table("%c");
}

/* Only '-' and width are defined for %p; the rest is glibc behaviour that lib/format.h adopts. */
static void test_format_table_pointers(void **state)
{
    (void)state;
    reset_counters();
    int local = 0;
    const void *pointers[] = {NULL,   (void *)1,           (void *)0xdeadbeef,
                              &local, (void *)UINTPTR_MAX, (void *)(UINTPTR_MAX / 2 + 1)};
    for (unsigned mask = 0; mask < 32; mask++) {
        char flags[6];
        flags_for_mask(mask, flags);
        for (size_t w = 0; w < COUNT_OF(widths); w++) {
            for (size_t p = 0; p < COUNT_OF(precisions); p++) {
                char fmt[32];
                build_format(fmt, sizeof(fmt), flags, widths[w], precisions[p], "", 'p');
                for (size_t i = 0; i < COUNT_OF(pointers); i++) {
                    check_format(fmt, pointers[i]);
                }
            }
        }
    }
    finish_table("%p");
}

/* ---- hand-written cases ---------------------------------------------------------------------- */

static void test_format_star_width_and_precision(void **state)
{
    (void)state;
    reset_counters();
    const int star_values[] = {-30, -5, -1, 0, 1, 4, 17};
    const char *formats[] = {"[%*d]",    "[%-*d]", "[%0*d]", "[%.*d]",   "[%*.*d]", "[%-*.*x]",
                             "[%0*.*o]", "[%*s]",  "[%.*s]", "[%-*.*s]", "[%*c]",   "[%*p]"};
    for (size_t f = 0; f < COUNT_OF(formats); f++) {
        const char *fmt = formats[f];
        for (size_t a = 0; a < COUNT_OF(star_values); a++) {
            for (size_t b = 0; b < COUNT_OF(star_values); b++) {
                int first = star_values[a];
                int second = star_values[b];
                bool two_stars = strstr(fmt, "*.*") != NULL;
                char last = fmt[strlen(fmt) - 2];
                if (last == 's') {
                    two_stars ? check_format(fmt, first, second, "string")
                              : check_format(fmt, first, "string");
                } else if (last == 'c') {
                    check_format(fmt, first, 'c');
                } else if (last == 'p') {
                    check_format(fmt, first, (void *)0x1234);
                } else {
                    two_stars ? check_format(fmt, first, second, 12345)
                              : check_format(fmt, first, -12345);
                }
            }
        }
    }
    finish_table("'*' fields");
}

static void test_format_percent_literal_and_mixed(void **state)
{
    (void)state;
    reset_counters();
    /* Passed through an array, so gcc does not check them; the extra 0 is never consumed. */
    const char *percent_formats[] = {"%%", "100%%", "%%d", "a%%b%%c"};
    for (size_t i = 0; i < COUNT_OF(percent_formats); i++) {
        check_format(percent_formats[i], 0);
    }
    const char *empty_format = ""; /* a literal "" would trip -Wformat-zero-length */
    check_format("plain text, no conversions");
    check_format(empty_format, 0);
    const char *zero_flag_with_precision = "%d %s %c %x %p %% %lu|%-6s|%06.2d";
    check_format(zero_flag_with_precision, -5, "str", 'q', 255u, (void *)0x10, 9ul, "ab", 7);
    check_format("%s=%d, %s=%d", "left", 1, "right", -2);
    /* Out-of-range values on purpose, so clang's format checker must not see this one. */
    const char *narrowing = "%hhd %hhu %hd %hu";
    check_format(narrowing, 200, 200, 70000, 70000);
    check_format("%lld %llx %zu %zx %td %jd %ju", LLONG_MIN, ULLONG_MAX, SIZE_MAX, SIZE_MAX,
                 PTRDIFF_MIN, INTMAX_MIN, UINTMAX_MAX);
    check_format("%#o %#x %#X %#.0o %#.0x %#5o %#-8x|", 0u, 0u, 0xabcu, 0u, 0u, 8u, 255u);
    check_format("%.0d|%5.0d|%-5.0d|%+.0d|% .0d|%.0u|%.0x", 0, 0, 0, 0, 0, 0u, 0u);
    finish_table("literals and mixed formats");
}

/* Formats fmt with ksnprintf; used for formats gcc's checker would (rightly) reject. */
static int format_unchecked(char *buf, size_t size, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int len = kvsnprintf(buf, size, fmt, args);
    va_end(args);
    return len;
}

/* Fills buf with a marker so the test can see which bytes were written. */
static void fill_marker(char *buf, size_t size)
{
    memset(buf, 0x5a, size);
}

static void test_ksnprintf_truncation_matches_libc(void **state)
{
    (void)state;
    const char *text = "value=42 name=ferrite";
    const size_t full_len = strlen(text);
    for (size_t size = 0; size <= full_len + 3; size++) {
        char ours[64];
        char theirs[64];
        fill_marker(ours, sizeof(ours));
        fill_marker(theirs, sizeof(theirs));
        int our_len = ksnprintf(ours, size, "value=%d name=%s", 42, "ferrite");
        int their_len = snprintf(theirs, size, "value=%d name=%s", 42, "ferrite");
        assert_int_equal(our_len, (int)full_len);
        assert_int_equal(our_len, their_len);
        /* Identical bytes everywhere, including the untouched ones past the terminator. */
        assert_memory_equal(ours, theirs, sizeof(ours));
        if (size > 0) {
            assert_int_equal(ours[size - 1 < full_len ? size - 1 : full_len], '\0');
        }
    }
}

static void test_ksnprintf_size_zero_and_null_buffer(void **state)
{
    (void)state;
    assert_int_equal(ksnprintf(NULL, 0, "%s %d", "hello", 12345), 11);
    assert_int_equal(format_unchecked(NULL, 0, ""), 0);
    char one[1] = {'x'};
    assert_int_equal(ksnprintf(one, sizeof(one), "%d", 987), 3);
    assert_int_equal(one[0], '\0');
    char exact[6];
    assert_int_equal(ksnprintf(exact, sizeof(exact), "%s", "abcde"), 5);
    assert_string_equal(exact, "abcde");
    assert_int_equal(ksnprintf(exact, sizeof(exact), "%s", "abcdef"), 6);
    assert_string_equal(exact, "abcde");
}

static void test_kformat_sink_gets_chunks_not_bytes(void **state)
{
    (void)state;
    static struct collector out;
    out.len = 0;
    out.calls = 0;
    out.saw_empty_chunk = false;
    int len = kformat(collect, &out, "a fairly long piece of literal text without conversions");
    assert_int_equal(len, 55);
    assert_int_equal(out.calls, 1);

    out.len = 0;
    out.calls = 0;
    len = kformat(collect, &out, "%s", "a string argument that is emitted in one go");
    assert_int_equal(out.calls, 1);
    assert_int_equal((size_t)len, out.len);

    out.len = 0;
    out.calls = 0;
    len = kformat(collect, &out, "%100d", 5);
    assert_int_equal(len, 100);
    assert_true(out.calls <= 5); /* padding arrives in runs */
    assert_false(out.saw_empty_chunk);
    char expected[128];
    snprintf(expected, sizeof(expected), "%100d", 5);
    assert_string_equal(out.text, expected);
}

static void test_format_unknown_conversions_are_literal(void **state)
{
    (void)state;
    struct {
        const char *fmt;
        const char *expected;
    } cases[] = {
        {"%q", "%q"},
        {"%5q|%d", "%5q|7"},
        {"%-*q %d", "%-*q 7"}, /* the '*' must not eat the 7 */
        {"%.*q %d", "%.*q 7"}, /* nor here */
        {"%ls %d", "%ls 7"},   /* wide strings are not supported */
        {"%lc %d", "%lc 7"},
        {"%hp %d", "%hp 7"},
        {"%lld%", "7%"}, /* lone '%' at the end */
        {"%", "%"},
        {"abc%", "abc%"},
        {"%5", "%5"},
        {"%-0", "%-0"},
        {"%l", "%l"},
        {"%.*", "%.*"},
        {"%lll %d", "%lll 7"},
        {"%\x80 %d", "%\x80 7"},
        /* Documented: "%%" ignores anything between the two '%' (as glibc does). */
        {"%5%|%d", "%|7"},
        {"%-05.3l%|%d", "%|7"},
    };
    for (size_t i = 0; i < COUNT_OF(cases); i++) {
        char buf[64];
        const char *fmt = cases[i].fmt;
        int len = strstr(fmt, "lld") != NULL ? format_unchecked(buf, sizeof(buf), fmt, 7LL)
                                             : format_unchecked(buf, sizeof(buf), fmt, 7);
        assert_string_equal(buf, cases[i].expected);
        assert_int_equal(len, (int)strlen(cases[i].expected));
    }
}

static void test_format_field_widths_are_clamped(void **state)
{
    (void)state;
    char buf[16];
    /* Far beyond int: parsing must saturate rather than overflow (UBSan would object). */
    assert_int_equal(format_unchecked(buf, sizeof(buf), "%99999999999999999999d", 1),
                     FORMAT_MAX_FIELD_WIDTH);
    assert_int_equal(format_unchecked(buf, sizeof(buf), "%.99999999999999999999d", 1),
                     FORMAT_MAX_FIELD_WIDTH);
    assert_int_equal(format_unchecked(buf, sizeof(buf), "%*d", INT_MAX, 1), FORMAT_MAX_FIELD_WIDTH);
    assert_int_equal(format_unchecked(buf, sizeof(buf), "%*d", INT_MIN, 1), FORMAT_MAX_FIELD_WIDTH);
    assert_string_equal(buf, "1              "); /* INT_MIN: left-justified */
    assert_int_equal(format_unchecked(buf, sizeof(buf), "%.*d", INT_MAX, 1),
                     FORMAT_MAX_FIELD_WIDTH);
    assert_string_equal(buf, "000000000000000");
    /* Below the limit nothing changes. */
    assert_int_equal(ksnprintf(buf, sizeof(buf), "%4000d", 1), 4000);
}

static void test_format_string_precision_reads_no_further(void **state)
{
    (void)state;
    /* Not NUL-terminated: a precision must stop the read (ASan watches the array bounds). */
    static const char unterminated[4] = {'a', 'b', 'c', 'd'};
    char buf[16];
    assert_int_equal(ksnprintf(buf, sizeof(buf), "%.4s|", unterminated), 5);
    assert_string_equal(buf, "abcd|");
    assert_int_equal(ksnprintf(buf, sizeof(buf), "%.2s|", unterminated), 3);
    assert_string_equal(buf, "ab|");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_table_signed_decimal),
        cmocka_unit_test(test_format_table_unsigned_decimal),
        cmocka_unit_test(test_format_table_hex),
        cmocka_unit_test(test_format_table_octal),
        cmocka_unit_test(test_format_table_strings),
        cmocka_unit_test(test_format_table_chars),
        cmocka_unit_test(test_format_table_pointers),
        cmocka_unit_test(test_format_star_width_and_precision),
        cmocka_unit_test(test_format_percent_literal_and_mixed),
        cmocka_unit_test(test_ksnprintf_truncation_matches_libc),
        cmocka_unit_test(test_ksnprintf_size_zero_and_null_buffer),
        cmocka_unit_test(test_kformat_sink_gets_chunks_not_bytes),
        cmocka_unit_test(test_format_unknown_conversions_are_literal),
        cmocka_unit_test(test_format_field_widths_are_clamped),
        cmocka_unit_test(test_format_string_precision_reads_no_further),
    };
    return RUN_AND_REPORT(tests);
}
