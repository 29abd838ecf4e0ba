/*
 * multiboot2.h: a bounds-checked reader of the multiboot2 boot information
 * (MBI) that GRUB hands the kernel. The MBI is outside input: every tag's size
 * and position is checked before a byte of it is read.
 *
 * Layout (multiboot2 spec 3.6): u32 total_size, u32 reserved, then tags, each
 * u32 type, u32 size (not counting padding), payload, padded to 8 bytes; the
 * list ends with a tag of type 0 and size 8.
 *
 * Two levels:
 *   - mb2_reader_*: walks the tag list, checking each tag's size and position;
 *   - mb2_read_* / mb2_mmap_*: check and decode one tag's payload;
 *   - mb2_summarize: one walk at boot that does both for every tag the kernel
 *     uses and keeps the results in a struct mb2_summary.
 * Every error message names the tag type and its offset in the MBI, e.g.
 * "tag 6 (memory map) at offset 200: entry_size 20 is not a multiple of 8 and
 * at least 24". All multi-byte fields are read byte by byte, so a payload
 * need not be aligned.
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
    MB2_TAG_BOOTDEV = 5,
    MB2_TAG_MMAP = 6,
    MB2_TAG_VBE = 7,
    MB2_TAG_FRAMEBUFFER = 8,
    MB2_TAG_ELF_SECTIONS = 9,
    MB2_TAG_APM = 10,
    MB2_TAG_EFI32 = 11,
    MB2_TAG_EFI64 = 12,
    MB2_TAG_SMBIOS = 13,
    MB2_TAG_ACPI_OLD_RSDP = 14,
    MB2_TAG_ACPI_NEW_RSDP = 15,
    MB2_TAG_NETWORK = 16,
    MB2_TAG_EFI_MMAP = 17,
    MB2_TAG_EFI_BS_NOT_TERMINATED = 18,
    MB2_TAG_EFI32_IMAGE_HANDLE = 19,
    MB2_TAG_EFI64_IMAGE_HANDLE = 20,
    MB2_TAG_LOAD_BASE_ADDR = 21,
};

/* Memory map entry types (tag 6); anything else is reserved. */
enum mb2_mmap_type {
    MB2_MMAP_AVAILABLE = 1,
    MB2_MMAP_RESERVED = 2,
    MB2_MMAP_ACPI_RECLAIMABLE = 3,
    MB2_MMAP_ACPI_NVS = 4,
    MB2_MMAP_BAD_RAM = 5,
};

#define MB2_MMAP_MIN_ENTRY_SIZE 24 /* u64 base, u64 length, u32 type, u32 reserved */
#define MB2_ACPI_OLD_RSDP_BYTES 20 /* ACPI 1.0 RSDP */
#define MB2_ACPI_NEW_RSDP_BYTES 36 /* ACPI 2.0+ RSDP */

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
    char message[128];
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

/* A short name for a tag type ("memory map", "module"...), "unknown" if none. */
const char *mb2_tag_type_name(uint32_t type);

/* ---- the memory map (tag 6) ------------------------------------------------
 * Payload: u32 entry_size, u32 entry_version, then entries of entry_size bytes,
 * each starting {u64 base, u64 length, u32 type}. Bytes of an entry past those
 * 20 (the reserved u32, and anything a larger entry_size adds) are skipped.
 * entry_version is not checked: a new version may only append fields. */
struct mb2_mmap_entry {
    uint64_t base, length;
    uint32_t type; /* enum mb2_mmap_type, or any other value (= reserved) */
};

/* Checks a tag 6: type 6, payload >= 8, entry_size >= 24 and a multiple of 8,
 * (payload - 8) a multiple of entry_size (a trailing partial entry makes the
 * whole tag malformed: the size fields disagree, so none of it is trusted).
 * Returns the entry count (0 is valid), or -1 with *error set (error may be
 * NULL). */
int mb2_mmap_entry_count(const struct mb2_tag *tag, struct mb2_error *error);

/* Entry index of a tag 6, walking by entry_size. false if the tag fails the
 * checks above or index >= the entry count (then *entry is untouched). */
