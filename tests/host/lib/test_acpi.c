/*
 * tests/host/lib/test_acpi.c - the ACPI table readers (RSDP, RSDT/XSDT, MADT).
 *
 * Tables are laid out in a fake physical memory the way QEMU's firmware lays them out
 * (shared/notes/qemu-facts.md section 3): SeaBIOS packs them at odd addresses behind a revision 0
 * RSDP and an RSDT; OVMF places them on page boundaries behind a revision 2 RSDP and an XSDT.
 * Every read hands out a fresh heap copy of exactly the bytes asked for and frees the previous
 * one, so ASan reports a parser that reads past what it asked for, or that keeps using a pointer
 * after its next read (struct acpi_memory's contract).
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

#include "lib/acpi.h"
#include "lib/random.h"
#include "tests/host/lib/test_report.h"

/* ---- little-endian helpers ------------------------------------------------------------------ */

static void put_u16(uint8_t *at, uint16_t value)
{
    at[0] = (uint8_t)value;
    at[1] = (uint8_t)(value >> 8);
}

static void put_u32(uint8_t *at, uint32_t value)
{
    put_u16(at, (uint16_t)value);
    put_u16(at + 2, (uint16_t)(value >> 16));
}

static void put_u64(uint8_t *at, uint64_t value)
{
    put_u32(at, (uint32_t)value);
    put_u32(at + 4, (uint32_t)(value >> 32));
}

/* The byte sum, computed here independently of acpi_checksum. */
static uint8_t sum_bytes(const uint8_t *bytes, size_t length)
{
    unsigned sum = 0;
    for (size_t i = 0; i < length; i++) {
        sum += bytes[i];
    }
    return (uint8_t)sum;
}

/* A heap copy of exactly len bytes: reading one byte past it is an ASan report. */
static uint8_t *exact_copy(const void *bytes, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len > 0) {
        memcpy(copy, bytes, len);
    }
    return copy;
}

/* ---- fake physical memory ----------------------------------------------------------------------
 */

#define FAKE_MAX_REGIONS 8

struct fake_region {
    uint64_t phys;
    size_t size;
    uint8_t *bytes;
};

struct fake_memory {
    struct fake_region regions[FAKE_MAX_REGIONS];
    size_t count;
    uint8_t *last_read; /* the copy the latest read handed out; freed by the next read */
    size_t reads, failed_reads;
};

static struct fake_memory fake;

static const void *fake_read(void *context, uint64_t phys, uint64_t length)
{
    struct fake_memory *m = context;
    free(m->last_read);
    m->last_read = NULL;
    m->reads++;
    assert_true(length > 0);
    for (size_t i = 0; i < m->count; i++) {
        const struct fake_region *r = &m->regions[i];
        if (phys >= r->phys && phys - r->phys <= r->size && length <= r->size - (phys - r->phys)) {
            m->last_read = exact_copy(r->bytes + (phys - r->phys), (size_t)length);
            return m->last_read;
        }
    }
    m->failed_reads++;
    return NULL;
}

static const struct acpi_memory memory = {fake_read, &fake};

/* Adds a zero-filled region of RAM at [phys, phys + size). */
static uint8_t *fake_add(uint64_t phys, size_t size)
{
    assert_true(fake.count < FAKE_MAX_REGIONS);
    uint8_t *bytes = calloc(1, size);
    assert_non_null(bytes);
    fake.regions[fake.count++] = (struct fake_region){phys, size, bytes};
    return bytes;
}

/* Where [phys, phys + len) lives in the fake memory, for writing tables there. */
static uint8_t *fake_at(uint64_t phys, size_t len)
{
    for (size_t i = 0; i < fake.count; i++) {
        const struct fake_region *r = &fake.regions[i];
        if (phys >= r->phys && phys - r->phys + len <= r->size) {
            return r->bytes + (phys - r->phys);
        }
    }
    fail_msg("0x%llx + %zu is not in the fake memory", (unsigned long long)phys, len);
    return NULL;
}

static int fake_reset(void **state)
{
    (void)state;
    for (size_t i = 0; i < fake.count; i++) {
        free(fake.regions[i].bytes);
    }
    free(fake.last_read);
    memset(&fake, 0, sizeof(fake));
    return 0;
}

/* ---- writing tables
 * ------------------------------------------------------------------------------- */

/* Sets byte checksum_at so that the first length bytes sum to 0. */
static void seal(uint8_t *bytes, size_t length, size_t checksum_at)
{
    bytes[checksum_at] = 0;
    bytes[checksum_at] = (uint8_t)(0x100 - sum_bytes(bytes, length));
}

/* The 36-byte header as QEMU writes it (OEM "BOCHS ", table id "BXPC" + signature). */
static void put_header(uint8_t *table, const char *signature, uint32_t length, uint8_t revision)
{
    memcpy(table, signature, 4);
    put_u32(table + 4, length);
    table[8] = revision;
    table[9] = 0;
    memcpy(table + 10, "BOCHS ", 6);
    memcpy(table + 16, "BXPC", 4);
    memcpy(table + 20, signature, 4);
    put_u32(table + 24, 1);
    memcpy(table + 28, "BXPC", 4);
    put_u32(table + 32, 1);
}

/* A table of length bytes with a recognizable body, checksummed. */
static void write_table(uint64_t phys, const char *signature, uint8_t revision, uint32_t length)
{
    uint8_t *table = fake_at(phys, length);
    put_header(table, signature, length, revision);
    for (uint32_t i = 36; i < length; i++) {
        table[i] = (uint8_t)(i * 7);
    }
    seal(table, length, 9);
}

/* Copies a built table (already checksummed) to phys. */
static void copy_table(uint64_t phys, const uint8_t *bytes, size_t length)
{
    memcpy(fake_at(phys, length), bytes, length);
}

/* An RSDT (entry_bytes 4) or XSDT (8) listing count addresses. */
static uint32_t write_root(uint64_t phys, unsigned entry_bytes, const uint64_t *tables,
                           size_t count)
{
    uint32_t length = (uint32_t)(36 + entry_bytes * count);
    uint8_t *root = fake_at(phys, length);
    put_header(root, entry_bytes == 8 ? "XSDT" : "RSDT", length, 1);
    for (size_t i = 0; i < count; i++) {
        if (entry_bytes == 8) {
            put_u64(root + 36 + 8 * i, tables[i]);
        } else {
            put_u32(root + 36 + 4 * i, (uint32_t)tables[i]);
        }
    }
    seal(root, length, 9);
    return length;
}

/* An RSDP: 20 bytes for revision 0, 36 for revision 2. Returns its length. */
static size_t make_rsdp(uint8_t out[36], uint8_t revision, uint32_t rsdt, uint64_t xsdt,
                        const char oem[6])
{
    memset(out, 0, 36);
    memcpy(out, "RSD PTR ", 8);
    memcpy(out + 9, oem, 6);
    out[15] = revision;
    put_u32(out + 16, rsdt);
    seal(out, 20, 8);
    if (revision < 2) {
        return 20;
    }
    put_u32(out + 20, 36);
    put_u64(out + 24, xsdt);
    seal(out, 36, 32);
    return 36;
}

/* ---- building MADTs ----------------------------------------------------------------------------
 */

struct madt_builder {
    uint8_t *bytes;
    size_t capacity, len;
};

static void madt_begin(struct madt_builder *b, size_t capacity, uint32_t lapic_address,
                       uint32_t flags)
{
    b->bytes = calloc(1, capacity);
    assert_non_null(b->bytes);
    b->capacity = capacity;
    put_header(b->bytes, "APIC", 0, 1);
    put_u32(b->bytes + 36, lapic_address);
    put_u32(b->bytes + 40, flags);
    b->len = 44;
}

static uint8_t *madt_entry(struct madt_builder *b, uint8_t type, uint8_t length)
{
    assert_true(b->len + length <= b->capacity);
    uint8_t *entry = b->bytes + b->len;
    entry[0] = type;
    entry[1] = length;
    b->len += length;
    return entry;
}

static void madt_lapic(struct madt_builder *b, uint8_t uid, uint8_t apic_id, uint32_t flags)
{
    uint8_t *e = madt_entry(b, 0, 8);
    e[2] = uid;
    e[3] = apic_id;
    put_u32(e + 4, flags);
}

static void madt_x2apic(struct madt_builder *b, uint32_t x2apic_id, uint32_t uid, uint32_t flags)
{
    uint8_t *e = madt_entry(b, 9, 16);
    put_u32(e + 4, x2apic_id);
    put_u32(e + 8, flags);
    put_u32(e + 12, uid);
}

static void madt_ioapic(struct madt_builder *b, uint8_t id, uint32_t address, uint32_t gsi_base)
{
    uint8_t *e = madt_entry(b, 1, 12);
    e[2] = id;
    put_u32(e + 4, address);
    put_u32(e + 8, gsi_base);
}

static void madt_override(struct madt_builder *b, uint8_t irq, uint32_t gsi, uint16_t flags)
{
    uint8_t *e = madt_entry(b, 2, 10);
    e[2] = 0; /* ISA */
    e[3] = irq;
    put_u32(e + 4, gsi);
    put_u16(e + 8, flags);
}

static void madt_lapic_nmi(struct madt_builder *b, uint8_t uid, uint16_t flags, uint8_t lint)
{
    uint8_t *e = madt_entry(b, 4, 6);
    e[2] = uid;
    put_u16(e + 3, flags);
    e[5] = lint;
}

/* Writes the length field and the checksum; returns the length. */
static size_t madt_finish(struct madt_builder *b)
{
    put_u32(b->bytes + 4, (uint32_t)b->len);
    seal(b->bytes, b->len, 9);
    return b->len;
}

