/* acpi.c: see acpi.h. Every offset and address sum is checked before it is
 * used, in 64-bit arithmetic, so nothing can wrap; no pointer from
 * memory->read is used after the next call of read. */
#include "lib/acpi.h"

#include <stdarg.h>

#include "lib/format.h"
#include "lib/boot_only.h"

#define RSDP_SIGNATURE "RSD PTR "
#define RSDP_SIGNATURE_BYTES 8
#define SIGNATURE_BYTES 4
#define SCAN_MAX_BYTES (1u << 20) /* the BIOS areas are 1 KiB and 128 KiB */

/* Offsets in the RSDP, the common header and the MADT. */
#define RSDP_OEM_ID 9
#define RSDP_REVISION 15
#define RSDP_RSDT_ADDRESS 16
#define RSDP_LENGTH 20
#define RSDP_XSDT_ADDRESS 24
#define HEADER_LENGTH 4
#define HEADER_REVISION 8
#define HEADER_OEM_ID 10
#define MADT_LAPIC_ADDRESS 36
#define MADT_FLAGS 40
#define OEM_ID_BYTES 6

static uint16_t read_u16(const uint8_t *at)
{
    return (uint16_t)(at[0] | at[1] << 8);
}

static uint32_t read_u32(const uint8_t *at)
{
    return (uint32_t)at[0] | (uint32_t)at[1] << 8 | (uint32_t)at[2] << 16 | (uint32_t)at[3] << 24;
}

static uint64_t read_u64(const uint8_t *at)
{
    return (uint64_t)read_u32(at) | (uint64_t)read_u32(at + 4) << 32;
}

static int fail(char *error, size_t error_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes the message (if there is room for one) and returns -1. */
static int fail(char *error, size_t error_size, const char *fmt, ...)
{
    if (error && error_size > 0) {
        va_list args;
        va_start(args, fmt);
        kvsnprintf(error, error_size, fmt, args);
        va_end(args);
    }
    return -1;
}

static void clear_error(char *error, size_t error_size)
{
    if (error && error_size > 0)
        error[0] = '\0';
}

/* [phys, phys + length) through the caller's reader; NULL for an empty,
 * wrapping or unreadable range. */
static const uint8_t *read_phys(const struct acpi_memory *memory, uint64_t phys, uint64_t length)
{
    if (!memory || !memory->read || length == 0 || length - 1 > UINT64_MAX - phys)
        return NULL;
    return memory->read(memory->context, phys, length);
}

static bool bytes_equal(const uint8_t *bytes, const char *text, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (bytes[i] != (uint8_t)text[i])
            return false;
    }
    return true;
}

static bool printable(uint8_t byte)
{
    return byte >= ' ' && byte <= '~';
}

/* A signature for messages: count bytes, each unprintable one shown as '?'. */
static void copy_signature(char *out, const uint8_t *bytes, size_t count)
{
    for (size_t i = 0; i < count; i++)
        out[i] = printable(bytes[i]) ? (char)bytes[i] : '?';
    out[count] = '\0';
}

/* An OEM id: up to 6 bytes, ending early at a NUL, without trailing spaces. */
static void copy_oem_id(char out[OEM_ID_BYTES + 1], const uint8_t *bytes)
{
    size_t length = 0;
    while (length < OEM_ID_BYTES && bytes[length] != '\0') {
        out[length] = printable(bytes[length]) ? (char)bytes[length] : '?';
        length++;
    }
    while (length > 0 && out[length - 1] == ' ')
        length--;
    out[length] = '\0';
}

uint8_t acpi_checksum(const void *bytes, size_t length)
{
    const uint8_t *at = bytes;
    uint8_t sum = 0;
    for (size_t i = 0; i < length; i++)
        sum = (uint8_t)(sum + at[i]);
    return sum;
}

/* ---- RSDP ------------------------------------------------------------------------ */

