/*
 * tests/host/lib/test_multiboot2.c - the bounds-checked multiboot2 boot information reader.
 *
 * Every MBI is copied into a heap buffer of exactly available_bytes bytes (malloc returns 8-byte
 * aligned memory), so ASan reports any read past the bytes the reader was allowed to look at.
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

#include "lib/multiboot2.h"
#include "tests/host/lib/test_report.h"

/* ---- building MBIs ---------------------------------------------------------------------- */

#define BUILDER_MAX 4096

struct mbi_builder {
    uint8_t bytes[BUILDER_MAX];
    uint32_t len;     /* bytes written so far, always 8-aligned after a tag */
    uint8_t pad_byte; /* what goes into the padding after a tag (GRUB writes zeros) */
};

static void put_u32(uint8_t *at, uint32_t value) {
    at[0] = (uint8_t)value;
    at[1] = (uint8_t)(value >> 8);
    at[2] = (uint8_t)(value >> 16);
    at[3] = (uint8_t)(value >> 24);
}

static void put_u64(uint8_t *at, uint64_t value) {
    put_u32(at, (uint32_t)value);
    put_u32(at + 4, (uint32_t)(value >> 32));
}

static uint32_t get_u32(const uint8_t *at) {
    return (uint32_t)at[0] | (uint32_t)at[1] << 8 | (uint32_t)at[2] << 16 | (uint32_t)at[3] << 24;
}

static uint64_t get_u64(const uint8_t *at) {
    return (uint64_t)get_u32(at) | (uint64_t)get_u32(at + 4) << 32;
}

static void builder_init(struct mbi_builder *b, uint8_t pad_byte) {
    memset(b->bytes, 0, sizeof(b->bytes));
    b->len = 8; /* total_size and reserved, filled in by builder_finish */
    b->pad_byte = pad_byte;
}

/* Appends a tag whose size field says size_field, followed by payload_len payload bytes and
 * padding to the next multiple of 8. Returns the tag's offset. */
static uint32_t builder_raw_tag(struct mbi_builder *b, uint32_t type, uint32_t size_field,
                                const void *payload, uint32_t payload_len) {
    uint32_t offset = b->len;
    uint32_t end = offset + 8 + payload_len;
    uint32_t padded = (end + 7) & ~7u;
    assert_true(padded <= BUILDER_MAX);
    put_u32(b->bytes + offset, type);
    put_u32(b->bytes + offset + 4, size_field);
    if (payload_len > 0) {
        memcpy(b->bytes + offset + 8, payload, payload_len);
    }
    memset(b->bytes + end, b->pad_byte, padded - end);
    b->len = padded;
    return offset;
}

static uint32_t builder_tag(struct mbi_builder *b, uint32_t type, const void *payload,
                            uint32_t payload_len) {
    return builder_raw_tag(b, type, 8 + payload_len, payload, payload_len);
}

static uint32_t builder_string_tag(struct mbi_builder *b, uint32_t type, const char *text) {
    return builder_tag(b, type, text, (uint32_t)strlen(text) + 1);
}

/* Writes total_size = everything so far (without adding an end tag); returns it. */
static uint32_t builder_set_total(struct mbi_builder *b) {
    put_u32(b->bytes, b->len);
    put_u32(b->bytes + 4, 0);
    return b->len;
}

/* Appends the end tag (type 0, size 8) and writes total_size; returns it. */
static uint32_t builder_finish(struct mbi_builder *b) {
    builder_raw_tag(b, MB2_TAG_END, 8, NULL, 0);
    return builder_set_total(b);
}

/* A heap copy of exactly len bytes: reading one byte past it is an ASan report. */
static uint8_t *exact_copy(const void *bytes, size_t len) {
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    assert_int_equal((uintptr_t)copy % 8, 0);
    if (len > 0) {
        memcpy(copy, bytes, len);
    }
    return copy;
}

/* ---- the realistic GRUB MBI ---------------------------------------------------------------- */

#define GRUB_CMDLINE "run=\"help\""
#define GRUB_LOADER "GRUB 2.06"
#define GRUB_MODULE_STRING "bootfs type=tar"
#define GRUB_MOD_START 0x107000u
#define GRUB_MOD_END 0x10b000u

static const uint64_t grub_mmap[3][3] = {
    /* base, length, type */
    {0x0, 0x9fc00, 1},
    {0x9fc00, 0x400, 2},
    {0x100000, 0x7ee0000, 1},
};

/* Tags 21, 1, 2, 3, 6, 4, 14, 0 as GRUB 2.06 lays them out under SeaBIOS (minus 10, 9, 5, 8).
 * Offsets: 8, 24, 48, 72, 104, 192, 208, end at 240; total_size 248. */
static uint32_t build_grub_mbi(struct mbi_builder *b, uint8_t pad_byte) {
    builder_init(b, pad_byte);

    uint8_t load_base[4];
    put_u32(load_base, 0x200000);
    builder_tag(b, MB2_TAG_LOAD_BASE_ADDR, load_base, sizeof(load_base));

    builder_string_tag(b, MB2_TAG_CMDLINE, GRUB_CMDLINE);
    builder_string_tag(b, MB2_TAG_BOOT_LOADER_NAME, GRUB_LOADER);

    uint8_t module[8 + sizeof(GRUB_MODULE_STRING)];
    put_u32(module, GRUB_MOD_START);
    put_u32(module + 4, GRUB_MOD_END);
    memcpy(module + 8, GRUB_MODULE_STRING, sizeof(GRUB_MODULE_STRING));
    builder_tag(b, MB2_TAG_MODULE, module, sizeof(module));

    uint8_t mmap[8 + 3 * 24];
    put_u32(mmap, 24); /* entry_size */
    put_u32(mmap + 4, 0);
    for (int i = 0; i < 3; i++) {
        uint8_t *entry = mmap + 8 + 24 * i;
        put_u64(entry, grub_mmap[i][0]);
        put_u64(entry + 8, grub_mmap[i][1]);
        put_u32(entry + 16, (uint32_t)grub_mmap[i][2]);
        put_u32(entry + 20, 0);
    }
    builder_tag(b, MB2_TAG_MMAP, mmap, sizeof(mmap));

    uint8_t meminfo[8];
    put_u32(meminfo, 639);
    put_u32(meminfo + 4, 129920);
    builder_tag(b, MB2_TAG_BASIC_MEMINFO, meminfo, sizeof(meminfo));

    uint8_t rsdp[20];
    memcpy(rsdp, "RSD PTR ", 8);
    for (int i = 8; i < 20; i++) {
        rsdp[i] = (uint8_t)(0x40 + i);
    }
    builder_tag(b, MB2_TAG_ACPI_OLD_RSDP, rsdp, sizeof(rsdp));

    return builder_finish(b);
}

