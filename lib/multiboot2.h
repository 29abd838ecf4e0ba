/*
 * multiboot2.h: a bounds-checked reader of the multiboot2 boot information
 * (MBI) that GRUB hands the kernel. The MBI is outside input: every tag's size
 * and position is checked before a byte of it is read.
 *
 * Layout (multiboot2 spec 3.6): u32 total_size, u32 reserved, then tags, each
 * u32 type, u32 size (not counting padding), payload, padded to 8 bytes; the
 * list ends with a tag of type 0 and size 8.
 */
#ifndef LIB_MULTIBOOT2_H
#define LIB_MULTIBOOT2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MB2_BOOT_MAGIC 0x36D76289u    /* in EAX at entry */
#define MB2_MAX_TOTAL_SIZE (1u << 20) /* far above anything GRUB makes */

enum mb2_tag_type {
    MB2_TAG_END = 0,
    MB2_TAG_CMDLINE = 1,
    MB2_TAG_BOOT_LOADER_NAME = 2,
    MB2_TAG_MODULE = 3,
    MB2_TAG_BASIC_MEMINFO = 4,
    MB2_TAG_MMAP = 6,
    MB2_TAG_ELF_SECTIONS = 9,
    MB2_TAG_ACPI_OLD_RSDP = 14,
    MB2_TAG_ACPI_NEW_RSDP = 15,
    MB2_TAG_LOAD_BASE_ADDR = 21,
};

struct mb2_tag {
    uint32_t type;
    uint32_t size;          /* as given: header (8) + payload */
    uint32_t offset;        /* of the tag from the start of the MBI */
    const uint8_t *payload; /* size - 8 bytes, all inside the MBI */
    uint32_t payload_size;
};

/* Invariant: next_offset <= total_size, and 8-aligned unless it equals a
 * total_size that is not (then the next call reports the missing end tag);
 * every byte in [base, base + total_size) may be read. */
struct mb2_reader {
    const uint8_t *base;
    uint32_t total_size;
    uint32_t next_offset;
    bool finished;
};

struct mb2_error {
    uint32_t offset; /* where in the MBI the problem is */
    char message[96];
};

/* available_bytes: how many bytes from mbi may be read at all. Checks the
 * alignment and total_size. */
bool mb2_reader_init(struct mb2_reader *reader, const void *mbi, size_t available_bytes,
                     struct mb2_error *error);

/* 1: *tag is the next tag; 0: the end tag was reached; -1: a malformed tag
 * (error says which and where; the reader stops there). Unknown tag types are
 * returned like any other: the caller skips what it does not know. */
int mb2_reader_next(struct mb2_reader *reader, struct mb2_tag *tag, struct mb2_error *error);

/* The NUL-terminated string in a string tag (command line, loader name), or
 * NULL if the payload holds no NUL. */
const char *mb2_tag_string(const struct mb2_tag *tag);

#endif
