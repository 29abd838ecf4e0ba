/*
 * tests/host/lib/test_string.c - lib/string.c against the host libc.
 *
 * lib/string.c is compiled with tests/host/lib/string_rename.h force-included, so its functions
 * are called ferrite_memcpy and so on here, while the plain names still reach libc, which serves
 * as the reference (except for strlcpy, which glibc 2.36 lacks).
 */
#define _POSIX_C_SOURCE 200809L /* for the host's strnlen */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Declare the lib functions under their ferrite_ names, then give the plain names back. */
#include "tests/host/lib/string_rename.h"

#include "lib/string.h"
#undef memcpy
#undef memmove
#undef memset
#undef memcmp
#undef strlen
#undef strnlen
#undef strcmp
#undef strncmp
#undef strchr
#undef strrchr
#undef strstr
#undef strlcpy
#undef str_starts_with

#include <stdlib.h>
#include <string.h>

#include "tests/host/lib/test_report.h"

#define BIG_BUFFER_BYTES 4096

static int sign_of(int value)
{
    return (value > 0) - (value < 0);
}

/* A recognisable, non-repeating byte pattern that includes bytes >= 0x80. */
static void fill_pattern(unsigned char *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (unsigned char)(i * 31u + seed * 7u + 0x5a);
    }
}

static void test_memcpy_all_sizes_and_alignments(void **state)
{
    (void)state;
    static unsigned char src[BIG_BUFFER_BYTES + 16];
    static unsigned char dst[BIG_BUFFER_BYTES + 16];
    static unsigned char expected[BIG_BUFFER_BYTES + 16];
    fill_pattern(src, sizeof(src), 1);
    const size_t sizes[] = {0,  1,  2,  3,  7,  8,   9,    15,
                            16, 17, 63, 64, 65, 255, 1000, BIG_BUFFER_BYTES};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        for (size_t src_offset = 0; src_offset < 8; src_offset++) {
            for (size_t dst_offset = 0; dst_offset < 8; dst_offset++) {
                memset(dst, 0xee, sizeof(dst));
                memset(expected, 0xee, sizeof(expected));
                memcpy(expected + dst_offset, src + src_offset, sizes[s]);
                void *result = ferrite_memcpy(dst + dst_offset, src + src_offset, sizes[s]);
                assert_ptr_equal(result, dst + dst_offset);
                assert_memory_equal(dst, expected, sizeof(dst)); /* neighbours untouched too */
            }
        }
    }
}

static void test_memmove_overlapping_both_directions(void **state)
{
    (void)state;
    unsigned char original[300];
    unsigned char ours[300];
    unsigned char reference[300];
    fill_pattern(original, sizeof(original), 2);
    const size_t sizes[] = {0, 1, 2, 5, 8, 13, 64, 100, 150};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        for (int shift = -20; shift <= 20; shift++) {
            size_t src_offset = 100;
            size_t dst_offset = (size_t)(100 + shift);
            memcpy(ours, original, sizeof(ours));
            memcpy(reference, original, sizeof(reference));
            void *result = ferrite_memmove(ours + dst_offset, ours + src_offset, sizes[s]);
            memmove(reference + dst_offset, reference + src_offset, sizes[s]);
            assert_ptr_equal(result, ours + dst_offset);
            assert_memory_equal(ours, reference, sizeof(ours));
        }
    }
}

static void test_memmove_disjoint_and_same_pointer(void **state)
{
    (void)state;
    unsigned char buf[64];
    unsigned char expected[64];
    fill_pattern(buf, sizeof(buf), 3);
    memcpy(expected, buf, sizeof(buf));
    assert_ptr_equal(ferrite_memmove(buf, buf, sizeof(buf)), buf);
    assert_memory_equal(buf, expected, sizeof(buf));
    ferrite_memmove(buf, buf + 32, 32);
    memmove(expected, expected + 32, 32);
    assert_memory_equal(buf, expected, sizeof(buf));
}