/* ---- walking ------------------------------------------------------------------------------- */

#define SENTINEL_TYPE 0xdeadbeefu

static void set_sentinel(struct mb2_tag *tag) {
    memset(tag, 0, sizeof(*tag));
    tag->type = SENTINEL_TYPE;
}

/* Checks everything that must hold for a tag the reader returned, and reads every payload byte
 * (so ASan checks that the payload really is inside the buffer). */
static void check_tag(const struct mb2_tag *tag, const uint8_t *base, uint32_t total_size,
                      size_t available) {
    assert_true(tag->type != MB2_TAG_END);
    assert_true(tag->offset >= 8);
    assert_int_equal(tag->offset % 8, 0);
    assert_true(tag->size >= 8);
    assert_true(tag->offset < total_size);
    assert_true((uint64_t)tag->offset + tag->size <= total_size);
    assert_true(total_size <= available);
    assert_int_equal(tag->payload_size, tag->size - 8);
    assert_ptr_equal(tag->payload, base + tag->offset + 8);
    assert_int_equal(get_u32(base + tag->offset), tag->type);
    assert_int_equal(get_u32(base + tag->offset + 4), tag->size);
    volatile uint32_t sum = 0;
    for (uint32_t i = 0; i < tag->payload_size; i++) {
        sum += tag->payload[i];
    }
    (void)sum;
    const char *text = mb2_tag_string(tag);
    if (text) {
        assert_ptr_equal(text, tag->payload);
        assert_true(strlen(text) < tag->payload_size);
    } else {
        assert_null(memchr(tag->payload, 0, tag->payload_size));
    }
}

#define MAX_WALKED 64

struct walk {
    struct mb2_tag tags[MAX_WALKED];
    size_t count;
    int result; /* 0 or -1: how the walk ended */
    struct mb2_error error;
};

/* Reads every tag after a successful init, checking each one; then checks that the reader keeps
 * returning 0 without touching the tag. */
static void walk_reader(struct mb2_reader *reader, const uint8_t *base, size_t available,
                        struct walk *walk) {
    walk->count = 0;
    walk->error.offset = 0xffffffffu;
    walk->error.message[0] = '\0';
    uint32_t total_size = reader->total_size;
    size_t calls = 0;
    for (;;) {
        struct mb2_tag tag;
        set_sentinel(&tag);
        int result = mb2_reader_next(reader, &tag, &walk->error);
        calls++;
        assert_true(calls <= total_size / 8 + 1);
        if (result != 1) {
            assert_true(result == 0 || result == -1);
            assert_int_equal(tag.type, SENTINEL_TYPE); /* untouched */
            walk->result = result;
            break;
        }
        check_tag(&tag, base, total_size, available);
        if (walk->count > 0) {
            assert_true(tag.offset > walk->tags[walk->count - 1].offset);
        }
        if (walk->count < MAX_WALKED) {
            walk->tags[walk->count] = tag;
        }
        walk->count++;
    }
    if (walk->result == -1) {
        assert_true(walk->error.offset <= total_size);
        assert_true(walk->error.message[0] != '\0');
        assert_non_null(memchr(walk->error.message, 0, sizeof(walk->error.message)));
    }
    /* Finished: further calls return 0, write nothing. */
    for (int i = 0; i < 3; i++) {
        struct mb2_tag tag;
        set_sentinel(&tag);
        struct mb2_error error = {.offset = 777, .message = "untouched"};
        assert_int_equal(mb2_reader_next(reader, &tag, &error), 0);
        assert_int_equal(tag.type, SENTINEL_TYPE);
        assert_int_equal(error.offset, 777);
        assert_string_equal(error.message, "untouched");
    }
}

/* The buffer of the latest walk_bytes: the walked tags point into it, so it lives until the next
 * walk_bytes or the end of the test (release_kept_buffer is every test's teardown). */
static uint8_t *kept_buffer;

static int release_kept_buffer(void **state) {
    (void)state;
    free(kept_buffer);
    kept_buffer = NULL;
    return 0;
}

/* Copies bytes[0..available) to an exact heap buffer, inits (which must succeed) and walks. */
static void walk_bytes(const uint8_t *bytes, size_t available, struct walk *walk) {
    release_kept_buffer(NULL);
    uint8_t *copy = exact_copy(bytes, available);
    kept_buffer = copy;
    struct mb2_reader reader;
    struct mb2_error error = {.offset = 0, .message = ""};
    bool ok = mb2_reader_init(&reader, copy, available, &error);
    if (!ok) {
        fail_msg("init failed at %u: %s", error.offset, error.message);
    }
    assert_int_equal(reader.total_size, get_u32(bytes));
    walk_reader(&reader, copy, available, walk);
}

