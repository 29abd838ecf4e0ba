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
#include "lib/random.h"
#include "tests/host/lib/test_report.h"

/* ---- building MBIs ---------------------------------------------------------------------- */

#define BUILDER_MAX 4096

struct mbi_builder {
    uint8_t bytes[BUILDER_MAX];
    uint32_t len;     /* bytes written so far, always 8-aligned after a tag */
    uint8_t pad_byte; /* what goes into the padding after a tag (GRUB writes zeros) */
};

static void put_u32(uint8_t *at, uint32_t value)
{
    at[0] = (uint8_t)value;
    at[1] = (uint8_t)(value >> 8);
    at[2] = (uint8_t)(value >> 16);
    at[3] = (uint8_t)(value >> 24);
}

static void put_u64(uint8_t *at, uint64_t value)
{
    put_u32(at, (uint32_t)value);
    put_u32(at + 4, (uint32_t)(value >> 32));
}

static uint32_t get_u32(const uint8_t *at)
{
    return (uint32_t)at[0] | (uint32_t)at[1] << 8 | (uint32_t)at[2] << 16 | (uint32_t)at[3] << 24;
}

static uint64_t get_u64(const uint8_t *at)
{
    return (uint64_t)get_u32(at) | (uint64_t)get_u32(at + 4) << 32;
}

static void builder_init(struct mbi_builder *b, uint8_t pad_byte)
{
    memset(b->bytes, 0, sizeof(b->bytes));
    b->len = 8; /* total_size and reserved, filled in by builder_finish */
    b->pad_byte = pad_byte;
}

/* Appends a tag whose size field says size_field, followed by payload_len payload bytes and
 * padding to the next multiple of 8. Returns the tag's offset. */
static uint32_t builder_raw_tag(struct mbi_builder *b, uint32_t type, uint32_t size_field,
                                const void *payload, uint32_t payload_len)
{
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
                            uint32_t payload_len)
{
    return builder_raw_tag(b, type, 8 + payload_len, payload, payload_len);
}

static uint32_t builder_string_tag(struct mbi_builder *b, uint32_t type, const char *text)
{
    return builder_tag(b, type, text, (uint32_t)strlen(text) + 1);
}

/* Writes total_size = everything so far (without adding an end tag); returns it. */
static uint32_t builder_set_total(struct mbi_builder *b)
{
    put_u32(b->bytes, b->len);
    put_u32(b->bytes + 4, 0);
    return b->len;
}

/* Appends the end tag (type 0, size 8) and writes total_size; returns it. */
static uint32_t builder_finish(struct mbi_builder *b)
{
    builder_raw_tag(b, MB2_TAG_END, 8, NULL, 0);
    return builder_set_total(b);
}