/* The MADT QEMU 7.2 builds (pc_madt_cpu_entry and friends): one entry per possible CPU in uid
 * order, the first `present` enabled; an APIC id >= 255 gets a type 9 entry. Then the I/O APIC,
 * five interrupt source overrides and the LINT1 NMI. */
static size_t build_qemu_madt(struct madt_builder *b, const uint32_t *apic_ids, size_t possible,
                              size_t present)
{
    madt_begin(b, 44 + 16 * possible + 12 + 5 * 10 + 6, 0xfee00000, ACPI_MADT_PCAT_COMPAT);
    for (size_t uid = 0; uid < possible; uid++) {
        uint32_t flags = uid < present ? ACPI_LAPIC_ENABLED : 0;
        if (apic_ids[uid] < 255) {
            madt_lapic(b, (uint8_t)uid, (uint8_t)apic_ids[uid], flags);
        } else {
            madt_x2apic(b, apic_ids[uid], (uint32_t)uid, flags);
        }
    }
    madt_ioapic(b, 0, 0xfec00000, 0);
    madt_override(b, 0, 2, 0);
    madt_override(b, 5, 5, 0x000d);
    madt_override(b, 9, 9, 0x000d);
    madt_override(b, 10, 10, 0x000d);
    madt_override(b, 11, 11, 0x000d);
    madt_lapic_nmi(b, 0xff, 0, 1);
    return madt_finish(b);
}

/* Parses a heap copy of exactly len bytes of the builder's table. */
static int parse_built(const struct madt_builder *b, size_t len, struct acpi_madt *madt,
                       struct acpi_cpu *cpus, size_t capacity, char *error, size_t error_size)
{
    uint8_t *copy = exact_copy(b->bytes, len);
    *madt = (struct acpi_madt){.cpus = cpus, .cpu_capacity = capacity};
    int status = acpi_parse_madt(copy, len, madt, error, error_size);
    free(copy);
    return status;
}

static void assert_cpu(const struct acpi_cpu *cpu, uint32_t apic_id, uint32_t uid, bool enabled,
                       bool x2apic)
{
    assert_int_equal(cpu->apic_id, apic_id);
    assert_int_equal(cpu->uid, uid);
    assert_int_equal(cpu->enabled, enabled);
    assert_int_equal(cpu->x2apic, x2apic);
    assert_false(cpu->online_capable);
}

/* The parts of QEMU's MADT that do not depend on -smp. */
static void assert_qemu_madt_rest(const struct acpi_madt *madt)
{
    assert_int_equal(madt->lapic_address, 0xfee00000);
    assert_int_equal(madt->lapic_address_override, 0);
    assert_int_equal(madt->flags, ACPI_MADT_PCAT_COMPAT);
    assert_int_equal(madt->ioapic_count, 1);
    assert_int_equal(madt->ioapics[0].id, 0);
    assert_int_equal(madt->ioapics[0].address, 0xfec00000);
    assert_int_equal(madt->ioapics[0].gsi_base, 0);
    assert_int_equal(madt->override_count, 5);
    assert_int_equal(madt->overrides[0].bus, 0);
    assert_int_equal(madt->overrides[0].irq, 0);
    assert_int_equal(madt->overrides[0].gsi, 2);
    assert_int_equal(madt->overrides[0].flags, 0);
    static const uint8_t level_irqs[] = {5, 9, 10, 11};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(madt->overrides[1 + i].irq, level_irqs[i]);
        assert_int_equal(madt->overrides[1 + i].gsi, level_irqs[i]);
        assert_int_equal(madt->overrides[1 + i].flags, 0x000d);
    }
    assert_int_equal(madt->nmi_count, 1);
    assert_int_equal(madt->nmis[0].uid, ACPI_NMI_ALL_CPUS_UID);
    assert_int_equal(madt->nmis[0].flags, 0);
    assert_int_equal(madt->nmis[0].lint, 1);
    assert_int_equal(madt->dropped_entries, 0);
    assert_int_equal(madt->unknown_entries, 0);
    assert_int_equal(madt->duplicate_cpus, 0);
}

/* ---- whole firmware layouts
 * ---------------------------------------------------------------------- */

/* Where a layout put things. */
struct layout {
    uint8_t rsdp[36]; /* as multiboot2 tag 14 or 15 would copy it */
    size_t rsdp_len;
    uint64_t rsdp_phys;
    uint64_t rsdt, xsdt;
    uint64_t facp, apic, hpet, waet, bgrt;
    uint32_t apic_length;
};

#define SEABIOS_ZONE_HIGH 0x7fe0000ull /* pc -m 128M: the reserved block at the top of low RAM */
#define SEABIOS_ZONE_BYTES 0x20000
#define BIOS_AREA 0xe0000ull
#define BIOS_AREA_BYTES 0x20000
#define EBDA 0x9fc00ull
#define EBDA_BYTES 0x400
#define SEABIOS_RSDP 0xf58a0ull

/* SeaBIOS: RSDP revision 0 in the BIOS area -> RSDT -> FACP, APIC, HPET, WAET, all packed one
 * after the other from an odd address, as SeaBIOS does. */
static void build_seabios(struct layout *l, const uint8_t *madt, size_t madt_len)
{
    memset(l, 0, sizeof(*l));
    fake_add(SEABIOS_ZONE_HIGH, SEABIOS_ZONE_BYTES);
    fake_add(BIOS_AREA, BIOS_AREA_BYTES);
    fake_add(EBDA, EBDA_BYTES);
    uint64_t at = SEABIOS_ZONE_HIGH + 0x1a43;
    l->facp = at;
    write_table(l->facp, "FACP", 1, 116);
    at += 116;
    l->apic = at;
    l->apic_length = (uint32_t)madt_len;
    copy_table(l->apic, madt, madt_len);
    at += madt_len;
    l->hpet = at;
    write_table(l->hpet, "HPET", 1, 56);
    at += 56;
    l->waet = at;
    write_table(l->waet, "WAET", 1, 40);
    at += 40;
    l->rsdt = at;
    uint64_t tables[] = {l->facp, l->apic, l->hpet, l->waet};
    write_root(l->rsdt, 4, tables, 4);
    l->rsdp_len = make_rsdp(l->rsdp, 0, (uint32_t)l->rsdt, 0, "BOCHS ");
    l->rsdp_phys = SEABIOS_RSDP;
    memcpy(fake_at(l->rsdp_phys, l->rsdp_len), l->rsdp, l->rsdp_len);
}

#define OVMF_ACPI 0x7b7e000ull /* q35 -m 128M under OVMF: a type 3 (ACPI) region */
#define OVMF_ACPI_BYTES 0x80000
#define OVMF_RSDP 0x7bfd014ull

/* OVMF: RSDP revision 2 -> XSDT (and an RSDT listing the same tables), page-aligned tables. */
static void build_ovmf(struct layout *l, const uint8_t *madt, size_t madt_len)
{
    memset(l, 0, sizeof(*l));
    fake_add(OVMF_ACPI, OVMF_ACPI_BYTES);
    l->rsdt = OVMF_ACPI;
    l->xsdt = OVMF_ACPI + 0xe8;
    l->facp = OVMF_ACPI + 0x1000;
    l->apic = OVMF_ACPI + 0x2000;
    l->hpet = OVMF_ACPI + 0x3000;
    l->bgrt = OVMF_ACPI + 0x4000;
    l->waet = OVMF_ACPI + 0x5000;
    write_table(l->facp, "FACP", 3, 244);
    l->apic_length = (uint32_t)madt_len;
    copy_table(l->apic, madt, madt_len);
    write_table(l->hpet, "HPET", 1, 56);
    write_table(l->bgrt, "BGRT", 1, 56);
    write_table(l->waet, "WAET", 1, 40);
    uint64_t tables[] = {l->facp, l->apic, l->hpet, l->bgrt, l->waet};
    write_root(l->rsdt, 4, tables, 5);
    write_root(l->xsdt, 8, tables, 5);
    l->rsdp_len = make_rsdp(l->rsdp, 2, (uint32_t)l->rsdt, l->xsdt, "BOCHS ");
    l->rsdp_phys = OVMF_RSDP;
    memcpy(fake_at(l->rsdp_phys, l->rsdp_len), l->rsdp, l->rsdp_len);
}

/* Parses the layout's RSDP bytes (what the kernel gets from tag 14/15). */
static struct acpi_rsdp layout_rsdp(const struct layout *l)
{
    struct acpi_rsdp rsdp;
    char error[128];
    uint8_t *copy = exact_copy(l->rsdp, l->rsdp_len);
    assert_int_equal(acpi_parse_rsdp(copy, l->rsdp_len, &rsdp, error, sizeof(error)), 0);
    free(copy);
    return rsdp;
}

/* find_table + read + parse_madt, the way the kernel will do it. */
static int find_and_parse_madt(const struct acpi_rsdp *rsdp, struct acpi_madt *madt,
                               struct acpi_cpu *cpus, size_t capacity, uint64_t *phys, char *error,
                               size_t error_size)
{
    uint32_t length = 0;
    if (acpi_find_table(&memory, rsdp, "APIC", phys, &length, error, error_size) < 0) {
        return -1;
    }
    const void *table = fake_read(&fake, *phys, length);
    assert_non_null(table);
    *madt = (struct acpi_madt){.cpus = cpus, .cpu_capacity = capacity};
    return acpi_parse_madt(table, length, madt, error, error_size);
}

static const uint32_t smp1_ids[] = {0};
static const uint32_t smp4_ids[] = {0, 1, 2, 3};
static const uint32_t smp6_two_sockets_ids[] = {0, 1, 2, 4, 5, 6};

