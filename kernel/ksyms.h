/*
 * ksyms.h: the kernel's own symbol table (function names for backtraces).
 *
 * The table is generated at build time from the linked kernel by
 * tools/gensyms.sh (two link passes: see the Makefile) and sorted by address.
 */
#ifndef KERNEL_KSYMS_H
#define KERNEL_KSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The table as stored (tools/gensyms.sh): 8 bytes a function. */
struct ksym_entry {
    uint32_t offset; /* address - KERNEL_VIRT_BASE */
    uint32_t name;   /* offset of its name in ksyms_names */
};

extern const struct ksym_entry ksyms_table[];
extern const char ksyms_names[]; /* the names, each ended by a NUL */
extern const size_t ksyms_count;

/* A look-up's answer. */
struct ksym {
    uint64_t address;
    const char *name;
};

/* Entry index as a struct ksym (index < ksyms_count). */
struct ksym ksyms_entry(size_t index);
/* The symbol containing address (the last one at or below it, within the
 * kernel's code): true and *out, or false. */
bool ksyms_lookup(uint64_t address, struct ksym *out);
uint64_t ksyms_address_of(const char *name); /* 0 if there is no such symbol */

/* "name+0x1f" into buf, or "0x... (no symbol)". */
void ksyms_format_address(uint64_t address, char *buf, size_t size);

#endif
