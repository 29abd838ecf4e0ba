/*
 * tests/fuzz/fuzz_multiboot2.c - libFuzzer target for lib/multiboot2.c.
 *
 * The input is an MBI as GRUB would hand it over. It is copied into a heap buffer of exactly
 * size bytes (malloc gives 8-byte alignment), so ASan reports any read past what the reader may
 * look at. Then:
 *   - mb2_summarize, and every pointer and tag in the summary must lie inside the MBI;
 *   - a plain walk with mb2_reader_* that runs every decoder (mmap, EFI mmap, module, meminfo,
 *     string) on every tag, whatever its type, and rebuilds what the summary should say;
 *   - mb2_meminfo_as_mmap on what the summary found, and the two maps reconciled (efimap).
 * A broken property prints why and traps: libFuzzer saves the input as a crash.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/efi_memmap.h"
#include "lib/multiboot2.h"

#define CHECK(condition)                                                                           \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            fprintf(stderr, "fuzz_multiboot2: %s:%d: check failed: %s\n", __FILE__, __LINE__,      \
                    #condition);                                                                   \
            __builtin_trap();                                                                      \
        }                                                                                          \
    } while (0)

static volatile uint64_t sink; /* keeps decoded values alive */

static const uint8_t *mbi_base;
static size_t mbi_bytes; /* total_size once the header is accepted */

static bool inside(const void *p, size_t bytes)
{
    const uint8_t *q = p;
    return q >= mbi_base && q <= mbi_base + mbi_bytes &&
           bytes <= (size_t)(mbi_base + mbi_bytes - q);
}

static void check_string(const char *text)
{
    CHECK(inside(text, 1));
    CHECK(memchr(text, 0, (size_t)(mbi_base + mbi_bytes - (const uint8_t *)text)) != NULL);
}

static void check_error(const struct mb2_error *error)
{
    CHECK(memchr(error->message, 0, sizeof(error->message)) != NULL);
    CHECK(error->message[0] != '\0');
    CHECK(error->offset <= mbi_bytes);
}

static void check_tag(const struct mb2_tag *tag)
{
    CHECK(tag->size >= 8);
    CHECK(tag->payload_size == tag->size - 8);
    CHECK(tag->offset >= 8 && tag->offset % 8 == 0);
    CHECK(tag->payload == mbi_base + tag->offset + 8);
    CHECK(inside(tag->payload, tag->payload_size));
}

/* The "" that mb2_read_module gives for a tag without string bytes: the only pointer a summary
 * may hold that is not inside the MBI. */
static const char *empty_module_name(void)
{
    static const uint8_t payload[8] = {0};
    struct mb2_tag tag = {
        .type = MB2_TAG_MODULE, .size = 16, .payload = payload, .payload_size = 8};
    struct mb2_module module;
    CHECK(mb2_read_module(&tag, &module, NULL));
    CHECK(module.name[0] == '\0');
    return module.name;
}

/* All entries of a map; returns the count or -1. */
static int read_mmap(const struct mb2_tag *tag)
{
    struct mb2_error error;
    int count = mb2_mmap_entry_count(tag, &error);
    CHECK(count == mb2_mmap_entry_count(tag, NULL));
    if (count < 0) {
        check_error(&error);
        CHECK(error.offset == tag->offset);
        struct mb2_mmap_entry entry = {.type = 77};
        CHECK(!mb2_mmap_entry(tag, 0, &entry));
        CHECK(entry.type == 77);
        return -1;
    }
    CHECK(tag->type == MB2_TAG_MMAP);
    for (uint32_t i = 0; i < (uint32_t)count; i++) {
        struct mb2_mmap_entry entry;
        CHECK(mb2_mmap_entry(tag, i, &entry));
        sink += entry.base ^ entry.length ^ entry.type;
    }
    struct mb2_mmap_entry entry = {.type = 77};
    CHECK(!mb2_mmap_entry(tag, (uint32_t)count, &entry));
    CHECK(!mb2_mmap_entry(tag, UINT32_MAX, &entry));
    CHECK(entry.type == 77);
    return count;
}