/* ---- RSDP --------------------------------------------------------------------------------------
 */

static void test_rsdp_revision_0(void **state)
{
    (void)state;
    uint8_t bytes[36];
    size_t len = make_rsdp(bytes, 0, 0x07fe1ad8, 0, "BOCHS ");
    assert_int_equal(len, 20);
    uint8_t *copy = exact_copy(bytes, len);
    struct acpi_rsdp rsdp;
    char error[128] = "untouched";
    assert_int_equal(acpi_parse_rsdp(copy, len, &rsdp, error, sizeof(error)), 0);
    assert_string_equal(error, "");
    assert_int_equal(rsdp.revision, 0);
    assert_string_equal(rsdp.oem_id, "BOCHS");
    assert_int_equal(rsdp.length, 20);
    assert_int_equal(rsdp.rsdt_address, 0x07fe1ad8);
    assert_int_equal(rsdp.xsdt_address, 0);
    free(copy);
}

static void test_rsdp_revision_2(void **state)
{
    (void)state;
    uint8_t bytes[36];
    size_t len = make_rsdp(bytes, 2, 0x7b7e000, 0x17b7e0e8ull, "BOCHS ");
    assert_int_equal(len, 36);
    uint8_t *copy = exact_copy(bytes, len);
    struct acpi_rsdp rsdp;
    char error[128];
    assert_int_equal(acpi_parse_rsdp(copy, len, &rsdp, error, sizeof(error)), 0);
    assert_int_equal(rsdp.revision, 2);
    assert_int_equal(rsdp.length, 36);
    assert_int_equal(rsdp.rsdt_address, 0x7b7e000);
    assert_int_equal(rsdp.xsdt_address, 0x17b7e0e8ull);
    free(copy);

    /* A revision 2 RSDP read as a revision 0 one (tag 14 holds only its first 20 bytes). */
    copy = exact_copy(bytes, 20);
    assert_int_equal(acpi_parse_rsdp(copy, 20, &rsdp, error, sizeof(error)), -1);
    assert_string_equal(error, "RSDP revision 2 too short: 20 bytes, needs 36");
    free(copy);
}

static void test_rsdp_oem_id_is_printable(void **state)
{
    (void)state;
    uint8_t bytes[36];
    size_t len = make_rsdp(bytes, 0, 0x1000, 0,
                           "A\x01"
                           "B\0CD");
    struct acpi_rsdp rsdp;
    assert_int_equal(acpi_parse_rsdp(bytes, len, &rsdp, NULL, 0), 0);
    assert_string_equal(rsdp.oem_id, "A?B");
    len = make_rsdp(bytes, 0, 0x1000, 0, "      ");
    assert_int_equal(acpi_parse_rsdp(bytes, len, &rsdp, NULL, 0), 0);
    assert_string_equal(rsdp.oem_id, "");
}

static void test_rsdp_errors(void **state)
{
    (void)state;
    uint8_t bytes[40];
    struct acpi_rsdp rsdp = {.revision = 77};
    char error[128];

    make_rsdp(bytes, 0, 0x1000, 0, "BOCHS ");
    assert_int_equal(acpi_parse_rsdp(bytes, 12, &rsdp, error, sizeof(error)), -1);
    assert_string_equal(error, "RSDP too short: 12 bytes");
    assert_int_equal(acpi_parse_rsdp(NULL, 20, &rsdp, error, sizeof(error)), -1);
    assert_string_equal(error, "RSDP too short: 0 bytes");

    bytes[6] = 'X';
    bytes[7] = 0;
    assert_int_equal(acpi_parse_rsdp(bytes, 20, &rsdp, error, sizeof(error)), -1);
    assert_string_equal(error, "RSDP signature \"RSD PTX?\", expected \"RSD PTR \"");

    make_rsdp(bytes, 0, 0x1000, 0, "BOCHS ");
    bytes[8] = (uint8_t)(bytes[8] + 0x3c);
    assert_int_equal(acpi_parse_rsdp(bytes, 20, &rsdp, error, sizeof(error)), -1);
    assert_string_equal(error, "RSDP checksum 0x3c, expected 0");

    /* The v1 checksum is fine, the extended one is not. */
    make_rsdp(bytes, 2, 0x1000, 0x2000, "BOCHS ");
    bytes[33] = 0x05; /* reserved, covered only by the extended checksum */
    assert_int_equal(acpi_parse_rsdp(bytes, 36, &rsdp, error, sizeof(error)), -1);
    assert_string_equal(error, "RSDP extended checksum 0x5, expected 0");

    /* Length fields: too small, absurd, larger than what was given. */
    make_rsdp(bytes, 2, 0x1000, 0x2000, "BOCHS ");
    put_u32(bytes + 20, 20);
    seal(bytes, 36, 32);
    assert_int_equal(acpi_parse_rsdp(bytes, 36, &rsdp, error, sizeof(error)), -1);
    assert_string_equal(error, "RSDP revision 2 length field 20, needs at least 36");
    put_u32(bytes + 20, 0xffffffff);
    seal(bytes, 36, 32);
    assert_int_equal(acpi_parse_rsdp(bytes, 36, &rsdp, error, sizeof(error)), -1);
    assert_string_equal(error, "RSDP length field 4294967295 is absurd (limit 4096)");
    put_u32(bytes + 20, 40);
    seal(bytes, 36, 32);
    assert_int_equal(acpi_parse_rsdp(bytes, 36, &rsdp, error, sizeof(error)), -1);
    assert_string_equal(error, "RSDP length field 40 exceeds the 36 bytes given");

    /* A longer RSDP (a future revision) is fine when all its bytes are there. */
    memset(bytes + 36, 0xaa, 4);
    bytes[32] = 0;
    seal(bytes, 40, 32);
    assert_int_equal(acpi_parse_rsdp(bytes, 40, &rsdp, error, sizeof(error)), 0);
    assert_int_equal(rsdp.length, 40);
    assert_int_equal(rsdp.xsdt_address, 0x2000);

    /* Failures leave *out alone; NULL and tiny error buffers are fine. */
    struct acpi_rsdp untouched = {.revision = 77};
    assert_int_equal(acpi_parse_rsdp(bytes, 3, &untouched, NULL, 0), -1);
    assert_int_equal(acpi_parse_rsdp(bytes, 3, &untouched, error, 5), -1);
    assert_string_equal(error, "RSDP");
    assert_int_equal(untouched.revision, 77);
}

static void test_read_rsdp_from_memory(void **state)
{
    (void)state;
    struct layout l;
    build_ovmf(&l, (const uint8_t *)"APIC", 4); /* the MADT does not matter here */
    struct acpi_rsdp rsdp;
    char error[128];
    assert_int_equal(acpi_read_rsdp(&memory, OVMF_RSDP, &rsdp, error, sizeof(error)), 0);
    assert_int_equal(rsdp.revision, 2);
    assert_int_equal(rsdp.xsdt_address, l.xsdt);

    assert_int_equal(acpi_read_rsdp(&memory, 0x1000, &rsdp, error, sizeof(error)), -1);
    assert_string_equal(error, "RSDP at 0x1000: not readable");

    /* A revision 2 RSDP cut off 20 bytes into it by the end of readable memory. */
    uint64_t near_end = OVMF_ACPI + OVMF_ACPI_BYTES - 20;
    memcpy(fake_at(near_end, 20), l.rsdp, 20);
    assert_int_equal(acpi_read_rsdp(&memory, near_end, &rsdp, error, sizeof(error)), -1);
    assert_string_equal(error, "RSDP at 0x7bfdfec: revision 2+ but only 20 bytes readable");
    assert_int_equal(acpi_read_rsdp(&memory, UINT64_MAX - 8, &rsdp, error, sizeof(error)), -1);
}

/* ---- the BIOS-area scan
 * --------------------------------------------------------------------------- */

static void test_scan_finds_rsdp_in_bios_area(void **state)
{
    (void)state;
    struct layout l;
    build_seabios(&l, (const uint8_t *)"APIC", 4);
    assert_int_equal(acpi_scan_rsdp(&memory, BIOS_AREA, BIOS_AREA_BYTES), SEABIOS_RSDP);
    /* Nothing in the EBDA; nothing where no memory is. */
    assert_int_equal(acpi_scan_rsdp(&memory, EBDA, 1024), 0);
    assert_int_equal(acpi_scan_rsdp(&memory, 0x200000, 0x20000), 0);
    assert_int_equal(acpi_scan_rsdp(&memory, BIOS_AREA, 0), 0);
    /* A start that is not 16-aligned starts at the next boundary. */
    assert_int_equal(acpi_scan_rsdp(&memory, SEABIOS_RSDP - 5, 64), SEABIOS_RSDP);
    assert_int_equal(acpi_scan_rsdp(&memory, SEABIOS_RSDP + 1, 64), 0);
    /* The range is [start, start + length). */
    assert_int_equal(acpi_scan_rsdp(&memory, BIOS_AREA, SEABIOS_RSDP - BIOS_AREA), 0);
    assert_int_equal(acpi_scan_rsdp(&memory, BIOS_AREA, SEABIOS_RSDP - BIOS_AREA + 1),
                     SEABIOS_RSDP);
    /* Ranges at the top of the address space do not wrap. */
    assert_int_equal(acpi_scan_rsdp(&memory, UINT64_MAX - 40, UINT64_MAX), 0);
    assert_int_equal(acpi_scan_rsdp(&memory, UINT64_MAX - 3, 100), 0);
}