/* Init must fail with a message containing `expected`; then next returns 0 without reading. */
static void expect_init_failure(const uint8_t *mbi, size_t available, const char *expected) {
    struct mb2_reader reader;
    struct mb2_error error = {.offset = 1234, .message = ""};
    assert_false(mb2_reader_init(&reader, mbi, available, &error));
    assert_int_equal(error.offset, 0);
    if (!strstr(error.message, expected)) {
        fail_msg("message \"%s\" lacks \"%s\"", error.message, expected);
    }
    struct mb2_tag tag;
    set_sentinel(&tag);
    assert_int_equal(mb2_reader_next(&reader, &tag, &error), 0);
    assert_int_equal(tag.type, SENTINEL_TYPE);
    /* Also without an error struct. */
    assert_false(mb2_reader_init(&reader, mbi, available, NULL));
    assert_int_equal(mb2_reader_next(&reader, &tag, NULL), 0);
}

static void expect_init_failure_copy(const uint8_t *bytes, size_t available,
                                     const char *expected) {
    uint8_t *copy = exact_copy(bytes, available);
    expect_init_failure(copy, available, expected);
    free(copy);
}

static void expect_walk_error(const struct walk *walk, uint32_t offset, const char *expected) {
    assert_int_equal(walk->result, -1);
    assert_int_equal(walk->error.offset, offset);
    if (!strstr(walk->error.message, expected)) {
        fail_msg("message \"%s\" lacks \"%s\"", walk->error.message, expected);
    }
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_grub_mbi_walked_in_order(void **state) {
    (void)state;
    struct mbi_builder *b = malloc(sizeof(*b));
    assert_non_null(b);
    uint32_t total = build_grub_mbi(b, 0);
    assert_int_equal(total, 248);

    uint8_t *mbi = exact_copy(b->bytes, total);
    struct mb2_reader reader;
    assert_true(mb2_reader_init(&reader, mbi, total, NULL));

    static const struct {
        uint32_t type, offset, payload_size;
    } expected[] = {
        {MB2_TAG_LOAD_BASE_ADDR, 8, 4}, {MB2_TAG_CMDLINE, 24, 11}, {MB2_TAG_BOOT_LOADER_NAME, 48, 10},
        {MB2_TAG_MODULE, 72, 24},       {MB2_TAG_MMAP, 104, 80},   {MB2_TAG_BASIC_MEMINFO, 192, 8},
        {MB2_TAG_ACPI_OLD_RSDP, 208, 20},
    };
    struct mb2_tag tag;
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        assert_int_equal(mb2_reader_next(&reader, &tag, NULL), 1);
        check_tag(&tag, mbi, total, total);
        assert_int_equal(tag.type, expected[i].type);
        assert_int_equal(tag.offset, expected[i].offset);
        assert_int_equal(tag.payload_size, expected[i].payload_size);
        assert_int_equal(tag.size, expected[i].payload_size + 8);
        assert_ptr_equal(tag.payload, mbi + expected[i].offset + 8);

        switch (tag.type) {
        case MB2_TAG_LOAD_BASE_ADDR:
            assert_int_equal(get_u32(tag.payload), 0x200000);
            break;
        case MB2_TAG_CMDLINE:
            assert_non_null(mb2_tag_string(&tag));
            assert_string_equal(mb2_tag_string(&tag), GRUB_CMDLINE);
            break;
        case MB2_TAG_BOOT_LOADER_NAME:
            assert_non_null(mb2_tag_string(&tag));
            assert_string_equal(mb2_tag_string(&tag), GRUB_LOADER);
            break;
        case MB2_TAG_MODULE:
            assert_int_equal(get_u32(tag.payload), GRUB_MOD_START);
            assert_int_equal(get_u32(tag.payload + 4), GRUB_MOD_END);
            assert_string_equal((const char *)tag.payload + 8, GRUB_MODULE_STRING);
            /* The payload starts with binary mod_start 0x107000, whose first byte is 0: as a
             * string tag it reads as the empty string. */
            assert_string_equal(mb2_tag_string(&tag), "");
            break;
        case MB2_TAG_MMAP: {
            uint32_t entry_size = get_u32(tag.payload);
            assert_int_equal(entry_size, 24);
            assert_int_equal(get_u32(tag.payload + 4), 0);
            assert_int_equal((tag.payload_size - 8) / entry_size, 3);
            for (uint32_t i = 0; i < 3; i++) {
                const uint8_t *entry = tag.payload + 8 + entry_size * i;
                assert_int_equal(get_u64(entry), grub_mmap[i][0]);
                assert_int_equal(get_u64(entry + 8), grub_mmap[i][1]);
                assert_int_equal(get_u32(entry + 16), grub_mmap[i][2]);
            }
            break;
        }
        case MB2_TAG_BASIC_MEMINFO:
            assert_int_equal(get_u32(tag.payload), 639);
            assert_int_equal(get_u32(tag.payload + 4), 129920);
            break;
        case MB2_TAG_ACPI_OLD_RSDP:
            assert_memory_equal(tag.payload, "RSD PTR ", 8);
            break;
        default:
            fail();
        }
    }
    set_sentinel(&tag);
    struct mb2_error error = {.offset = 99, .message = "untouched"};
    assert_int_equal(mb2_reader_next(&reader, &tag, &error), 0); /* the end tag at 240 */
    assert_int_equal(tag.type, SENTINEL_TYPE);
    assert_int_equal(error.offset, 99); /* reaching the end is not an error */
    assert_string_equal(error.message, "untouched");
    assert_int_equal(mb2_reader_next(&reader, &tag, NULL), 0);

    /* The generic walk agrees, also with garbage in the padding. */
    struct walk *walk = malloc(sizeof(*walk));
    assert_non_null(walk);
    walk_bytes(b->bytes, total, walk);
    assert_int_equal(walk->result, 0);
    assert_int_equal(walk->count, 7);
    build_grub_mbi(b, 0xa5);
    walk_bytes(b->bytes, total, walk);
    assert_int_equal(walk->result, 0);
    assert_int_equal(walk->count, 7);
    assert_int_equal(walk->tags[6].type, MB2_TAG_ACPI_OLD_RSDP);
    assert_int_equal(walk->tags[6].offset, 208);

    free(walk);
    free(mbi);
    free(b);
}