static void test_memset_values_sizes_alignment(void **state)
{
    (void)state;
    unsigned char ours[200];
    unsigned char reference[200];
    const int values[] = {0, 1, 0x7f, 0x80, 0xff, 0x1ab, -1};
    const size_t sizes[] = {0, 1, 3, 8, 31, 150};
    for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            for (size_t offset = 0; offset < 8; offset++) {
                fill_pattern(ours, sizeof(ours), 4);
                fill_pattern(reference, sizeof(reference), 4);
                void *result = ferrite_memset(ours + offset, values[v], sizes[s]);
                memset(reference + offset, values[v], sizes[s]);
                assert_ptr_equal(result, ours + offset);
                assert_memory_equal(ours, reference, sizeof(ours));
            }
        }
    }
}

static void test_memcmp_unsigned_bytes_and_lengths(void **state)
{
    (void)state;
    const unsigned char a[] = {0x00, 0x41, 0x80, 0xff, 0x10};
    const unsigned char b[] = {0x00, 0x41, 0x7f, 0xff, 0x11};
    for (size_t len = 0; len <= sizeof(a); len++) {
        assert_int_equal(sign_of(ferrite_memcmp(a, b, len)), sign_of(memcmp(a, b, len)));
        assert_int_equal(sign_of(ferrite_memcmp(b, a, len)), sign_of(memcmp(b, a, len)));
        assert_int_equal(ferrite_memcmp(a, a, len), 0);
    }
    assert_true(ferrite_memcmp(a, b, 3) > 0); /* 0x80 > 0x7f as unsigned char */
    assert_int_equal(ferrite_memcmp(NULL, NULL, 0), 0);

    static unsigned char big_a[BIG_BUFFER_BYTES];
    static unsigned char big_b[BIG_BUFFER_BYTES];
    fill_pattern(big_a, sizeof(big_a), 5);
    memcpy(big_b, big_a, sizeof(big_b));
    assert_int_equal(ferrite_memcmp(big_a, big_b, sizeof(big_a)), 0);
    big_b[BIG_BUFFER_BYTES - 1] ^= 0x80;
    assert_int_equal(sign_of(ferrite_memcmp(big_a, big_b, sizeof(big_a))),
                     sign_of(memcmp(big_a, big_b, sizeof(big_a))));
}

static void test_strlen_and_strnlen(void **state)
{
    (void)state;
    assert_int_equal(ferrite_strlen(""), 0);
    assert_int_equal(ferrite_strlen("a"), 1);
    assert_int_equal(ferrite_strlen("hello\0world"), 5);
    static char long_text[BIG_BUFFER_BYTES];
    memset(long_text, 'x', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    assert_int_equal(ferrite_strlen(long_text), strlen(long_text));
    assert_int_equal(ferrite_strlen(long_text + 3), strlen(long_text + 3));

    assert_int_equal(ferrite_strnlen("hello", 0), 0);
    assert_int_equal(ferrite_strnlen("hello", 3), 3);
    assert_int_equal(ferrite_strnlen("hello", 5), 5);
    assert_int_equal(ferrite_strnlen("hello", 100), 5);
    assert_int_equal(ferrite_strnlen("", 10), 0);
    /* Not NUL-terminated: ASan would catch a read past the 4 bytes. */
    char *unterminated = malloc(4);
    assert_non_null(unterminated);
    memcpy(unterminated, "abcd", 4);
    assert_int_equal(ferrite_strnlen(unterminated, 4), 4);
    assert_int_equal(ferrite_strnlen(unterminated, 2), 2);
    free(unterminated);
}

static void test_strcmp_and_strncmp_match_libc(void **state)
{
    (void)state;
    const char *samples[] = {"",    "a",    "b",    "ab",    "abc",   "abd",
                             "ABC", "\x80", "\xff", "a\xe9", "a\x7f", "zzzz"};
    const size_t count = sizeof(samples) / sizeof(samples[0]);
    for (size_t i = 0; i < count; i++) {
        for (size_t j = 0; j < count; j++) {
            assert_int_equal(sign_of(ferrite_strcmp(samples[i], samples[j])),
                             sign_of(strcmp(samples[i], samples[j])));
            for (size_t n = 0; n < 5; n++) {
                assert_int_equal(sign_of(ferrite_strncmp(samples[i], samples[j], n)),
                                 sign_of(strncmp(samples[i], samples[j], n)));
            }
        }
    }
    assert_true(ferrite_strcmp("\x80", "\x7f") > 0);
    assert_int_equal(ferrite_strncmp("abcX", "abcY", 3), 0);
    assert_int_equal(ferrite_strncmp("abc", "abc", SIZE_MAX), 0);
}

static void test_strchr_and_strrchr(void **state)
{
    (void)state;
    const char *text = "hello, w\xe9rld\xe9!";
    const int targets[] = {'h', 'l', 'o', '!', 'z', '\0', 0xe9, (char)0xe9, 'l' + 0x100};
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        assert_ptr_equal(ferrite_strchr(text, targets[i]), strchr(text, targets[i]));
        assert_ptr_equal(ferrite_strrchr(text, targets[i]), strrchr(text, targets[i]));
    }
    const char *empty = "";
    assert_ptr_equal(ferrite_strchr(empty, '\0'), empty);
    assert_ptr_equal(ferrite_strrchr(empty, '\0'), empty);
    assert_null(ferrite_strchr(empty, 'a'));
    assert_null(ferrite_strrchr(empty, 'a'));
}

