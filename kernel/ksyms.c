/* ksyms.c: look-ups in the generated symbol table (binary search). */
#include "kernel/ksyms.h"

#include <stdbool.h>

#include "lib/format.h"
#include "lib/string.h"

extern const char __text_start[], __text_end[], __boot_only_start[], __boot_only_data_start[];

/* The kernel's code: text, and the boot-only code (named even once freed,
 * so that a backtrace through it still reads). */
static bool is_kernel_code(uint64_t address)
{
    return (address >= (uint64_t)__text_start && address < (uint64_t)__text_end) ||
           (address >= (uint64_t)__boot_only_start && address < (uint64_t)__boot_only_data_start);
}

const struct ksym *ksyms_lookup(uint64_t address)
{
    if (!is_kernel_code(address) || ksyms_count == 0)
        return NULL;
    size_t low = 0, high = ksyms_count; /* answer in [low, high) */
    while (high - low > 1) {
        size_t middle = low + (high - low) / 2;
        if (ksyms_table[middle].address <= address)
            low = middle;
        else
            high = middle;
    }
    return ksyms_table[low].address <= address ? &ksyms_table[low] : NULL;
}

uint64_t ksyms_address_of(const char *name)
{
    for (size_t i = 0; i < ksyms_count; i++) {
        if (strcmp(ksyms_table[i].name, name) == 0)
            return ksyms_table[i].address;
    }
    return 0;
}

void ksyms_format_address(uint64_t address, char *buf, size_t size)
{
    const struct ksym *symbol = ksyms_lookup(address);
    if (symbol)
        ksnprintf(buf, size, "%s+%#lx", symbol->name, address - symbol->address);
    else
        ksnprintf(buf, size, "%#lx (no symbol)", address);
}