static void test_init_rejects_misaligned_or_null_pointer(void **state) {
    (void)state;
    struct mbi_builder *b = malloc(sizeof(*b));
    assert_non_null(b);
    uint32_t total = build_grub_mbi(b, 0);
    uint8_t *buffer = malloc(total + 8);
    assert_non_null(buffer);
    for (size_t shift = 1; shift < 8; shift++) {
        memcpy(buffer + shift, b->bytes, total);
        expect_init_failure(buffer + shift, total, "aligned");
    }
    expect_init_failure(NULL, total, "aligned");
    /* The same bytes at an aligned address are fine. */
    memcpy(buffer, b->bytes, total);
    struct mb2_reader reader;
    assert_true(mb2_reader_init(&reader, buffer, total + 8, NULL));
    free(buffer);
    free(b);
}

static void test_init_rejects_available_below_16(void **state) {
    (void)state;
    uint8_t bytes[16] = {0};
    put_u32(bytes, 16);
    put_u32(bytes + 8, MB2_TAG_END);
    put_u32(bytes + 12, 8);
    for (size_t available = 0; available < 16; available++) {
        /* The buffer holds only `available` bytes: init must not read total_size from it. */
        expect_init_failure_copy(bytes, available, "truncated");
    }
    struct walk walk;
    walk_bytes(bytes, 16, &walk); /* the smallest valid MBI: just the end tag */
    assert_int_equal(walk.result, 0);
    assert_int_equal(walk.count, 0);
}

static void test_init_rejects_total_size_below_16(void **state) {
    (void)state;
    uint8_t bytes[32] = {0};
    put_u32(bytes + 8, MB2_TAG_END);
    put_u32(bytes + 12, 8);
    static const uint32_t small[] = {0, 1, 7, 8, 9, 15};
    for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
        put_u32(bytes, small[i]);
        expect_init_failure_copy(bytes, sizeof(bytes), "too small");
    }
}

static void test_init_rejects_total_size_above_available(void **state) {
    (void)state;
    struct mbi_builder *b = malloc(sizeof(*b));
    assert_non_null(b);
    uint32_t total = build_grub_mbi(b, 0);
    /* Truncated copies: total_size says 248 but fewer bytes may be read. */
    expect_init_failure_copy(b->bytes, total - 1, "larger than");
    expect_init_failure_copy(b->bytes, total - 8, "larger than");
    expect_init_failure_copy(b->bytes, 16, "larger than");
    put_u32(b->bytes, 0xffffffffu);
    expect_init_failure_copy(b->bytes, total, "larger than");
    /* More available than total_size is fine; the extra bytes are ignored. */
    put_u32(b->bytes, total);
    struct walk walk;
    walk_bytes(b->bytes, total + 64, &walk);
    assert_int_equal(walk.result, 0);
    assert_int_equal(walk.count, 7);
    free(b);
}

static void test_init_rejects_total_size_above_max(void **state) {
    (void)state;
    size_t available = (size_t)MB2_MAX_TOTAL_SIZE + 8;
    uint8_t *mbi = calloc(1, available);
    assert_non_null(mbi);
    put_u32(mbi + 8, MB2_TAG_END);
    put_u32(mbi + 12, 8);

    put_u32(mbi, MB2_MAX_TOTAL_SIZE + 1);
    expect_init_failure(mbi, available, "larger than");
    put_u32(mbi, MB2_MAX_TOTAL_SIZE + 8);
    expect_init_failure(mbi, available, "larger than");

    /* Exactly the maximum is accepted. */
    put_u32(mbi, MB2_MAX_TOTAL_SIZE);
    struct mb2_reader reader;
    assert_true(mb2_reader_init(&reader, mbi, available, NULL));
    assert_int_equal(reader.total_size, MB2_MAX_TOTAL_SIZE);
    struct mb2_tag tag;
    assert_int_equal(mb2_reader_next(&reader, &tag, NULL), 0);
    free(mbi);
}

static void test_tag_size_below_8(void **state) {
    (void)state;
    static const uint32_t sizes[] = {0, 1, 4, 7};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct mbi_builder b;
        builder_init(&b, 0);
        builder_string_tag(&b, MB2_TAG_CMDLINE, "ok");        /* offset 8 */
        builder_raw_tag(&b, MB2_TAG_MODULE, sizes[i], NULL, 0); /* offset 24 */
        uint32_t total = builder_finish(&b);
        struct walk walk;
        walk_bytes(b.bytes, total, &walk);
        assert_int_equal(walk.count, 1);
        assert_string_equal(mb2_tag_string(&walk.tags[0]), "ok");
        expect_walk_error(&walk, 24, "smaller than the tag header");
    }
    /* Also as the very first tag, and for an end tag. */
    struct mbi_builder b;
    builder_init(&b, 0);
    builder_raw_tag(&b, MB2_TAG_END, 0, NULL, 0);
    uint32_t total = builder_finish(&b);
    struct walk walk;
    walk_bytes(b.bytes, total, &walk);
    assert_int_equal(walk.count, 0);
    expect_walk_error(&walk, 8, "smaller than the tag header");
}

