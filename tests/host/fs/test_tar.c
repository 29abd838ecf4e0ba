/*
 * test_tar.c: the tar reader (fs/tar.c) on archives built here to break one
 * rule each: bounds, checksums, numbers, pax records, the end of the
 * archive. (The real-world corpus is checked by check_corpus.py.)
 * Every archive is an exact-size heap buffer, so ASan sees any read past it.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "fs/tar.h"
#include "tests/host/fs/tar_builder.h"
#include "tests/host/lib/test_report.h"

/* Reads the whole archive (copied to an exact-size buffer); returns the entry
 * count, or -1 with *error on a refusal. */
static int read_all(const struct tar_builder *tb, size_t length, struct tar_entry *last,
                    struct tar_error *error)
{
    uint8_t *exact = malloc(length ? length : 1);
    memcpy(exact, tb->bytes, length);
    struct tar_reader reader;
    tar_reader_init(&reader, exact, length);
    struct tar_entry entry;
    int count = 0, status;
    while ((status = tar_next(&reader, &entry, error)) == 1) {
        count++;
        if (last)
            *last = entry;
    }
    /* Once done, the reader keeps saying the same. */
    assert_int_equal(tar_next(&reader, &entry, NULL), status);
    free(exact);
    return status < 0 ? -1 : count;
}

static void plain_files_and_their_data(void **state)
{
    (void)state;
    struct tar_builder tb = {0};
    tb_file(&tb, "a.txt", "hello\n");
    tb_file(&tb, "dir/b.txt", "world");
    tb_end(&tb);
    struct tar_reader reader;
    tar_reader_init(&reader, tb.bytes, tb.length);
    struct tar_entry entry;
    assert_int_equal(tar_next(&reader, &entry, NULL), 1);
    assert_int_equal(entry.type, TAR_REGULAR);
    assert_int_equal(entry.size, 6);
    assert_int_equal(entry.header_offset, 0);
    assert_int_equal(entry.data_offset, 512);
    assert_memory_equal(tb.bytes + entry.data_offset, "hello\n", 6);
    assert_int_equal(entry.mode, 0644);
    assert_int_equal(entry.uid, 1000);
    assert_int_equal(entry.mtime, 1700000000);
    assert_int_equal(tar_next(&reader, &entry, NULL), 1);
    assert_int_equal(entry.name.length, 9);
    assert_memory_equal(entry.name.bytes, "dir/b.txt", 9);
    assert_int_equal(entry.data_offset, 1536);
    assert_int_equal(tar_next(&reader, &entry, NULL), 0);
    tb_free(&tb);
}

static void data_past_the_end_is_refused(void **state)
{
    (void)state;
    struct tar_builder tb = {0};
    tb_header(&tb, "big", '0', 077777777777ULL, NULL); /* the largest octal size */
    tb_data(&tb, "x", 1);
    struct tar_error error;
    assert_int_equal(read_all(&tb, tb.length, NULL, &error), -1);
    assert_int_equal(error.offset, 0);
    assert_non_null(strstr(error.reason, "past the end"));
    /* One byte short of a file's data: refused too. */
    tb_free(&tb);
    tb_file(&tb, "f", "0123456789");
    assert_int_equal(read_all(&tb, 512 + 9, NULL, &error), -1);
    assert_int_equal(read_all(&tb, 512 + 10, NULL, &error), 1); /* data whole, padding cut */
    tb_free(&tb);
}

static void a_truncated_header_is_refused(void **state)
{
    (void)state;
    struct tar_builder tb = {0};
    tb_file(&tb, "f", "x");
    tb_file(&tb, "g", "y");
    struct tar_error error;
    assert_int_equal(read_all(&tb, 1024 + 100, NULL, &error), -1);
    assert_int_equal(error.offset, 1024);
    assert_int_equal(read_all(&tb, 1024, NULL, &error), 1); /* the end on a block boundary */
    tb_free(&tb);
}

