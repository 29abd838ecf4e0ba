/*
 * tests/fuzz/fuzz_acpi.c - libFuzzer target for lib/acpi.c.
 *
 * The input is used two ways, each twice: as given, and "repaired" (every checksum the readers
 * would verify - RSDP, extended RSDP, root table, the tables it lists, a MADT at offset 0 - fixed
 * up, so the fuzzer gets past the checksums to the code behind them).
 *   1. As a MADT held in memory: acpi_parse_madt on a heap copy of exactly size bytes, with a
 *      CPU array of 16 and with none; the counts must obey struct acpi_madt's invariants and the
 *      two runs must agree.
 *   2. As physical memory: the input is mapped at physical 0 and again at 0xE0000 (the BIOS
 *      area). Offset 0 is an RSDP (parsed from the bytes and read from memory: both must agree);
 *      if it does not parse, one is made from its raw fields. Then acpi_open_root,
 *      acpi_for_each_table, acpi_find_table("APIC") + acpi_parse_madt, acpi_find_table for the
 *      first valid entry's signature, and acpi_scan_rsdp over both mappings.
 * Each read of the fake memory hands out a fresh heap copy of exactly the bytes asked for and
 * frees the previous one, so ASan catches a read past a range and a pointer kept past the next
 * read. A broken property prints why and traps: libFuzzer saves the input as a crash.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/acpi.h"

#define CHECK(condition)                                                                           \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            fprintf(stderr, "fuzz_acpi: %s:%d: check failed: %s\n", __FILE__, __LINE__,            \
                    #condition);                                                                   \
            __builtin_trap();                                                                      \
        }                                                                                          \
    } while (0)

#define BIOS_AREA 0xE0000ull
#define CPU_CAPACITY 16
#define ERROR_BYTES 200

/* ---- little-endian helpers ------------------------------------------------------------------ */

static uint32_t get_u32(const uint8_t *at)
{
    return (uint32_t)at[0] | (uint32_t)at[1] << 8 | (uint32_t)at[2] << 16 | (uint32_t)at[3] << 24;
}

static uint64_t get_u64(const uint8_t *at)
{
    return (uint64_t)get_u32(at) | (uint64_t)get_u32(at + 4) << 32;
}

static uint8_t sum_bytes(const uint8_t *bytes, size_t length)
{
    unsigned sum = 0;
    for (size_t i = 0; i < length; i++)
        sum += bytes[i];
    return (uint8_t)sum;
}

static void check_error(const char *error, int status)
{
    CHECK(memchr(error, 0, ERROR_BYTES) != NULL);
    CHECK(status == 0 || status == -1);
    if (status < 0)
        CHECK(error[0] != '\0');
}

/* ---- the fake physical memory ------------------------------------------------------------------
 */

struct fake_memory {
    const uint8_t *bytes;
    size_t size;
    uint8_t *last_read;
};

static bool in_blob(uint64_t offset, uint64_t length, size_t size)
{
    return offset <= size && length <= size - offset;
}

static const void *fake_read(void *context, uint64_t phys, uint64_t length)
{
    struct fake_memory *m = context;
    free(m->last_read);
    m->last_read = NULL;
    CHECK(length > 0);
    CHECK(length - 1 <= UINT64_MAX - phys); /* the readers never ask for a wrapping range */
    uint64_t offset;
    if (in_blob(phys, length, m->size))
        offset = phys;
    else if (phys >= BIOS_AREA && in_blob(phys - BIOS_AREA, length, m->size))
        offset = phys - BIOS_AREA;
    else
        return NULL;
    m->last_read = malloc((size_t)length);
    CHECK(m->last_read != NULL);
    memcpy(m->last_read, m->bytes + offset, (size_t)length);
    return m->last_read;
}

/* A mapped range [phys, phys + length) lies in one of the two mappings. */
static bool mapped(const struct fake_memory *m, uint64_t phys, uint64_t length)
{
    return in_blob(phys, length, m->size) ||
           (phys >= BIOS_AREA && in_blob(phys - BIOS_AREA, length, m->size));
}

/* ---- 1. the input as a MADT ------------------------------------------------------------------ */