/* All descriptors of an EFI map (tag 17); returns the count or -1. */
static int read_efi_mmap(const struct mb2_tag *tag)
{
    struct mb2_error error;
    int count = mb2_efi_mmap_count(tag, &error);
    CHECK(count == mb2_efi_mmap_count(tag, NULL));
    if (count < 0) {
        check_error(&error);
        CHECK(error.offset == tag->offset);
        struct mb2_efi_descriptor d = {.type = 77};
        CHECK(!mb2_efi_mmap_descriptor(tag, 0, &d));
        CHECK(d.type == 77);
        CHECK(mb2_efi_mmap_descriptor_size(tag) == 0);
        return -1;
    }
    CHECK(tag->type == MB2_TAG_EFI_MMAP);
    uint32_t size = mb2_efi_mmap_descriptor_size(tag);
    CHECK(size >= MB2_EFI_MIN_DESCRIPTOR_SIZE && size % 8 == 0);
    CHECK(8 + (uint64_t)count * size == tag->payload_size);
    for (uint32_t i = 0; i < (uint32_t)count; i++) {
        struct mb2_efi_descriptor d;
        CHECK(mb2_efi_mmap_descriptor(tag, i, &d));
        char names[96];
        efi_attribute_names(d.attribute, names, sizeof(names));
        CHECK(strlen(names) < sizeof(names));
        uint64_t end = efi_range_end(d.physical_start, d.pages);
        CHECK(end >= d.physical_start);
        sink += end ^ d.type ^ (efi_memory_type_name(d.type) != NULL);
    }
    struct mb2_efi_descriptor d = {.type = 77};
    CHECK(!mb2_efi_mmap_descriptor(tag, (uint32_t)count, &d));
    CHECK(d.type == 77);
    return count;
}

static void count_difference(const struct efi_difference *difference, void *context)
{
    CHECK(difference->start < difference->end);
    CHECK(difference->kind == EFI_USABLE_BUT_NOT_IN_EFI ||
          difference->kind == EFI_FREE_BUT_NOT_USABLE);
    (*(unsigned *)context)++;
}

/* The summary's two maps reconciled, as the kernel's `efimap` does (first 64
 * entries of each): every difference is a non-empty range, and each is
 * reported once. */
static void reconcile_maps(const struct mb2_summary *s)
{
    if (!s->has_mmap || !s->has_efi_mmap)
        return;
    struct efi_range map[64], efi[64];
    size_t map_count = 0, efi_count = 0;
    for (uint32_t i = 0; i < s->mmap_entry_count && map_count < 64; i++) {
        struct mb2_mmap_entry e;
        CHECK(mb2_mmap_entry(&s->mmap, i, &e));
        uint64_t end = e.base + e.length < e.base ? UINT64_MAX : e.base + e.length;
        map[map_count++] = (struct efi_range){e.base, end, e.type};
    }
    for (uint32_t i = 0; i < s->efi_mmap_count && efi_count < 64; i++) {
        struct mb2_efi_descriptor d;
        CHECK(mb2_efi_mmap_descriptor(&s->efi_mmap, i, &d));
        efi[efi_count++] =
            (struct efi_range){d.physical_start, efi_range_end(d.physical_start, d.pages), d.type};
    }
    unsigned counted = 0;
    CHECK(efi_reconcile(map, map_count, efi, efi_count, count_difference, &counted) == counted);
}

static void check_module(const struct mb2_module *module, const char *empty_name)
{
    CHECK(module->start <= module->end);
    CHECK(module->name != NULL);
    if (module->name != empty_name)
        check_string(module->name);
}

/* What the summary should say, rebuilt from a plain walk with the single-tag decoders: the first
 * well-formed tag of each kind counts (a tag 6 only with at least one entry). */
struct expected {
    const char *cmdline, *boot_loader_name;
    uint32_t mmap_offset, efi_mmap_offset, acpi_old_offset, acpi_new_offset; /* 0: none */
    uint32_t framebuffer_offset;
    struct mb2_framebuffer framebuffer;
    bool has_meminfo;
    struct mb2_meminfo meminfo;
    struct mb2_module modules[MB2_MAX_MODULES];
    unsigned module_count, modules_seen;
};