BOOT_ONLY int acpi_parse_rsdp(const void *bytes, size_t length, struct acpi_rsdp *out, char *error,
                              size_t error_size)
{
    const uint8_t *rsdp = bytes;
    if (!rsdp || length < ACPI_RSDP_V1_BYTES)
        return fail(error, error_size, "RSDP too short: %zu bytes", rsdp ? length : 0);
    if (!bytes_equal(rsdp, RSDP_SIGNATURE, RSDP_SIGNATURE_BYTES)) {
        char signature[RSDP_SIGNATURE_BYTES + 1];
        copy_signature(signature, rsdp, RSDP_SIGNATURE_BYTES);
        return fail(error, error_size, "RSDP signature \"%s\", expected \"" RSDP_SIGNATURE "\"",
                    signature);
    }
    uint8_t sum = acpi_checksum(rsdp, ACPI_RSDP_V1_BYTES);
    if (sum != 0)
        return fail(error, error_size, "RSDP checksum 0x%x, expected 0", sum);

    uint8_t revision = rsdp[RSDP_REVISION];
    uint32_t size = ACPI_RSDP_V1_BYTES;
    uint64_t xsdt_address = 0;
    if (revision >= 2) {
        if (length < ACPI_RSDP_V2_BYTES)
            return fail(error, error_size, "RSDP revision %u too short: %zu bytes, needs %u",
                        revision, length, ACPI_RSDP_V2_BYTES);
        size = read_u32(rsdp + RSDP_LENGTH);
        if (size < ACPI_RSDP_V2_BYTES)
            return fail(error, error_size, "RSDP revision %u length field %u, needs at least %u",
                        revision, size, ACPI_RSDP_V2_BYTES);
        if (size > ACPI_RSDP_MAX_BYTES)
            return fail(error, error_size, "RSDP length field %u is absurd (limit %u)", size,
                        ACPI_RSDP_MAX_BYTES);
        if (size > length)
            return fail(error, error_size, "RSDP length field %u exceeds the %zu bytes given", size,
                        length);
        sum = acpi_checksum(rsdp, size);
        if (sum != 0)
            return fail(error, error_size, "RSDP extended checksum 0x%x, expected 0", sum);
        xsdt_address = read_u64(rsdp + RSDP_XSDT_ADDRESS);
    }
    *out = (struct acpi_rsdp){
        .revision = revision,
        .length = size,
        .rsdt_address = read_u32(rsdp + RSDP_RSDT_ADDRESS),
        .xsdt_address = xsdt_address,
    };
    copy_oem_id(out->oem_id, rsdp + RSDP_OEM_ID);
    clear_error(error, error_size);
    return 0;
}

BOOT_ONLY int acpi_read_rsdp(const struct acpi_memory *memory, uint64_t phys, struct acpi_rsdp *out,
                             char *error, size_t error_size)
{
    const uint8_t *rsdp = read_phys(memory, phys, ACPI_RSDP_V1_BYTES);
    if (!rsdp)
        return fail(error, error_size, "RSDP at 0x%llx: not readable", (unsigned long long)phys);
    if (rsdp[RSDP_REVISION] < 2 || !bytes_equal(rsdp, RSDP_SIGNATURE, RSDP_SIGNATURE_BYTES))
        return acpi_parse_rsdp(rsdp, ACPI_RSDP_V1_BYTES, out, error, error_size);

    rsdp = read_phys(memory, phys, ACPI_RSDP_V2_BYTES);
    if (!rsdp)
        return fail(error, error_size, "RSDP at 0x%llx: revision 2+ but only 20 bytes readable",
                    (unsigned long long)phys);
    uint32_t size = read_u32(rsdp + RSDP_LENGTH);
    if (size <= ACPI_RSDP_V2_BYTES || size > ACPI_RSDP_MAX_BYTES)
        return acpi_parse_rsdp(rsdp, ACPI_RSDP_V2_BYTES, out, error, error_size);
    rsdp = read_phys(memory, phys, size);
    if (!rsdp)
        return fail(error, error_size, "RSDP at 0x%llx: its %u bytes are not readable",
                    (unsigned long long)phys, size);
    return acpi_parse_rsdp(rsdp, size, out, error, error_size);
}

