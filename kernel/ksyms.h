/*
 * ksyms.h: the kernel's own symbol table (function names for backtraces).
 *
 * The table is generated at build time from the linked kernel by
 * tools/gensyms.py (two link passes: see the Makefile) and sorted by address.
 */
#ifndef KERNEL_KSYMS_H
#define KERNEL_KSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The table as stored (tools/gensyms.py explains the format): ksyms_count
 * functions in address order. The first is at KERNEL_VIRT_BASE +
 * ksyms_first_offset, each next one ksyms_gaps[i] bytes after the one before
 * (ksyms_gaps[0] is unused). Their names in the same order, each a length
 * byte and its bytes, compressed by byte-pair encoding (a byte below 0x80 is
 * a character, 0x80 + t stands for the two bytes of token t). */
extern const size_t ksyms_count;
extern const uint32_t ksyms_first_offset;
extern const uint16_t ksyms_gaps[];
extern const uint8_t ksyms_names[];
extern const uint8_t ksyms_token_pairs[][2];

#define KSYM_NAME_MAX 128 /* the longest name, with its NUL (gensyms.py checks) */

/* A look-up's answer: the name is decoded into it. */
struct ksym {
    uint64_t address;
    char name[KSYM_NAME_MAX];
};

/* The symbol containing address (the last one at or below it, within the
 * kernel's code): true and *out, or false. */
bool ksyms_lookup(uint64_t address, struct ksym *out);
uint64_t ksyms_address_of(const char *name); /* 0 if there is no such symbol */

/* "name+0x1f" into buf, or "0x... (no symbol)". */
void ksyms_format_address(uint64_t address, char *buf, size_t size);

#endif