static void test_tag_running_past_total_size(void **state) {
    (void)state;
    /* The cmdline tag claims one byte more than the MBI holds (no end tag follows). */
    struct mbi_builder b;
    builder_init(&b, 0);
    builder_raw_tag(&b, MB2_TAG_CMDLINE, 17, "abcdefgh", 8); /* offset 8, really 16 bytes */
    uint32_t total = builder_set_total(&b);
    assert_int_equal(total, 24);
    struct walk walk;
    walk_bytes(b.bytes, total, &walk);
    assert_int_equal(walk.count, 0);
    expect_walk_error(&walk, 8, "extends past");

    /* A huge size after a good tag: 64-bit arithmetic, no wrap. */
    static const uint32_t huge[] = {0xffffffffu, 0xfffffff8u, 0x80000000u, 249};
    for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
        builder_init(&b, 0);
        builder_string_tag(&b, MB2_TAG_CMDLINE, "x");
        builder_raw_tag(&b, MB2_TAG_MMAP, huge[i], "12345678", 8); /* offset 24 */
        total = builder_finish(&b);
        walk_bytes(b.bytes, total, &walk);
        assert_int_equal(walk.count, 1);
        expect_walk_error(&walk, 24, "extends past");
    }

    /* total_size cuts the list inside a tag that is well-formed in the bytes after it. */
    struct mbi_builder *g = malloc(sizeof(*g));
    assert_non_null(g);
    build_grub_mbi(g, 0);
    put_u32(g->bytes, 104 + 40); /* inside the mmap tag (104..192) */
    walk_bytes(g->bytes, 104 + 40, &walk);
    assert_int_equal(walk.count, 4);
    expect_walk_error(&walk, 104, "extends past");
    free(g);
}

static void test_missing_end_tag(void **state) {
    (void)state;
    struct mbi_builder b;
    builder_init(&b, 0);
    builder_string_tag(&b, MB2_TAG_CMDLINE, "a");                 /* 8..18, next 24 */
    builder_string_tag(&b, MB2_TAG_BOOT_LOADER_NAME, "GRUB 2.06"); /* 24..42, next 48 */
    uint32_t total = builder_set_total(&b);
    assert_int_equal(total, 48);
    struct walk walk;
    walk_bytes(b.bytes, total, &walk);
    assert_int_equal(walk.count, 2);
    expect_walk_error(&walk, 48, "without an end tag");

    /* The GRUB MBI with its end tag cut off. */
    struct mbi_builder *g = malloc(sizeof(*g));
    assert_non_null(g);
    build_grub_mbi(g, 0);
    put_u32(g->bytes, 240);
    walk_bytes(g->bytes, 240, &walk);
    assert_int_equal(walk.count, 7);
    expect_walk_error(&walk, 240, "without an end tag");
    /* Or with only part of it left: 4 bytes are not a tag header. */
    put_u32(g->bytes, 244);
    walk_bytes(g->bytes, 244, &walk);
    assert_int_equal(walk.count, 7);
    expect_walk_error(&walk, 240, "without an end tag");
    free(g);
}

static void test_tag_filling_total_size_leaves_no_room_for_end_tag(void **state) {
    (void)state;
    /* A tag that ends exactly at total_size (8-aligned): returned, then the list has run out. */
    struct mbi_builder b;
    builder_init(&b, 0);
    builder_string_tag(&b, MB2_TAG_CMDLINE, "fifteen chars!"); /* 8 + 15 = 23 -> ends at 31 */
    builder_tag(&b, 99, "12345678", 8);                         /* 32..48 */
    uint32_t total = builder_set_total(&b);
    assert_int_equal(total, 48);
    struct walk walk;
    walk_bytes(b.bytes, total, &walk);
    assert_int_equal(walk.count, 2);
    assert_int_equal(walk.tags[1].type, 99);
    assert_int_equal(walk.tags[1].offset, 32);
    expect_walk_error(&walk, 48, "without an end tag");

    /* The same with total_size not a multiple of 8: the last tag ends at total_size = 31. The
     * reader clamps its next offset to total_size and reports the missing end tag there. */
    builder_init(&b, 0);
    builder_string_tag(&b, MB2_TAG_CMDLINE, "fifteen chars!");
    put_u32(b.bytes, 31);
    walk_bytes(b.bytes, 31, &walk);
    assert_int_equal(walk.count, 1);
    assert_int_equal(walk.tags[0].size, 23);
    assert_string_equal(mb2_tag_string(&walk.tags[0]), "fifteen chars!");
    expect_walk_error(&walk, 31, "without an end tag");

    /* The smallest case: total_size 16 holding one 8-byte tag that is not the end tag. */
    uint8_t bytes[16] = {0};
    put_u32(bytes, 16);
    put_u32(bytes + 8, MB2_TAG_CMDLINE);
    put_u32(bytes + 12, 8);
    walk_bytes(bytes, 16, &walk);
    assert_int_equal(walk.count, 1);
    assert_int_equal(walk.tags[0].payload_size, 0);
    assert_null(mb2_tag_string(&walk.tags[0]));
    expect_walk_error(&walk, 16, "without an end tag");
}

/* The header says the list ends with type 0, size 8. The reader checks an end tag's size like any
 * other tag's (>= 8 and inside total_size) and then stops: a larger end tag that fits is accepted
 * as the end (0), one smaller than 8 or running past total_size is malformed (-1). */