static void checksums_signed_and_unsigned(void **state)
{
    (void)state;
    struct tar_builder tb = {0};
    uint8_t *header = tb_header(&tb, "\xc4\xd6\xdc", '0', 0, NULL); /* high bytes in the name */
    struct tar_error error;
    assert_int_equal(read_all(&tb, tb.length, NULL, &error), 1);
    /* The same header summed as signed chars, as old HP-UX tar did. */
    header = tb.bytes;
    memset(header + 148, ' ', 8);
    int sum = 0;
    for (unsigned i = 0; i < 512; i++)
        sum += (int8_t)header[i];
    char text[8];
    snprintf(text, sizeof(text), "%06o", sum);
    memcpy(header + 148, text, 7);
    assert_int_equal(read_all(&tb, tb.length, NULL, &error), 1);
    header[148 + 5] ^= 1; /* off by one: refused */
    assert_int_equal(read_all(&tb, tb.length, NULL, &error), -1);
    assert_non_null(strstr(error.reason, "checksum"));
    memcpy(header + 148, "12x4567", 7);
    assert_int_equal(read_all(&tb, tb.length, NULL, &error), -1);
    assert_non_null(strstr(error.reason, "not an octal"));
    tb_free(&tb);
}

static void base256_sizes(void **state)
{
    (void)state;
    struct tar_builder tb = {0};
    uint8_t *header = tb_header(&tb, "f", '0', 0, NULL);
    memset(header + 124, 0, 12);
    header[124] = 0x80;
    header[135] = 3; /* base-256: 3 */
    tb_checksum(header);
    tb_data(&tb, "abc", 3);
    struct tar_entry entry;
    struct tar_error error;
    assert_int_equal(read_all(&tb, tb.length, &entry, &error), 1);
    assert_int_equal(entry.size, 3);
    header = tb.bytes;
    header[124] = 0xff; /* negative */
    memset(header + 125, 0xff, 11);
    tb_checksum(header);
    assert_int_equal(read_all(&tb, tb.length, NULL, &error), -1);
    assert_non_null(strstr(error.reason, "size"));
    header[124] = 0x80; /* 2^88: above 2^63 */
    memset(header + 125, 0xff, 11);
    tb_checksum(header);
    assert_int_equal(read_all(&tb, tb.length, NULL, &error), -1);
    tb_free(&tb);
}

static void types_1_to_6_have_no_data(void **state)
{
    (void)state;
    struct tar_builder tb = {0};
    tb_header(&tb, "link", '2', 5, "target"); /* size 5 but no data block */
    tb_file(&tb, "after", "ok");
    tb_end(&tb);
    struct tar_entry entry;
    struct tar_error error;
    assert_int_equal(read_all(&tb, tb.length, &entry, &error), 2);
    assert_int_equal(entry.header_offset, 512);
    assert_memory_equal(entry.name.bytes, "after", 5);
    tb_free(&tb);
}

static void pax_records_override_and_are_checked(void **state)
{
    (void)state;
    struct tar_builder tb = {0};
    tb_pax(&tb, 'x',
           "20 path=long/name/x\n"
           "12 size=999\n");
    tb_header(&tb, "short", '0', 0, NULL);
    char data[999];
    memset(data, 'z', sizeof(data));
    tb_data(&tb, data, sizeof(data));
    tb_end(&tb);
    struct tar_entry entry;
    struct tar_error error;
    assert_int_equal(read_all(&tb, tb.length, &entry, &error), 1);
    assert_int_equal(entry.size, 999);
    assert_int_equal(entry.name.length, 11);
    assert_memory_equal(entry.name.bytes, "long/name/x", 11);
    assert_int_equal(entry.header_offset, 0);
    tb_free(&tb);

    static const char *const broken[] = {
        "0 \n",                  /* length 0 (CVE-2019-20907) */
        "21 path=long/name/x\n", /* length one too long */
        "19 path=long/name/x\n", /* one too short: no newline at its end */
        "14 pathlong/x\n",       /* no '=' */
        "9 =value\n",            /* empty key */
        "12 size=-19\n",         /* negative size */
        "x2 size=19\n",          /* no length */
        "16 mtime=12a.45\n",     /* not a time */
    };
    for (unsigned i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        tb_pax(&tb, i % 2 ? 'g' : 'x', broken[i]);
        tb_header(&tb, "f", '0', 0, NULL);
        tb_end(&tb);
        assert_int_equal(read_all(&tb, tb.length, NULL, &error), -1);
        assert_int_equal(error.offset, 512);
        tb_free(&tb);
    }
}