BOOT_ONLY uint64_t acpi_scan_rsdp(const struct acpi_memory *memory, uint64_t start, uint64_t length)
{
    if (length > SCAN_MAX_BYTES)
        length = SCAN_MAX_BYTES;
    uint64_t end = length > UINT64_MAX - start ? UINT64_MAX : start + length;
    uint64_t misalignment = start % ACPI_RSDP_ALIGN;
    if (misalignment != 0 && start > UINT64_MAX - (ACPI_RSDP_ALIGN - misalignment))
        return 0;
    uint64_t phys = misalignment ? start + (ACPI_RSDP_ALIGN - misalignment) : start;
    for (; phys < end; phys += ACPI_RSDP_ALIGN) {
        const uint8_t *signature = read_phys(memory, phys, RSDP_SIGNATURE_BYTES);
        struct acpi_rsdp rsdp;
        if (phys != 0 && signature &&
            bytes_equal(signature, RSDP_SIGNATURE, RSDP_SIGNATURE_BYTES) &&
            acpi_read_rsdp(memory, phys, &rsdp, NULL, 0) == 0)
            return phys;
        if (phys > UINT64_MAX - ACPI_RSDP_ALIGN)
            break;
    }
    return 0;
}

/* ---- tables and the root table ---------------------------------------------------- */

/* Checks the table at phys: header readable, 36 <= length <= the limit, all of
 * it readable, checksum 0. Fills *info (index is the caller's) and returns
 * info->valid. */
static bool check_table(const struct acpi_memory *memory, uint64_t phys,
                        struct acpi_table_info *info)
{
    *info = (struct acpi_table_info){.phys = phys};
    const uint8_t *header = read_phys(memory, phys, ACPI_HEADER_BYTES);
    if (!header) {
        ksnprintf(info->problem, sizeof(info->problem), "header not readable");
        return false;
    }
    copy_signature(info->signature, header, SIGNATURE_BYTES);
    info->length = read_u32(header + HEADER_LENGTH);
    info->revision = header[HEADER_REVISION];
    copy_oem_id(info->oem_id, header + HEADER_OEM_ID);
    if (info->length < ACPI_HEADER_BYTES) {
        ksnprintf(info->problem, sizeof(info->problem),
                  "length %u is shorter than the %u-byte header", info->length, ACPI_HEADER_BYTES);
        return false;
    }
    if (info->length > ACPI_MAX_TABLE_BYTES) {
        ksnprintf(info->problem, sizeof(info->problem), "length %u is absurd (limit %u)",
                  info->length, ACPI_MAX_TABLE_BYTES);
        return false;
    }
    const uint8_t *table = read_phys(memory, phys, info->length);
    if (!table) {
        ksnprintf(info->problem, sizeof(info->problem), "its %u bytes are not readable",
                  info->length);
        return false;
    }
    uint8_t sum = acpi_checksum(table, info->length);
    if (sum != 0) {
        ksnprintf(info->problem, sizeof(info->problem), "checksum 0x%x, expected 0", sum);
        return false;
    }
    info->valid = true;
    return true;
}

/* Opens the RSDT (entry_bytes 4) or XSDT (8) at phys. */
static int open_root_at(const struct acpi_memory *memory, uint64_t phys, uint8_t entry_bytes,
                        struct acpi_root *root, char *error, size_t error_size)
{
    const char *name = entry_bytes == 8 ? "XSDT" : "RSDT";
    struct acpi_table_info info;
    check_table(memory, phys, &info);
    if (info.signature[0] != '\0' && !bytes_equal((const uint8_t *)info.signature, name, 4))
        return fail(error, error_size, "%s at 0x%llx: signature \"%s\", expected \"%s\"", name,
                    (unsigned long long)phys, info.signature, name);
    if (!info.valid)
        return fail(error, error_size, "%s at 0x%llx: %s", name, (unsigned long long)phys,
                    info.problem);
    *root = (struct acpi_root){
        .phys = phys,
        .length = info.length,
        .revision = info.revision,
        .entry_bytes = entry_bytes,
        .entry_count = (info.length - ACPI_HEADER_BYTES) / entry_bytes,
    };
    copy_signature(root->signature, (const uint8_t *)name, SIGNATURE_BYTES);
    for (size_t i = 0; i < sizeof(root->oem_id); i++)
        root->oem_id[i] = info.oem_id[i];
    return 0;
}