static void test_scan_skips_bad_candidates(void **state)
{
    (void)state;
    struct layout l;
    build_seabios(&l, (const uint8_t *)"APIC", 4);
    /* Before the real one: a bad checksum, a signature off the 16-byte grid, a revision 2 RSDP
     * with a bad extended checksum. */
    uint8_t bad[36];
    make_rsdp(bad, 0, 0x1234, 0, "FAKE  ");
    bad[16] ^= 1;
    memcpy(fake_at(BIOS_AREA + 0x10, 20), bad, 20);
    make_rsdp(bad, 0, 0x1234, 0, "FAKE  ");
    memcpy(fake_at(BIOS_AREA + 0x48, 20), bad, 20);
    make_rsdp(bad, 2, 0x1234, 0x5678, "FAKE  ");
    bad[35] ^= 1;
    memcpy(fake_at(BIOS_AREA + 0x100, 36), bad, 36);
    assert_int_equal(acpi_scan_rsdp(&memory, BIOS_AREA, BIOS_AREA_BYTES), SEABIOS_RSDP);

    /* An RSDP in the EBDA is found there (the kernel scans the EBDA first). */
    make_rsdp(bad, 0, 0x4321, 0, "EBDA  ");
    memcpy(fake_at(EBDA + 0x40, 20), bad, 20);
    assert_int_equal(acpi_scan_rsdp(&memory, EBDA, 1024), EBDA + 0x40);
    struct acpi_rsdp rsdp;
    assert_int_equal(acpi_read_rsdp(&memory, EBDA + 0x40, &rsdp, NULL, 0), 0);
    assert_int_equal(rsdp.rsdt_address, 0x4321);
    assert_string_equal(rsdp.oem_id, "EBDA");
}

static void test_scan_never_reports_address_0(void **state)
{
    (void)state;
    /* 0 means "none", so an RSDP at physical 0 cannot be reported; the next one is. */
    uint8_t *low = fake_add(0, 0x100);
    size_t len = make_rsdp(low, 0, 0x1000, 0, "ZERO  ");
    memcpy(low + 0x30, low, len);
    assert_int_equal(acpi_scan_rsdp(&memory, 0, 0x100), 0x30);
    assert_int_equal(acpi_scan_rsdp(&memory, 0, 0x30), 0);
}

/* A reader that fails the test if it is asked for a range that wraps past 2^64. */
static const void *no_wrap_read(void *context, uint64_t phys, uint64_t length)
{
    unsigned *calls = context;
    (*calls)++;
    assert_true(length > 0);
    assert_true(length - 1 <= UINT64_MAX - phys);
    return NULL;
}

static void test_ranges_never_wrap(void **state)
{
    (void)state;
    unsigned calls = 0;
    const struct acpi_memory top_memory = {no_wrap_read, &calls};
    struct acpi_rsdp rsdp;
    char error[160];
    assert_int_equal(acpi_read_rsdp(&top_memory, UINT64_MAX - 8, &rsdp, error, sizeof(error)), -1);
    assert_string_equal(error, "RSDP at 0xfffffffffffffff7: not readable");
    assert_int_equal(acpi_scan_rsdp(&top_memory, UINT64_MAX - 0x40, 0x1000), 0);
    struct acpi_rsdp top = {
        .revision = 2, .xsdt_address = UINT64_MAX - 35, .rsdt_address = 0xffffffe0};
    uint64_t phys;
    uint32_t length;
    assert_int_equal(
        acpi_find_table(&top_memory, &top, "APIC", &phys, &length, error, sizeof(error)), -1);
    /* Ranges that end exactly at 2^64 are asked for; ranges past it are not. */
    assert_true(calls > 0);
    assert_int_equal(acpi_scan_rsdp(NULL, 0, 0x1000), 0);
    /* An absurd scan length is clamped to 1 MiB: one read per 16 bytes of it. */
    calls = 0;
    assert_int_equal(acpi_scan_rsdp(&top_memory, 0x100000, UINT64_MAX), 0);
    assert_int_equal(calls, (1u << 20) / 16);
    struct acpi_memory no_reader = {NULL, NULL};
    assert_int_equal(acpi_read_rsdp(&no_reader, 0x1000, &rsdp, NULL, 0), -1);
}

/* ---- root tables --------------------------------------------------------------------------------
 */

struct listing {
    struct acpi_table_info tables[16];
    size_t count;
};

static void collect(void *context, const struct acpi_table_info *table)
{
    struct listing *listing = context;
    assert_true(listing->count < 16);
    listing->tables[listing->count++] = *table;
}

static void test_seabios_tables(void **state)
{
    (void)state;
    struct madt_builder b;
    size_t madt_len = build_qemu_madt(&b, smp1_ids, 1, 1);
    struct layout l;
    build_seabios(&l, b.bytes, madt_len);
    free(b.bytes);
    struct acpi_rsdp rsdp = layout_rsdp(&l);
    assert_int_equal(rsdp.revision, 0);

    struct acpi_root root;
    char error[160] = "untouched";
    assert_int_equal(acpi_open_root(&memory, &rsdp, &root, error, sizeof(error)), 0);
    assert_string_equal(error, "");
    assert_string_equal(root.signature, "RSDT");
    assert_int_equal(root.phys, l.rsdt);
    assert_int_equal(root.phys % 4, 3); /* odd, as SeaBIOS packs them */
    assert_int_equal(root.length, 52);
    assert_int_equal(root.entry_bytes, 4);
    assert_int_equal(root.entry_count, 4);
    assert_string_equal(root.oem_id, "BOCHS");
    assert_false(root.xsdt_rejected);

    static const char *const signatures[] = {"FACP", "APIC", "HPET", "WAET"};
    const uint64_t addresses[] = {l.facp, l.apic, l.hpet, l.waet};
    const uint32_t lengths[] = {116, (uint32_t)madt_len, 56, 40};
    for (size_t i = 0; i < 4; i++) {
        uint64_t phys = 0;
        uint32_t length = 0;
        assert_int_equal(
            acpi_find_table(&memory, &rsdp, signatures[i], &phys, &length, error, sizeof(error)),
            0);
        assert_int_equal(phys, addresses[i]);
        assert_int_equal(length, lengths[i]);
    }
    uint64_t phys = 0;
    uint32_t length = 0;
    assert_int_equal(acpi_find_table(&memory, &rsdp, "MCFG", &phys, &length, error, sizeof(error)),
                     -1);
    char expected[160];
    snprintf(expected, sizeof(expected), "no MCFG table among the 4 entries of the RSDT at 0x%llx",
             (unsigned long long)l.rsdt);
    assert_string_equal(error, expected);

    struct listing listing = {0};
    struct acpi_root listed_root;
    assert_int_equal(
        acpi_for_each_table(&memory, &rsdp, collect, &listing, &listed_root, error, sizeof(error)),
        4);
    assert_int_equal(listing.count, 4);
    assert_int_equal(listed_root.phys, l.rsdt);
    for (size_t i = 0; i < 4; i++) {
        const struct acpi_table_info *t = &listing.tables[i];
        assert_int_equal(t->index, i);
        assert_int_equal(t->phys, addresses[i]);
        assert_string_equal(t->signature, signatures[i]);
        assert_int_equal(t->length, lengths[i]);
        assert_string_equal(t->oem_id, "BOCHS");
        assert_true(t->valid);
        assert_string_equal(t->problem, "");
    }
    assert_int_equal(listing.tables[0].revision, 1);
    /* A NULL callback and a NULL root are allowed. */
    assert_int_equal(acpi_for_each_table(&memory, &rsdp, NULL, NULL, NULL, NULL, 0), 4);
}

static void test_ovmf_tables_through_xsdt(void **state)
{
    (void)state;
    struct madt_builder b;
    size_t madt_len = build_qemu_madt(&b, smp4_ids, 4, 4);
    struct layout l;
    build_ovmf(&l, b.bytes, madt_len);
    free(b.bytes);
    struct acpi_rsdp rsdp = layout_rsdp(&l);
    assert_int_equal(rsdp.revision, 2);

    struct acpi_root root;
    char error[160];
    assert_int_equal(acpi_open_root(&memory, &rsdp, &root, error, sizeof(error)), 0);
    assert_string_equal(root.signature, "XSDT");
    assert_int_equal(root.phys, l.xsdt);
    assert_int_equal(root.entry_bytes, 8);
    assert_int_equal(root.entry_count, 5);
    assert_false(root.xsdt_rejected);

    /* The XSDT is what is read: change the RSDT's APIC entry and nothing changes. */
    uint8_t *rsdt = fake_at(l.rsdt, 56);
    put_u32(rsdt + 36 + 4, 0xdead0000);
    seal(rsdt, 56, 9);

    struct acpi_madt madt;
    struct acpi_cpu cpus[8];
    uint64_t phys;
    assert_int_equal(find_and_parse_madt(&rsdp, &madt, cpus, 8, &phys, error, sizeof(error)), 0);
    assert_int_equal(phys, l.apic);
    assert_int_equal(madt.cpu_entries, 4);
    assert_int_equal(madt.enabled_cpus, 4);
    for (uint32_t i = 0; i < 4; i++) {
        assert_cpu(&cpus[i], i, i, true, false);
    }
    assert_qemu_madt_rest(&madt);

    struct listing listing = {0};
    assert_int_equal(
        acpi_for_each_table(&memory, &rsdp, collect, &listing, NULL, error, sizeof(error)), 5);
    assert_string_equal(listing.tables[3].signature, "BGRT");
    assert_int_equal(listing.tables[3].phys, l.bgrt);
    assert_int_equal(listing.tables[0].revision, 3);
}

