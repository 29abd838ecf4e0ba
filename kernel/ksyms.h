/*
 * ksyms.h: the kernel's own symbol table (function names for backtraces).
 *
 * The table is generated at build time from the linked kernel by
 * tools/gensyms.sh (two link passes: see the Makefile) and sorted by address.
 */
#ifndef KERNEL_KSYMS_H
#define KERNEL_KSYMS_H

#include <stddef.h>
#include <stdint.h>

struct ksym {
    uint64_t address;
    const char *name;
};

extern const struct ksym ksyms_table[];
extern const size_t ksyms_count;

/* The symbol containing address (the last one at or below it, within the
 * kernel's text), or NULL. */
const struct ksym *ksyms_lookup(uint64_t address);
uint64_t ksyms_address_of(const char *name); /* 0 if there is no such symbol */

/* "name+0x1f" into buf, or "0x... (no symbol)". */
void ksyms_format_address(uint64_t address, char *buf, size_t size);

#endif
