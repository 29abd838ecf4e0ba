/* multiboot2.c: see multiboot2.h. All offsets are checked against total_size
 * in 64-bit arithmetic, so no sum can wrap. */
#include "lib/multiboot2.h"

#include "lib/format.h"
#include "lib/boot_only.h"

#define MB2_HEADER_BYTES 8
#define MB2_TAG_HEADER_BYTES 8
#define MB2_TAG_ALIGN 8

static uint32_t read_u32(const uint8_t *at)
{
    return (uint32_t)at[0] | (uint32_t)at[1] << 8 | (uint32_t)at[2] << 16 | (uint32_t)at[3] << 24;
}

static uint64_t read_u64(const uint8_t *at)
{
    return (uint64_t)read_u32(at) | (uint64_t)read_u32(at + 4) << 32;
}

static bool fail(struct mb2_error *error, uint32_t offset, const char *message)
{
    if (error) {
        error->offset = offset;
        ksnprintf(error->message, sizeof(error->message), "%s", message);
    }
    return false;
}

/* "tag T (name) at offset O: " followed by the formatted detail. */
static bool tag_fail(struct mb2_error *error, uint32_t type, uint32_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool tag_fail(struct mb2_error *error, uint32_t type, uint32_t offset, const char *fmt, ...)
{
    if (!error)
        return false;
    error->offset = offset;
    int prefix = ksnprintf(error->message, sizeof(error->message),
                           "tag %u (%s) at offset %u: ", type, mb2_tag_type_name(type), offset);
    if (prefix >= 0 && (size_t)prefix < sizeof(error->message)) {
        va_list args;
        va_start(args, fmt);
        kvsnprintf(error->message + prefix, sizeof(error->message) - (size_t)prefix, fmt, args);
        va_end(args);
    }
    return false;
}

const char *mb2_tag_type_name(uint32_t type)
{
    static const char *const names[] = {
        [MB2_TAG_END] = "end",
        [MB2_TAG_CMDLINE] = "command line",
        [MB2_TAG_BOOT_LOADER_NAME] = "boot loader name",
        [MB2_TAG_MODULE] = "module",
        [MB2_TAG_BASIC_MEMINFO] = "basic meminfo",
        [MB2_TAG_BOOTDEV] = "BIOS boot device",
        [MB2_TAG_MMAP] = "memory map",
        [MB2_TAG_VBE] = "VBE info",
        [MB2_TAG_FRAMEBUFFER] = "framebuffer",
        [MB2_TAG_ELF_SECTIONS] = "ELF sections",
        [MB2_TAG_APM] = "APM table",
        [MB2_TAG_EFI32] = "EFI 32-bit system table",
        [MB2_TAG_EFI64] = "EFI 64-bit system table",
        [MB2_TAG_SMBIOS] = "SMBIOS",
        [MB2_TAG_ACPI_OLD_RSDP] = "ACPI old RSDP",
        [MB2_TAG_ACPI_NEW_RSDP] = "ACPI new RSDP",
        [MB2_TAG_NETWORK] = "network",
        [MB2_TAG_EFI_MMAP] = "EFI memory map",
        [MB2_TAG_EFI_BS_NOT_TERMINATED] = "EFI boot services not terminated",
        [MB2_TAG_EFI32_IMAGE_HANDLE] = "EFI 32-bit image handle",
        [MB2_TAG_EFI64_IMAGE_HANDLE] = "EFI 64-bit image handle",
        [MB2_TAG_LOAD_BASE_ADDR] = "load base address",
    };
    if (type < sizeof(names) / sizeof(names[0]) && names[type])
        return names[type];
    return "unknown";
}

BOOT_ONLY bool mb2_reader_init(struct mb2_reader *reader, const void *mbi, size_t available_bytes,
                               struct mb2_error *error)
{
    reader->base = mbi;
    reader->total_size = 0;
    reader->next_offset = MB2_HEADER_BYTES;
    reader->finished = true;
    if (!mbi || (uintptr_t)mbi % MB2_TAG_ALIGN != 0)
        return fail(error, 0, "boot information not 8-byte aligned");
    if (available_bytes < MB2_HEADER_BYTES + MB2_TAG_HEADER_BYTES)
        return fail(error, 0, "boot information truncated before its first tag");
    uint32_t total_size = read_u32(mbi);
    if (total_size < MB2_HEADER_BYTES + MB2_TAG_HEADER_BYTES)
        return fail(error, 0, "total_size too small to hold the end tag");
    if (total_size > available_bytes || total_size > MB2_MAX_TOTAL_SIZE)
        return fail(error, 0, "total_size larger than the memory it may occupy");
    reader->total_size = total_size;
    reader->finished = false;
    return true;
}

BOOT_ONLY int mb2_reader_next(struct mb2_reader *reader, struct mb2_tag *tag,
                              struct mb2_error *error)
{
    if (reader->finished)
        return 0;
    uint64_t offset = reader->next_offset;
    reader->finished = true; /* until this tag proves well-formed */
    if (offset + MB2_TAG_HEADER_BYTES > reader->total_size) {
        if (error) {
            error->offset = (uint32_t)offset;
            ksnprintf(error->message, sizeof(error->message),
                      "offset %u: tag list runs past total_size %u without an end tag",
                      (uint32_t)offset, reader->total_size);
        }
        return -1;
    }
    const uint8_t *at = reader->base + offset;
    uint32_t type = read_u32(at);
    uint32_t size = read_u32(at + 4);
    if (size < MB2_TAG_HEADER_BYTES) {
        tag_fail(error, type, (uint32_t)offset, "size %u is smaller than the tag header (8)", size);
        return -1;
    }
    if (offset + size > reader->total_size) {
        tag_fail(error, type, (uint32_t)offset, "size %u extends past total_size %u", size,
                 reader->total_size);
        return -1;
    }
    if (type == MB2_TAG_END)
        return 0; /* finished stays true */
    *tag = (struct mb2_tag){
        .type = type,
        .size = size,
        .offset = (uint32_t)offset,
        .payload = at + MB2_TAG_HEADER_BYTES,
        .payload_size = size - MB2_TAG_HEADER_BYTES,
    };
    uint64_t next = (offset + size + MB2_TAG_ALIGN - 1) & ~(uint64_t)(MB2_TAG_ALIGN - 1);
    reader->next_offset = (uint32_t)(next < reader->total_size ? next : reader->total_size);
    reader->finished = false;
    return 1;
}

BOOT_ONLY const char *mb2_tag_string(const struct mb2_tag *tag)
{
    for (uint32_t i = 0; i < tag->payload_size; i++) {
        if (tag->payload[i] == '\0')
            return (const char *)tag->payload;
    }
    return NULL;
}

/* ---- the memory map (tag 6) ---------------------------------------------- */

/* Tags 6 and 17 are both a table: u32 record size, u32 version, then records
 * of that size (a size that may grow, so the walk goes by it). Returns the
 * record count, or -1 with *error set. record and records name them in
 * messages ("entry", "entries": entry_size; "descriptor", "descriptors"). */
#define TABLE_HEADER_BYTES 8

static int table_count(const struct mb2_tag *tag, uint32_t type, const char *not_it,
                       const char *record, const char *records, uint32_t min_size,
                       struct mb2_error *error)
{
    if (tag->type != type) {
        tag_fail(error, tag->type, tag->offset, "%s", not_it);
        return -1;
    }
    if (tag->payload_size < TABLE_HEADER_BYTES) {
        tag_fail(error, tag->type, tag->offset,
                 "payload of %u bytes has no room for %s_size and %s_version", tag->payload_size,
                 record, record);
        return -1;
    }
    uint32_t size = read_u32(tag->payload);
    if (size < min_size || size % 8 != 0) {
        tag_fail(error, tag->type, tag->offset, "%s_size %u is not a multiple of 8 and at least %u",
                 record, size, min_size);
        return -1;
    }
    uint32_t bytes = tag->payload_size - TABLE_HEADER_BYTES;
    if (bytes % size != 0) {
        tag_fail(error, tag->type, tag->offset,
                 "%u bytes of %s are not a whole number of %u-byte %s", bytes, records, size,
                 records);
        return -1;
    }
    return (int)(bytes / size); /* at most 2^32 / 24: fits an int */
}

/* The record at index of a table that passed table_count. */
static const uint8_t *table_record(const struct mb2_tag *tag, uint32_t index)
{
    return tag->payload + TABLE_HEADER_BYTES + (uint64_t)index * read_u32(tag->payload);
}

BOOT_ONLY int mb2_mmap_entry_count(const struct mb2_tag *tag, struct mb2_error *error)
{
    return table_count(tag, MB2_TAG_MMAP, "not a memory map (tag 6)", "entry", "entries",
                       MB2_MMAP_MIN_ENTRY_SIZE, error);
}

BOOT_ONLY bool mb2_mmap_entry(const struct mb2_tag *tag, uint32_t index,
                              struct mb2_mmap_entry *entry)
{
    int count = mb2_mmap_entry_count(tag, NULL);
    if (count < 0 || index >= (uint32_t)count)
        return false;
    const uint8_t *at = table_record(tag, index);
    *entry = (struct mb2_mmap_entry){
        .base = read_u64(at),
        .length = read_u64(at + 8),
        .type = read_u32(at + 16),
    };
    return true;
}

/* ---- the EFI memory map (tag 17) ----------------------------------------- */

int mb2_efi_mmap_count(const struct mb2_tag *tag, struct mb2_error *error)
{
    return table_count(tag, MB2_TAG_EFI_MMAP, "not an EFI memory map (tag 17)", "descriptor",
                       "descriptors", MB2_EFI_MIN_DESCRIPTOR_SIZE, error);
}

bool mb2_efi_mmap_descriptor(const struct mb2_tag *tag, uint32_t index,
                             struct mb2_efi_descriptor *descriptor)
{
    int count = mb2_efi_mmap_count(tag, NULL);
    if (count < 0 || index >= (uint32_t)count)
        return false;
    const uint8_t *at = table_record(tag, index);
    *descriptor = (struct mb2_efi_descriptor){
        .type = read_u32(at),
        .physical_start = read_u64(at + 8),
        .pages = read_u64(at + 24),
        .attribute = read_u64(at + 32),
    };
    return true;
}

uint32_t mb2_efi_mmap_descriptor_size(const struct mb2_tag *tag)
{
    return mb2_efi_mmap_count(tag, NULL) < 0 ? 0 : read_u32(tag->payload);
}

uint32_t mb2_efi_mmap_descriptor_version(const struct mb2_tag *tag)
{
    return mb2_efi_mmap_count(tag, NULL) < 0 ? 0 : read_u32(tag->payload + 4);
}

/* ---- the framebuffer (tag 8) --------------------------------------------- */

#define FRAMEBUFFER_FIXED_BYTES 24 /* address .. reserved */

BOOT_ONLY bool mb2_read_framebuffer(const struct mb2_tag *tag, struct mb2_framebuffer *framebuffer,
                                    struct mb2_error *error)
{
    if (tag->type != MB2_TAG_FRAMEBUFFER)
        return tag_fail(error, tag->type, tag->offset, "not framebuffer info (tag 8)");
    if (tag->payload_size < FRAMEBUFFER_FIXED_BYTES)
        return tag_fail(error, tag->type, tag->offset,
                        "payload of %u bytes is shorter than the 24 of address, pitch, width, "
                        "height, bpp and type",
                        tag->payload_size);
    const uint8_t *p = tag->payload;
    struct mb2_framebuffer fb = {
        .address = read_u64(p),
        .pitch = read_u32(p + 8),
        .width = read_u32(p + 12),
        .height = read_u32(p + 16),
        .bpp = p[20],
        .type = p[21],
    };
    uint32_t color_bytes = 0;
    if (fb.type == MB2_FRAMEBUFFER_RGB) {
        color_bytes = 6;
    } else if (fb.type == MB2_FRAMEBUFFER_INDEXED) {
        if (tag->payload_size >= FRAMEBUFFER_FIXED_BYTES + 2)
            fb.palette_colors = (uint16_t)(p[24] | p[25] << 8);
        color_bytes = 2 + 3u * fb.palette_colors;
    } else if (fb.type != MB2_FRAMEBUFFER_EGA_TEXT) {
        return tag_fail(error, tag->type, tag->offset, "framebuffer type %u is not 0, 1 or 2",
                        fb.type);
    }
    if (tag->payload_size - FRAMEBUFFER_FIXED_BYTES < color_bytes)
        return tag_fail(error, tag->type, tag->offset,
                        "payload of %u bytes has no room for the %u bytes of type %u's colours",
                        tag->payload_size, color_bytes, fb.type);
    if (fb.type == MB2_FRAMEBUFFER_RGB) {
        fb.red_position = p[24], fb.red_size = p[25];
        fb.green_position = p[26], fb.green_size = p[27];
        fb.blue_position = p[28], fb.blue_size = p[29];
    }
    if (fb.width == 0 || fb.height == 0 || fb.bpp == 0)
        return tag_fail(error, tag->type, tag->offset, "%ux%u at %u bits per pixel is empty",
                        fb.width, fb.height, fb.bpp);
    if (fb.type == MB2_FRAMEBUFFER_EGA_TEXT && fb.bpp != 16)
        return tag_fail(error, tag->type, tag->offset, "EGA text at %u bits a character, not 16",
                        fb.bpp);
    uint64_t row_bytes = ((uint64_t)fb.width * fb.bpp + 7) / 8;
    if (fb.pitch < row_bytes)
        return tag_fail(error, tag->type, tag->offset,
                        "pitch %u is shorter than a row of %u pixels at %u bits", fb.pitch,
                        fb.width, fb.bpp);
    uint64_t bytes = (uint64_t)fb.pitch * fb.height;
    if (fb.address > UINT64_MAX - bytes)
        return tag_fail(error, tag->type, tag->offset,
                        "%lu bytes at %#lx run past the end of the address space",
                        (unsigned long)bytes, (unsigned long)fb.address);
    *framebuffer = fb;
    return true;
}

/* ---- basic memory information (tag 4) ------------------------------------ */

BOOT_ONLY bool mb2_read_meminfo(const struct mb2_tag *tag, struct mb2_meminfo *info,
                                struct mb2_error *error)
{
    if (tag->type != MB2_TAG_BASIC_MEMINFO)
        return tag_fail(error, tag->type, tag->offset, "not basic meminfo (tag 4)");
    if (tag->payload_size < 8)
        return tag_fail(error, tag->type, tag->offset,
                        "payload of %u bytes has no room for mem_lower and mem_upper",
                        tag->payload_size);
    info->mem_lower_kib = read_u32(tag->payload);
    info->mem_upper_kib = read_u32(tag->payload + 4);
    return true;
}

#define KIB 1024ull
#define LOW_MEMORY_MAX_KIB 640
#define UPPER_MEMORY_BASE (1024 * KIB)

BOOT_ONLY unsigned mb2_meminfo_as_mmap(const struct mb2_meminfo *info, struct mb2_mmap_entry out[2])
{
    unsigned count = 0;
    uint32_t lower_kib = info->mem_lower_kib;
    if (lower_kib > LOW_MEMORY_MAX_KIB)
        lower_kib = LOW_MEMORY_MAX_KIB;
    if (lower_kib > 0)
        out[count++] = (struct mb2_mmap_entry){0, lower_kib * KIB, MB2_MMAP_AVAILABLE};
    if (info->mem_upper_kib > 0)
        out[count++] = (struct mb2_mmap_entry){UPPER_MEMORY_BASE, info->mem_upper_kib * KIB,
                                               MB2_MMAP_AVAILABLE};
    return count;
}

/* ---- modules (tag 3) ------------------------------------------------------ */

#define MODULE_HEADER_BYTES 8 /* mod_start, mod_end */

BOOT_ONLY bool mb2_read_module(const struct mb2_tag *tag, struct mb2_module *module,
                               struct mb2_error *error)
{
    if (tag->type != MB2_TAG_MODULE)
        return tag_fail(error, tag->type, tag->offset, "not a module (tag 3)");
    if (tag->payload_size < MODULE_HEADER_BYTES)
        return tag_fail(error, tag->type, tag->offset,
                        "payload of %u bytes has no room for mod_start and mod_end",
                        tag->payload_size);
    uint32_t start = read_u32(tag->payload);
    uint32_t end = read_u32(tag->payload + 4);
    if (start > end)
        return tag_fail(error, tag->type, tag->offset, "mod_start %#x is above mod_end %#x", start,
                        end);
    const char *name = "";
    if (tag->payload_size > MODULE_HEADER_BYTES) {
        const uint8_t *text = tag->payload + MODULE_HEADER_BYTES;
        uint32_t text_bytes = tag->payload_size - MODULE_HEADER_BYTES;
        uint32_t i = 0;
        while (i < text_bytes && text[i] != '\0')
            i++;
        if (i == text_bytes)
            return tag_fail(error, tag->type, tag->offset,
                            "string of %u bytes is not NUL-terminated", text_bytes);
        name = (const char *)text;
    }
    *module = (struct mb2_module){.start = start, .end = end, .name = name};
    return true;
}

/* ---- the whole MBI ---------------------------------------------------------- */

BOOT_ONLY static void warn(struct mb2_summary *summary, const struct mb2_error *warning)
{
    if (summary->warning_count++ == 0)
        summary->first_warning = *warning;
}

/* For tags 1 and 2: the string, or NULL after a warning. */
BOOT_ONLY static const char *summarize_string(struct mb2_summary *summary,
                                              const struct mb2_tag *tag)
{
    const char *text = mb2_tag_string(tag);
    if (!text) {
        struct mb2_error warning;
        tag_fail(&warning, tag->type, tag->offset, "payload of %u bytes holds no NUL",
                 tag->payload_size);
        warn(summary, &warning);
    }
    return text;
}

BOOT_ONLY static void summarize_rsdp(struct mb2_summary *summary, const struct mb2_tag *tag,
                                     uint32_t min_bytes, struct mb2_tag *slot, bool *has)
{
    if (*has)
        return;
    if (tag->payload_size < min_bytes) {
        struct mb2_error warning;
        tag_fail(&warning, tag->type, tag->offset,
                 "payload of %u bytes is shorter than an RSDP (%u)", tag->payload_size, min_bytes);
        warn(summary, &warning);
        return;
    }
    *slot = *tag;
    *has = true;
}

static void summarize_tag(struct mb2_summary *summary, const struct mb2_tag *tag)
{
    struct mb2_error warning;
    switch (tag->type) {
    case MB2_TAG_CMDLINE:
        if (!summary->cmdline)
            summary->cmdline = summarize_string(summary, tag);
        break;
    case MB2_TAG_BOOT_LOADER_NAME:
        if (!summary->boot_loader_name)
            summary->boot_loader_name = summarize_string(summary, tag);
        break;
    case MB2_TAG_MODULE: {
        struct mb2_module module;
        if (!mb2_read_module(tag, &module, &warning))
            warn(summary, &warning);
        else if (summary->module_count == MB2_MAX_MODULES)
            summary->modules_truncated = true;
        else
            summary->modules[summary->module_count++] = module;
        break;
    }
    case MB2_TAG_BASIC_MEMINFO:
        if (summary->has_meminfo)
            break;
        if (mb2_read_meminfo(tag, &summary->meminfo, &warning))
            summary->has_meminfo = true;
        else
            warn(summary, &warning);
        break;
    case MB2_TAG_MMAP: {
        if (summary->has_mmap)
            break;
        int count = mb2_mmap_entry_count(tag, &warning);
        if (count == 0)
            tag_fail(&warning, tag->type, tag->offset, "holds no entries");
        if (count <= 0) {
            warn(summary, &warning);
            break;
        }
        summary->mmap = *tag;
        summary->mmap_entry_count = (unsigned)count;
        summary->has_mmap = true;
        break;
    }
    case MB2_TAG_FRAMEBUFFER:
        if (summary->has_framebuffer)
            break;
        if (mb2_read_framebuffer(tag, &summary->framebuffer, &warning))
            summary->has_framebuffer = true;
        else
            warn(summary, &warning);
        break;
    case MB2_TAG_EFI_MMAP: {
        if (summary->has_efi_mmap)
            break;
        int count = mb2_efi_mmap_count(tag, &warning);
        if (count < 0) {
            warn(summary, &warning);
            break;
        }
        summary->efi_mmap = *tag;
        summary->efi_mmap_count = (unsigned)count;
        summary->has_efi_mmap = true;
        break;
    }
    case MB2_TAG_ACPI_OLD_RSDP:
        summarize_rsdp(summary, tag, MB2_ACPI_OLD_RSDP_BYTES, &summary->acpi_old_rsdp,
                       &summary->has_acpi_old_rsdp);
        break;
    case MB2_TAG_ACPI_NEW_RSDP:
        summarize_rsdp(summary, tag, MB2_ACPI_NEW_RSDP_BYTES, &summary->acpi_new_rsdp,
                       &summary->has_acpi_new_rsdp);
        break;
    default:
        break; /* not needed at boot */
    }
}

BOOT_ONLY bool mb2_summarize(const void *mbi, size_t available_bytes, struct mb2_summary *summary,
                             struct mb2_error *error)
{
    *summary = (struct mb2_summary){0};
    struct mb2_reader reader;
    if (!mb2_reader_init(&reader, mbi, available_bytes, error))
        return false;
    summary->total_size = reader.total_size;
    struct mb2_tag tag;
    int status;
    while ((status = mb2_reader_next(&reader, &tag, &summary->list_error)) == 1) {
        summary->tag_count++;
        summarize_tag(summary, &tag);
    }
    summary->list_broken = status < 0;
    return true;
}