int acpi_open_root(const struct acpi_memory *memory, const struct acpi_rsdp *rsdp,
                   struct acpi_root *root, char *error, size_t error_size)
{
    char xsdt_problem[160] = "";
    if (rsdp->revision >= 2 && rsdp->xsdt_address != 0) {
        if (open_root_at(memory, rsdp->xsdt_address, 8, root, xsdt_problem, sizeof(xsdt_problem)) ==
            0) {
            clear_error(error, error_size);
            return 0;
        }
        if (rsdp->rsdt_address == 0)
            return fail(error, error_size, "%s; the RSDP names no RSDT", xsdt_problem);
    }
    if (rsdp->rsdt_address == 0)
        return fail(error, error_size, "the RSDP names no root table (RSDT or XSDT)");
    char rsdt_problem[160];
    if (open_root_at(memory, rsdp->rsdt_address, 4, root, rsdt_problem, sizeof(rsdt_problem)) < 0) {
        if (xsdt_problem[0] != '\0')
            return fail(error, error_size, "%s; %s", xsdt_problem, rsdt_problem);
        return fail(error, error_size, "%s", rsdt_problem);
    }
    root->xsdt_rejected = xsdt_problem[0] != '\0';
    if (root->xsdt_rejected)
        fail(error, error_size, "%s", xsdt_problem);
    else
        clear_error(error, error_size);
    return 0;
}

/* The address in entry index (< root->entry_count); false if unreadable. */
static bool root_entry(const struct acpi_memory *memory, const struct acpi_root *root,
                       uint32_t index, uint64_t *phys)
{
    /* No wrap: open_root_at read all of [root->phys, root->phys + root->length). */
    uint64_t at = root->phys + ACPI_HEADER_BYTES + (uint64_t)index * root->entry_bytes;
    const uint8_t *entry = read_phys(memory, at, root->entry_bytes);
    if (!entry)
        return false;
    *phys = root->entry_bytes == 8 ? read_u64(entry) : read_u32(entry);
    return true;
}

int acpi_for_each_table(const struct acpi_memory *memory, const struct acpi_rsdp *rsdp,
                        acpi_table_fn fn, void *context, struct acpi_root *root, char *error,
                        size_t error_size)
{
    struct acpi_root local_root;
    if (!root)
        root = &local_root;
    if (acpi_open_root(memory, rsdp, root, error, error_size) < 0)
        return -1;
    for (uint32_t i = 0; i < root->entry_count; i++) {
        struct acpi_table_info info;
        uint64_t phys;
        if (root_entry(memory, root, i, &phys)) {
            check_table(memory, phys, &info);
        } else {
            info = (struct acpi_table_info){0};
            ksnprintf(info.problem, sizeof(info.problem), "root table entry not readable");
        }
        info.index = i;
        if (fn)
            fn(context, &info);
    }
    return (int)root->entry_count; /* at most 16 MiB / 4 */
}

BOOT_ONLY int acpi_find_table(const struct acpi_memory *memory, const struct acpi_rsdp *rsdp,
                              const char signature[4], uint64_t *table_phys, uint32_t *table_length,
                              char *error, size_t error_size)
{
    char wanted[SIGNATURE_BYTES + 1];
    copy_signature(wanted, (const uint8_t *)signature, SIGNATURE_BYTES);
    struct acpi_root root;
    if (acpi_open_root(memory, rsdp, &root, error, error_size) < 0)
        return -1;
    bool candidate_seen = false;
    for (uint32_t i = 0; i < root.entry_count; i++) {
        uint64_t phys;
        if (!root_entry(memory, &root, i, &phys))
            continue;
        const uint8_t *header = read_phys(memory, phys, SIGNATURE_BYTES);
        if (!header || !bytes_equal(header, signature, SIGNATURE_BYTES))
            continue;
        struct acpi_table_info info;
        if (check_table(memory, phys, &info)) {
            *table_phys = phys;
            *table_length = info.length;
            clear_error(error, error_size);
            return 0;
        }
        candidate_seen = true; /* keep looking: a later copy may be intact */
        fail(error, error_size, "%s at 0x%llx: %s", wanted, (unsigned long long)phys, info.problem);
    }
    if (candidate_seen)
        return -1;
    return fail(error, error_size, "no %s table among the %u entries of the %s at 0x%llx", wanted,
                root.entry_count, root.signature, (unsigned long long)root.phys);
}

/* ---- MADT ------------------------------------------------------------------------- */

