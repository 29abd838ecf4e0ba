/* acpi_commands.c: `acpi`, the ACPI tables the firmware left (kernel/acpi_tables.c
 * found them at boot; lib/acpi reads them). */
#include "kernel/acpi_tables.h"
#include "kernel/console.h"
#include "kernel/shell.h"

static void print_table(void *context, const struct acpi_table_info *table)
{
    (void)context;
    kprintf("  %2u  %-4s  %#12lx  %6u  rev %u  %-6s  %s%s\n", table->index, table->signature,
            table->phys, table->length, table->revision, table->oem_id,
            table->valid ? "ok" : "INVALID: ", table->problem);
}

static int command_acpi(int argc, char **argv)
{
    (void)argc, (void)argv; /* no words: the shell checked (shell.h) */
    const char *source;
    const struct acpi_rsdp *rsdp = acpi_boot_rsdp(&source);
    if (!rsdp) {
        kprintf("acpi: no RSDP was found at boot\n");
        return 1;
    }
    kprintf("RSDP: revision %u, OEM \"%s\", %s; RSDT %#x, XSDT %#lx\n", rsdp->revision,
            rsdp->oem_id, source, rsdp->rsdt_address, rsdp->xsdt_address);
    struct acpi_root root;
    char error[128];
    kprintf("  #   sig   address       length  rev    OEM     checksum\n");
    int count = acpi_for_each_boot_table(print_table, NULL, &root, error, sizeof(error));
    if (count < 0) {
        kprintf("acpi: %s\n", error);
        return 1;
    }
    kprintf("%d tables in the %s at %#lx%s%s\n", count, root.signature, root.phys,
            root.xsdt_rejected ? "; the XSDT was rejected: " : "", root.xsdt_rejected ? error : "");
    return 0;
}

SHELL_COMMAND(acpi, "acpi", "the ACPI tables the firmware left (RSDP, RSDT/XSDT entries)",
              command_acpi);