static void gnu_long_names_cut_at_nul(void **state)
{
    (void)state;
    struct tar_builder tb = {0};
    uint8_t *header = tb_header(&tb, "././@LongLink", 'L', 14, NULL);
    memcpy(header + 257, "ustar  \0", 8);
    tb_checksum(header);
    tb_data(&tb, "long\0ignored!", 14);
    header = tb_header(&tb, "cut", '0', 0, NULL);
    memcpy(header + 257, "ustar  \0", 8);
    tb_checksum(header);
    tb_end(&tb);
    struct tar_entry entry;
    struct tar_error error;
    assert_int_equal(read_all(&tb, tb.length, &entry, &error), 1);
    assert_int_equal(entry.name.length, 4);
    tb_free(&tb);
}

static void the_end_of_the_archive(void **state)
{
    (void)state;
    struct tar_builder tb = {0};
    tb_file(&tb, "a", "1");
    tb_grow(&tb, 1); /* one zero block, then anything: ignored */
    memset(tb_grow(&tb, 1), 'G', 512);
    struct tar_error error;
    assert_int_equal(read_all(&tb, tb.length, NULL, &error), 1);
    assert_int_equal(read_all(&tb, 0, NULL, &error), 0); /* an empty module: no entries */
    tb_free(&tb);
    tb_pax(&tb, 'x', "12 path=abc\n"); /* an x header alone is no entry (Go) */
    assert_int_equal(read_all(&tb, tb.length, NULL, &error), 0);
    tb_free(&tb);
}

static void ustar_prefix_and_v7_directories(void **state)
{
    (void)state;
    struct tar_builder tb = {0};
    uint8_t *header = tb_header(&tb, "name", '0', 0, NULL);
    strcpy((char *)header + 345, "the/prefix");
    tb_checksum(header);
    header = tb_header(&tb, "olddir/", '0', 7, NULL); /* a directory, size ignored */
    memset(header + 257, 0, 8);
    tb_checksum(header);
    tb_end(&tb);
    struct tar_reader reader;
    tar_reader_init(&reader, tb.bytes, tb.length);
    struct tar_entry entry;
    assert_int_equal(tar_next(&reader, &entry, NULL), 1);
    assert_int_equal(entry.prefix.length, 10);
    assert_memory_equal(entry.prefix.bytes, "the/prefix", 10);
    assert_int_equal(tar_next(&reader, &entry, NULL), 1);
    assert_int_equal(entry.type, TAR_DIRECTORY);
    assert_int_equal(entry.size, 0);
    assert_int_equal(tar_next(&reader, &entry, NULL), 0);
    tb_free(&tb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_files_and_their_data),
        cmocka_unit_test(data_past_the_end_is_refused),
        cmocka_unit_test(a_truncated_header_is_refused),
        cmocka_unit_test(checksums_signed_and_unsigned),
        cmocka_unit_test(base256_sizes),
        cmocka_unit_test(types_1_to_6_have_no_data),
        cmocka_unit_test(pax_records_override_and_are_checked),
        cmocka_unit_test(gnu_long_names_cut_at_nul),
        cmocka_unit_test(the_end_of_the_archive),
        cmocka_unit_test(ustar_prefix_and_v7_directories),
    };
    return RUN_AND_REPORT(tests);
}