static void test_end_tag_with_size_other_than_8(void **state) {
    (void)state;
    struct mbi_builder b;
    struct walk walk;

    /* size 16 (payload 8 bytes), fits: the end. */
    builder_init(&b, 0);
    builder_string_tag(&b, MB2_TAG_CMDLINE, "c");
    builder_raw_tag(&b, MB2_TAG_END, 16, "zzzzzzzz", 8);
    uint32_t total = builder_set_total(&b);
    assert_int_equal(total, 40);
    walk_bytes(b.bytes, total, &walk);
    assert_int_equal(walk.result, 0);
    assert_int_equal(walk.count, 1);

    /* size 9 (odd), fits in its padded 16 bytes: the end. */
    builder_init(&b, 0);
    builder_raw_tag(&b, MB2_TAG_END, 9, "z", 1);
    total = builder_set_total(&b);
    walk_bytes(b.bytes, total, &walk);
    assert_int_equal(walk.result, 0);
    assert_int_equal(walk.count, 0);

    /* Bytes after the end tag (inside total_size) are never looked at. */
    builder_init(&b, 0);
    builder_raw_tag(&b, MB2_TAG_END, 8, NULL, 0);
    builder_raw_tag(&b, MB2_TAG_CMDLINE, 0xffffffffu, NULL, 0);
    total = builder_set_total(&b);
    walk_bytes(b.bytes, total, &walk);
    assert_int_equal(walk.result, 0);
    assert_int_equal(walk.count, 0);

    /* size 16 but only 8 bytes left in total_size: malformed. */
    builder_init(&b, 0);
    builder_string_tag(&b, MB2_TAG_CMDLINE, "c");
    builder_raw_tag(&b, MB2_TAG_END, 16, NULL, 0);
    total = builder_set_total(&b);
    assert_int_equal(total, 32);
    walk_bytes(b.bytes, total, &walk);
    assert_int_equal(walk.count, 1);
    expect_walk_error(&walk, 24, "extends past");

    /* size 0 and 7: malformed. */
    for (uint32_t size = 0; size < 8; size += 7) {
        builder_init(&b, 0);
        builder_string_tag(&b, MB2_TAG_CMDLINE, "c");
        builder_raw_tag(&b, MB2_TAG_END, size, NULL, 0);
        total = builder_set_total(&b);
        walk_bytes(b.bytes, total, &walk);
        assert_int_equal(walk.count, 1);
        expect_walk_error(&walk, 24, "smaller than the tag header");
    }
}

static void test_unknown_tag_types_are_returned(void **state) {
    (void)state;
    static const uint32_t types[] = {5, 7, 8, 10, 13, 16, 17, 18, 22, 1000, 0x80000000u,
                                     0xffffffffu};
    struct mbi_builder b;
    builder_init(&b, 0xcc);
    builder_string_tag(&b, MB2_TAG_CMDLINE, "before");
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        uint8_t payload[12];
        memset(payload, (int)i + 1, sizeof(payload));
        builder_tag(&b, types[i], payload, (uint32_t)(i % 12));
    }
    builder_string_tag(&b, MB2_TAG_BOOT_LOADER_NAME, "after");
    uint32_t total = builder_finish(&b);
    struct walk walk;
    walk_bytes(b.bytes, total, &walk);
    assert_int_equal(walk.result, 0);
    assert_int_equal(walk.count, 2 + sizeof(types) / sizeof(types[0]));
    assert_int_equal(walk.tags[0].type, MB2_TAG_CMDLINE);
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        assert_int_equal(walk.tags[1 + i].type, types[i]);
        assert_int_equal(walk.tags[1 + i].payload_size, i % 12);
    }
    /* A caller that knows only tag 2 skips the rest and still finds it. */
    const struct mb2_tag *last = &walk.tags[walk.count - 1];
    assert_int_equal(last->type, MB2_TAG_BOOT_LOADER_NAME);
    assert_string_equal(mb2_tag_string(last), "after");
}

static void test_padding_after_odd_sizes_is_honoured(void **state) {
    (void)state;
    struct mbi_builder b;
    /* Padding filled with bytes that would look like a huge tag if read as a header. */
    builder_init(&b, 0xff);
    builder_raw_tag(&b, 40, 9, "A", 1);                    /* 8..17, padded to 24 */
    builder_raw_tag(&b, 41, 13, "BCDEF", 5);               /* 24..37, padded to 40 */
    builder_raw_tag(&b, 42, 15, "GHIJKLM", 7);             /* 40..55, padded to 56 */
    builder_raw_tag(&b, 43, 16, "NOPQRSTU", 8);            /* 56..72, no padding */
    builder_raw_tag(&b, 44, 8, NULL, 0);                   /* 72..80 */
    builder_raw_tag(&b, 45, 17, "VWXYZ0123", 9);           /* 80..97, padded to 104 */
    uint32_t total = builder_finish(&b);                   /* end tag at 104 */
    assert_int_equal(total, 112);
    struct walk walk;
    walk_bytes(b.bytes, total, &walk);
    assert_int_equal(walk.result, 0);
    assert_int_equal(walk.count, 6);
    static const uint32_t offsets[] = {8, 24, 40, 56, 72, 80};
    static const uint32_t sizes[] = {9, 13, 15, 16, 8, 17};
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(walk.tags[i].type, 40 + i);
        assert_int_equal(walk.tags[i].offset, offsets[i]);
        assert_int_equal(walk.tags[i].size, sizes[i]);
    }
    assert_memory_equal(walk.tags[1].payload, "BCDEF", 5);
    assert_memory_equal(walk.tags[5].payload, "VWXYZ0123", 9);
}

static void test_tag_string_without_nul_is_null(void **state) {
    (void)state;
    struct mbi_builder b;
    builder_init(&b, 0); /* the padding is zero, but it is not part of the payload */
    builder_tag(&b, MB2_TAG_CMDLINE, "no terminator", 13);
    builder_tag(&b, MB2_TAG_BOOT_LOADER_NAME, NULL, 0);
    builder_tag(&b, MB2_TAG_BOOT_LOADER_NAME, "12345678", 8);
    uint32_t total = builder_finish(&b);
    struct walk walk;
    walk_bytes(b.bytes, total, &walk);
    assert_int_equal(walk.result, 0);
    assert_int_equal(walk.count, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_null(mb2_tag_string(&walk.tags[i]));
    }

    /* The string tag is the last thing in the buffer, exactly at its end: no read past it. */
    builder_init(&b, 0);
    builder_tag(&b, MB2_TAG_CMDLINE, "abcdefgh", 8);
    total = builder_set_total(&b);
    uint8_t *mbi = exact_copy(b.bytes, total);
    struct mb2_reader reader;
    assert_true(mb2_reader_init(&reader, mbi, total, NULL));
    struct mb2_tag tag;
    assert_int_equal(mb2_reader_next(&reader, &tag, NULL), 1);
    assert_null(mb2_tag_string(&tag));
    free(mbi);
}