/* Every decoder on one tag: each must accept its own type only and stay inside the tag. */
static void decode_tag(const struct mb2_tag *tag, const char *empty_name, struct expected *want)
{
    int count = read_mmap(tag);
    if (count > 0 && !want->mmap_offset)
        want->mmap_offset = tag->offset;
    if (read_efi_mmap(tag) >= 0 && !want->efi_mmap_offset)
        want->efi_mmap_offset = tag->offset;
    struct mb2_framebuffer fb;
    struct mb2_error fb_error;
    if (mb2_read_framebuffer(tag, &fb, &fb_error)) {
        CHECK(tag->type == MB2_TAG_FRAMEBUFFER);
        CHECK(fb.width && fb.height && fb.bpp);
        CHECK(fb.pitch >= ((uint64_t)fb.width * fb.bpp + 7) / 8);
        CHECK(fb.address <= UINT64_MAX - (uint64_t)fb.pitch * fb.height);
        if (!want->framebuffer_offset)
            want->framebuffer_offset = tag->offset, want->framebuffer = fb;
    } else {
        check_error(&fb_error);
        CHECK(fb_error.offset == tag->offset);
    }

    struct mb2_module module;
    struct mb2_error error;
    if (mb2_read_module(tag, &module, &error)) {
        CHECK(tag->type == MB2_TAG_MODULE);
        check_module(&module, empty_name);
        if (module.name != empty_name) {
            CHECK((const uint8_t *)module.name == tag->payload + 8);
            CHECK(memchr(module.name, 0, tag->payload_size - 8) != NULL); /* NUL inside the tag */
        } else {
            CHECK(tag->payload_size == 8);
        }
        if (want->module_count < MB2_MAX_MODULES)
            want->modules[want->module_count++] = module;
        want->modules_seen++;
    } else {
        check_error(&error);
        CHECK(error.offset == tag->offset);
    }

    struct mb2_meminfo info;
    if (mb2_read_meminfo(tag, &info, &error)) {
        CHECK(tag->type == MB2_TAG_BASIC_MEMINFO);
        struct mb2_mmap_entry map[2];
        CHECK(mb2_meminfo_as_mmap(&info, map) <= 2);
        if (!want->has_meminfo) {
            want->has_meminfo = true;
            want->meminfo = info;
        }
    } else {
        check_error(&error);
        CHECK(error.offset == tag->offset);
    }

    const char *text = mb2_tag_string(tag);
    if (text) {
        CHECK((const uint8_t *)text == tag->payload);
        CHECK(memchr(text, 0, tag->payload_size) != NULL);
        if (tag->type == MB2_TAG_CMDLINE && !want->cmdline)
            want->cmdline = text;
        if (tag->type == MB2_TAG_BOOT_LOADER_NAME && !want->boot_loader_name)
            want->boot_loader_name = text;
    }
    if (tag->type == MB2_TAG_ACPI_OLD_RSDP && tag->payload_size >= MB2_ACPI_OLD_RSDP_BYTES &&
        !want->acpi_old_offset)
        want->acpi_old_offset = tag->offset;
    if (tag->type == MB2_TAG_ACPI_NEW_RSDP && tag->payload_size >= MB2_ACPI_NEW_RSDP_BYTES &&
        !want->acpi_new_offset)
        want->acpi_new_offset = tag->offset;
    CHECK(mb2_tag_type_name(tag->type) != NULL);
}

static void compare_summary(const struct mb2_summary *s, const struct expected *want)
{
    CHECK(s->cmdline == want->cmdline);
    CHECK(s->boot_loader_name == want->boot_loader_name);
    CHECK(s->has_mmap == (want->mmap_offset != 0));
    CHECK(!s->has_mmap || s->mmap.offset == want->mmap_offset);
    CHECK(s->has_framebuffer == (want->framebuffer_offset != 0));
    CHECK(!s->has_framebuffer || (s->framebuffer.address == want->framebuffer.address &&
                                  s->framebuffer.pitch == want->framebuffer.pitch &&
                                  s->framebuffer.width == want->framebuffer.width &&
                                  s->framebuffer.height == want->framebuffer.height &&
                                  s->framebuffer.type == want->framebuffer.type));
    CHECK(s->has_efi_mmap == (want->efi_mmap_offset != 0));
    CHECK(!s->has_efi_mmap || s->efi_mmap.offset == want->efi_mmap_offset);
    CHECK(!s->has_efi_mmap || (int)s->efi_mmap_count == mb2_efi_mmap_count(&s->efi_mmap, NULL));
    reconcile_maps(s);
    CHECK(s->has_acpi_old_rsdp == (want->acpi_old_offset != 0));
    CHECK(!s->has_acpi_old_rsdp || s->acpi_old_rsdp.offset == want->acpi_old_offset);
    CHECK(s->has_acpi_new_rsdp == (want->acpi_new_offset != 0));
    CHECK(!s->has_acpi_new_rsdp || s->acpi_new_rsdp.offset == want->acpi_new_offset);
    CHECK(s->has_meminfo == want->has_meminfo);
    CHECK(!s->has_meminfo || (s->meminfo.mem_lower_kib == want->meminfo.mem_lower_kib &&
                              s->meminfo.mem_upper_kib == want->meminfo.mem_upper_kib));
    CHECK(s->module_count == want->module_count);
    CHECK(s->modules_truncated == (want->modules_seen > MB2_MAX_MODULES));
    for (unsigned i = 0; i < s->module_count; i++) {
        CHECK(s->modules[i].start == want->modules[i].start);
        CHECK(s->modules[i].end == want->modules[i].end);
        CHECK(s->modules[i].name == want->modules[i].name);
    }
}