BOOT_ONLY const char *acpi_madt_entry_name(uint8_t type)
{
    static const char *const names[] = {
        [ACPI_MADT_LOCAL_APIC] = "local APIC",
        [ACPI_MADT_IO_APIC] = "I/O APIC",
        [ACPI_MADT_INTERRUPT_OVERRIDE] = "interrupt source override",
        [ACPI_MADT_NMI_SOURCE] = "NMI source",
        [ACPI_MADT_LOCAL_APIC_NMI] = "local APIC NMI",
        [ACPI_MADT_LAPIC_ADDRESS_OVERRIDE] = "local APIC address override",
        [6] = "I/O SAPIC",
        [7] = "local SAPIC",
        [8] = "platform interrupt sources",
        [ACPI_MADT_LOCAL_X2APIC] = "local x2APIC",
        [ACPI_MADT_LOCAL_X2APIC_NMI] = "local x2APIC NMI",
    };
    if (type < sizeof(names) / sizeof(names[0]) && names[type])
        return names[type];
    return "unknown";
}

/* The bytes an entry of this type needs, header included; 2 for types we skip. */
static size_t madt_entry_min_length(uint8_t type)
{
    switch (type) {
    case ACPI_MADT_LOCAL_APIC:
        return 8;
    case ACPI_MADT_IO_APIC:
        return 12;
    case ACPI_MADT_INTERRUPT_OVERRIDE:
        return 10;
    case ACPI_MADT_LOCAL_APIC_NMI:
        return 6;
    case ACPI_MADT_LAPIC_ADDRESS_OVERRIDE:
        return 12;
    case ACPI_MADT_LOCAL_X2APIC:
        return 16;
    case ACPI_MADT_LOCAL_X2APIC_NMI:
        return 12;
    default:
        return 2;
    }
}

BOOT_ONLY static void madt_add_cpu(struct acpi_madt *madt, uint32_t apic_id, uint32_t uid,
                                   uint32_t flags, bool x2apic)
{
    madt->cpu_entries++;
    for (size_t i = 0; i < madt->cpus_stored; i++) {
        if (madt->cpus[i].apic_id == apic_id) {
            madt->duplicate_cpus++;
            return;
        }
    }
    bool enabled = flags & ACPI_LAPIC_ENABLED;
    if (enabled)
        madt->enabled_cpus++;
    if (madt->cpus_stored < madt->cpu_capacity)
        madt->cpus[madt->cpus_stored++] = (struct acpi_cpu){
            .apic_id = apic_id,
            .uid = uid,
            .enabled = enabled,
            .x2apic = x2apic,
            .online_capable = flags & ACPI_LAPIC_ONLINE_CAPABLE,
        };
}

static void madt_add_nmi(struct acpi_madt *madt, uint32_t uid, uint16_t flags, uint8_t lint)
{
    if (madt->nmi_count == ACPI_MADT_MAX_NMIS) {
        madt->dropped_entries++;
        return;
    }
    madt->nmis[madt->nmi_count++] =
        (struct acpi_lapic_nmi){.uid = uid, .flags = flags, .lint = lint};
}

/* One entry whose length has been checked against madt_entry_min_length. */
static void madt_add_entry(struct acpi_madt *madt, const uint8_t *entry)
{
    switch (entry[0]) {
    case ACPI_MADT_LOCAL_APIC:
        madt_add_cpu(madt, entry[3], entry[2], read_u32(entry + 4), false);
        break;
    case ACPI_MADT_LOCAL_X2APIC:
        madt_add_cpu(madt, read_u32(entry + 4), read_u32(entry + 12), read_u32(entry + 8), true);
        break;
    case ACPI_MADT_IO_APIC:
        if (madt->ioapic_count == ACPI_MADT_MAX_IOAPICS) {
            madt->dropped_entries++;
            break;
        }
        madt->ioapics[madt->ioapic_count++] = (struct acpi_ioapic){
            .id = entry[2],
            .address = read_u32(entry + 4),
            .gsi_base = read_u32(entry + 8),
        };
        break;
    case ACPI_MADT_INTERRUPT_OVERRIDE:
        if (madt->override_count == ACPI_MADT_MAX_OVERRIDES) {
            madt->dropped_entries++;
            break;
        }
        madt->overrides[madt->override_count++] = (struct acpi_override){
            .bus = entry[2],
            .irq = entry[3],
            .gsi = read_u32(entry + 4),
            .flags = read_u16(entry + 8),
        };
        break;
    case ACPI_MADT_LOCAL_APIC_NMI:
        madt_add_nmi(madt, entry[2] == 0xFF ? ACPI_NMI_ALL_CPUS_UID : entry[2], read_u16(entry + 3),
                     entry[5]);
        break;
    case ACPI_MADT_LOCAL_X2APIC_NMI:
        madt_add_nmi(madt, read_u32(entry + 4), read_u16(entry + 2), entry[8]);
        break;
    case ACPI_MADT_LAPIC_ADDRESS_OVERRIDE:
        if (madt->lapic_address_override == 0)
            madt->lapic_address_override = read_u64(entry + 4);
        break;
    default:
        madt->unknown_entries++;
        break;
    }
}

