/* ksyms.c: look-ups in the generated symbol table (binary search). */
#include "kernel/ksyms.h"

#include "kernel/memlayout.h"
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

struct ksym ksyms_entry(size_t index)
{
    return (struct ksym){KERNEL_VIRT_BASE + ksyms_table[index].offset,
                         &ksyms_names[ksyms_table[index].name]};
}

bool ksyms_lookup(uint64_t address, struct ksym *out)
{
    if (!is_kernel_code(address) || ksyms_count == 0)
        return false;
    uint64_t offset = address - KERNEL_VIRT_BASE; /* below 4 GiB: is_kernel_code */
    size_t low = 0, high = ksyms_count;           /* answer in [low, high) */
    while (high - low > 1) {
        size_t middle = low + (high - low) / 2;
        if (ksyms_table[middle].offset <= offset)
            low = middle;
        else
            high = middle;
    }
    if (ksyms_table[low].offset > offset)
        return false;
    *out = ksyms_entry(low);
    return true;
}

uint64_t ksyms_address_of(const char *name)
{
    for (size_t i = 0; i < ksyms_count; i++) {
        if (strcmp(&ksyms_names[ksyms_table[i].name], name) == 0)
            return ksyms_entry(i).address;
    }
    return 0;
}

void ksyms_format_address(uint64_t address, char *buf, size_t size)
{
    struct ksym symbol;
    if (ksyms_lookup(address, &symbol))
        ksnprintf(buf, size, "%s+%#lx", symbol.name, address - symbol.address);
    else
        ksnprintf(buf, size, "%#lx (no symbol)", address);
}
