/*
 * acpi.h: bounds-checked readers of the ACPI tables the kernel needs to find its
 * CPUs: RSDP -> RSDT or XSDT -> MADT ("APIC"). The tables are outside input:
 * every length is checked before a byte is read, every sum is done in 64 bits,
 * and every multi-byte field is read byte by byte (the firmware packs tables at
 * odd addresses: SeaBIOS put an RSDT at 0x07fe1bef).
 *
 * Layouts (ACPI 6.5, 5.2.5 - 5.2.12), all little-endian:
 *   RSDP   0 "RSD PTR ", 8 checksum (first 20 bytes sum to 0), 9 OEM id[6],
 *          15 revision (0: ACPI 1.0, 2: ACPI 2.0+), 16 u32 RSDT address;
 *          revision >= 2 adds 20 u32 length, 24 u64 XSDT address,
 *          32 extended checksum (all `length` bytes sum to 0), 33 reserved[3].
 *   header 0 signature[4], 4 u32 length (header included), 8 revision,
 *          9 checksum (all `length` bytes sum to 0), 10 OEM id[6],
 *          16 OEM table id[8], 24 u32 OEM revision, 28 creator id, 32 creator revision.
 *   RSDT / XSDT: header, then u32 (RSDT) or u64 (XSDT) physical table addresses.
 *   MADT   header, 36 u32 local APIC address, 40 u32 flags, 44 entries of
 *          {u8 type, u8 length, ...} (see acpi_parse_madt).
 *
 * Physical memory is reached only through a struct acpi_memory, so the same
 * code runs in the kernel (direct map) and in host tests (a fake memory).
 * Errors are messages that name the table, its address or the byte offset and
 * what was wrong, e.g. "APIC at 0x7fe1b6a: checksum 0x3c, expected 0" or
 * "MADT entry type 9 (local x2APIC) at offset 52: length 12, needs 16".
 */
#ifndef LIB_ACPI_H
#define LIB_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_RSDP_V1_BYTES 20            /* what the v1 checksum covers */
#define ACPI_RSDP_V2_BYTES 36            /* the smallest revision >= 2 RSDP */
#define ACPI_RSDP_MAX_BYTES 4096         /* larger RSDP length fields are refused */
#define ACPI_HEADER_BYTES 36             /* every table but the RSDP starts with this */
#define ACPI_MADT_HEADER_BYTES 44        /* header + local APIC address + flags */
#define ACPI_MAX_TABLE_BYTES (16u << 20) /* a larger length field is refused as absurd */
#define ACPI_RSDP_ALIGN 16               /* the BIOS-area scan looks at 16-byte boundaries only */

/* How the parsers read physical memory. read returns a pointer to `length`
 * readable bytes at `phys`, or NULL if that range cannot be read (outside RAM
 * and the firmware's regions, or wrapping). The parsers never call it with
 * length 0, and use the pointer only until their next call of read.
 * Kernel: the direct map after a range check; host tests: a fake memory. */
struct acpi_memory {
    const void *(*read)(void *context, uint64_t phys, uint64_t length);
    void *context;
};

/* The byte sum of [bytes, bytes + length): 0 for an intact table. */
uint8_t acpi_checksum(const void *bytes, size_t length);

/* ---- RSDP --------------------------------------------------------------------- */
struct acpi_rsdp {
    uint8_t revision;
    char oem_id[7];        /* printable, trailing spaces dropped, NUL-terminated */
    uint32_t length;       /* bytes it occupies: 20 below revision 2, else its length field */
    uint32_t rsdt_address; /* physical; 0 if none */
    uint64_t xsdt_address; /* physical; 0 if none (always 0 below revision 2) */
};

/* Validates an RSDP given as `length` bytes (e.g. the payload of multiboot2 tag
 * 14 or 15): signature, v1 checksum, and for revision >= 2 the length field
 * (36 .. min(length, ACPI_RSDP_MAX_BYTES)) and the extended checksum. 0, or -1
 * with a message in error (error_size bytes; error may be NULL), e.g.
 * "RSDP checksum 0x3c, expected 0", "RSDP too short: 12 bytes". On failure
 * *out is untouched. */
int acpi_parse_rsdp(const void *bytes, size_t length, struct acpi_rsdp *out, char *error,
                    size_t error_size);

/* The same for an RSDP in physical memory at phys: reads 20 bytes, then for
 * revision >= 2 as many as its length field says. */
int acpi_read_rsdp(const struct acpi_memory *memory, uint64_t phys, struct acpi_rsdp *out,
                   char *error, size_t error_size);

