/*
 * acpi_tables.h: the kernel's side of ACPI. The table parsers are lib/acpi.c
 * (host-tested and fuzzed); this file finds the RSDP (multiboot2 tag 15, else
 * tag 14, else a scan of the EBDA and the BIOS area), reads physical memory
 * for the parsers through the direct map, and keeps what smp_init needs.
 */
#ifndef KERNEL_ACPI_TABLES_H
#define KERNEL_ACPI_TABLES_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/acpi.h"
#include "lib/multiboot2.h"

/*
 * Reads the MADT into *madt, with the processor entries in cpus[capacity].
 * false, with a warning naming what was wrong (no RSDP, a bad checksum, a
 * malformed entry...), if there is no usable MADT: the caller then runs on
 * the boot CPU alone.
 */
bool acpi_find_cpus(const struct mb2_summary *boot, struct acpi_cpu *cpus, size_t capacity,
                    struct acpi_madt *madt);

/* For `acpi` (kernel/acpi_commands.c): the RSDP found at boot (NULL if none;
 * *source says where it came from), and each table its RSDT/XSDT lists,
 * read through the same checked window on physical memory as at boot
 * (acpi_for_each_table in lib/acpi.h; -1 without an RSDP). */
const struct acpi_rsdp *acpi_boot_rsdp(const char **source);
int acpi_for_each_boot_table(void (*visit)(void *context, const struct acpi_table_info *table),
                             void *context, struct acpi_root *root, char *error, size_t error_size);

#endif