static void test_xsdt_invalid_falls_back_to_rsdt(void **state)
{
    (void)state;
    struct madt_builder b;
    size_t madt_len = build_qemu_madt(&b, smp4_ids, 4, 2);
    struct layout l;
    build_ovmf(&l, b.bytes, madt_len);
    free(b.bytes);
    struct acpi_rsdp rsdp = layout_rsdp(&l);
    char expected[200];
    char error[200];
    struct acpi_root root;

    /* Bad XSDT checksum. */
    uint8_t *xsdt = fake_at(l.xsdt, 76);
    xsdt[40] ^= 0x10;
    assert_int_equal(acpi_open_root(&memory, &rsdp, &root, error, sizeof(error)), 0);
    assert_string_equal(root.signature, "RSDT");
    assert_int_equal(root.phys, l.rsdt);
    assert_int_equal(root.entry_count, 5);
    assert_true(root.xsdt_rejected);
    snprintf(expected, sizeof(expected), "XSDT at 0x%llx: checksum 0x10, expected 0",
             (unsigned long long)l.xsdt);
    assert_string_equal(error, expected);

    uint64_t phys;
    uint32_t length;
    assert_int_equal(acpi_find_table(&memory, &rsdp, "APIC", &phys, &length, error, sizeof(error)),
                     0);
    assert_string_equal(error, "");
    assert_int_equal(phys, l.apic);
    assert_int_equal(length, madt_len);

    /* Wrong XSDT signature. */
    xsdt[40] ^= 0x10;
    memcpy(xsdt, "XSDX", 4);
    seal(xsdt, 76, 9);
    assert_int_equal(acpi_open_root(&memory, &rsdp, &root, error, sizeof(error)), 0);
    assert_true(root.xsdt_rejected);
    snprintf(expected, sizeof(expected), "XSDT at 0x%llx: signature \"XSDX\", expected \"XSDT\"",
             (unsigned long long)l.xsdt);
    assert_string_equal(error, expected);

    /* XSDT address in unreadable memory, and no RSDT either. */
    struct acpi_rsdp no_rsdt = rsdp;
    no_rsdt.xsdt_address = 0x100000000ull;
    no_rsdt.rsdt_address = 0;
    assert_int_equal(acpi_open_root(&memory, &no_rsdt, &root, error, sizeof(error)), -1);
    assert_string_equal(error, "XSDT at 0x100000000: header not readable; the RSDP names no RSDT");

    /* Both broken: both reasons. */
    struct acpi_rsdp both = rsdp;
    both.xsdt_address = 0x100000000ull;
    both.rsdt_address = 0x200000;
    assert_int_equal(acpi_find_table(&memory, &both, "APIC", &phys, &length, error, sizeof(error)),
                     -1);
    assert_string_equal(error, "XSDT at 0x100000000: header not readable; RSDT at 0x200000: header "
                               "not readable");

    /* Revision 2 with an XSDT address of 0: the RSDT, and nothing was rejected. */
    struct acpi_rsdp zero_xsdt = rsdp;
    zero_xsdt.xsdt_address = 0;
    assert_int_equal(acpi_open_root(&memory, &zero_xsdt, &root, error, sizeof(error)), 0);
    assert_string_equal(root.signature, "RSDT");
    assert_false(root.xsdt_rejected);
    assert_string_equal(error, "");

    struct acpi_rsdp none = {.revision = 0};
    assert_int_equal(acpi_open_root(&memory, &none, &root, error, sizeof(error)), -1);
    assert_string_equal(error, "the RSDP names no root table (RSDT or XSDT)");
}

static void test_bad_rsdt(void **state)
{
    (void)state;
    struct madt_builder b;
    size_t madt_len = build_qemu_madt(&b, smp1_ids, 1, 1);
    struct layout l;
    build_seabios(&l, b.bytes, madt_len);
    free(b.bytes);
    struct acpi_rsdp rsdp = layout_rsdp(&l);
    char expected[200];
    char error[200];
    uint64_t phys = 0x77;
    uint32_t length = 0x77;

    /* Bad checksum. */
    uint8_t *rsdt = fake_at(l.rsdt, 52);
    rsdt[50] = (uint8_t)(rsdt[50] + 0xc4);
    assert_int_equal(acpi_find_table(&memory, &rsdp, "APIC", &phys, &length, error, sizeof(error)),
                     -1);
    snprintf(expected, sizeof(expected), "RSDT at 0x%llx: checksum 0xc4, expected 0",
             (unsigned long long)l.rsdt);
    assert_string_equal(error, expected);
    assert_int_equal(phys, 0x77);
    assert_int_equal(length, 0x77);
    assert_int_equal(acpi_for_each_table(&memory, &rsdp, collect, NULL, NULL, error, sizeof(error)),
                     -1);
    assert_string_equal(error, expected);
    rsdt[50] = (uint8_t)(rsdt[50] - 0xc4);

    /* Length fields: shorter than the header, absurd, running out of memory. */
    put_u32(rsdt + 4, 20);
    seal(rsdt, 52, 9);
    assert_int_equal(acpi_find_table(&memory, &rsdp, "APIC", &phys, &length, error, sizeof(error)),
                     -1);
    snprintf(expected, sizeof(expected),
             "RSDT at 0x%llx: length 20 is shorter than the 36-byte header",
             (unsigned long long)l.rsdt);
    assert_string_equal(error, expected);
    put_u32(rsdt + 4, 0xffffffff);
    assert_int_equal(acpi_find_table(&memory, &rsdp, "APIC", &phys, &length, error, sizeof(error)),
                     -1);
    snprintf(expected, sizeof(expected),
             "RSDT at 0x%llx: length 4294967295 is absurd (limit 16777216)",
             (unsigned long long)l.rsdt);
    assert_string_equal(error, expected);
    put_u32(rsdt + 4, SEABIOS_ZONE_BYTES);
    assert_int_equal(acpi_find_table(&memory, &rsdp, "APIC", &phys, &length, error, sizeof(error)),
                     -1);
    snprintf(expected, sizeof(expected), "RSDT at 0x%llx: its 131072 bytes are not readable",
             (unsigned long long)l.rsdt);
    assert_string_equal(error, expected);

    /* RSDT pointing into unreadable memory. */
    rsdp.rsdt_address = 0x40000000;
    assert_int_equal(acpi_find_table(&memory, &rsdp, "APIC", &phys, &length, error, sizeof(error)),
                     -1);
    assert_string_equal(error, "RSDT at 0x40000000: header not readable");
    /* ... or at the FACP: the wrong signature is named, whatever else is wrong. */
    rsdp.rsdt_address = (uint32_t)l.facp;
    assert_int_equal(acpi_find_table(&memory, &rsdp, "APIC", &phys, &length, error, sizeof(error)),
                     -1);
    snprintf(expected, sizeof(expected), "RSDT at 0x%llx: signature \"FACP\", expected \"RSDT\"",
             (unsigned long long)l.facp);
    assert_string_equal(error, expected);
    /* ... or across the top of the address space. */
    struct acpi_rsdp top = {.revision = 2, .xsdt_address = UINT64_MAX - 10};
    assert_int_equal(acpi_find_table(&memory, &top, "APIC", &phys, &length, error, sizeof(error)),
                     -1);
    assert_string_equal(error, "XSDT at 0xfffffffffffffff5: header not readable; the RSDP names no "
                               "RSDT");
}

static void test_entries_to_bad_tables(void **state)
{
    (void)state;
    struct madt_builder b;
    size_t madt_len = build_qemu_madt(&b, smp4_ids, 4, 4);
    struct layout l;
    build_seabios(&l, b.bytes, madt_len);
    struct acpi_rsdp rsdp = layout_rsdp(&l);
    char expected[200];
    char error[200];
    uint64_t phys;
    uint32_t length;

    /* A MADT with a bad checksum: found but refused. */
    uint8_t *apic = fake_at(l.apic, madt_len);
    apic[50] ^= 0x01;
    assert_int_equal(acpi_find_table(&memory, &rsdp, "APIC", &phys, &length, error, sizeof(error)),
                     -1);
    snprintf(expected, sizeof(expected), "APIC at 0x%llx: checksum 0x%x, expected 0",
             (unsigned long long)l.apic, sum_bytes(apic, madt_len));
    assert_string_equal(error, expected);

    /* Point the RSDT's HPET entry at an intact copy of the MADT: that one is used. */
    uint64_t copy_at = SEABIOS_ZONE_HIGH + 0x3001;
    copy_table(copy_at, b.bytes, madt_len);
    free(b.bytes);
    uint8_t *rsdt = fake_at(l.rsdt, 52);
    put_u32(rsdt + 36 + 8, (uint32_t)copy_at);
    /* And the WAET entry at unreadable memory, and the FACP's length at an absurd value. */
    put_u32(rsdt + 36 + 12, 0x3fff0000);
    seal(rsdt, 52, 9);
    put_u32(fake_at(l.facp + 4, 4), 0xffffffff);
    assert_int_equal(acpi_find_table(&memory, &rsdp, "APIC", &phys, &length, error, sizeof(error)),
                     0);
    assert_int_equal(phys, copy_at);
    assert_int_equal(length, madt_len);

    struct listing listing = {0};
    assert_int_equal(
        acpi_for_each_table(&memory, &rsdp, collect, &listing, NULL, error, sizeof(error)), 4);
    assert_false(listing.tables[0].valid);
    assert_string_equal(listing.tables[0].signature, "FACP");
    assert_int_equal(listing.tables[0].length, 0xffffffff);
    assert_string_equal(listing.tables[0].problem, "length 4294967295 is absurd (limit 16777216)");
    assert_false(listing.tables[1].valid);
    snprintf(expected, sizeof(expected), "checksum 0x%x, expected 0", sum_bytes(apic, madt_len));
    assert_string_equal(listing.tables[1].problem, expected);
    assert_true(listing.tables[2].valid);
    assert_string_equal(listing.tables[2].signature, "APIC");
    assert_false(listing.tables[3].valid);
    assert_int_equal(listing.tables[3].phys, 0x3fff0000);
    assert_string_equal(listing.tables[3].signature, "");
    assert_int_equal(listing.tables[3].length, 0);
    assert_string_equal(listing.tables[3].problem, "header not readable");
}