/* Searches [start, start + length) at 16-byte boundaries for "RSD PTR " (the
 * BIOS places it in the EBDA's first KiB or in 0xE0000-0xFFFFF) and returns the
 * physical address of the first one that acpi_read_rsdp accepts, or 0 if none
 * (a signature with a bad checksum is skipped, the search goes on). 0 means
 * none, so an RSDP at physical 0 is never reported. At most 1 MiB from start
 * is searched (the BIOS areas are 1 KiB and 128 KiB). */
uint64_t acpi_scan_rsdp(const struct acpi_memory *memory, uint64_t start, uint64_t length);

/* ---- the root table (XSDT, else RSDT) and the tables it lists ------------------ */
struct acpi_root {
    char signature[5]; /* "XSDT" or "RSDT" */
    uint64_t phys;
    uint32_t length; /* its length field, verified by its checksum */
    uint8_t revision;
    char oem_id[7];
    uint8_t entry_bytes;  /* 8 (XSDT) or 4 (RSDT) */
    uint32_t entry_count; /* (length - 36) / entry_bytes; a trailing partial entry is ignored */
    bool xsdt_rejected;   /* the RSDP named an XSDT that failed its checks: the RSDT is used */
};

/* One entry of the root table, as acpi_for_each_table reports it. */
struct acpi_table_info {
    uint32_t index;    /* in the root table */
    uint64_t phys;     /* the address the entry holds */
    char signature[5]; /* bytes outside ' '..'~' shown as '?'; "" if the header is unreadable */
    uint32_t length;   /* the header's length field; 0 if the header is unreadable */
    uint8_t revision;
    char oem_id[7];
    bool valid;       /* readable, 36 <= length <= the limit, checksum 0 */
    char problem[96]; /* why not valid, e.g. "checksum 0x3c, expected 0"; "" if valid */
};

/* Opens the root table: the XSDT if the RSDP names one (revision >= 2) and it
 * passes its checks (signature, length, readable, checksum), else the RSDT.
 * 0, or -1 with the reason in error. On success error holds "" or, when
 * root->xsdt_rejected, why the XSDT was rejected. */
int acpi_open_root(const struct acpi_memory *memory, const struct acpi_rsdp *rsdp,
                   struct acpi_root *root, char *error, size_t error_size);

/* Calls fn(context, &info) for every entry of the root table, in order, valid
 * or not (for the shell's `acpi` command). Returns the number of entries, or -1
 * with error set if no root table is usable. root (may be NULL) receives what
 * acpi_open_root found. */
typedef void (*acpi_table_fn)(void *context, const struct acpi_table_info *table);
int acpi_for_each_table(const struct acpi_memory *memory, const struct acpi_rsdp *rsdp,
                        acpi_table_fn fn, void *context, struct acpi_root *root, char *error,
                        size_t error_size);

/* Finds the first valid table with this signature (4 bytes, no NUL needed) in
 * the root table. 0 with *table_phys and *table_length set, or -1 with error:
 * no usable root table, no such signature ("no APIC table among the 4 entries
 * of the RSDT at 0x7fe1ad8"), or, if every table with that signature failed
 * its checks, the last one's reason ("APIC at 0x7fe1b6a: checksum 0x3c,
 * expected 0"). */
int acpi_find_table(const struct acpi_memory *memory, const struct acpi_rsdp *rsdp,
                    const char signature[4], uint64_t *table_phys, uint32_t *table_length,
                    char *error, size_t error_size);

/* ---- MADT ("APIC") -------------------------------------------------------------- */
enum acpi_madt_entry_type {
    ACPI_MADT_LOCAL_APIC = 0,             /* u8 uid, u8 APIC id, u32 flags; length 8 */
    ACPI_MADT_IO_APIC = 1,                /* u8 id, u8 reserved, u32 address, u32 GSI base; 12 */
    ACPI_MADT_INTERRUPT_OVERRIDE = 2,     /* u8 bus, u8 source IRQ, u32 GSI, u16 flags; 10 */
    ACPI_MADT_NMI_SOURCE = 3,             /* u16 flags, u32 GSI; 8 (skipped) */
    ACPI_MADT_LOCAL_APIC_NMI = 4,         /* u8 uid, u16 flags, u8 LINT; 6 */
    ACPI_MADT_LAPIC_ADDRESS_OVERRIDE = 5, /* u16 reserved, u64 address; 12 */
    ACPI_MADT_LOCAL_X2APIC = 9,           /* u16 reserved, u32 x2APIC id, u32 flags, u32 uid; 16 */
    ACPI_MADT_LOCAL_X2APIC_NMI = 10,      /* u16 flags, u32 uid, u8 LINT, 3 reserved; 12 */
};