static void test_strstr_edge_cases(void **state)
{
    (void)state;
    const char *haystacks[] = {"", "a", "aaab", "abcabcabd", "hello world", "needle", "xneedl"};
    const char *needles[] = {"", "a", "b", "ab", "abd", "aab", "world", "needle", "hello world!"};
    for (size_t h = 0; h < sizeof(haystacks) / sizeof(haystacks[0]); h++) {
        for (size_t n = 0; n < sizeof(needles) / sizeof(needles[0]); n++) {
            assert_ptr_equal(ferrite_strstr(haystacks[h], needles[n]),
                             strstr(haystacks[h], needles[n]));
        }
    }
}

static void test_strlcpy_sizes_and_truncation(void **state)
{
    (void)state;
    char buf[8];

    memset(buf, '#', sizeof(buf));
    assert_int_equal(ferrite_strlcpy(buf, "hello", 0), 5);
    assert_int_equal(buf[0], '#'); /* size 0 writes nothing */

    assert_int_equal(ferrite_strlcpy(buf, "hello", 1), 5);
    assert_string_equal(buf, "");
    assert_int_equal(buf[1], '#');

    assert_int_equal(ferrite_strlcpy(buf, "hello", 6), 5); /* exact fit */
    assert_string_equal(buf, "hello");

    assert_int_equal(ferrite_strlcpy(buf, "hello", 5), 5); /* one short: truncated */
    assert_string_equal(buf, "hell");

    assert_int_equal(ferrite_strlcpy(buf, "a much longer string", sizeof(buf)), 20);
    assert_string_equal(buf, "a much ");

    assert_int_equal(ferrite_strlcpy(buf, "", sizeof(buf)), 0);
    assert_string_equal(buf, "");
}

static void test_str_starts_with(void **state)
{
    (void)state;
    assert_true(ferrite_str_starts_with("hello", ""));
    assert_true(ferrite_str_starts_with("", ""));
    assert_true(ferrite_str_starts_with("hello", "he"));
    assert_true(ferrite_str_starts_with("hello", "hello"));
    assert_false(ferrite_str_starts_with("hello", "hello!"));
    assert_false(ferrite_str_starts_with("hello", "hE"));
    assert_false(ferrite_str_starts_with("", "a"));
    assert_true(ferrite_str_starts_with("run=echo", "run="));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memcpy_all_sizes_and_alignments),
        cmocka_unit_test(test_memmove_overlapping_both_directions),
        cmocka_unit_test(test_memmove_disjoint_and_same_pointer),
        cmocka_unit_test(test_memset_values_sizes_alignment),
        cmocka_unit_test(test_memcmp_unsigned_bytes_and_lengths),
        cmocka_unit_test(test_strlen_and_strnlen),
        cmocka_unit_test(test_strcmp_and_strncmp_match_libc),
        cmocka_unit_test(test_strchr_and_strrchr),
        cmocka_unit_test(test_strstr_edge_cases),
        cmocka_unit_test(test_strlcpy_sizes_and_truncation),
        cmocka_unit_test(test_str_starts_with),
    };
    return RUN_AND_REPORT(tests);
}