bool mb2_mmap_entry(const struct mb2_tag *tag, uint32_t index, struct mb2_mmap_entry *entry);

/* ---- the EFI memory map (tag 17) ----------------------------------------------
 * Only under UEFI: the firmware's own map as GRUB got it from GetMemoryMap when
 * it ended boot services. Payload: u32 descriptor_size, u32 descriptor_version,
 * then descriptors of descriptor_size bytes, each starting with the UEFI
 * spec's EFI_MEMORY_DESCRIPTOR: u32 type, 4 bytes of padding, u64
 * physical_start, u64 virtual_start, u64 number_of_pages (4 KiB pages), u64
 * attribute. Firmware may make descriptor_size larger than those 40 bytes (and
 * OVMF does: 48), so the walk goes by descriptor_size, never by the struct's
 * size. The version is reported, not checked: a new one may only append
 * fields. Tag 6 stays the kernel's authority on what it may use; this map is
 * read to show and check it (kernel `efimap`). */
#define MB2_EFI_MIN_DESCRIPTOR_SIZE 40

struct mb2_efi_descriptor {
    uint32_t type; /* enum efi_memory_type (lib/efi_memmap.h), or any other value */
    uint64_t physical_start;
    uint64_t pages;
    uint64_t attribute;
};

/* Checks a tag 17: type 17, payload >= 8, descriptor_size >= 40 and a multiple
 * of 8, (payload - 8) a whole number of descriptors. Returns the descriptor
 * count (0 is valid), or -1 with *error set (error may be NULL). */
int mb2_efi_mmap_count(const struct mb2_tag *tag, struct mb2_error *error);

/* Descriptor index of a tag 17, and its descriptor size and version. false if
 * the tag fails the checks above or index >= the count. */
bool mb2_efi_mmap_descriptor(const struct mb2_tag *tag, uint32_t index,
                             struct mb2_efi_descriptor *descriptor);
uint32_t mb2_efi_mmap_descriptor_size(const struct mb2_tag *tag);
uint32_t mb2_efi_mmap_descriptor_version(const struct mb2_tag *tag);

/* ---- the framebuffer GRUB set up (tag 8) -------------------------------------
 * Payload: u64 address, u32 pitch (bytes a row), u32 width, u32 height, u8
 * bits per pixel, u8 type, u16 reserved (the spec says u8; GRUB writes u16),
 * then the colour information of the type: for direct RGB (1) six u8, the bit
 * position and size of red, green and blue; for a palette (0) a u16 count and
 * count 3-byte entries; nothing for EGA text (2, width and height in
 * characters, 2 bytes a character). */
enum mb2_framebuffer_type {
    MB2_FRAMEBUFFER_INDEXED = 0,
    MB2_FRAMEBUFFER_RGB = 1,
    MB2_FRAMEBUFFER_EGA_TEXT = 2,
};

struct mb2_framebuffer {
    uint64_t address; /* physical */
    uint32_t pitch, width, height;
    uint8_t bpp, type;
    uint8_t red_position, red_size, green_position, green_size, blue_position, blue_size;
    uint16_t palette_colors; /* type 0 */
};

/* Checks a tag 8 (payload long enough for its type's colour information;
 * width, height and bpp not zero; EGA text at 16 bits; pitch at least a row's
 * bytes; the last byte's address below 2^64) and decodes it. false with *error
 * set if malformed (then *framebuffer is untouched). */
bool mb2_read_framebuffer(const struct mb2_tag *tag, struct mb2_framebuffer *framebuffer,
                          struct mb2_error *error);

/* ---- basic memory information (tag 4) -------------------------------------- */
struct mb2_meminfo {
    uint32_t mem_lower_kib; /* RAM from 0, at most 640 KiB */
    uint32_t mem_upper_kib; /* RAM from 1 MiB up to the first hole */
};

/* Checks a tag 4 (type 4, payload >= 8) and decodes it. false with *error set
 * if malformed (then *info is untouched). */
