/* ksyms.c: look-ups in the generated symbol table: a binary search of the
 * addresses, then the name decoded (tools/gensyms.py: byte-pair encoding). */
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

/* Appends the characters byte stands for to out (at *length, at most
 * KSYM_NAME_MAX - 1 of them). A token is two bytes, each a character or an
 * earlier token: the recursion is as deep as the token chain, a few levels. */
static void expand(uint8_t byte, char *out, size_t *length)
{
    if (byte < 0x80) {
        if (*length < KSYM_NAME_MAX - 1)
            out[(*length)++] = (char)byte;
        return;
    }
    const uint8_t *pair = ksyms_token_pairs[byte - 0x80];
    expand(pair[0], out, length);
    expand(pair[1], out, length);
}

/* Name index, decoded into out. The names have no index of their own (4 bytes
 * a function saved): skip the ones before it by their length bytes. Only a
 * backtrace or a report looks names up, so the walk costs nothing that
 * matters. */
static void decode_name(size_t index, char *out)
{
    const uint8_t *name = ksyms_names;
    for (size_t i = 0; i < index; i++)
        name += 1 + name[0];
    size_t length = 0;
    for (uint8_t i = 0; i < name[0]; i++)
        expand(name[1 + i], out, &length);
    out[length] = '\0';
}

static void read_entry(size_t index, struct ksym *out)
{
    out->address = KERNEL_VIRT_BASE + ksyms_offsets[index];
    decode_name(index, out->name);
}

bool ksyms_lookup(uint64_t address, struct ksym *out)
{
    if (!is_kernel_code(address) || ksyms_count == 0)
        return false;
    uint64_t offset = address - KERNEL_VIRT_BASE; /* below 4 GiB: is_kernel_code */
    size_t low = 0, high = ksyms_count;           /* answer in [low, high) */
    while (high - low > 1) {
        size_t middle = low + (high - low) / 2;
        if (ksyms_offsets[middle] <= offset)
            low = middle;
        else
            high = middle;
    }
    if (ksyms_offsets[low] > offset)
        return false;
    read_entry(low, out);
    return true;
}

uint64_t ksyms_address_of(const char *name)
{
    for (size_t i = 0; i < ksyms_count; i++) {
        struct ksym symbol;
        read_entry(i, &symbol); /* each decode walks from the start: for tests */
        if (strcmp(symbol.name, name) == 0)
            return symbol.address;
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