static void check_summary(const struct mb2_summary *s, const char *empty_name)
{
    if (s->cmdline)
        check_string(s->cmdline);
    if (s->boot_loader_name)
        check_string(s->boot_loader_name);
    CHECK(s->module_count <= MB2_MAX_MODULES);
    CHECK(!s->modules_truncated || s->module_count == MB2_MAX_MODULES);
    for (unsigned i = 0; i < s->module_count; i++)
        check_module(&s->modules[i], empty_name);
    if (s->has_mmap) {
        check_tag(&s->mmap);
        CHECK(read_mmap(&s->mmap) == (int)s->mmap_entry_count);
        CHECK(s->mmap_entry_count > 0);
    } else {
        CHECK(s->mmap_entry_count == 0);
    }
    if (s->has_acpi_old_rsdp) {
        check_tag(&s->acpi_old_rsdp);
        CHECK(s->acpi_old_rsdp.type == MB2_TAG_ACPI_OLD_RSDP);
        CHECK(s->acpi_old_rsdp.payload_size >= MB2_ACPI_OLD_RSDP_BYTES);
    }
    if (s->has_acpi_new_rsdp) {
        check_tag(&s->acpi_new_rsdp);
        CHECK(s->acpi_new_rsdp.type == MB2_TAG_ACPI_NEW_RSDP);
        CHECK(s->acpi_new_rsdp.payload_size >= MB2_ACPI_NEW_RSDP_BYTES);
    }
    if (s->has_meminfo) {
        struct mb2_mmap_entry map[2];
        unsigned count = mb2_meminfo_as_mmap(&s->meminfo, map);
        CHECK(count <= 2);
        for (unsigned i = 0; i < count; i++) {
            CHECK(map[i].type == MB2_MMAP_AVAILABLE);
            CHECK(map[i].length > 0);
            CHECK(map[i].base + map[i].length > map[i].base);
        }
    }
    if (s->warning_count > 0)
        check_error(&s->first_warning);
    if (s->list_broken)
        check_error(&s->list_error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *empty_name;
    if (!empty_name)
        empty_name = empty_module_name();

    uint8_t *mbi = malloc(size ? size : 1);
    CHECK(mbi != NULL && (uintptr_t)mbi % 8 == 0);
    if (size)
        memcpy(mbi, data, size);
    mbi_base = mbi;
    mbi_bytes = 0;

    struct mb2_summary summary;
    struct mb2_error error;
    if (!mb2_summarize(mbi, size, &summary, &error)) {
        CHECK(error.offset == 0);
        CHECK(memchr(error.message, 0, sizeof(error.message)) != NULL);
        struct mb2_reader reader;
        CHECK(!mb2_reader_init(&reader, mbi, size, NULL));
        free(mbi);
        return 0;
    }
    CHECK(summary.total_size >= 16 && summary.total_size <= size);
    mbi_bytes = summary.total_size;
    check_summary(&summary, empty_name);

    /* The plain walk agrees with the summary, and every decoder runs on every tag. */
    struct expected want = {0};
    struct mb2_reader reader;
    CHECK(mb2_reader_init(&reader, mbi, size, NULL));
    struct mb2_tag tag;
    unsigned tags = 0;
    int status;
    uint32_t last_offset = 0;
    while ((status = mb2_reader_next(&reader, &tag, &error)) == 1) {
        check_tag(&tag);
        CHECK(tag.offset > last_offset);
        last_offset = tag.offset;
        decode_tag(&tag, empty_name, &want);
        tags++;
        CHECK(tags <= mbi_bytes / 8);
    }
    CHECK(tags == summary.tag_count);
    CHECK((status < 0) == summary.list_broken);
    if (status < 0)
        CHECK(error.offset == summary.list_error.offset);
    compare_summary(&summary, &want);

    free(mbi);
    return 0;
}