bool mb2_read_meminfo(const struct mb2_tag *tag, struct mb2_meminfo *info, struct mb2_error *error);

/* A memory map made from the basic meminfo when there is no usable tag 6:
 * [0, lower KiB) and [1 MiB, 1 MiB + upper KiB), both MB2_MMAP_AVAILABLE;
 * lower is clamped to 640 KiB (above it lie the EBDA, VGA and the BIOS), and an
 * empty range is left out. Returns the entry count, 0..2. */
unsigned mb2_meminfo_as_mmap(const struct mb2_meminfo *info, struct mb2_mmap_entry out[2]);

/* ---- modules (tag 3) -------------------------------------------------------
 * Payload: u32 mod_start, u32 mod_end (exclusive), NUL-terminated string. */
struct mb2_module {
    uint32_t start, end; /* physical, [start, end); GRUB gives 0, 0 for an empty file */
    const char *name;    /* the string inside the tag; a static "" if the payload
                            holds no string bytes at all (payload of exactly 8) */
};

/* Checks a tag 3: type 3, payload >= 8, start <= end, and if the payload holds
 * string bytes, a NUL among them. false with *error set if malformed (then
 * *module is untouched). */
bool mb2_read_module(const struct mb2_tag *tag, struct mb2_module *module, struct mb2_error *error);

/* ---- the whole MBI at boot -------------------------------------------------- */
#define MB2_MAX_MODULES 16

/* What mb2_summarize found. Of each single-instance tag the first well-formed
 * one counts; later ones (well-formed or not) are ignored. Every pointer, and
 * every payload of a tag copied here, lies inside [mbi, mbi + total_size),
 * except a module's name of "" when its tag has no string bytes. */
struct mb2_summary {
    uint32_t total_size; /* of the MBI, header and end tag included */
    unsigned tag_count;  /* tags walked, the end tag not counted */

    const char *cmdline;          /* tag 1; NULL if none is well-formed */
    const char *boot_loader_name; /* tag 2; NULL if none is well-formed */

    bool has_mmap;       /* a tag 6 that passed mb2_mmap_entry_count with >= 1 entry */
    struct mb2_tag mmap; /* that tag: read it with mb2_mmap_entry() */
    unsigned mmap_entry_count;

    bool has_meminfo; /* tag 4 */
    struct mb2_meminfo meminfo;

    struct mb2_module modules[MB2_MAX_MODULES]; /* well-formed tags 3, in MBI order */
    unsigned module_count;
    bool modules_truncated; /* more than MB2_MAX_MODULES well-formed ones; the rest dropped */

    bool has_framebuffer; /* tag 8 */
    struct mb2_framebuffer framebuffer;

    bool has_efi_mmap;       /* a tag 17 that passed mb2_efi_mmap_count */
    struct mb2_tag efi_mmap; /* that tag: read it with mb2_efi_mmap_descriptor() */
    unsigned efi_mmap_count;

    bool has_acpi_old_rsdp, has_acpi_new_rsdp;   /* tag 14 (payload >= 20), tag 15 (>= 36) */
    struct mb2_tag acpi_old_rsdp, acpi_new_rsdp; /* checksums are the ACPI code's job */

    /* Tags with a malformed payload (a tag 6 with no entries included): each is
     * skipped and the walk goes on, since its size field was fine. */
    unsigned warning_count;
    struct mb2_error first_warning; /* valid if warning_count > 0 */

    /* The tag list itself was malformed (a bad size, no end tag): the walk
     * stopped there; everything before it was kept, nothing after it read. */
    bool list_broken;
    struct mb2_error list_error; /* valid if list_broken */
};

/* Walks the whole MBI once, filling *summary (which is cleared first). false
 * only if the MBI header is unusable (misaligned, total_size bad; see
 * mb2_reader_init): then error says why and *summary is empty. A broken tag
 * list or malformed tags are not failures: see list_broken and warning_count. */
bool mb2_summarize(const void *mbi, size_t available_bytes, struct mb2_summary *summary,
                   struct mb2_error *error);

#endif