static void test_tag_string_empty_and_embedded_nul(void **state) {
    (void)state;
    struct mbi_builder b;
    builder_init(&b, 0x55);
    builder_tag(&b, MB2_TAG_CMDLINE, "", 1);
    builder_tag(&b, MB2_TAG_BOOT_LOADER_NAME, "ab\0cd", 5);
    builder_tag(&b, MB2_TAG_CMDLINE, "\0\0\0", 3);
    builder_tag(&b, MB2_TAG_CMDLINE, "last\0", 5);
    uint32_t total = builder_finish(&b);
    struct walk walk;
    walk_bytes(b.bytes, total, &walk);
    assert_int_equal(walk.count, 4);
    assert_string_equal(mb2_tag_string(&walk.tags[0]), "");
    assert_int_equal(walk.tags[0].size, 9);
    assert_string_equal(mb2_tag_string(&walk.tags[1]), "ab");
    assert_string_equal(mb2_tag_string(&walk.tags[2]), "");
    assert_string_equal(mb2_tag_string(&walk.tags[3]), "last");

    /* A hand-made tag struct with nothing in it. */
    struct mb2_tag empty = {.type = MB2_TAG_CMDLINE, .size = 8, .payload = NULL};
    assert_null(mb2_tag_string(&empty));
}

static void test_reader_stays_finished(void **state) {
    (void)state;
    struct mbi_builder b;
    struct walk walk;

    /* After 0 (the end tag), even though more well-formed tags follow inside total_size. */
    builder_init(&b, 0);
    builder_string_tag(&b, MB2_TAG_CMDLINE, "x");
    builder_raw_tag(&b, MB2_TAG_END, 8, NULL, 0);
    builder_string_tag(&b, MB2_TAG_CMDLINE, "after the end");
    uint32_t total = builder_finish(&b);
    walk_bytes(b.bytes, total, &walk); /* checks the repeated 0s itself */
    assert_int_equal(walk.result, 0);
    assert_int_equal(walk.count, 1);

    /* After -1, with the bytes made valid again behind the reader's back: still 0, and the
     * reader does not read them (the buffer is freed, so ASan would report a read). */
    builder_init(&b, 0);
    builder_string_tag(&b, MB2_TAG_CMDLINE, "x");
    builder_raw_tag(&b, MB2_TAG_MMAP, 3, NULL, 0);
    total = builder_finish(&b);
    uint8_t *mbi = exact_copy(b.bytes, total);
    struct mb2_reader reader;
    assert_true(mb2_reader_init(&reader, mbi, total, NULL));
    struct mb2_tag tag;
    struct mb2_error error;
    assert_int_equal(mb2_reader_next(&reader, &tag, &error), 1);
    assert_int_equal(mb2_reader_next(&reader, &tag, &error), -1);
    assert_int_equal(error.offset, 24);
    put_u32(mbi + 28, 8);
    assert_int_equal(mb2_reader_next(&reader, &tag, &error), 0);
    free(mbi);
    for (int i = 0; i < 5; i++) {
        set_sentinel(&tag);
        assert_int_equal(mb2_reader_next(&reader, &tag, NULL), 0);
        assert_int_equal(tag.type, SENTINEL_TYPE);
    }

    /* The same after 0 from a freed buffer. */
    mbi = exact_copy(b.bytes, 16);
    put_u32(mbi, 16);
    put_u32(mbi + 8, MB2_TAG_END);
    put_u32(mbi + 12, 8);
    assert_true(mb2_reader_init(&reader, mbi, 16, NULL));
    assert_int_equal(mb2_reader_next(&reader, &tag, NULL), 0);
    free(mbi);
    assert_int_equal(mb2_reader_next(&reader, &tag, NULL), 0);
    assert_int_equal(mb2_reader_next(&reader, &tag, NULL), 0);
}

static void test_null_error_pointer_and_reserved_field(void **state) {
    (void)state;
    struct mbi_builder *b = malloc(sizeof(*b));
    assert_non_null(b);
    uint32_t total = build_grub_mbi(b, 0);
    put_u32(b->bytes + 4, 0xdeadbeefu); /* reserved: ignored */
    put_u32(b->bytes + 200, 0);         /* meminfo payload changed: irrelevant */
    put_u32(b->bytes + 212, 5);         /* the ACPI tag at 208 now has size 5: malformed */
    uint8_t *mbi = exact_copy(b->bytes, total);
    struct mb2_reader reader;
    assert_true(mb2_reader_init(&reader, mbi, total, NULL));
    struct mb2_tag tag;
    int count = 0;
    int result;
    while ((result = mb2_reader_next(&reader, &tag, NULL)) == 1) {
        count++;
    }
    assert_int_equal(result, -1);
    assert_int_equal(count, 6);
    assert_int_equal(mb2_reader_next(&reader, &tag, NULL), 0);
    free(mbi);
    free(b);
}