static void check_madt(const struct acpi_madt *madt, size_t capacity, size_t length)
{
    CHECK(madt->cpu_capacity == capacity);
    CHECK(madt->duplicate_cpus <= madt->cpu_entries);
    size_t unique = madt->cpu_entries - madt->duplicate_cpus;
    CHECK(madt->cpus_stored == (unique < capacity ? unique : capacity));
    CHECK(madt->enabled_cpus <= unique);
    CHECK(length < ACPI_MADT_HEADER_BYTES ||
          madt->cpu_entries <= (length - ACPI_MADT_HEADER_BYTES) / 8);
    size_t enabled_stored = 0;
    for (size_t i = 0; i < madt->cpus_stored; i++) {
        enabled_stored += madt->cpus[i].enabled;
        CHECK(madt->cpus[i].x2apic || madt->cpus[i].apic_id <= 0xFF);
        for (size_t j = 0; j < i; j++)
            CHECK(madt->cpus[i].apic_id != madt->cpus[j].apic_id);
    }
    CHECK(enabled_stored <= madt->enabled_cpus);
    CHECK(madt->ioapic_count <= ACPI_MADT_MAX_IOAPICS);
    CHECK(madt->override_count <= ACPI_MADT_MAX_OVERRIDES);
    CHECK(madt->nmi_count <= ACPI_MADT_MAX_NMIS);
    for (size_t i = 0; i < madt->nmi_count; i++)
        CHECK(acpi_madt_entry_name(ACPI_MADT_LOCAL_APIC_NMI)[0] != '\0');
}

/* Parses table[0, length) with a full CPU array and with none; returns the status. */
static int parse_madt_twice(const uint8_t *table, size_t length)
{
    struct acpi_cpu *cpus = malloc(CPU_CAPACITY * sizeof(*cpus));
    CHECK(cpus != NULL);
    struct acpi_madt with = {.cpus = cpus, .cpu_capacity = CPU_CAPACITY};
    char error[ERROR_BYTES];
    int status = acpi_parse_madt(table, length, &with, error, sizeof(error));
    check_error(error, status);
    check_madt(&with, CPU_CAPACITY, length);

    struct acpi_madt without = {.cpus = NULL, .cpu_capacity = 5}; /* NULL array: capacity 0 */
    char error_without[ERROR_BYTES];
    CHECK(acpi_parse_madt(table, length, &without, error_without, sizeof(error_without)) == status);
    check_madt(&without, 0, length);
    CHECK(strcmp(error, error_without) == 0);
    CHECK(without.cpu_entries == with.cpu_entries);
    CHECK(without.duplicate_cpus == 0);
    CHECK(without.ioapic_count == with.ioapic_count);
    CHECK(without.override_count == with.override_count);
    CHECK(without.nmi_count == with.nmi_count);
    CHECK(without.unknown_entries == with.unknown_entries);
    CHECK(without.lapic_address_override == with.lapic_address_override);
    CHECK(without.lapic_address == with.lapic_address);
    CHECK(acpi_parse_madt(table, length, &without, NULL, 0) == status);
    free(cpus);
    return status;
}

static void fuzz_madt_blob(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    CHECK(copy != NULL);
    if (size)
        memcpy(copy, data, size);
    parse_madt_twice(copy, size);
    free(copy);
}

/* ---- 2. the input as physical memory ------------------------------------------------------------
 */

struct walk {
    const struct fake_memory *memory;
    uint32_t next_index;
    char first_valid[5]; /* signature of the first valid table, "" if none */
};

static void check_table_info(void *context, const struct acpi_table_info *table)
{
    struct walk *walk = context;
    CHECK(table->index == walk->next_index);
    walk->next_index++;
    CHECK(memchr(table->signature, 0, sizeof(table->signature)) != NULL);
    CHECK(memchr(table->oem_id, 0, sizeof(table->oem_id)) != NULL);
    CHECK(memchr(table->problem, 0, sizeof(table->problem)) != NULL);
    CHECK(table->valid == (table->problem[0] == '\0'));
    if (table->valid) {
        CHECK(strlen(table->signature) == 4);
        CHECK(table->length >= ACPI_HEADER_BYTES && table->length <= ACPI_MAX_TABLE_BYTES);
        CHECK(mapped(walk->memory, table->phys, table->length));
        if (walk->first_valid[0] == '\0')
            memcpy(walk->first_valid, table->signature, 5);
    }
}