static void test_table_running_past_memory(void **state)
{
    (void)state;
    /* A table whose header is readable but whose length runs past the end of the region. */
    fake_add(0x100000, 0x1000);
    uint64_t tables[] = {0x100f00};
    write_root(0x100010, 4, tables, 1);
    uint8_t *t = fake_at(0x100f00, 36);
    put_header(t, "SSDT", 0x200, 1);
    seal(t, 36, 9);
    struct acpi_rsdp rsdp = {.revision = 0, .rsdt_address = 0x100010};
    uint64_t phys;
    uint32_t length;
    char error[160];
    assert_int_equal(acpi_find_table(&memory, &rsdp, "SSDT", &phys, &length, error, sizeof(error)),
                     -1);
    assert_string_equal(error, "SSDT at 0x100f00: its 512 bytes are not readable");
    /* A signature with unprintable bytes is shown with '?'. */
    assert_int_equal(
        acpi_find_table(&memory, &rsdp, "\x01SD\xff", &phys, &length, error, sizeof(error)), -1);
    assert_string_equal(error, "no ?SD? table among the 1 entries of the RSDT at 0x100010");
}

/* ---- MADT: what QEMU builds
 * ------------------------------------------------------------------------ */

static void test_madt_smp1_seabios_end_to_end(void **state)
{
    (void)state;
    struct madt_builder b;
    size_t madt_len = build_qemu_madt(&b, smp1_ids, 1, 1);
    assert_int_equal(madt_len, 44 + 8 + 12 + 50 + 6);
    struct layout l;
    build_seabios(&l, b.bytes, madt_len);
    free(b.bytes);
    /* As the kernel does it under SeaBIOS without tag 14: scan, read, find, parse. */
    uint64_t rsdp_phys = acpi_scan_rsdp(&memory, BIOS_AREA, BIOS_AREA_BYTES);
    assert_int_equal(rsdp_phys, SEABIOS_RSDP);
    struct acpi_rsdp rsdp;
    char error[160];
    assert_int_equal(acpi_read_rsdp(&memory, rsdp_phys, &rsdp, error, sizeof(error)), 0);
    struct acpi_madt madt;
    struct acpi_cpu cpus[4];
    uint64_t phys;
    assert_int_equal(find_and_parse_madt(&rsdp, &madt, cpus, 4, &phys, error, sizeof(error)), 0);
    assert_string_equal(error, "");
    assert_int_equal(phys, l.apic);
    assert_int_equal(madt.cpu_entries, 1);
    assert_int_equal(madt.cpus_stored, 1);
    assert_int_equal(madt.enabled_cpus, 1);
    assert_cpu(&cpus[0], 0, 0, true, false);
    assert_qemu_madt_rest(&madt);
    assert_ptr_equal(madt.cpus, cpus);
    assert_int_equal(madt.cpu_capacity, 4);
}

static void test_madt_smp6_two_sockets_ids_not_contiguous(void **state)
{
    (void)state;
    struct madt_builder b;
    size_t madt_len = build_qemu_madt(&b, smp6_two_sockets_ids, 6, 6);
    struct layout l;
    build_seabios(&l, b.bytes, madt_len);
    free(b.bytes);
    struct acpi_rsdp rsdp = layout_rsdp(&l);
    struct acpi_madt madt;
    struct acpi_cpu cpus[16];
    uint64_t phys;
    char error[160];
    assert_int_equal(find_and_parse_madt(&rsdp, &madt, cpus, 16, &phys, error, sizeof(error)), 0);
    assert_int_equal(madt.cpu_entries, 6);
    assert_int_equal(madt.cpus_stored, 6);
    assert_int_equal(madt.enabled_cpus, 6);
    for (uint32_t uid = 0; uid < 6; uid++) {
        assert_cpu(&cpus[uid], smp6_two_sockets_ids[uid], uid, true, false);
    }
    assert_int_equal(cpus[3].apic_id, 4); /* no CPU has APIC id 3 */
    assert_qemu_madt_rest(&madt);
}

static void test_madt_maxcpus_disabled_entries(void **state)
{
    (void)state;
    /* -smp 2,maxcpus=4: four entries, the last two disabled (hot-pluggable). */
    struct madt_builder b;
    size_t madt_len = build_qemu_madt(&b, smp4_ids, 4, 2);
    struct layout l;
    build_ovmf(&l, b.bytes, madt_len);
    free(b.bytes);
    struct acpi_rsdp rsdp = layout_rsdp(&l);
    struct acpi_madt madt;
    struct acpi_cpu cpus[8];
    uint64_t phys;
    char error[160];
    assert_int_equal(find_and_parse_madt(&rsdp, &madt, cpus, 8, &phys, error, sizeof(error)), 0);
    assert_int_equal(madt.cpu_entries, 4);
    assert_int_equal(madt.cpus_stored, 4);
    assert_int_equal(madt.enabled_cpus, 2);
    assert_cpu(&cpus[0], 0, 0, true, false);
    assert_cpu(&cpus[1], 1, 1, true, false);
    assert_cpu(&cpus[2], 2, 2, false, false);
    assert_cpu(&cpus[3], 3, 3, false, false);
    assert_qemu_madt_rest(&madt);
}

static void test_madt_x2apic_entries(void **state)
{
    (void)state;
    /* APIC ids from 253 up: QEMU switches to type 9 at 255. */
    static const uint32_t ids[] = {0, 253, 254, 255, 256, 0x12345678};
    struct madt_builder b;
    size_t madt_len = build_qemu_madt(&b, ids, 6, 5);
    struct acpi_madt madt;
    struct acpi_cpu cpus[6];
    char error[160];
    assert_int_equal(parse_built(&b, madt_len, &madt, cpus, 6, error, sizeof(error)), 0);
    assert_int_equal(madt.cpu_entries, 6);
    assert_int_equal(madt.enabled_cpus, 5);
    assert_cpu(&cpus[0], 0, 0, true, false);
    assert_cpu(&cpus[1], 253, 1, true, false);
    assert_cpu(&cpus[2], 254, 2, true, false);
    assert_cpu(&cpus[3], 255, 3, true, true);
    assert_cpu(&cpus[4], 256, 4, true, true);
    assert_cpu(&cpus[5], 0x12345678, 5, false, true);
    assert_qemu_madt_rest(&madt);
    free(b.bytes);

    /* Online-capable (flags bit 1), and a type 9 uid above 255. */
    madt_begin(&b, 256, 0xfee00000, 0);
    madt_x2apic(&b, 300, 70000, ACPI_LAPIC_ONLINE_CAPABLE);
    madt_lapic(&b, 7, 9, ACPI_LAPIC_ENABLED | ACPI_LAPIC_ONLINE_CAPABLE);
    madt_len = madt_finish(&b);
    assert_int_equal(parse_built(&b, madt_len, &madt, cpus, 6, error, sizeof(error)), 0);
    assert_int_equal(madt.enabled_cpus, 1);
    assert_int_equal(cpus[0].apic_id, 300);
    assert_int_equal(cpus[0].uid, 70000);
    assert_false(cpus[0].enabled);
    assert_true(cpus[0].online_capable);
    assert_true(cpus[0].x2apic);
    assert_true(cpus[1].enabled);
    assert_true(cpus[1].online_capable);
    assert_int_equal(madt.flags, 0);
    free(b.bytes);
}

static void test_madt_other_entries(void **state)
{
    (void)state;
    struct madt_builder b;
    madt_begin(&b, 1024, 0xfee00000, ACPI_MADT_PCAT_COMPAT);
    madt_lapic(&b, 0, 0, 1);
    /* LAPIC address override, twice: the first counts. */
    uint8_t *e = madt_entry(&b, 5, 12);
    put_u64(e + 4, 0xfee0000000ull);
    e = madt_entry(&b, 5, 12);
    put_u64(e + 4, 0x1234);
    /* x2APIC NMI. */
    e = madt_entry(&b, 10, 12);
    put_u16(e + 2, 0x5);
    put_u32(e + 4, ACPI_NMI_ALL_CPUS_UID);
    e[8] = 1;
    /* Local APIC NMI for one CPU. */
    madt_lapic_nmi(&b, 3, 0xd, 0);
    /* NMI source (3), I/O SAPIC (6), GIC (11), a type from the future (0x80), an empty one. */
    madt_entry(&b, 3, 8);
    madt_entry(&b, 6, 16);
    madt_entry(&b, 11, 80);
    madt_entry(&b, 0x80, 2);
    madt_entry(&b, 0x81, 7);
    /* An I/O APIC entry longer than it needs to be: accepted, the extra ignored. */
    e = madt_entry(&b, 1, 20);
    e[2] = 2;
    put_u32(e + 4, 0xfec01000);
    put_u32(e + 8, 24);
    memset(e + 12, 0xee, 8);
    size_t madt_len = madt_finish(&b);

    struct acpi_madt madt;
    struct acpi_cpu cpus[2];
    char error[160];
    assert_int_equal(parse_built(&b, madt_len, &madt, cpus, 2, error, sizeof(error)), 0);
    assert_int_equal(madt.lapic_address, 0xfee00000);
    assert_int_equal(madt.lapic_address_override, 0xfee0000000ull);
    assert_int_equal(madt.nmi_count, 2);
    assert_int_equal(madt.nmis[0].uid, ACPI_NMI_ALL_CPUS_UID);
    assert_int_equal(madt.nmis[0].flags, 0x5);
    assert_int_equal(madt.nmis[0].lint, 1);
    assert_int_equal(madt.nmis[1].uid, 3);
    assert_int_equal(madt.nmis[1].flags, 0xd);
    assert_int_equal(madt.nmis[1].lint, 0);
    assert_int_equal(madt.unknown_entries, 5);
    assert_int_equal(madt.ioapic_count, 1);
    assert_int_equal(madt.ioapics[0].id, 2);
    assert_int_equal(madt.ioapics[0].address, 0xfec01000);
    assert_int_equal(madt.ioapics[0].gsi_base, 24);
    assert_int_equal(madt.cpu_entries, 1);
    free(b.bytes);

    assert_string_equal(acpi_madt_entry_name(0), "local APIC");
    assert_string_equal(acpi_madt_entry_name(9), "local x2APIC");
    assert_string_equal(acpi_madt_entry_name(10), "local x2APIC NMI");
    assert_string_equal(acpi_madt_entry_name(11), "unknown");
    assert_string_equal(acpi_madt_entry_name(255), "unknown");
}