/* A heap copy of exactly len bytes: reading one byte past it is an ASan report. */
static uint8_t *exact_copy(const void *bytes, size_t len)
{
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
static uint32_t build_grub_mbi(struct mbi_builder *b, uint8_t pad_byte)
{
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

static void set_sentinel(struct mb2_tag *tag)
{
    memset(tag, 0, sizeof(*tag));
    tag->type = SENTINEL_TYPE;
}

/* Checks everything that must hold for a tag the reader returned, and reads every payload byte
 * (so ASan checks that the payload really is inside the buffer). */
static void check_tag(const struct mb2_tag *tag, const uint8_t *base, uint32_t total_size,
                      size_t available)
{
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
                        struct walk *walk)
{
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

static int release_kept_buffer(void **state)
{
    (void)state;
    free(kept_buffer);
    kept_buffer = NULL;
    return 0;
}

/* Copies bytes[0..available) to an exact heap buffer, inits (which must succeed) and walks. */
static void walk_bytes(const uint8_t *bytes, size_t available, struct walk *walk)
{
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
static void expect_init_failure(const uint8_t *mbi, size_t available, const char *expected)
{
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

static void expect_init_failure_copy(const uint8_t *bytes, size_t available, const char *expected)
{
    uint8_t *copy = exact_copy(bytes, available);
    expect_init_failure(copy, available, expected);
    free(copy);
}

static void expect_walk_error(const struct walk *walk, uint32_t offset, const char *expected)
{
    assert_int_equal(walk->result, -1);
    assert_int_equal(walk->error.offset, offset);
    if (!strstr(walk->error.message, expected)) {
        fail_msg("message \"%s\" lacks \"%s\"", walk->error.message, expected);
    }
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_grub_mbi_walked_in_order(void **state)
{
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
        {MB2_TAG_LOAD_BASE_ADDR, 8, 4},
        {MB2_TAG_CMDLINE, 24, 11},
        {MB2_TAG_BOOT_LOADER_NAME, 48, 10},
        {MB2_TAG_MODULE, 72, 24},
        {MB2_TAG_MMAP, 104, 80},
        {MB2_TAG_BASIC_MEMINFO, 192, 8},
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

static void test_init_rejects_misaligned_or_null_pointer(void **state)
{
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

static void test_init_rejects_available_below_16(void **state)
{
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

static void test_init_rejects_total_size_below_16(void **state)
{
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

static void test_init_rejects_total_size_above_available(void **state)
{
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

static void test_init_rejects_total_size_above_max(void **state)
{
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

static void test_tag_size_below_8(void **state)
{
    (void)state;
    static const uint32_t sizes[] = {0, 1, 4, 7};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct mbi_builder b;
        builder_init(&b, 0);
        builder_string_tag(&b, MB2_TAG_CMDLINE, "ok");          /* offset 8 */
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

static void test_tag_running_past_total_size(void **state)
{
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

static void test_missing_end_tag(void **state)
{
    (void)state;
    struct mbi_builder b;
    builder_init(&b, 0);
    builder_string_tag(&b, MB2_TAG_CMDLINE, "a");                  /* 8..18, next 24 */
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

static void test_tag_filling_total_size_leaves_no_room_for_end_tag(void **state)
{
    (void)state;
    /* A tag that ends exactly at total_size (8-aligned): returned, then the list has run out. */
    struct mbi_builder b;
    builder_init(&b, 0);
    builder_string_tag(&b, MB2_TAG_CMDLINE, "fifteen chars!"); /* 8 + 15 = 23 -> ends at 31 */
    builder_tag(&b, 99, "12345678", 8);                        /* 32..48 */
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
static void test_end_tag_with_size_other_than_8(void **state)
{
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

static void test_unknown_tag_types_are_returned(void **state)
{
    (void)state;
    static const uint32_t types[] = {5,  7,  8,  10,   13,          16,
                                     17, 18, 22, 1000, 0x80000000u, 0xffffffffu};
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

static void test_padding_after_odd_sizes_is_honoured(void **state)
{
    (void)state;
    struct mbi_builder b;
    /* Padding filled with bytes that would look like a huge tag if read as a header. */
    builder_init(&b, 0xff);
    builder_raw_tag(&b, 40, 9, "A", 1);          /* 8..17, padded to 24 */
    builder_raw_tag(&b, 41, 13, "BCDEF", 5);     /* 24..37, padded to 40 */
    builder_raw_tag(&b, 42, 15, "GHIJKLM", 7);   /* 40..55, padded to 56 */
    builder_raw_tag(&b, 43, 16, "NOPQRSTU", 8);  /* 56..72, no padding */
    builder_raw_tag(&b, 44, 8, NULL, 0);         /* 72..80 */
    builder_raw_tag(&b, 45, 17, "VWXYZ0123", 9); /* 80..97, padded to 104 */
    uint32_t total = builder_finish(&b);         /* end tag at 104 */
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

static void test_tag_string_without_nul_is_null(void **state)
{
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

static void test_tag_string_empty_and_embedded_nul(void **state)
{
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

static void test_reader_stays_finished(void **state)
{
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

static void test_null_error_pointer_and_reserved_field(void **state)
{
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

static uint64_t rng_next(void)
{
    return random_next(&rng_state); /* lib/random.h */
}

static uint32_t rng_below(uint32_t n)
{
    return (uint32_t)(rng_next() % n);
}

static uint32_t interesting_u32(uint32_t total)
{
    static const uint32_t values[] = {
        0,  1,           7,           8,           9,           15,          16, 17,
        24, 0x7fffffffu, 0x80000000u, 0xfffffff8u, 0xfffffff9u, 0xffffffffu, 248};
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
static uint32_t random_case(uint8_t *bytes, const struct mbi_builder *grub, uint32_t grub_total)
{
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

static void test_randomized_mbis_stay_in_bounds(void **state)
{
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

/* ---- tag decoders and the summary ------------------------------------------------------------ */

/* The pc -m 128M e820 map under SeaBIOS (docs: qemu-facts.md), 7 entries. */
static const uint64_t seabios_mmap[7][3] = {
    {0x0, 0x9fc00, 1},
    {0x9fc00, 0x400, 2},
    {0xf0000, 0x10000, 2},
    {0x100000, 0x7ee0000, 1},
    {0x7fe0000, 0x20000, 2},
    {0xfffc0000, 0x40000, 2},
    {0xfd00000000, 0x300000000, 2},
};

#define SEABIOS_CMDLINE "console=ttyS0 hello=world"
#define SEABIOS_LOADER "GRUB 2.06-13+deb12u2"

/* Offsets of the tags in the SeaBIOS MBI, filled in by build_seabios_mbi. */
struct seabios_offsets {
    uint32_t load_base, cmdline, loader, apm, module[2], mmap, elf, meminfo, bootdev, framebuffer,
        rsdp, end;
};

/* Appends a tag 6 with the given entries (entry_size bytes each, extra bytes filled with 0xee). */
static uint32_t builder_mmap_tag(struct mbi_builder *b, uint32_t entry_size,
                                 const uint64_t (*entries)[3], uint32_t count)
{
    uint8_t payload[8 + 16 * 64];
    assert_true(8 + (uint64_t)count * entry_size <= sizeof(payload));
    memset(payload, 0xee, sizeof(payload));
    put_u32(payload, entry_size);
    put_u32(payload + 4, 0);
    for (uint32_t i = 0; i < count; i++) {
        uint8_t *entry = payload + 8 + entry_size * i;
        put_u64(entry, entries[i][0]);
        put_u64(entry + 8, entries[i][1]);
        put_u32(entry + 16, (uint32_t)entries[i][2]);
        if (entry_size >= 24) {
            put_u32(entry + 20, 0);
        }
    }
    return builder_tag(b, MB2_TAG_MMAP, payload, 8 + count * entry_size);
}

static uint32_t builder_module_tag(struct mbi_builder *b, uint32_t start, uint32_t end,
                                   const char *name)
{
    uint8_t payload[8 + 64];
    size_t name_bytes = name ? strlen(name) + 1 : 0;
    assert_true(name_bytes <= 64);
    put_u32(payload, start);
    put_u32(payload + 4, end);
    if (name_bytes) {
        memcpy(payload + 8, name, name_bytes);
    }
    return builder_tag(b, MB2_TAG_MODULE, payload, 8 + (uint32_t)name_bytes);
}

static uint32_t builder_meminfo_tag(struct mbi_builder *b, uint32_t lower, uint32_t upper)
{
    uint8_t payload[8];
    put_u32(payload, lower);
    put_u32(payload + 4, upper);
    return builder_tag(b, MB2_TAG_BASIC_MEMINFO, payload, sizeof(payload));
}

static uint32_t builder_rsdp_tag(struct mbi_builder *b, uint32_t type, uint32_t bytes)
{
    uint8_t rsdp[64];
    assert_true(bytes <= sizeof(rsdp));
    for (uint32_t i = 0; i < bytes; i++) {
        rsdp[i] = (uint8_t)(0x30 + i);
    }
    if (bytes >= 8) {
        memcpy(rsdp, "RSD PTR ", 8);
    }
    return builder_tag(b, type, rsdp, bytes);
}

/* Tags 21, 1, 2, 10, 3 x2, 6 (7 entries), 9, 4, 5, 8, 14, 0: what GRUB 2.06 passes under SeaBIOS
 * with two modules. */
static uint32_t build_seabios_mbi(struct mbi_builder *b, struct seabios_offsets *at)
{
    builder_init(b, 0);
    uint8_t payload[256];

    put_u32(payload, 0x100000);
    at->load_base = builder_tag(b, MB2_TAG_LOAD_BASE_ADDR, payload, 4);
    at->cmdline = builder_string_tag(b, MB2_TAG_CMDLINE, SEABIOS_CMDLINE);
    at->loader = builder_string_tag(b, MB2_TAG_BOOT_LOADER_NAME, SEABIOS_LOADER);
    memset(payload, 0, 20); /* APM: version, cseg, offset, cseg_16, dseg, flags, lengths */
    put_u32(payload, 0x0102);
    at->apm = builder_tag(b, MB2_TAG_APM, payload, 20);
    at->module[0] = builder_module_tag(b, 0x107000, 0x10a000, "bootfs type=tar");
    at->module[1] = builder_module_tag(b, 0x10b000, 0x10b003, "tiny");
    at->mmap = builder_mmap_tag(b, 24, seabios_mmap, 7);
    memset(payload, 0, sizeof(payload)); /* ELF sections: num 3, entsize 64, shndx 2 */
    put_u32(payload, 3);
    put_u32(payload + 4, 64);
    put_u32(payload + 8, 2);
    at->elf = builder_tag(b, MB2_TAG_ELF_SECTIONS, payload, 12 + 3 * 64);
    at->meminfo = builder_meminfo_tag(b, 639, 129920);
    put_u32(payload, 0xe0);
    put_u32(payload + 4, 0xffffffffu);
    put_u32(payload + 8, 0xffffffffu);
    at->bootdev = builder_tag(b, MB2_TAG_BOOTDEV, payload, 12);
    memset(payload, 0, 24); /* EGA text: addr 0xb8000, pitch 160, 80x25, bpp 16, type 2 */
    put_u64(payload, 0xb8000);
    put_u32(payload + 8, 160);
    put_u32(payload + 12, 80);
    put_u32(payload + 16, 25);
    payload[20] = 16;
    payload[21] = 2;
    at->framebuffer = builder_tag(b, MB2_TAG_FRAMEBUFFER, payload, 24);
    at->rsdp = builder_rsdp_tag(b, MB2_TAG_ACPI_OLD_RSDP, MB2_ACPI_OLD_RSDP_BYTES);
    at->end = b->len;
    return builder_finish(b);
}

static bool inside(const void *p, size_t bytes, const uint8_t *base, size_t total)
{
    const uint8_t *q = p;
    return q >= base && q <= base + total && bytes <= (size_t)(base + total - q);
}

static void check_tag_inside(const struct mb2_tag *tag, const uint8_t *base, uint32_t total)
{
    assert_true(inside(tag->payload, tag->payload_size, base, total));
    assert_ptr_equal(tag->payload, base + tag->offset + 8);
}

static void check_string_inside(const char *text, const uint8_t *base, uint32_t total)
{
    assert_true(inside(text, 1, base, total));
    size_t room = (size_t)(base + total - (const uint8_t *)text);
    assert_non_null(memchr(text, 0, room));
}

static void check_error_text(const struct mb2_error *error, uint32_t total)
{
    assert_true(error->offset <= total);
    assert_true(error->message[0] != '\0');
    assert_non_null(memchr(error->message, 0, sizeof(error->message)));
}

/* Everything a summary points at lies inside the MBI [base, base + total_size) (a module name of
 * "" from a tag without string bytes excepted), and every entry of its mmap can be read. */
static void check_summary_inside(const struct mb2_summary *s, const uint8_t *base, size_t available)
{
    uint32_t total = s->total_size;
    assert_true(total >= 16 && total <= available);
    if (s->cmdline) {
        check_string_inside(s->cmdline, base, total);
    }
    if (s->boot_loader_name) {
        check_string_inside(s->boot_loader_name, base, total);
    }
    assert_true(s->module_count <= MB2_MAX_MODULES);
    assert_true(!s->modules_truncated || s->module_count == MB2_MAX_MODULES);
    for (unsigned i = 0; i < s->module_count; i++) {
        const struct mb2_module *m = &s->modules[i];
        assert_true(m->start <= m->end);
        assert_non_null(m->name);
        if (!inside(m->name, 1, base, total)) {
            assert_string_equal(m->name, "");
        } else {
            check_string_inside(m->name, base, total);
        }
    }
    if (s->has_mmap) {
        assert_int_equal(s->mmap.type, MB2_TAG_MMAP);
        check_tag_inside(&s->mmap, base, total);
        assert_int_equal(mb2_mmap_entry_count(&s->mmap, NULL), (int)s->mmap_entry_count);
        assert_true(s->mmap_entry_count > 0);
        for (uint32_t i = 0; i < s->mmap_entry_count; i++) {
            struct mb2_mmap_entry entry;
            assert_true(mb2_mmap_entry(&s->mmap, i, &entry));
        }
        struct mb2_mmap_entry untouched = {1, 2, 3};
        assert_false(mb2_mmap_entry(&s->mmap, s->mmap_entry_count, &untouched));
        assert_int_equal(untouched.type, 3);
    } else {
        assert_int_equal(s->mmap_entry_count, 0);
    }
    if (s->has_acpi_old_rsdp) {
        check_tag_inside(&s->acpi_old_rsdp, base, total);
        assert_true(s->acpi_old_rsdp.payload_size >= MB2_ACPI_OLD_RSDP_BYTES);
    }
    if (s->has_acpi_new_rsdp) {
        check_tag_inside(&s->acpi_new_rsdp, base, total);
        assert_true(s->acpi_new_rsdp.payload_size >= MB2_ACPI_NEW_RSDP_BYTES);
    }
    assert_true(s->tag_count <= total / 8);
    if (s->warning_count > 0) {
        check_error_text(&s->first_warning, total);
    }
    if (s->list_broken) {
        check_error_text(&s->list_error, total);
    }
}

/* The MBI is copied to an exact heap buffer, summarized (which must succeed) and checked; the
 * buffer is kept in kept_buffer until the next call or the end of the test. */
static uint8_t *summarize_bytes(const uint8_t *bytes, size_t available, struct mb2_summary *s)
{
    release_kept_buffer(NULL);
    kept_buffer = exact_copy(bytes, available);
    struct mb2_error error = {.offset = 0, .message = ""};
    if (!mb2_summarize(kept_buffer, available, s, &error)) {
        fail_msg("summarize failed at %u: %s", error.offset, error.message);
    }
    check_summary_inside(s, kept_buffer, available);
    return kept_buffer;
}

static void expect_message(const struct mb2_error *error, uint32_t offset, const char *expected)
{
    assert_int_equal(error->offset, offset);
    if (!strstr(error->message, expected)) {
        fail_msg("message \"%s\" lacks \"%s\"", error->message, expected);
    }
}

/* The one tag of a single-tag MBI built by the caller, walked from an exact buffer. */
static struct mb2_tag only_tag(const struct mbi_builder *b, uint32_t total)
{
    struct walk walk;
    walk_bytes(b->bytes, total, &walk);
    assert_int_equal(walk.result, 0);
    assert_int_equal(walk.count, 1);
    return walk.tags[0];
}

static void test_summary_of_seabios_mbi(void **state)
{
    (void)state;
    struct mbi_builder *b = malloc(sizeof(*b));
    assert_non_null(b);
    struct seabios_offsets at;
    uint32_t total = build_seabios_mbi(b, &at);
    struct mb2_summary s;
    uint8_t *mbi = summarize_bytes(b->bytes, total, &s);

    assert_int_equal(s.total_size, total);
    assert_int_equal(s.tag_count, 12);
    assert_int_equal(s.warning_count, 0);
    assert_false(s.list_broken);
    assert_ptr_equal(s.cmdline, mbi + at.cmdline + 8);
    assert_string_equal(s.cmdline, SEABIOS_CMDLINE);
    assert_ptr_equal(s.boot_loader_name, mbi + at.loader + 8);
    assert_string_equal(s.boot_loader_name, SEABIOS_LOADER);

    assert_int_equal(s.module_count, 2);
    assert_false(s.modules_truncated);
    assert_int_equal(s.modules[0].start, 0x107000);
    assert_int_equal(s.modules[0].end, 0x10a000);
    assert_ptr_equal(s.modules[0].name, mbi + at.module[0] + 16);
    assert_string_equal(s.modules[0].name, "bootfs type=tar");
    assert_int_equal(s.modules[1].start, 0x10b000);
    assert_int_equal(s.modules[1].end, 0x10b003);
    assert_string_equal(s.modules[1].name, "tiny");

    assert_true(s.has_mmap);
    assert_int_equal(s.mmap.offset, at.mmap);
    assert_int_equal(s.mmap_entry_count, 7);
    assert_int_equal(mb2_mmap_entry_count(&s.mmap, NULL), 7);
    for (uint32_t i = 0; i < 7; i++) {
        struct mb2_mmap_entry entry;
        assert_true(mb2_mmap_entry(&s.mmap, i, &entry));
        assert_int_equal(entry.base, seabios_mmap[i][0]);
        assert_int_equal(entry.length, seabios_mmap[i][1]);
        assert_int_equal(entry.type, seabios_mmap[i][2]);
    }

    assert_true(s.has_meminfo);
    assert_int_equal(s.meminfo.mem_lower_kib, 639);
    assert_int_equal(s.meminfo.mem_upper_kib, 129920);

    assert_true(s.has_acpi_old_rsdp);
    assert_false(s.has_acpi_new_rsdp);
    assert_int_equal(s.acpi_old_rsdp.offset, at.rsdp);
    assert_memory_equal(s.acpi_old_rsdp.payload, "RSD PTR ", 8);
    assert_int_equal(at.end + 8, total);

    /* Without an error pointer, and with more readable bytes than total_size: the same. */
    struct mb2_summary again;
    assert_true(mb2_summarize(mbi, total, &again, NULL));
    assert_int_equal(again.tag_count, 12);
    summarize_bytes(b->bytes, total + 40, &again);
    assert_int_equal(again.total_size, total);
    assert_int_equal(again.tag_count, 12);
    assert_int_equal(again.mmap_entry_count, 7);
    free(b);
}

static void test_summary_rejects_unusable_header(void **state)
{
    (void)state;
    struct mbi_builder *b = malloc(sizeof(*b));
    assert_non_null(b);
    struct seabios_offsets at;
    uint32_t total = build_seabios_mbi(b, &at);
    uint8_t *mbi = exact_copy(b->bytes, total);
    struct mb2_summary s;
    memset(&s, 0x5a, sizeof(s));
    struct mb2_error error = {.offset = 7, .message = ""};
    /* total_size larger than what may be read */
    assert_false(mb2_summarize(mbi, total - 8, &s, &error));
    expect_message(&error, 0, "larger than");
    assert_null(s.cmdline);
    assert_int_equal(s.tag_count, 0);
    assert_false(s.has_mmap);
    /* misaligned */
    assert_false(mb2_summarize(NULL, total, &s, &error));
    expect_message(&error, 0, "aligned");
    assert_false(mb2_summarize(NULL, total, &s, NULL));
    free(mbi);
    free(b);
}

static void test_mmap_entry_size_24_and_32(void **state)
{
    (void)state;
    struct mbi_builder b;
    /* entry_size 32: the 8 bytes after each 24-byte entry (0xee here) are skipped. */
    for (uint32_t entry_size = 24; entry_size <= 64; entry_size += 8) {
        builder_init(&b, 0);
        builder_mmap_tag(&b, entry_size, seabios_mmap, 4);
        uint32_t total = builder_finish(&b);
        struct mb2_tag tag = only_tag(&b, total);
        struct mb2_error error = {.offset = 99, .message = "untouched"};
        assert_int_equal(mb2_mmap_entry_count(&tag, &error), 4);
        assert_int_equal(error.offset, 99);
        for (uint32_t i = 0; i < 4; i++) {
            struct mb2_mmap_entry entry;
            assert_true(mb2_mmap_entry(&tag, i, &entry));
            assert_int_equal(entry.base, seabios_mmap[i][0]);
            assert_int_equal(entry.length, seabios_mmap[i][1]);
            assert_int_equal(entry.type, seabios_mmap[i][2]);
        }
        struct mb2_mmap_entry entry = {.type = 42};
        assert_false(mb2_mmap_entry(&tag, 4, &entry));
        assert_false(mb2_mmap_entry(&tag, 0xffffffffu, &entry));
        assert_int_equal(entry.type, 42);
    }

    /* An unaligned payload (a hand-made tag) is read byte by byte: UBSan would catch a
     * misaligned u64 load. The last byte of the copy is the last byte of the entry. */
    builder_init(&b, 0);
    builder_mmap_tag(&b, 32, seabios_mmap + 6, 1);
    uint8_t *odd = malloc(1 + 8 + 32);
    assert_non_null(odd);
    memcpy(odd + 1, b.bytes + 16, 8 + 32);
    struct mb2_tag tag = {
        .type = MB2_TAG_MMAP, .size = 48, .offset = 8, .payload = odd + 1, .payload_size = 40};
    struct mb2_mmap_entry entry;
    assert_int_equal(mb2_mmap_entry_count(&tag, NULL), 1);
    assert_true(mb2_mmap_entry(&tag, 0, &entry));
    assert_int_equal(entry.base, 0xfd00000000ull);
    assert_int_equal(entry.length, 0x300000000ull);
    assert_int_equal(entry.type, 2);
    free(odd);
}

/* ---- the EFI memory map (tag 17) ---------------------------------------------------------- */

/* Descriptors from a real OVMF boot (q35, 256M): type, physical start, pages, attribute. */
static const uint64_t ovmf_efi_map[][4] = {
    {3, 0x0, 1, 0xf},                              /* BootServicesCode */
    {2, 0x1000, 21, 0xf},                          /* LoaderData */
    {7, 0x16000, 138, 0xf},                        /* ConventionalMemory */
    {10, 0x806000, 2, 0xf},                        /* ACPIMemoryNVS */
    {6, 0xeaa0000, 258, 0x800000000000000full},    /* RuntimeServicesData */
    {11, 0xffc00000, 1024, 0x8000000000000001ull}, /* MemoryMappedIO, runtime */
};

/* A tag 17 of count descriptors of descriptor_size bytes (0xee past the 40 the
 * spec defines, so that a reader that walks by 40 reads garbage). */
static uint32_t builder_efi_tag(struct mbi_builder *b, uint32_t descriptor_size, uint32_t version,
                                const uint64_t (*descriptors)[4], uint32_t count)
{
    uint8_t payload[8 + 64 * 8];
    assert_true(8 + (uint64_t)count * descriptor_size <= sizeof(payload));
    memset(payload, 0xee, sizeof(payload));
    put_u32(payload, descriptor_size);
    put_u32(payload + 4, version);
    for (uint32_t i = 0; i < count; i++) {
        uint8_t *at = payload + 8 + descriptor_size * i;
        put_u32(at, (uint32_t)descriptors[i][0]);
        put_u32(at + 4, 0);
        put_u64(at + 8, descriptors[i][1]);
        put_u64(at + 16, 0); /* virtual start */
        put_u64(at + 24, descriptors[i][2]);
        put_u64(at + 32, descriptors[i][3]);
    }
    return builder_tag(b, MB2_TAG_EFI_MMAP, payload, 8 + count * descriptor_size);
}

static void test_efi_mmap_walks_by_descriptor_size(void **state)
{
    (void)state;
    const uint32_t count = sizeof(ovmf_efi_map) / sizeof(ovmf_efi_map[0]);
    for (uint32_t size = 40; size <= 64; size += 8) { /* OVMF: 48 */
        struct mbi_builder b;
        builder_init(&b, 0);
        builder_efi_tag(&b, size, 1, ovmf_efi_map, count);
        uint32_t total = builder_finish(&b);
        struct mb2_tag tag = only_tag(&b, total);
        struct mb2_error error = {.offset = 99};
        assert_int_equal(mb2_efi_mmap_count(&tag, &error), (int)count);
        assert_int_equal(error.offset, 99);
        assert_int_equal(mb2_efi_mmap_descriptor_size(&tag), size);
        assert_int_equal(mb2_efi_mmap_descriptor_version(&tag), 1);
        for (uint32_t i = 0; i < count; i++) {
            struct mb2_efi_descriptor d;
            assert_true(mb2_efi_mmap_descriptor(&tag, i, &d));
            assert_int_equal(d.type, ovmf_efi_map[i][0]);
            assert_int_equal(d.physical_start, ovmf_efi_map[i][1]);
            assert_int_equal(d.pages, ovmf_efi_map[i][2]);
            assert_int_equal(d.attribute, ovmf_efi_map[i][3]);
        }
        struct mb2_efi_descriptor untouched = {.type = 42};
        assert_false(mb2_efi_mmap_descriptor(&tag, count, &untouched));
        assert_false(mb2_efi_mmap_descriptor(&tag, 0xffffffffu, &untouched));
        assert_int_equal(untouched.type, 42);

        struct mb2_summary s;
        uint8_t *copy = exact_copy(b.bytes, total);
        assert_true(mb2_summarize(copy, total, &s, NULL));
        assert_true(s.has_efi_mmap);
        assert_int_equal(s.efi_mmap_count, count);
        assert_int_equal(s.warning_count, 0);
        free(copy);
    }
}

static void test_efi_mmap_broken_sizes_rejected(void **state)
{
    (void)state;
    static const struct {
        uint32_t descriptor_size, payload;
        const char *message;
    } cases[] = {
        {32, 8 + 2 * 32, "descriptor_size 32 is not a multiple of 8 and at least 40"},
        {44, 8 + 2 * 44, "descriptor_size 44 is not a multiple of 8 and at least 40"},
        {0, 8, "descriptor_size 0 is not"},
        {48, 8 + 48 + 20, "68 bytes of descriptors are not a whole number of 48-byte descriptors"},
        {48, 4, "payload of 4 bytes has no room for descriptor_size and descriptor_version"},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        uint8_t payload[160] = {0};
        put_u32(payload, cases[c].descriptor_size);
        struct mbi_builder b;
        builder_init(&b, 0);
        builder_string_tag(&b, MB2_TAG_CMDLINE, "x");
        uint32_t at = builder_tag(&b, MB2_TAG_EFI_MMAP, payload, cases[c].payload);
        builder_string_tag(&b, MB2_TAG_BOOT_LOADER_NAME, "after");
        uint32_t total = builder_finish(&b);
        struct walk walk;
        walk_bytes(b.bytes, total, &walk);
        assert_int_equal(walk.count, 3);
        struct mb2_tag tag = walk.tags[1];
        struct mb2_error error;
        assert_int_equal(mb2_efi_mmap_count(&tag, &error), -1);
        expect_message(&error, at, "tag 17 (EFI memory map) at offset ");
        expect_message(&error, at, cases[c].message);
        struct mb2_efi_descriptor d;
        assert_false(mb2_efi_mmap_descriptor(&tag, 0, &d));
        assert_int_equal(mb2_efi_mmap_descriptor_size(&tag), 0);
        /* In an MBI: skipped with a warning, the tag after it still read. */
        struct mb2_summary s;
        uint8_t *copy = exact_copy(b.bytes, total);
        assert_true(mb2_summarize(copy, total, &s, NULL));
        assert_false(s.has_efi_mmap);
        assert_int_equal(s.warning_count, 1);
        expect_message(&s.first_warning, at, cases[c].message);
        assert_string_equal(s.boot_loader_name, "after");
        free(copy);
    }
    /* A descriptor size of 40 and no descriptor: a valid, empty map. */
    uint8_t empty[8] = {0};
    put_u32(empty, 40);
    struct mbi_builder b;
    builder_init(&b, 0);
    builder_tag(&b, MB2_TAG_EFI_MMAP, empty, 8);
    uint32_t total = builder_finish(&b);
    struct mb2_tag tag = only_tag(&b, total);
    assert_int_equal(mb2_efi_mmap_count(&tag, NULL), 0);
}

/* ---- the framebuffer (tag 8) --------------------------------------------------------------- */

/* A tag 8: the 24 fixed bytes, then color (color_len bytes). */
static uint32_t builder_framebuffer_tag(struct mbi_builder *b, uint64_t address, uint32_t pitch,
                                        uint32_t width, uint32_t height, uint8_t bpp, uint8_t type,
                                        const uint8_t *color, uint32_t color_len)
{
    uint8_t payload[64] = {0};
    assert_true(24 + color_len <= sizeof(payload));
    put_u64(payload, address);
    put_u32(payload + 8, pitch);
    put_u32(payload + 12, width);
    put_u32(payload + 16, height);
    payload[20] = bpp;
    payload[21] = type;
    if (color_len)
        memcpy(payload + 24, color, color_len);
    return builder_tag(b, MB2_TAG_FRAMEBUFFER, payload, 24 + color_len);
}

static void test_framebuffer_rgb_and_ega_text(void **state)
{
    (void)state;
    /* What GRUB passes under OVMF (GOP, 32-bit BGRX) and under SeaBIOS with
     * gfxpayload=text (the probe in multiboot2-facts.md). */
    static const uint8_t bgrx[6] = {16, 8, 8, 8, 0, 8};
    struct mbi_builder b;
    builder_init(&b, 0);
    builder_framebuffer_tag(&b, 0x80000000, 3200, 800, 600, 32, MB2_FRAMEBUFFER_RGB, bgrx, 6);
    uint32_t total = builder_finish(&b);
    struct mb2_tag tag = only_tag(&b, total);
    struct mb2_framebuffer fb;
    assert_true(mb2_read_framebuffer(&tag, &fb, NULL));
    assert_int_equal(fb.address, 0x80000000);
    assert_int_equal(fb.pitch, 3200);
    assert_int_equal(fb.width, 800);
    assert_int_equal(fb.height, 600);
    assert_int_equal(fb.bpp, 32);
    assert_int_equal(fb.type, MB2_FRAMEBUFFER_RGB);
    assert_int_equal(fb.red_position, 16);
    assert_int_equal(fb.green_position, 8);
    assert_int_equal(fb.blue_position, 0);
    assert_int_equal(fb.blue_size, 8);

    builder_init(&b, 0);
    builder_framebuffer_tag(&b, 0xb8000, 160, 80, 25, 16, MB2_FRAMEBUFFER_EGA_TEXT, NULL, 0);
    total = builder_finish(&b);
    tag = only_tag(&b, total);
    assert_true(mb2_read_framebuffer(&tag, &fb, NULL));
    assert_int_equal(fb.type, MB2_FRAMEBUFFER_EGA_TEXT);
    assert_int_equal(fb.width, 80);

    uint8_t palette[2 + 6] = {2, 0, 0, 0, 0, 255, 255, 255};
    builder_init(&b, 0);
    builder_framebuffer_tag(&b, 0xa0000, 320, 320, 200, 8, MB2_FRAMEBUFFER_INDEXED, palette, 8);
    total = builder_finish(&b);
    tag = only_tag(&b, total);
    assert_true(mb2_read_framebuffer(&tag, &fb, NULL));
    assert_int_equal(fb.palette_colors, 2);
}

static void test_framebuffer_broken_tags_rejected(void **state)
{
    (void)state;
    static const uint8_t rgb[6] = {16, 8, 8, 8, 0, 8};
    static const uint8_t palette_of_3[2] = {3, 0}; /* 3 colours announced, none there */
    static const struct {
        uint64_t address;
        uint32_t pitch, width, height;
        uint8_t bpp, type;
        const uint8_t *color;
        uint32_t color_len;
        const char *message;
    } cases[] = {
        {0x80000000, 3200, 800, 600, 32, 1, rgb, 3, "has no room for the 6 bytes of type 1's"},
        {0xa0000, 320, 320, 200, 8, 0, palette_of_3, 2, "no room for the 11 bytes of type 0's"},
        {0x80000000, 3200, 800, 600, 32, 3, NULL, 0, "framebuffer type 3 is not 0, 1 or 2"},
        {0x80000000, 3200, 0, 600, 32, 1, rgb, 6, "0x600 at 32 bits per pixel is empty"},
        {0x80000000, 3199, 800, 600, 32, 1, rgb, 6, "pitch 3199 is shorter than a row of 800"},
        {0xb8000, 160, 80, 25, 8, 2, NULL, 0, "EGA text at 8 bits a character, not 16"},
        {UINT64_MAX - 4096, 3200, 800, 600, 32, 1, rgb, 6, "run past the end of the address"},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct mbi_builder b;
        builder_init(&b, 0);
        builder_framebuffer_tag(&b, cases[c].address, cases[c].pitch, cases[c].width,
                                cases[c].height, cases[c].bpp, cases[c].type, cases[c].color,
                                cases[c].color_len);
        uint32_t total = builder_finish(&b);
        struct mb2_tag tag = only_tag(&b, total);
        struct mb2_framebuffer fb = {.width = 7};
        struct mb2_error error;
        assert_false(mb2_read_framebuffer(&tag, &fb, &error));
        expect_message(&error, 8, "tag 8 (framebuffer) at offset 8: ");
        expect_message(&error, 8, cases[c].message);
        assert_int_equal(fb.width, 7);
    }
    /* Shorter than the fixed part. */
    uint8_t short_payload[20] = {0};
    struct mbi_builder b;
    builder_init(&b, 0);
    builder_tag(&b, MB2_TAG_FRAMEBUFFER, short_payload, sizeof(short_payload));
    uint32_t total = builder_finish(&b);
    struct mb2_tag tag = only_tag(&b, total);
    struct mb2_framebuffer fb;
    struct mb2_error error;
    assert_false(mb2_read_framebuffer(&tag, &fb, &error));
    expect_message(&error, 8, "payload of 20 bytes is shorter than the 24");
}

static void test_mmap_entry_size_16_and_28_rejected(void **state)
{
    (void)state;
    static const struct {
        uint32_t entry_size, payload;
        const char *message;
    } cases[] = {
        {16, 8 + 3 * 16,
         "tag 6 (memory map) at offset 8: entry_size 16 is not a multiple of 8 and at least 24"},
        {28, 8 + 2 * 28,
         "tag 6 (memory map) at offset 8: entry_size 28 is not a multiple of 8 and at least 24"},
        {20, 8 + 2 * 20, "entry_size 20 is not a multiple of 8"},
        {0, 8, "entry_size 0 is not"},
        {25, 8 + 25, "entry_size 25 is not"},
        {0xfffffff8u, 8, "entry_size 4294967288"}, /* huge but aligned: no entry fits */
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        uint8_t payload[128] = {0};
        put_u32(payload, cases[c].entry_size);
        struct mbi_builder b;
        builder_init(&b, 0);
        builder_tag(&b, MB2_TAG_MMAP, payload, cases[c].payload);
        uint32_t total = builder_finish(&b);
        struct mb2_tag tag = only_tag(&b, total);
        struct mb2_error error;
        int count = mb2_mmap_entry_count(&tag, &error);
        if (cases[c].entry_size == 0xfffffff8u) {
            assert_int_equal(count, 0); /* a valid size, and no entries */
            continue;
        }
        assert_int_equal(count, -1);
        expect_message(&error, 8, cases[c].message);
        struct mb2_mmap_entry entry;
        assert_false(mb2_mmap_entry(&tag, 0, &entry));
        assert_int_equal(mb2_mmap_entry_count(&tag, NULL), -1);
    }

    /* In an MBI: skipped with a warning, the meminfo after it still read. */
    struct mbi_builder b;
    builder_init(&b, 0);
    builder_string_tag(&b, MB2_TAG_CMDLINE, "x");
    uint32_t mmap_at = builder_mmap_tag(&b, 16, seabios_mmap, 3);
    builder_meminfo_tag(&b, 639, 2048);
    uint32_t total = builder_finish(&b);
    struct mb2_summary s;
    summarize_bytes(b.bytes, total, &s);
    assert_false(s.has_mmap);
    assert_true(s.has_meminfo);
    assert_int_equal(s.warning_count, 1);
    expect_message(&s.first_warning, mmap_at,
                   "entry_size 16 is not a multiple of 8 and at least 24");
    assert_false(s.list_broken);
    assert_int_equal(s.tag_count, 3);
}

static void test_mmap_partial_trailing_entry_rejected(void **state)
{
    (void)state;
    uint8_t payload[8 + 2 * 24 + 16];
    memset(payload, 0, sizeof(payload));
    put_u32(payload, 24);
    static const uint32_t extra[] = {1, 8, 16, 23};
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        struct mbi_builder b;
        builder_init(&b, 0);
        builder_string_tag(&b, MB2_TAG_CMDLINE, "0123456789abcdef"); /* 8..33, mmap at 40 */
        builder_tag(&b, MB2_TAG_MMAP, payload, 8 + 2 * 24 + (extra[i] > 16 ? 16 : extra[i]));
        uint32_t total = builder_finish(&b);
        struct walk walk;
        walk_bytes(b.bytes, total, &walk);
        assert_int_equal(walk.count, 2);
        struct mb2_error error;
        assert_int_equal(mb2_mmap_entry_count(&walk.tags[1], &error), -1);
        expect_message(&error, 40, "tag 6 (memory map) at offset 40: ");
        expect_message(&error, 40, "not a whole number of 24-byte entries");
        struct mb2_mmap_entry entry;
        assert_false(mb2_mmap_entry(&walk.tags[1], 0, &entry));
    }
    /* Payload shorter than entry_size + entry_version, and a tag that is not a map. */
    struct mbi_builder b;
    builder_init(&b, 0);
    builder_tag(&b, MB2_TAG_MMAP, payload, 7);
    uint32_t total = builder_finish(&b);
    struct mb2_tag tag = only_tag(&b, total);
    struct mb2_error error;
    assert_int_equal(mb2_mmap_entry_count(&tag, &error), -1);
    expect_message(&error, 8, "payload of 7 bytes has no room for entry_size");
    tag.type = MB2_TAG_BASIC_MEMINFO;
    assert_int_equal(mb2_mmap_entry_count(&tag, &error), -1);
    expect_message(&error, 8, "tag 4 (basic meminfo) at offset 8: not a memory map");
}

static void test_mmap_with_zero_entries(void **state)
{
    (void)state;
    struct mbi_builder b;
    builder_init(&b, 0);
    uint32_t first = builder_mmap_tag(&b, 24, seabios_mmap, 0); /* just the 8-byte header */
    builder_meminfo_tag(&b, 639, 129920);
    uint32_t total = builder_finish(&b);
    struct walk walk;
    walk_bytes(b.bytes, total, &walk);
    assert_int_equal(walk.tags[0].payload_size, 8);
    struct mb2_error error = {.offset = 5, .message = "untouched"};
    assert_int_equal(mb2_mmap_entry_count(&walk.tags[0], &error), 0); /* valid, just empty */
    assert_string_equal(error.message, "untouched");
    struct mb2_mmap_entry entry;
    assert_false(mb2_mmap_entry(&walk.tags[0], 0, &entry));

    /* The summary does not use it (the kernel falls back to meminfo), with a warning. */
    struct mb2_summary s;
    summarize_bytes(b.bytes, total, &s);
    assert_false(s.has_mmap);
    assert_true(s.has_meminfo);
    assert_int_equal(s.warning_count, 1);
    expect_message(&s.first_warning, first, "tag 6 (memory map) at offset 8: holds no entries");

    /* A later, usable tag 6 is taken instead. */
    builder_init(&b, 0);
    builder_mmap_tag(&b, 24, seabios_mmap, 0);
    uint32_t second = builder_mmap_tag(&b, 24, seabios_mmap, 2);
    builder_mmap_tag(&b, 24, seabios_mmap, 5); /* a third one: ignored */
    total = builder_finish(&b);
    summarize_bytes(b.bytes, total, &s);
    assert_true(s.has_mmap);
    assert_int_equal(s.mmap.offset, second);
    assert_int_equal(s.mmap_entry_count, 2);
    assert_int_equal(s.warning_count, 1);
}

static void test_module_zero_length_and_name_forms(void **state)
{
    (void)state;
    struct mbi_builder b;
    builder_init(&b, 0);
    builder_module_tag(&b, 0, 0, "empty.bin");    /* GRUB's zero-length module */
    builder_module_tag(&b, 0x5000, 0x5000, "");   /* empty, at an address, empty name */
    builder_module_tag(&b, 0x6000, 0x6003, NULL); /* payload of exactly 8: no string */
    builder_tag(&b, MB2_TAG_MODULE, "\0\x10\0\0\0\x20\0\0name\0junk", 18); /* after the NUL */
    uint32_t total = builder_finish(&b);
    struct walk walk;
    walk_bytes(b.bytes, total, &walk);
    assert_int_equal(walk.count, 4);

    struct mb2_module m;
    assert_true(mb2_read_module(&walk.tags[0], &m, NULL));
    assert_int_equal(m.start, 0);
    assert_int_equal(m.end, 0);
    assert_string_equal(m.name, "empty.bin");
    assert_ptr_equal(m.name, walk.tags[0].payload + 8);
    assert_true(mb2_read_module(&walk.tags[1], &m, NULL));
    assert_int_equal(m.end - m.start, 0);
    assert_ptr_equal(m.name, walk.tags[1].payload + 8);
    assert_string_equal(m.name, "");
    assert_true(mb2_read_module(&walk.tags[2], &m, NULL));
    assert_int_equal(m.end, 0x6003);
    assert_string_equal(m.name, "");
    assert_true(mb2_read_module(&walk.tags[3], &m, NULL));
    assert_int_equal(m.start, 0x1000);
    assert_int_equal(m.end, 0x2000);
    assert_string_equal(m.name, "name");

    struct mb2_summary s;
    summarize_bytes(b.bytes, total, &s);
    assert_int_equal(s.module_count, 4);
    assert_int_equal(s.warning_count, 0);
    assert_int_equal(s.modules[0].start, 0);
    assert_int_equal(s.modules[0].end, 0);
}

static void test_module_start_above_end_rejected(void **state)
{
    (void)state;
    struct mbi_builder b;
    builder_init(&b, 0);
    builder_module_tag(&b, 0x107000, 0x10a000, "good");
    uint32_t bad = builder_module_tag(&b, 0x10b000, 0x10afff, "backwards");
    builder_module_tag(&b, 0x10c000, 0x10d000, "after");
    uint32_t total = builder_finish(&b);
    struct walk walk;
    walk_bytes(b.bytes, total, &walk);
    struct mb2_module m = {.start = 1, .end = 2, .name = "untouched"};
    struct mb2_error error;
    assert_false(mb2_read_module(&walk.tags[1], &m, &error));
    expect_message(&error, bad,
                   "tag 3 (module) at offset 32: mod_start 0x10b000 is above mod_end 0x10afff");
    assert_string_equal(m.name, "untouched");
    assert_false(mb2_read_module(&walk.tags[1], &m, NULL));

    /* The summary skips it and goes on. */
    struct mb2_summary s;
    summarize_bytes(b.bytes, total, &s);
    assert_int_equal(s.module_count, 2);
    assert_string_equal(s.modules[0].name, "good");
    assert_string_equal(s.modules[1].name, "after");
    assert_int_equal(s.warning_count, 1);
    expect_message(&s.first_warning, bad, "is above mod_end");
    assert_false(s.list_broken);
}

static void test_module_name_without_nul_or_short_payload_rejected(void **state)
{
    (void)state;
    struct mbi_builder b;
    builder_init(&b, 0);
    uint8_t payload[16];
    put_u32(payload, 0x1000);
    put_u32(payload + 4, 0x2000);
    memcpy(payload + 8, "abcdefgh", 8);
    uint32_t unterminated = builder_tag(&b, MB2_TAG_MODULE, payload, 16);
    uint32_t short_one = builder_tag(&b, MB2_TAG_MODULE, payload, 7);
    uint32_t total = builder_set_total(&b); /* no end tag: the name runs to the buffer's end */
    struct walk walk;
    walk_bytes(b.bytes, total, &walk);
    assert_int_equal(walk.count, 2);
    struct mb2_module m;
    struct mb2_error error;
    assert_false(mb2_read_module(&walk.tags[0], &m, &error));
    expect_message(&error, unterminated,
                   "tag 3 (module) at offset 8: string of 8 bytes is not NUL-terminated");
    assert_false(mb2_read_module(&walk.tags[1], &m, &error));
    expect_message(&error, short_one, "payload of 7 bytes has no room for mod_start");
    /* A tag of another type. */
    struct mb2_tag other = walk.tags[0];
    other.type = MB2_TAG_CMDLINE;
    assert_false(mb2_read_module(&other, &m, &error));
    expect_message(&error, 8, "tag 1 (command line) at offset 8: not a module");

    struct mb2_summary s;
    summarize_bytes(b.bytes, total, &s);
    assert_int_equal(s.module_count, 0);
    assert_int_equal(s.warning_count, 2);
    expect_message(&s.first_warning, unterminated, "not NUL-terminated");
    assert_true(s.list_broken);
    expect_message(&s.list_error, total, "without an end tag");
}

static void test_more_modules_than_max_truncated(void **state)
{
    (void)state;
    struct mbi_builder *b = malloc(sizeof(*b));
    assert_non_null(b);
    builder_init(b, 0);
    for (uint32_t i = 0; i < MB2_MAX_MODULES + 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "mod%u", i);
        builder_module_tag(b, 0x200000 + i * 0x1000, 0x200000 + i * 0x1000 + 100, name);
    }
    builder_meminfo_tag(b, 639, 4096); /* after the modules: still read */
    uint32_t total = builder_finish(b);
    struct mb2_summary s;
    summarize_bytes(b->bytes, total, &s);
    assert_int_equal(s.module_count, MB2_MAX_MODULES);
    assert_true(s.modules_truncated);
    assert_int_equal(s.warning_count, 0);
    assert_string_equal(s.modules[MB2_MAX_MODULES - 1].name, "mod15");
    assert_int_equal(s.modules[MB2_MAX_MODULES - 1].start, 0x200000 + 15 * 0x1000);
    assert_true(s.has_meminfo);
    assert_int_equal(s.tag_count, MB2_MAX_MODULES + 4);

    /* Exactly the maximum: not truncated. */
    builder_init(b, 0);
    for (uint32_t i = 0; i < MB2_MAX_MODULES; i++) {
        builder_module_tag(b, 0, 0, "");
    }
    total = builder_finish(b);
    summarize_bytes(b->bytes, total, &s);
    assert_int_equal(s.module_count, MB2_MAX_MODULES);
    assert_false(s.modules_truncated);
    free(b);
}

static void test_meminfo_and_fallback_map(void **state)
{
    (void)state;
    struct mbi_builder b;
    builder_init(&b, 0);
    builder_string_tag(&b, MB2_TAG_CMDLINE, "no map");
    builder_meminfo_tag(&b, 639, 129920);
    uint32_t total = builder_finish(&b);
    struct mb2_summary s;
    summarize_bytes(b.bytes, total, &s);
    assert_false(s.has_mmap);
    assert_true(s.has_meminfo);
    struct mb2_mmap_entry map[2];
    assert_int_equal(mb2_meminfo_as_mmap(&s.meminfo, map), 2);
    assert_int_equal(map[0].base, 0);
    assert_int_equal(map[0].length, 639 * 1024);
    assert_int_equal(map[0].type, MB2_MMAP_AVAILABLE);
    assert_int_equal(map[1].base, 0x100000);
    assert_int_equal(map[1].length, 129920ull * 1024);
    assert_int_equal(map[1].base + map[1].length, 0x7fe0000);
    assert_int_equal(map[1].type, MB2_MMAP_AVAILABLE);

    /* -m 3M: the usable map is 0-0x9fc00 and 0x100000-0x2e0000. */
    struct mb2_meminfo small = {639, 1920};
    assert_int_equal(mb2_meminfo_as_mmap(&small, map), 2);
    assert_int_equal(map[1].base + map[1].length, 0x2e0000);
    /* Lower memory is clamped to 640 KiB; empty ranges are left out; no 32-bit overflow. */
    struct mb2_meminfo odd = {4096, 0};
    assert_int_equal(mb2_meminfo_as_mmap(&odd, map), 1);
    assert_int_equal(map[0].length, 640 * 1024);
    struct mb2_meminfo upper_only = {0, 0xffffffffu};
    assert_int_equal(mb2_meminfo_as_mmap(&upper_only, map), 1);
    assert_int_equal(map[0].base, 0x100000);
    assert_int_equal(map[0].length, 0xffffffffull * 1024);
    struct mb2_meminfo none = {0, 0};
    assert_int_equal(mb2_meminfo_as_mmap(&none, map), 0);

    /* A short tag 4: rejected, with a warning, and a later good one is used. */
    builder_init(&b, 0);
    uint32_t short_at = builder_tag(&b, MB2_TAG_BASIC_MEMINFO, "\x7f\x02\0\0", 4);
    builder_meminfo_tag(&b, 600, 1000);
    builder_meminfo_tag(&b, 1, 2); /* ignored: the first good one counts */
    total = builder_finish(&b);
    struct walk walk;
    walk_bytes(b.bytes, total, &walk);
    struct mb2_meminfo info = {11, 22};
    struct mb2_error error;
    assert_false(mb2_read_meminfo(&walk.tags[0], &info, &error));
    expect_message(&error, short_at, "tag 4 (basic meminfo) at offset 8: payload of 4 bytes");
    assert_int_equal(info.mem_lower_kib, 11);
    assert_false(mb2_read_meminfo(&walk.tags[0], &info, NULL));
    struct mb2_tag not_meminfo = walk.tags[1];
    not_meminfo.type = MB2_TAG_MMAP;
    assert_false(mb2_read_meminfo(&not_meminfo, &info, &error));
    expect_message(&error, walk.tags[1].offset, "not basic meminfo");
    summarize_bytes(b.bytes, total, &s);
    assert_true(s.has_meminfo);
    assert_int_equal(s.meminfo.mem_lower_kib, 600);
    assert_int_equal(s.meminfo.mem_upper_kib, 1000);
    assert_int_equal(s.warning_count, 1);
}

/* OVMF-like: tags 14 and 15 both present; modules below 1 MiB. */
static void test_both_rsdp_tags(void **state)
{
    (void)state;
    struct mbi_builder b;
    builder_init(&b, 0);
    builder_module_tag(&b, 0x5000, 0x6000, "m0");
    builder_module_tag(&b, 0x6000, 0x8fff, "m1");
    uint32_t old_at = builder_rsdp_tag(&b, MB2_TAG_ACPI_OLD_RSDP, 20);
    uint32_t new_at = builder_rsdp_tag(&b, MB2_TAG_ACPI_NEW_RSDP, 36);
    uint32_t total = builder_finish(&b);
    struct mb2_summary s;
    uint8_t *mbi = summarize_bytes(b.bytes, total, &s);
    assert_true(s.has_acpi_old_rsdp);
    assert_true(s.has_acpi_new_rsdp);
    assert_int_equal(s.acpi_old_rsdp.offset, old_at);
    assert_int_equal(s.acpi_new_rsdp.offset, new_at);
    assert_int_equal(s.acpi_old_rsdp.payload_size, 20);
    assert_int_equal(s.acpi_new_rsdp.payload_size, 36);
    assert_ptr_equal(s.acpi_new_rsdp.payload, mbi + new_at + 8);
    assert_int_equal(s.module_count, 2);
    assert_int_equal(s.modules[1].end, 0x8fff);

    /* Too short for an RSDP: skipped with a warning; a later good one is used. */
    builder_init(&b, 0);
    uint32_t short_new = builder_rsdp_tag(&b, MB2_TAG_ACPI_NEW_RSDP, 20);
    builder_rsdp_tag(&b, MB2_TAG_ACPI_OLD_RSDP, 19);
    uint32_t good_new = builder_rsdp_tag(&b, MB2_TAG_ACPI_NEW_RSDP, 36);
    total = builder_finish(&b);
    summarize_bytes(b.bytes, total, &s);
    assert_false(s.has_acpi_old_rsdp);
    assert_true(s.has_acpi_new_rsdp);
    assert_int_equal(s.acpi_new_rsdp.offset, good_new);
    assert_int_equal(s.warning_count, 2);
    expect_message(&s.first_warning, short_new,
                   "tag 15 (ACPI new RSDP) at offset 8: payload of 20 bytes is shorter than an "
                   "RSDP (36)");
}

static void test_malformed_tag_in_middle_stops_walk(void **state)
{
    (void)state;
    struct mbi_builder *b = malloc(sizeof(*b));
    assert_non_null(b);
    struct seabios_offsets at;
    uint32_t total = build_seabios_mbi(b, &at);
    /* The ELF sections tag (after the modules and the map) gets size 5. */
    put_u32(b->bytes + at.elf + 4, 5);
    struct mb2_summary s;
    summarize_bytes(b->bytes, total, &s);
    assert_true(s.list_broken);
    expect_message(&s.list_error, at.elf, "tag 9 (ELF sections) at offset ");
    expect_message(&s.list_error, at.elf, "size 5 is smaller than the tag header (8)");
    /* Before it: kept. */
    assert_string_equal(s.cmdline, SEABIOS_CMDLINE);
    assert_string_equal(s.boot_loader_name, SEABIOS_LOADER);
    assert_int_equal(s.module_count, 2);
    assert_true(s.has_mmap);
    assert_int_equal(s.mmap_entry_count, 7);
    /* After it: never read. */
    assert_false(s.has_meminfo);
    assert_false(s.has_acpi_old_rsdp);
    assert_int_equal(s.tag_count, 7);
    assert_int_equal(s.warning_count, 0);

    /* A size running past total_size, in the mmap tag itself. */
    build_seabios_mbi(b, &at);
    put_u32(b->bytes + at.mmap + 4, total);
    summarize_bytes(b->bytes, total, &s);
    assert_true(s.list_broken);
    expect_message(&s.list_error, at.mmap, "tag 6 (memory map) at offset ");
    expect_message(&s.list_error, at.mmap, "extends past total_size");
    assert_false(s.has_mmap);
    assert_int_equal(s.module_count, 2);
    assert_int_equal(s.tag_count, 6);
    free(b);
}

static void test_malformed_strings_and_duplicates(void **state)
{
    (void)state;
    struct mbi_builder b;
    builder_init(&b, 0);
    uint32_t bad_cmdline = builder_tag(&b, MB2_TAG_CMDLINE, "no NUL", 6);
    builder_string_tag(&b, MB2_TAG_CMDLINE, "second");
    builder_string_tag(&b, MB2_TAG_CMDLINE, "third: ignored");
    builder_string_tag(&b, MB2_TAG_BOOT_LOADER_NAME, "first");
    builder_tag(&b, MB2_TAG_BOOT_LOADER_NAME, "bad", 3); /* after a good one: not even looked at */
    uint32_t total = builder_finish(&b);
    struct mb2_summary s;
    summarize_bytes(b.bytes, total, &s);
    assert_string_equal(s.cmdline, "second");
    assert_string_equal(s.boot_loader_name, "first");
    assert_int_equal(s.warning_count, 1);
    expect_message(&s.first_warning, bad_cmdline,
                   "tag 1 (command line) at offset 8: payload of 6 bytes holds no NUL");
    assert_int_equal(s.tag_count, 5);
}

static void test_tag_type_names_in_reader_errors(void **state)
{
    (void)state;
    assert_string_equal(mb2_tag_type_name(MB2_TAG_MMAP), "memory map");
    assert_string_equal(mb2_tag_type_name(MB2_TAG_MODULE), "module");
    assert_string_equal(mb2_tag_type_name(MB2_TAG_LOAD_BASE_ADDR), "load base address");
    assert_string_equal(mb2_tag_type_name(22), "unknown");
    assert_string_equal(mb2_tag_type_name(0xffffffffu), "unknown");

    struct mbi_builder b;
    builder_init(&b, 0);
    builder_raw_tag(&b, 0xffffffffu, 3, NULL, 0);
    uint32_t total = builder_finish(&b);
    struct walk walk;
    walk_bytes(b.bytes, total, &walk);
    expect_walk_error(&walk, 8, "tag 4294967295 (unknown) at offset 8: size 3 is smaller");
}

/* Random mutations of the SeaBIOS MBI: no crash, no read outside the buffer (ASan), and the
 * summary points only inside the MBI. */
static void test_summary_of_mutated_mbis_stays_in_bounds(void **state)
{
    (void)state;
    rng_state = 0xfe2217e5u;
    struct mbi_builder *b = malloc(sizeof(*b));
    uint8_t *bytes = malloc(BUILDER_MAX);
    assert_non_null(b);
    assert_non_null(bytes);
    struct seabios_offsets at;
    uint32_t good_total = build_seabios_mbi(b, &at);
    unsigned long summarized = 0, with_mmap = 0, with_warnings = 0, broken = 0, modules = 0;
    for (int iteration = 0; iteration < 100000; iteration++) {
        uint32_t len = good_total;
        memcpy(bytes, b->bytes, len);
        uint32_t mutations = 1 + rng_below(6);
        for (uint32_t m = 0; m < mutations; m++) {
            switch (rng_below(6)) {
            case 0:
                bytes[8 + rng_below(len - 8)] = (uint8_t)rng_next();
                break;
            case 1: /* a field inside a tag: size, entry_size, mod_start/end... */
                put_u32(bytes + 8 + rng_below((len - 8) / 4) * 4, interesting_u32(len));
                break;
            case 2: /* a tag's size field */
                put_u32(bytes + at.mmap + 4, 16 + rng_below(200));
                break;
            case 3: /* entry_size */
                put_u32(bytes + at.mmap + 8, rng_below(8) ? rng_below(65) : interesting_u32(24));
                break;
            case 4: /* truncate, keeping total_size consistent */
                len = 16 + rng_below(len - 15);
                put_u32(bytes, len);
                break;
            default:
                bytes[8 + rng_below(len - 8)] = 0;
                break;
            }
        }
        uint8_t *mbi = exact_copy(bytes, len);
        struct mb2_summary s;
        struct mb2_error error = {.offset = 0, .message = ""};
        if (mb2_summarize(mbi, len, &s, &error)) {
            summarized++;
            check_summary_inside(&s, mbi, len);
            with_mmap += s.has_mmap;
            with_warnings += s.warning_count > 0;
            broken += s.list_broken;
            modules += s.module_count;
        } else {
            check_error_text(&error, len);
        }
        free(mbi);
    }
    /* The mutations must exercise every path. */
    assert_true(summarized > 90000);
    assert_true(with_mmap > 10000);
    assert_true(with_warnings > 5000);
    assert_true(broken > 10000);
    assert_true(modules > 20000);
    free(bytes);
    free(b);
}

#define MB2_TEST(f) cmocka_unit_test_teardown(f, release_kept_buffer)

int main(void)
{
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
        MB2_TEST(test_summary_of_seabios_mbi),
        MB2_TEST(test_summary_rejects_unusable_header),
        MB2_TEST(test_mmap_entry_size_24_and_32),
        MB2_TEST(test_mmap_entry_size_16_and_28_rejected),
        MB2_TEST(test_efi_mmap_walks_by_descriptor_size),
        MB2_TEST(test_efi_mmap_broken_sizes_rejected),
        MB2_TEST(test_framebuffer_rgb_and_ega_text),
        MB2_TEST(test_framebuffer_broken_tags_rejected),
        MB2_TEST(test_mmap_partial_trailing_entry_rejected),
        MB2_TEST(test_mmap_with_zero_entries),
        MB2_TEST(test_module_zero_length_and_name_forms),
        MB2_TEST(test_module_start_above_end_rejected),
        MB2_TEST(test_module_name_without_nul_or_short_payload_rejected),
        MB2_TEST(test_more_modules_than_max_truncated),
        MB2_TEST(test_meminfo_and_fallback_map),
        MB2_TEST(test_both_rsdp_tags),
        MB2_TEST(test_malformed_tag_in_middle_stops_walk),
        MB2_TEST(test_malformed_strings_and_duplicates),
        MB2_TEST(test_tag_type_names_in_reader_errors),
        MB2_TEST(test_summary_of_mutated_mbis_stays_in_bounds),
    };
    return RUN_AND_REPORT(tests);
}
