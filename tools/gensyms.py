#!/usr/bin/env python3
"""gensyms.py KERNEL_ELF: print, as C, the kernel's table of function names for backtraces
(kernel/ksyms.h), sorted by address and with the names compressed.

The Makefile links twice: once with an empty table, then with the table made from that first
link. The code comes before the table (which is in .rodata), so code addresses are the same in
both links; the Makefile checks that they are.

The table is small because it is resident for the whole run (docs/performance.md counts every
page of the kernel at -m 3M):
- an address is 2 bytes: its gap from the function before (the first is a 4-byte offset from
  KERNEL_VIRT_BASE); no function is 64 KiB long, and this script fails if a gap does not fit.
  A look-up walks the table from its start instead of a binary search: only backtraces and
  reports look names up, and 896 steps cost them nothing;
- the names are one byte string, each name a length byte and then its bytes, in the order of
  the addresses, so no per-name offset is stored (the walk skips names by their lengths);
- the names are compressed by byte-pair encoding, as Linux's kallsyms does with its token
  table: a byte below 0x80 is an ASCII character, a byte 0x80 + t is token t, which stands for
  the two bytes ksyms_token_pairs[t] (each a character or an earlier token). The most frequent
  pair of neighbours becomes a token, again and again, while a token saves more bytes than its
  two table bytes cost. Common pieces of names ("memory_", "_command", "buddy_") become one
  byte.
"""
import re
import subprocess
import sys
from collections import Counter

KSYM_NAME_MAX = 128  # kernel/ksyms.h: the longest name a look-up can return, with its NUL
MAX_TOKENS = 128     # bytes 0x80-0xff


def text_symbols(elf):
    """(offset from KERNEL_VIRT_BASE, name) of each function in .text and the boot-only code,
    one name per address (the first nm lists), sorted by address."""
    listing = subprocess.run(["nm", "-n", "--defined-only", elf], check=True, capture_output=True,
                             text=True).stdout
    marks = {}
    rows = []
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) != 3:
            continue
        address, kind, name = int(fields[0], 16), fields[1], fields[2]
        if name in ("__text_start", "__text_end", "__boot_only_start", "__boot_only_data_start"):
            marks[name] = address
        rows.append((address, kind, name))
    missing = {"__text_start", "__text_end", "__boot_only_start", "__boot_only_data_start"} - set(marks)
    if missing:
        sys.exit(f"gensyms: {elf} has no {', '.join(sorted(missing))} (linker.ld)")
    symbols, last = [], None
    for address, kind, name in rows:
        if kind not in "tTwW" or re.match(r"^__(text|boot_only)_(start|end)$", name):
            continue
        in_text = marks["__text_start"] <= address < marks["__text_end"]
        in_boot_only = marks["__boot_only_start"] <= address < marks["__boot_only_data_start"]
        if not (in_text or in_boot_only) or address == last:
            continue
        last = address
        if len(name) >= KSYM_NAME_MAX:
            sys.exit(f"gensyms: {name} is longer than {KSYM_NAME_MAX - 1} characters (kernel/ksyms.h)")
        if any(ord(c) >= 0x80 for c in name):
            sys.exit(f"gensyms: {name} is not ASCII")
        symbols.append((address - 0xffffffff80000000, name))
    return symbols


def replace_pair(encoded, pair, code):
    out, i = [], 0
    while i < len(encoded):
        if i + 1 < len(encoded) and (encoded[i], encoded[i + 1]) == pair:
            out.append(code)
            i += 2
        else:
            out.append(encoded[i])
            i += 1
    return out


def compress(names):
    """(encoded names, token pairs) by byte-pair encoding. Ties go to the smaller pair, so the
    output depends on the names only (the Makefile compares two runs)."""
    encoded = [[ord(c) for c in name] for name in names]
    pairs = []
    while len(pairs) < MAX_TOKENS:
        counts = Counter()
        for e in encoded:
            counts.update(zip(e, e[1:]))
        if not counts:
            break
        pair, count = min(counts.items(), key=lambda item: (-item[1], item[0]))
        if count <= 2:  # a token costs two table bytes: it must save more than that
            break
        code = 0x80 + len(pairs)
        pairs.append(pair)
        encoded = [replace_pair(e, pair, code) if len(e) > 1 else e for e in encoded]
    return encoded, pairs


def expand(code, pairs):
    if code < 0x80:
        return chr(code)
    left, right = pairs[code - 0x80]
    return expand(left, pairs) + expand(right, pairs)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gensyms.py KERNEL_ELF")
    elf = sys.argv[1]
    symbols = text_symbols(elf)
    names = [name for _, name in symbols]
    encoded, pairs = compress(names)
    for name, e in zip(names, encoded):  # the decoder's view, checked here once
        if "".join(expand(b, pairs) for b in e) != name or len(e) > 255:
            sys.exit(f"gensyms: {name} does not survive its compression")
    names_bytes = sum(1 + len(e) for e in encoded)
    plain_bytes = sum(1 + len(n) for n in names)
    print(f"/* Generated by tools/gensyms.py from {elf}: do not edit. */")
    print('#include "kernel/ksyms.h"')
    print(f"/* {len(symbols)} functions; names {names_bytes} bytes ({plain_bytes} uncompressed), "
          f"{len(pairs)} tokens. */")
    offsets = [offset for offset, _ in symbols]
    gaps = [0] + [b - a for a, b in zip(offsets, offsets[1:])]
    for gap, (_, name) in zip(gaps[1:], symbols[1:]):
        if not 0 < gap < 0x10000:
            sys.exit(f"gensyms: {name} is {gap:#x} bytes after the function before it: "
                     "a gap must fit in 16 bits (kernel/ksyms.h)")
    print(f"const size_t ksyms_count = {len(symbols)};")
    print(f"const uint32_t ksyms_first_offset = {offsets[0] if offsets else 0:#x}u;")
    print_array("const uint16_t ksyms_gaps[]",
                [f"{gap}, /* {name} */" for gap, (_, name) in zip(gaps, symbols)], "0,")
    print_array("const uint8_t ksyms_names[]",
                [", ".join(str(b) for b in [len(e)] + e) + "," for e in encoded] + ["0,"], "")
    print_array("const uint8_t ksyms_token_pairs[][2]",
                [f"{{{l}, {r}}}, /* {expand(l, pairs) + expand(r, pairs)!r} */" for l, r in pairs],
                "{0, 0},")


def print_array(declaration, rows, placeholder):
    """One array of the table, in .ksyms (linker.ld); C has no empty arrays: placeholder then."""
    print(f'{declaration} __attribute__((section(".ksyms"))) = {{')
    for row in rows or [placeholder]:
        print("    " + row)
    print("};")

if __name__ == "__main__":
    main()