static void test_madt_arrays_full(void **state)
{
    (void)state;
    struct madt_builder b;
    madt_begin(&b, 4096, 0xfee00000, 0);
    for (unsigned i = 0; i < 10; i++) {
        madt_ioapic(&b, (uint8_t)i, 0xfec00000 + 0x1000 * i, 24 * i);
    }
    for (unsigned i = 0; i < 20; i++) {
        madt_override(&b, (uint8_t)i, i + 100, 0xf);
    }
    for (unsigned i = 0; i < 9; i++) {
        madt_lapic_nmi(&b, (uint8_t)i, 0, 1);
    }
    size_t madt_len = madt_finish(&b);
    struct acpi_madt madt;
    char error[160];
    assert_int_equal(parse_built(&b, madt_len, &madt, NULL, 0, error, sizeof(error)), 0);
    assert_int_equal(madt.ioapic_count, ACPI_MADT_MAX_IOAPICS);
    assert_int_equal(madt.ioapics[7].id, 7);
    assert_int_equal(madt.ioapics[7].address, 0xfec07000);
    assert_int_equal(madt.ioapics[7].gsi_base, 168);
    assert_int_equal(madt.override_count, ACPI_MADT_MAX_OVERRIDES);
    assert_int_equal(madt.overrides[15].irq, 15);
    assert_int_equal(madt.overrides[15].gsi, 115);
    assert_int_equal(madt.nmi_count, ACPI_MADT_MAX_NMIS);
    assert_int_equal(madt.dropped_entries, 2 + 4 + 1);
    assert_int_equal(madt.cpu_entries, 0);
    free(b.bytes);
}

static void test_madt_thousands_of_cpus_capacity_respected(void **state)
{
    (void)state;
    enum { ENTRIES = 3000, CAPACITY = 64 };
    struct madt_builder b;
    madt_begin(&b, 44 + 16 * ENTRIES, 0xfee00000, 0);
    for (uint32_t i = 0; i < ENTRIES; i++) {
        madt_x2apic(&b, 1000 + i, i, i % 3 == 2 ? 0 : ACPI_LAPIC_ENABLED);
    }
    size_t madt_len = madt_finish(&b);
    assert_int_equal(madt_len, 48044);

    /* The caller's array is exactly CAPACITY long on the heap: one more store is an ASan report. */
    struct acpi_cpu *cpus = malloc(CAPACITY * sizeof(*cpus));
    assert_non_null(cpus);
    struct acpi_madt madt;
    char error[160];
    assert_int_equal(parse_built(&b, madt_len, &madt, cpus, CAPACITY, error, sizeof(error)), 0);
    assert_int_equal(madt.cpu_entries, ENTRIES);
    assert_int_equal(madt.cpus_stored, CAPACITY);
    assert_int_equal(madt.enabled_cpus, 2000);
    assert_int_equal(madt.duplicate_cpus, 0);
    assert_cpu(&cpus[0], 1000, 0, true, true);
    assert_cpu(&cpus[CAPACITY - 1], 1000 + CAPACITY - 1, CAPACITY - 1, true, true);
    assert_false(cpus[2].enabled);
    free(cpus);

    /* Counting only: no array at all, or a capacity with a NULL array. */
    assert_int_equal(parse_built(&b, madt_len, &madt, NULL, 0, error, sizeof(error)), 0);
    assert_int_equal(madt.cpu_entries, ENTRIES);
    assert_int_equal(madt.cpus_stored, 0);
    assert_int_equal(madt.enabled_cpus, 2000);
    assert_int_equal(parse_built(&b, madt_len, &madt, NULL, 100, error, sizeof(error)), 0);
    assert_int_equal(madt.cpu_capacity, 0);
    assert_int_equal(madt.cpus_stored, 0);
    free(b.bytes);

    /* 3000 type 0 entries: only 256 APIC ids exist, the rest are duplicates. */
    madt_begin(&b, 44 + 8 * ENTRIES, 0xfee00000, 0);
    for (uint32_t i = 0; i < ENTRIES; i++) {
        madt_lapic(&b, (uint8_t)i, (uint8_t)i, ACPI_LAPIC_ENABLED);
    }
    madt_len = madt_finish(&b);
    cpus = malloc(300 * sizeof(*cpus));
    assert_non_null(cpus);
    assert_int_equal(parse_built(&b, madt_len, &madt, cpus, 300, error, sizeof(error)), 0);
    assert_int_equal(madt.cpu_entries, ENTRIES);
    assert_int_equal(madt.cpus_stored, 256);
    assert_int_equal(madt.duplicate_cpus, ENTRIES - 256);
    assert_int_equal(madt.enabled_cpus, 256);
    free(cpus);
    free(b.bytes);
}

static void test_madt_duplicate_apic_ids(void **state)
{
    (void)state;
    struct madt_builder b;
    madt_begin(&b, 256, 0xfee00000, 0);
    madt_lapic(&b, 0, 0, ACPI_LAPIC_ENABLED);
    madt_lapic(&b, 1, 1, 0);
    madt_lapic(&b, 2, 1, ACPI_LAPIC_ENABLED);  /* same APIC id as uid 1 */
    madt_x2apic(&b, 0, 3, ACPI_LAPIC_ENABLED); /* same id as uid 0, as an x2APIC entry */
    madt_lapic(&b, 4, 2, ACPI_LAPIC_ENABLED);
    size_t madt_len = madt_finish(&b);
    struct acpi_madt madt;
    struct acpi_cpu cpus[8];
    char error[160];
    assert_int_equal(parse_built(&b, madt_len, &madt, cpus, 8, error, sizeof(error)), 0);
    assert_int_equal(madt.cpu_entries, 5);
    assert_int_equal(madt.duplicate_cpus, 2);
    assert_int_equal(madt.cpus_stored, 3);
    assert_int_equal(madt.enabled_cpus, 2);
    assert_cpu(&cpus[0], 0, 0, true, false);
    assert_cpu(&cpus[1], 1, 1, false, false); /* the first one kept */
    assert_cpu(&cpus[2], 2, 4, true, false);
    free(b.bytes);
}

/* ---- MADT: broken tables
 * --------------------------------------------------------------------------- */

/* A one-CPU MADT plus `extra` raw bytes appended after the entries; sealed and sized to include
 * them. */
static size_t build_with_tail(struct madt_builder *b, const uint8_t *extra, size_t extra_len)
{
    madt_begin(b, 256, 0xfee00000, 1);
    madt_lapic(b, 0, 0, ACPI_LAPIC_ENABLED);
    memcpy(b->bytes + b->len, extra, extra_len);
    b->len += extra_len;
    return madt_finish(b);
}

static void expect_madt_error(const uint8_t *extra, size_t extra_len, const char *message)
{
    struct madt_builder b;
    size_t madt_len = build_with_tail(&b, extra, extra_len);
    struct acpi_madt madt;
    struct acpi_cpu cpus[4];
    char error[200];
    assert_int_equal(parse_built(&b, madt_len, &madt, cpus, 4, error, sizeof(error)), -1);
    assert_string_equal(error, message);
    /* What came before the bad entry was kept. */
    assert_int_equal(madt.cpu_entries, 1);
    assert_int_equal(madt.cpus_stored, 1);
    assert_int_equal(madt.lapic_address, 0xfee00000);
    free(b.bytes);
}