static void fuzz_tables(struct fake_memory *fake, const struct acpi_memory *memory,
                        const struct acpi_rsdp *rsdp)
{
    char error[ERROR_BYTES];
    struct acpi_root root;
    int status = acpi_open_root(memory, rsdp, &root, error, sizeof(error));
    check_error(error, status);
    if (status == 0) {
        CHECK(root.entry_bytes == 4 || root.entry_bytes == 8);
        CHECK(strcmp(root.signature, root.entry_bytes == 8 ? "XSDT" : "RSDT") == 0);
        CHECK(root.length >= ACPI_HEADER_BYTES && root.length <= ACPI_MAX_TABLE_BYTES);
        CHECK(root.entry_count == (root.length - ACPI_HEADER_BYTES) / root.entry_bytes);
        CHECK(mapped(fake, root.phys, root.length));
        CHECK(root.phys == (root.entry_bytes == 8 ? rsdp->xsdt_address : rsdp->rsdt_address));
        CHECK(!root.xsdt_rejected || root.entry_bytes == 4);
        CHECK(root.xsdt_rejected == (error[0] != '\0'));
    }

    struct walk walk = {.memory = fake};
    struct acpi_root listed;
    int count =
        acpi_for_each_table(memory, rsdp, check_table_info, &walk, &listed, error, sizeof(error));
    CHECK((count < 0) == (status < 0));
    if (count >= 0) {
        CHECK((uint32_t)count == root.entry_count);
        CHECK(walk.next_index == root.entry_count);
        CHECK(listed.phys == root.phys && listed.entry_count == root.entry_count);
    }

    uint64_t phys = 0;
    uint32_t length = 0;
    status = acpi_find_table(memory, rsdp, "APIC", &phys, &length, error, sizeof(error));
    check_error(error, status);
    if (status == 0) {
        CHECK(length >= ACPI_HEADER_BYTES && mapped(fake, phys, length));
        const uint8_t *table = fake_read(fake, phys, length);
        CHECK(table != NULL);
        CHECK(memcmp(table, "APIC", 4) == 0);
        CHECK(sum_bytes(table, length) == 0);
        parse_madt_twice(table, length);
    }
    if (walk.first_valid[0] != '\0' && !strchr(walk.first_valid, '?')) {
        /* The first valid table in the listing is found by its signature ('?' may stand for an
         * unprintable byte, so such a signature is not looked up). */
        status =
            acpi_find_table(memory, rsdp, walk.first_valid, &phys, &length, error, sizeof(error));
        CHECK(status == 0);
        CHECK(error[0] == '\0');
    }
}

static void fuzz_memory(const uint8_t *bytes, size_t size)
{
    struct fake_memory fake = {.bytes = bytes, .size = size};
    const struct acpi_memory memory = {fake_read, &fake};
    char error[ERROR_BYTES];

    /* The RSDP at offset 0, from the bytes (as a multiboot2 tag gives it) and from memory. */
    struct acpi_rsdp parsed, read;
    int parse_status = acpi_parse_rsdp(bytes, size, &parsed, error, sizeof(error));
    check_error(error, parse_status);
    int read_status = acpi_read_rsdp(&memory, 0, &read, error, sizeof(error));
    check_error(error, read_status);
    CHECK(parse_status == read_status);
    if (parse_status == 0) {
        CHECK(parsed.revision == read.revision && parsed.length == read.length &&
              parsed.rsdt_address == read.rsdt_address &&
              parsed.xsdt_address == read.xsdt_address && strcmp(parsed.oem_id, read.oem_id) == 0);
        CHECK(parsed.length == (parsed.revision >= 2 ? get_u32(bytes + 20) : 20));
        CHECK(parsed.revision >= 2 || parsed.xsdt_address == 0);
        CHECK(memchr(parsed.oem_id, 0, sizeof(parsed.oem_id)) != NULL);
    } else if (size >= 36) {
        /* Not a valid RSDP: take its fields anyway, to reach the root table code. */
        parsed = (struct acpi_rsdp){
            .revision = bytes[15],
            .length = 36,
            .rsdt_address = get_u32(bytes + 16),
            .xsdt_address = get_u64(bytes + 24),
        };
    } else {
        parsed = (struct acpi_rsdp){.rsdt_address = size >= 20 ? get_u32(bytes + 16) : 0};
    }
    fuzz_tables(&fake, &memory, &parsed);

    /* The scan over both mappings. */
    uint64_t found = acpi_scan_rsdp(&memory, BIOS_AREA, size);
    if (found) {
        CHECK(found >= BIOS_AREA && found - BIOS_AREA < size && found % ACPI_RSDP_ALIGN == 0);
        CHECK(acpi_read_rsdp(&memory, found, &read, NULL, 0) == 0);
    }
    if (parse_status == 0)
        CHECK(found == BIOS_AREA);
    found = acpi_scan_rsdp(&memory, 0, size);
    CHECK(found == 0 || (found < size && found % ACPI_RSDP_ALIGN == 0));
    free(fake.last_read);
}