BOOT_ONLY int acpi_parse_madt(const void *table, size_t length, struct acpi_madt *out, char *error,
                              size_t error_size)
{
    struct acpi_cpu *cpus = out->cpus;
    size_t capacity = cpus ? out->cpu_capacity : 0;
    *out = (struct acpi_madt){.cpus = cpus, .cpu_capacity = capacity};

    const uint8_t *madt = table;
    if (!madt || length < ACPI_MADT_HEADER_BYTES)
        return fail(error, error_size, "MADT too short: %zu bytes, needs %u", madt ? length : 0,
                    ACPI_MADT_HEADER_BYTES);
    if (!bytes_equal(madt, "APIC", SIGNATURE_BYTES)) {
        char signature[SIGNATURE_BYTES + 1];
        copy_signature(signature, madt, SIGNATURE_BYTES);
        return fail(error, error_size, "MADT signature \"%s\", expected \"APIC\"", signature);
    }
    uint32_t declared = read_u32(madt + HEADER_LENGTH);
    if (declared > ACPI_MAX_TABLE_BYTES)
        return fail(error, error_size, "MADT length field %u is absurd (limit %u)", declared,
                    ACPI_MAX_TABLE_BYTES);
    if (declared < ACPI_MADT_HEADER_BYTES)
        return fail(error, error_size, "MADT length field %u, needs at least %u", declared,
                    ACPI_MADT_HEADER_BYTES);
    if (declared > length)
        return fail(error, error_size, "MADT length field %u exceeds the %zu bytes given", declared,
                    length);
    uint8_t sum = acpi_checksum(madt, declared);
    if (sum != 0)
        return fail(error, error_size, "MADT checksum 0x%x, expected 0", sum);
    out->lapic_address = read_u32(madt + MADT_LAPIC_ADDRESS);
    out->flags = read_u32(madt + MADT_FLAGS);

    /* Invariant: offset <= declared, so declared - offset never wraps. */
    size_t offset = ACPI_MADT_HEADER_BYTES;
    while (offset < declared) {
        uint8_t type = madt[offset];
        if (declared - offset < 2)
            return fail(error, error_size,
                        "MADT entry type %u (%s) at offset %zu: 1 byte before the table end at "
                        "%u, an entry header needs 2",
                        type, acpi_madt_entry_name(type), offset, declared);
        uint8_t entry_length = madt[offset + 1];
        if (entry_length < 2)
            return fail(error, error_size,
                        "MADT entry type %u (%s) at offset %zu: length %u, less than 2", type,
                        acpi_madt_entry_name(type), offset, entry_length);
        if (entry_length > declared - offset)
            return fail(error, error_size,
                        "MADT entry type %u (%s) at offset %zu: length %u runs past the table "
                        "end at %u",
                        type, acpi_madt_entry_name(type), offset, entry_length, declared);
        size_t needed = madt_entry_min_length(type);
        if (entry_length < needed)
            return fail(error, error_size,
                        "MADT entry type %u (%s) at offset %zu: length %u, needs %zu", type,
                        acpi_madt_entry_name(type), offset, entry_length, needed);
        madt_add_entry(out, madt + offset);
        offset += entry_length;
    }
    clear_error(error, error_size);
    return 0;
}
