/* ksyms.c: look-ups in the generated symbol table: one walk through the
 * addresses and names, then the name decoded (tools/gensyms.py: byte-pair
 * encoding). */
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

/* The name at name (a length byte, then its encoded bytes), decoded. */
static void decode_name(const uint8_t *name, char *out)
{
    size_t length = 0;
    for (uint8_t i = 0; i < name[0]; i++)
        expand(name[1 + i], out, &length);
    out[length] = '\0';
}

/* The table is read in one pass from its start: the addresses are gaps from
 * the one before, and the names have no index (a name is found by skipping
 * the ones before it by their length bytes). A look-up walks at most
 * ksyms_count entries; only backtraces and reports look names up, so that
 * costs nothing that matters, and the table is 6 bytes a function smaller
 * than with a 4-byte address and a 4-byte name offset each. */
struct walk {
    size_t index;
    uint64_t offset;     /* of entry index, from KERNEL_VIRT_BASE */
    const uint8_t *name; /* of entry index, in ksyms_names */
};

static struct walk walk_start(void)
{
    return (struct walk){0, ksyms_first_offset, ksyms_names};
}

static bool walk_next(struct walk *walk)
{
    if (walk->index + 1 >= ksyms_count)
        return false;
    walk->index++;
    walk->offset += ksyms_gaps[walk->index];
    walk->name += 1 + walk->name[0];
    return true;
}

static void read_entry(const struct walk *walk, struct ksym *out)
{
    out->address = KERNEL_VIRT_BASE + walk->offset;
    decode_name(walk->name, out->name);
}

bool ksyms_lookup(uint64_t address, struct ksym *out)
{
    if (!is_kernel_code(address) || ksyms_count == 0)
        return false;
    uint64_t offset = address - KERNEL_VIRT_BASE; /* below 4 GiB: is_kernel_code */
    struct walk walk = walk_start();
    if (walk.offset > offset)
        return false;
    while (walk.index + 1 < ksyms_count && walk.offset + ksyms_gaps[walk.index + 1] <= offset)
        walk_next(&walk);
    read_entry(&walk, out);
    return true;
}

uint64_t ksyms_address_of(const char *name)
{
    if (ksyms_count == 0)
        return 0;
    struct walk walk = walk_start();
    do {
        struct ksym symbol;
        read_entry(&walk, &symbol);
        if (strcmp(symbol.name, name) == 0)
            return symbol.address;
    } while (walk_next(&walk));
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