/* ---- randomized ---------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void) {
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static uint32_t rng_below(uint32_t n) {
    return (uint32_t)(rng_next() % n);
}

static uint32_t interesting_u32(uint32_t total) {
    static const uint32_t values[] = {0,          1,          7,          8,          9,
                                      15,         16,         17,         24,         0x7fffffffu,
                                      0x80000000u, 0xfffffff8u, 0xfffffff9u, 0xffffffffu, 248};
    switch (rng_below(4)) {
    case 0:
        return values[rng_below(sizeof(values) / sizeof(values[0]))];
    case 1:
        return total + rng_below(17) - 8;
    case 2:
        return rng_below(64);
    default:
        return (uint32_t)rng_next();
    }
}

/* Fills bytes[] (up to BUILDER_MAX) with one random case; returns the number of bytes. */
static uint32_t random_case(uint8_t *bytes, const struct mbi_builder *grub, uint32_t grub_total) {
    uint32_t len;
    switch (rng_below(3)) {
    case 0: { /* pure random bytes with a plausible total_size */
        len = rng_below(200);
        for (uint32_t i = 0; i < len; i++) {
            bytes[i] = (uint8_t)rng_next();
        }
        if (len >= 4) {
            put_u32(bytes, rng_below(2) ? rng_below(len + 9) : interesting_u32(len));
        }
        break;
    }
    case 1: { /* a random chain of tags with small sizes */
        struct mbi_builder b;
        builder_init(&b, (uint8_t)rng_next());
        uint32_t tags = rng_below(12);
        for (uint32_t t = 0; t < tags && b.len < 600; t++) {
            uint8_t payload[40];
            uint32_t payload_len = rng_below(sizeof(payload) + 1);
            for (uint32_t i = 0; i < payload_len; i++) {
                payload[i] = rng_below(4) ? (uint8_t)rng_next() : 0;
            }
            uint32_t type = rng_below(8) ? rng_below(24) : (uint32_t)rng_next();
            uint32_t size = rng_below(8) ? 8 + payload_len : interesting_u32(8 + payload_len);
            builder_raw_tag(&b, type, size, payload, payload_len);
        }
        if (rng_below(2)) {
            builder_raw_tag(&b, MB2_TAG_END, rng_below(8) ? 8 : interesting_u32(8), NULL, 0);
        }
        len = b.len;
        memcpy(bytes, b.bytes, len);
        put_u32(bytes, rng_below(4) ? len : interesting_u32(len));
        break;
    }
    default: { /* mutations of the GRUB MBI */
        len = grub_total;
        memcpy(bytes, grub->bytes, len);
        uint32_t mutations = 1 + rng_below(4);
        for (uint32_t m = 0; m < mutations && len >= 4; m++) {
            switch (rng_below(4)) {
            case 0:
                bytes[rng_below(len)] = (uint8_t)rng_next();
                break;
            case 1: /* a size or type field */
                put_u32(bytes + rng_below(len / 4) * 4, interesting_u32(len));
                break;
            case 2: /* truncate */
                len = rng_below(len + 1);
                break;
            default: /* total_size */
                put_u32(bytes, interesting_u32(len));
                break;
            }
        }
        break;
    }
    }
    /* Sometimes the MBI is followed by readable bytes beyond total_size. */
    if (rng_below(8) == 0 && len + 16 <= BUILDER_MAX) {
        uint32_t extra = rng_below(17);
        for (uint32_t i = 0; i < extra; i++) {
            bytes[len + i] = (uint8_t)rng_next();
        }
        len += extra;
    }
    return len;
}

static void test_randomized_mbis_stay_in_bounds(void **state) {
    (void)state;
    rng_state = 0x5eed0f4b007ull;
    struct mbi_builder *grub = malloc(sizeof(*grub));
    uint8_t *bytes = malloc(BUILDER_MAX);
    struct walk *walk = malloc(sizeof(*walk));
    assert_non_null(grub);
    assert_non_null(bytes);
    assert_non_null(walk);
    uint32_t grub_total = build_grub_mbi(grub, 0);

    unsigned long inits_ok = 0, ends = 0, errors = 0, tags = 0;
    for (int iteration = 0; iteration < 200000; iteration++) {
        uint32_t len = random_case(bytes, grub, grub_total);
        uint8_t *mbi = exact_copy(bytes, len);
        struct mb2_reader reader;
        struct mb2_error error = {.offset = 0, .message = ""};
        if (mb2_reader_init(&reader, mbi, len, &error)) {
            inits_ok++;
            assert_true(reader.total_size >= 16);
            assert_true(reader.total_size <= len);
            assert_true(reader.total_size <= MB2_MAX_TOTAL_SIZE);
            walk_reader(&reader, mbi, len, walk);
            tags += walk->count;
            if (walk->result == 0) {
                ends++;
            } else {
                errors++;
            }
        } else {
            assert_int_equal(error.offset, 0);
            assert_true(error.message[0] != '\0');
            struct mb2_tag tag;
            set_sentinel(&tag);
            assert_int_equal(mb2_reader_next(&reader, &tag, NULL), 0);
            assert_int_equal(tag.type, SENTINEL_TYPE);
        }
        free(mbi);
    }
    /* The generator must actually exercise the walker, both ways. */
    assert_true(inits_ok > 50000);
    assert_true(ends > 10000);
    assert_true(errors > 10000);
    assert_true(tags > 100000);

    free(walk);
    free(bytes);
    free(grub);
}

#define MB2_TEST(f) cmocka_unit_test_teardown(f, release_kept_buffer)

int main(void) {
    const struct CMUnitTest tests[] = {
        MB2_TEST(test_grub_mbi_walked_in_order),
        MB2_TEST(test_init_rejects_misaligned_or_null_pointer),
        MB2_TEST(test_init_rejects_available_below_16),
        MB2_TEST(test_init_rejects_total_size_below_16),
        MB2_TEST(test_init_rejects_total_size_above_available),
        MB2_TEST(test_init_rejects_total_size_above_max),
        MB2_TEST(test_tag_size_below_8),
        MB2_TEST(test_tag_running_past_total_size),
        MB2_TEST(test_missing_end_tag),
        MB2_TEST(test_tag_filling_total_size_leaves_no_room_for_end_tag),
        MB2_TEST(test_end_tag_with_size_other_than_8),
        MB2_TEST(test_unknown_tag_types_are_returned),
        MB2_TEST(test_padding_after_odd_sizes_is_honoured),
        MB2_TEST(test_tag_string_without_nul_is_null),
        MB2_TEST(test_tag_string_empty_and_embedded_nul),
        MB2_TEST(test_reader_stays_finished),
        MB2_TEST(test_null_error_pointer_and_reserved_field),
        MB2_TEST(test_randomized_mbis_stay_in_bounds),
    };
    return RUN_AND_REPORT(tests);
}