static void test_madt_bad_entries(void **state)
{
    (void)state;
    /* The bad entry always starts at offset 52 (44 + the 8-byte local APIC entry). */
    expect_madt_error((const uint8_t[]){0, 0, 0, 0, 0, 0, 0, 0}, 8,
                      "MADT entry type 0 (local APIC) at offset 52: length 0, less than 2");
    expect_madt_error((const uint8_t[]){1, 1, 0, 0}, 4,
                      "MADT entry type 1 (I/O APIC) at offset 52: length 1, less than 2");
    expect_madt_error((const uint8_t[]){9}, 1,
                      "MADT entry type 9 (local x2APIC) at offset 52: 1 byte before the table end "
                      "at 53, an entry header needs 2");
    expect_madt_error((const uint8_t[]){0, 8, 1, 1, 1, 0}, 6,
                      "MADT entry type 0 (local APIC) at offset 52: length 8 runs past the table "
                      "end at 58");
    expect_madt_error((const uint8_t[]){0x42, 255, 0}, 3,
                      "MADT entry type 66 (unknown) at offset 52: length 255 runs past the table "
                      "end at 55");
    uint8_t short_x2apic[12] = {9, 12};
    expect_madt_error(short_x2apic, 12,
                      "MADT entry type 9 (local x2APIC) at offset 52: length 12, needs 16");
    uint8_t short_lapic[7] = {0, 7};
    expect_madt_error(short_lapic, 7,
                      "MADT entry type 0 (local APIC) at offset 52: length 7, needs 8");
    uint8_t short_override[9] = {2, 9};
    expect_madt_error(short_override, 9,
                      "MADT entry type 2 (interrupt source override) at offset 52: length 9, "
                      "needs 10");
    uint8_t short_nmi[5] = {4, 5};
    expect_madt_error(short_nmi, 5,
                      "MADT entry type 4 (local APIC NMI) at offset 52: length 5, needs 6");
    uint8_t short_address[11] = {5, 11};
    expect_madt_error(short_address, 11,
                      "MADT entry type 5 (local APIC address override) at offset 52: length 11, "
                      "needs 12");
    uint8_t short_x2nmi[11] = {10, 11};
    expect_madt_error(short_x2nmi, 11,
                      "MADT entry type 10 (local x2APIC NMI) at offset 52: length 11, needs 12");
    uint8_t short_ioapic[11] = {1, 11};
    expect_madt_error(short_ioapic, 11,
                      "MADT entry type 1 (I/O APIC) at offset 52: length 11, needs 12");
}

static void test_madt_bad_header(void **state)
{
    (void)state;
    struct madt_builder b;
    size_t madt_len = build_qemu_madt(&b, smp4_ids, 4, 4);
    struct acpi_madt madt;
    struct acpi_cpu cpus[4];
    char error[200];

    /* Bad checksum. */
    b.bytes[60] ^= 0x20;
    assert_int_equal(parse_built(&b, madt_len, &madt, cpus, 4, error, sizeof(error)), -1);
    assert_string_equal(error, "MADT checksum 0x20, expected 0");
    assert_int_equal(madt.cpu_entries, 0);
    assert_int_equal(madt.lapic_address, 0);
    b.bytes[60] ^= 0x20;

    /* Fewer bytes than the fixed part. */
    assert_int_equal(parse_built(&b, 40, &madt, cpus, 4, error, sizeof(error)), -1);
    assert_string_equal(error, "MADT too short: 40 bytes, needs 44");
    assert_int_equal(parse_built(&b, 0, &madt, cpus, 4, error, sizeof(error)), -1);
    assert_string_equal(error, "MADT too short: 0 bytes, needs 44");

    /* Fewer bytes than the length field says. */
    assert_int_equal(parse_built(&b, madt_len - 1, &madt, cpus, 4, error, sizeof(error)), -1);
    char expected[160];
    snprintf(expected, sizeof(expected), "MADT length field %zu exceeds the %zu bytes given",
             madt_len, madt_len - 1);
    assert_string_equal(error, expected);

    /* More bytes than the length field says: only the field's bytes are parsed. */
    uint8_t *longer = calloc(1, madt_len + 100);
    assert_non_null(longer);
    memcpy(longer, b.bytes, madt_len);
    memset(longer + madt_len, 0, 100); /* entries of length 0, if they were read */
    madt = (struct acpi_madt){.cpus = cpus, .cpu_capacity = 4};
    assert_int_equal(acpi_parse_madt(longer, madt_len + 100, &madt, error, sizeof(error)), 0);
    assert_int_equal(madt.cpu_entries, 4);
    free(longer);

    /* Length field below 44 and absurd. */
    put_u32(b.bytes + 4, 43);
    seal(b.bytes, madt_len, 9);
    assert_int_equal(parse_built(&b, madt_len, &madt, cpus, 4, error, sizeof(error)), -1);
    assert_string_equal(error, "MADT length field 43, needs at least 44");
    put_u32(b.bytes + 4, 0xffffffff);
    assert_int_equal(parse_built(&b, madt_len, &madt, cpus, 4, error, sizeof(error)), -1);
    assert_string_equal(error, "MADT length field 4294967295 is absurd (limit 16777216)");

    /* Another table handed over as a MADT. */
    memcpy(b.bytes, "FACP", 4);
    assert_int_equal(parse_built(&b, madt_len, &madt, cpus, 4, error, sizeof(error)), -1);
    assert_string_equal(error, "MADT signature \"FACP\", expected \"APIC\"");
    free(b.bytes);

    /* NULL table; NULL error. */
    assert_int_equal(acpi_parse_madt(NULL, 100, &madt, error, sizeof(error)), -1);
    assert_string_equal(error, "MADT too short: 0 bytes, needs 44");
    assert_int_equal(acpi_parse_madt(NULL, 100, &madt, NULL, 0), -1);

    /* A MADT with no entries at all is valid. */
    madt_begin(&b, 64, 0xfee00000, 0);
    madt_len = madt_finish(&b);
    assert_int_equal(parse_built(&b, madt_len, &madt, cpus, 4, error, sizeof(error)), 0);
    assert_int_equal(madt.cpu_entries, 0);
    assert_int_equal(madt.lapic_address, 0xfee00000);
    free(b.bytes);
}

static void test_checksum(void **state)
{
    (void)state;
    static const uint8_t bytes[] = {0x01, 0xff, 0x80, 0x80, 0x10};
    assert_int_equal(acpi_checksum(bytes, 0), 0);
    assert_int_equal(acpi_checksum(bytes, 2), 0);
    assert_int_equal(acpi_checksum(bytes, 4), 0);
    assert_int_equal(acpi_checksum(bytes, 5), 0x10);
}

/* Random bit flips in a SeaBIOS layout: whatever happens, no crash, no read outside what was
 * asked for (ASan), and a MADT that parses has sane counts. */
static void test_randomized_corruption_stays_in_bounds(void **state)
{
    (void)state;
    struct madt_builder b;
    size_t madt_len = build_qemu_madt(&b, smp6_two_sockets_ids, 6, 4);
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    unsigned madt_ok = 0, madt_failed = 0;
    for (int round = 0; round < 2000; round++) {
        fake_reset(NULL);
        struct layout l;
        build_seabios(&l, b.bytes, madt_len);
        uint8_t *zone = fake_at(SEABIOS_ZONE_HIGH + 0x1a43, 116 + madt_len + 56 + 40 + 52);
        size_t span = 116 + madt_len + 56 + 40 + 52;
        int flips = 1 + round % 4;
        for (int i = 0; i < flips; i++) {
            uint64_t roll = random_next(&seed);
            zone[(roll >> 33) % span] ^= (uint8_t)(1u << ((roll >> 20) % 8));
        }
        struct acpi_rsdp rsdp = layout_rsdp(&l);
        struct acpi_madt madt;
        struct acpi_cpu cpus[4];
        uint64_t phys;
        char error[160];
        if (find_and_parse_madt(&rsdp, &madt, cpus, 4, &phys, error, sizeof(error)) == 0) {
            madt_ok++;
            assert_true(madt.cpus_stored <= 4);
            assert_true(madt.enabled_cpus <= madt.cpu_entries);
        } else {
            madt_failed++;
            assert_true(strlen(error) > 0);
        }
        acpi_for_each_table(&memory, &rsdp, NULL, NULL, NULL, error, sizeof(error));
    }
    /* Flips in the FACP, HPET or WAET leave the MADT usable; flips in the RSDT or MADT do not. */
    assert_true(madt_ok > 100);
    assert_true(madt_failed > 100);
    free(b.bytes);
}

#define ACPI_TEST(f) cmocka_unit_test_teardown(f, fake_reset)

int main(void)
{
    const struct CMUnitTest tests[] = {
        ACPI_TEST(test_checksum),
        ACPI_TEST(test_rsdp_revision_0),
        ACPI_TEST(test_rsdp_revision_2),
        ACPI_TEST(test_rsdp_oem_id_is_printable),
        ACPI_TEST(test_rsdp_errors),
        ACPI_TEST(test_read_rsdp_from_memory),
        ACPI_TEST(test_scan_finds_rsdp_in_bios_area),
        ACPI_TEST(test_scan_skips_bad_candidates),
        ACPI_TEST(test_scan_never_reports_address_0),
        ACPI_TEST(test_ranges_never_wrap),
        ACPI_TEST(test_seabios_tables),
        ACPI_TEST(test_ovmf_tables_through_xsdt),
        ACPI_TEST(test_xsdt_invalid_falls_back_to_rsdt),
        ACPI_TEST(test_bad_rsdt),
        ACPI_TEST(test_entries_to_bad_tables),
        ACPI_TEST(test_table_running_past_memory),
        ACPI_TEST(test_madt_smp1_seabios_end_to_end),
        ACPI_TEST(test_madt_smp6_two_sockets_ids_not_contiguous),
        ACPI_TEST(test_madt_maxcpus_disabled_entries),
        ACPI_TEST(test_madt_x2apic_entries),
        ACPI_TEST(test_madt_other_entries),
        ACPI_TEST(test_madt_arrays_full),
        ACPI_TEST(test_madt_thousands_of_cpus_capacity_respected),
        ACPI_TEST(test_madt_duplicate_apic_ids),
        ACPI_TEST(test_madt_bad_entries),
        ACPI_TEST(test_madt_bad_header),
        ACPI_TEST(test_randomized_corruption_stays_in_bounds),
    };
    return RUN_AND_REPORT(tests);
}
