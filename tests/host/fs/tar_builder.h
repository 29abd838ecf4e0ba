/*
 * tar_builder.h: builds small tar archives in memory for the host tests of
 * fs/, header field by header field, so each test can break exactly one rule.
 * Independent of fs/tar.c: checksums and numbers are written here by hand.
 */
#ifndef TESTS_HOST_FS_TAR_BUILDER_H
#define TESTS_HOST_FS_TAR_BUILDER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tar_builder {
    uint8_t *bytes;
    size_t length; /* always a multiple of 512 but for tests that cut it */
};

static inline uint8_t *tb_grow(struct tar_builder *tb, size_t blocks)
{
    tb->bytes = realloc(tb->bytes, tb->length + blocks * 512);
    memset(tb->bytes + tb->length, 0, blocks * 512);
    uint8_t *at = tb->bytes + tb->length;
    tb->length += blocks * 512;
    return at;
}

static inline void tb_octal(uint8_t *field, unsigned width, unsigned long long value)
{
    char text[32];
    snprintf(text, sizeof(text), "%0*llo", (int)width - 1, value);
    memcpy(field, text, width - 1);
    field[width - 1] = 0;
}

/* Fills the checksum of a finished header (unsigned sum, field as spaces). */
static inline void tb_checksum(uint8_t *header)
{
    memset(header + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned i = 0; i < 512; i++)
        sum += header[i];
    char text[8];
    snprintf(text, sizeof(text), "%06o", sum);
    memcpy(header + 148, text, 7); /* six digits, NUL, then the space already there */
}

/* A ustar header; returns it so a test can change fields (then re-checksum). */
static inline uint8_t *tb_header(struct tar_builder *tb, const char *name, char type,
                                 unsigned long long size, const char *link)
{
    uint8_t *header = tb_grow(tb, 1);
    strncpy((char *)header, name, 100);
    tb_octal(header + 100, 8, type == '5' ? 0755 : 0644);
    tb_octal(header + 108, 8, 1000);
    tb_octal(header + 116, 8, 1000);
    tb_octal(header + 124, 12, size);
    tb_octal(header + 136, 12, 1700000000);
    header[156] = (uint8_t)type;
    if (link)
        strncpy((char *)header + 157, link, 100);
    memcpy(header + 257,
           "ustar\0"
           "00",
           8);
    tb_checksum(header);
    return header;
}

/* Data after a header, padded to 512. */
static inline void tb_data(struct tar_builder *tb, const void *data, size_t bytes)
{
    uint8_t *at = tb_grow(tb, (bytes + 511) / 512);
    memcpy(at, data, bytes);
}

static inline void tb_file(struct tar_builder *tb, const char *name, const char *text)
{
    tb_header(tb, name, '0', strlen(text), NULL);
    tb_data(tb, text, strlen(text));
}

/* A pax x header whose body is `records` as given (lengths written by the test). */
static inline void tb_pax(struct tar_builder *tb, char type, const char *records)
{
    tb_header(tb, "PaxHeaders/x", type, strlen(records), NULL);
    tb_data(tb, records, strlen(records));
}

static inline void tb_end(struct tar_builder *tb)
{
    tb_grow(tb, 2);
}

static inline void tb_free(struct tar_builder *tb)
{
    free(tb->bytes);
    tb->bytes = NULL;
    tb->length = 0;
}

#endif