#define ACPI_MADT_PCAT_COMPAT 0x1         /* MADT flags: legacy 8259 PICs present */
#define ACPI_LAPIC_ENABLED 0x1            /* local APIC flags */
#define ACPI_LAPIC_ONLINE_CAPABLE 0x2     /* disabled but can be brought online (ACPI 6.3) */
#define ACPI_NMI_ALL_CPUS_UID 0xFFFFFFFFu /* in acpi_lapic_nmi.uid: every processor */

#define ACPI_MADT_MAX_IOAPICS 8
#define ACPI_MADT_MAX_OVERRIDES 16
#define ACPI_MADT_MAX_NMIS 8

struct acpi_cpu {
    uint32_t apic_id;    /* 8-bit for type 0, 32-bit for type 9 */
    uint32_t uid;        /* ACPI processor UID */
    bool enabled;        /* flags bit 0: usable now */
    bool x2apic;         /* from a type 9 entry */
    bool online_capable; /* flags bit 1 */
};

struct acpi_ioapic {
    uint8_t id;
    uint32_t address;  /* physical MMIO base */
    uint32_t gsi_base; /* first global system interrupt it handles */
};

struct acpi_override {
    uint8_t bus, irq; /* bus 0 = ISA; irq is the ISA IRQ */
    uint32_t gsi;     /* what it is wired to */
    uint16_t flags;   /* MPS INTI flags: bits 0-1 polarity, 2-3 trigger mode */
};

struct acpi_lapic_nmi {
    uint32_t uid;   /* processor UID, ACPI_NMI_ALL_CPUS_UID for all (0xFF in a type 4) */
    uint16_t flags; /* MPS INTI flags */
    uint8_t lint;   /* 0 or 1: which LINTn pin */
};

/* Invariants after acpi_parse_madt:
 *   cpus_stored == min(cpu_entries - duplicate_cpus, cpu_capacity);
 *   cpus[0 .. cpus_stored) are the first processor entries with a new APIC id,
 *   in table order; enabled_cpus counts enabled ones among all non-duplicate
 *   entries, stored or not; ioapic_count <= 8, override_count <= 16,
 *   nmi_count <= 8, and entries beyond those arrays count in dropped_entries. */
struct acpi_madt {
    uint32_t lapic_address;          /* from the MADT header */
    uint64_t lapic_address_override; /* the first type 5 entry; 0 if none */
    uint32_t flags;                  /* ACPI_MADT_PCAT_COMPAT */

    struct acpi_cpu *cpus; /* the caller's array (may be NULL if cpu_capacity is 0) */
    size_t cpu_capacity;
    size_t cpu_entries; /* processor entries (types 0 and 9) seen, enabled or not */
    size_t cpus_stored;
    size_t enabled_cpus;
    size_t duplicate_cpus; /* entries whose APIC id was already stored: skipped, first kept */

    struct acpi_ioapic ioapics[ACPI_MADT_MAX_IOAPICS];
    size_t ioapic_count;
    struct acpi_override overrides[ACPI_MADT_MAX_OVERRIDES];
    size_t override_count;
    struct acpi_lapic_nmi nmis[ACPI_MADT_MAX_NMIS]; /* types 4 and 10 */
    size_t nmi_count;
    size_t dropped_entries; /* I/O APIC, override or NMI entries that did not fit */
    size_t unknown_entries; /* other types (3, 6, 7, 8, 11...): skipped */
};

/* Parses a MADT held in `length` bytes. Set out->cpus and out->cpu_capacity
 * first; everything else in *out is overwritten. Checks: length >= 44,
 * signature "APIC", a length field between 44 and min(length,
 * ACPI_MAX_TABLE_BYTES), the checksum over the length field's bytes, then each
 * entry: a length < 2, too short for its type, or running past the table stops
 * the parse with an error naming the entry's byte offset and type. Longer
 * entries than their type needs are accepted (later ACPI versions append
 * fields). 0, or -1 with error set; after an entry error *out holds what the
 * entries before it said. Duplicate APIC ids are detected against the stored
 * entries only (so not at all with cpu_capacity 0). */
int acpi_parse_madt(const void *table, size_t length, struct acpi_madt *out, char *error,
                    size_t error_size);

/* A short name for a MADT entry type ("local APIC", "I/O APIC"...), "unknown" if none. */
const char *acpi_madt_entry_name(uint8_t type);

#endif
