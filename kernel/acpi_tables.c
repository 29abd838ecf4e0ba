/* acpi_tables.c: see acpi_tables.h. The shell command `acpi` is in acpi_commands.c. */
#include "kernel/acpi_tables.h"

#include "kernel/console.h"
#include "kernel/memlayout.h"
#include "kernel/memory.h"
#include "kernel/paging.h"
#include "lib/boot_only.h"
#include "lib/format.h"
#include "lib/string.h"

#define BIOS_AREA_START 0xE0000
#define BIOS_AREA_END 0x100000
#define EBDA_SCAN_BYTES 1024
#define ACPI_READ_LIMIT (1u << 20) /* no table is bigger than this here */

static struct acpi_rsdp rsdp;
static bool have_rsdp;
static char rsdp_source[48];

/*
 * The parsers read physical memory through this. The tables sit in firmware
 * ranges the direct map leaves out (SeaBIOS: a reserved range at the top of
 * low RAM), so a range is mapped (uncached, like a device) on first use. Only
 * ranges the firmware's memory map lists, or the legacy BIOS area, are read:
 * a corrupt pointer in a table must not make us read device registers.
 */
static const void *read_physical(void *context, uint64_t phys, uint64_t length)
{
    (void)context;
    if (length == 0 || length > ACPI_READ_LIMIT || phys + length < phys || phys < 0x1000)
        return NULL;
    bool bios_area = phys >= BIOS_AREA_START && phys + length <= BIOS_AREA_END;
    if (!bios_area && !memory_range_in_firmware_map(phys, length))
        return NULL;
    if (!paging_map_device(phys, length))
        return NULL;
    return phys_to_virt(phys);
}

static const struct acpi_memory physical_memory = {read_physical, NULL};

BOOT_ONLY static bool rsdp_from_tag(const struct mb2_tag *tag, const char *name)
{
    char error[96];
    if (acpi_parse_rsdp(tag->payload, tag->payload_size, &rsdp, error, sizeof(error)) == 0) {
        ksnprintf(rsdp_source, sizeof(rsdp_source), "%s", name);
        return true;
    }
    log_warn("acpi: the RSDP in %s is unusable: %s", name, error);
    return false;
}

static bool find_rsdp(const struct mb2_summary *boot)
{
    if (boot->has_acpi_new_rsdp && rsdp_from_tag(&boot->acpi_new_rsdp, "multiboot2 tag 15"))
        return true;
    if (boot->has_acpi_old_rsdp && rsdp_from_tag(&boot->acpi_old_rsdp, "multiboot2 tag 14"))
        return true;
    /* No tag: search where a BIOS puts it. The EBDA starts where conventional
     * memory ends (basic meminfo's mem_lower; reading the BDA's pointer would
     * mean reading page 0, which stays unmapped). */
    uint64_t found = 0;
    if (boot->has_meminfo) {
        uint64_t ebda = (uint64_t)boot->meminfo.mem_lower_kib * 1024;
        if (ebda >= 0x80000 && ebda < 0xA0000)
            found = acpi_scan_rsdp(&physical_memory, ebda, EBDA_SCAN_BYTES);
    }
    if (!found)
        found = acpi_scan_rsdp(&physical_memory, BIOS_AREA_START, BIOS_AREA_END - BIOS_AREA_START);
    if (!found || acpi_read_rsdp(&physical_memory, found, &rsdp, NULL, 0) != 0)
        return false;
    ksnprintf(rsdp_source, sizeof(rsdp_source), "found by scanning at %#lx", found);
    return true;
}

BOOT_ONLY bool acpi_find_cpus(const struct mb2_summary *boot, struct acpi_cpu *cpus,
                              size_t capacity, struct acpi_madt *madt)
{
    have_rsdp = find_rsdp(boot);
    if (!have_rsdp) {
        log_warn("acpi: no RSDP (no multiboot2 tag, none in the EBDA or the BIOS area)");
        return false;
    }
    log_info("acpi: RSDP revision %u (%s), OEM \"%s\", %s at %#lx", rsdp.revision, rsdp_source,
             rsdp.oem_id, rsdp.xsdt_address ? "XSDT" : "RSDT",
             rsdp.xsdt_address ? rsdp.xsdt_address : (uint64_t)rsdp.rsdt_address);
    char error[128];
    uint64_t madt_phys;
    uint32_t madt_length;
    if (acpi_find_table(&physical_memory, &rsdp, "APIC", &madt_phys, &madt_length, error,
                        sizeof(error)) != 0) {
        log_warn("acpi: %s", error);
        return false;
    }
    const void *table = read_physical(NULL, madt_phys, madt_length);
    *madt = (struct acpi_madt){0};
    madt->cpus = cpus;
    madt->cpu_capacity = capacity;
    if (!table || acpi_parse_madt(table, madt_length, madt, error, sizeof(error)) != 0) {
        log_warn("acpi: MADT at %#lx: %s", madt_phys, table ? error : "unreadable");
        return false;
    }
    log_info("acpi: MADT at %#lx: %zu processor entries, %zu enabled; local APIC at %#x; "
             "%zu I/O APIC(s)",
             madt_phys, madt->cpu_entries, madt->enabled_cpus, madt->lapic_address,
             madt->ioapic_count);
    if (madt->duplicate_cpus)
        log_warn("acpi: %zu processor entries repeat an APIC id: ignored", madt->duplicate_cpus);
    if (madt->cpu_entries > madt->cpus_stored)
        log_warn("acpi: %zu processor entries, only the first %zu are used", madt->cpu_entries,
                 madt->cpus_stored);
    return true;
}

/* ---- for the shell's `acpi` (kernel/acpi_commands.c) --------------------------- */

const struct acpi_rsdp *acpi_boot_rsdp(const char **source)
{
    if (source)
        *source = rsdp_source;
    return have_rsdp ? &rsdp : NULL;
}

int acpi_for_each_boot_table(void (*visit)(void *context, const struct acpi_table_info *table),
                             void *context, struct acpi_root *root, char *error, size_t error_size)
{
    if (!have_rsdp)
        return -1;
    return acpi_for_each_table(&physical_memory, &rsdp, visit, context, root, error, error_size);
}