/* ---- repairing checksums ------------------------------------------------------------------------
 */

/* Makes the table at offset (if its header and length fit) sum to 0 via its byte 9. */
static void repair_table(uint8_t *bytes, size_t size, uint64_t offset)
{
    if (!in_blob(offset, ACPI_HEADER_BYTES, size))
        return;
    uint32_t length = get_u32(bytes + offset + 4);
    if (length < ACPI_HEADER_BYTES || !in_blob(offset, length, size))
        return;
    bytes[offset + 9] = 0;
    bytes[offset + 9] = (uint8_t)(0x100 - sum_bytes(bytes + offset, length));
}

/* The tables a root table at offset lists (an address in either mapping), then the root. */
static void repair_root(uint8_t *bytes, size_t size, uint64_t offset, unsigned entry_bytes)
{
    if (!in_blob(offset, ACPI_HEADER_BYTES, size))
        return;
    uint32_t length = get_u32(bytes + offset + 4);
    if (length < ACPI_HEADER_BYTES || !in_blob(offset, length, size))
        return;
    for (uint64_t at = offset + ACPI_HEADER_BYTES; at + entry_bytes <= offset + length;
         at += entry_bytes) {
        uint64_t table = entry_bytes == 8 ? get_u64(bytes + at) : get_u32(bytes + at);
        repair_table(bytes, size, table >= BIOS_AREA ? table - BIOS_AREA : table);
    }
    repair_table(bytes, size, offset);
}

static void repair(uint8_t *bytes, size_t size)
{
    if (size >= ACPI_HEADER_BYTES && memcmp(bytes, "APIC", 4) == 0) {
        repair_table(bytes, size, 0); /* a MADT at offset 0 */
        return;
    }
    if (size < ACPI_RSDP_V1_BYTES)
        return;
    uint8_t revision = bytes[15];
    if (revision >= 2 && size >= ACPI_RSDP_V2_BYTES) {
        uint64_t xsdt = get_u64(bytes + 24);
        repair_root(bytes, size, xsdt >= BIOS_AREA ? xsdt - BIOS_AREA : xsdt, 8);
    }
    uint32_t rsdt = get_u32(bytes + 16);
    repair_root(bytes, size, rsdt >= BIOS_AREA ? rsdt - BIOS_AREA : rsdt, 4);
    bytes[8] = 0;
    bytes[8] = (uint8_t)(0x100 - sum_bytes(bytes, ACPI_RSDP_V1_BYTES));
    if (revision >= 2 && size >= ACPI_RSDP_V2_BYTES) {
        uint32_t length = get_u32(bytes + 20);
        if (length >= ACPI_RSDP_V2_BYTES && length <= size) {
            bytes[32] = 0;
            bytes[32] = (uint8_t)(0x100 - sum_bytes(bytes, length));
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *bytes = malloc(size ? size : 1);
    CHECK(bytes != NULL);
    if (size)
        memcpy(bytes, data, size);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            repair(bytes, size);
        fuzz_madt_blob(bytes, size);
        fuzz_memory(bytes, size);
    }
    free(bytes);
    return 0;
}
