#!/usr/bin/env python3
"""check-boot-only.py OBJECT...: refuse a kernel whose resident part refers to
boot-only code or data (lib/boot_only.h).

kernel_main frees the .boot_only.* sections once the boot is done, so a
reference to them from anywhere else (a call, a function pointer in a table,
an address in data) is a use after free waiting to happen. This reads each
object's relocations, the places the linker will write an address, and
reports every one that sits outside .boot_only.* and points into it: at a
section of this object, at one of its local symbols, or at a global symbol
that some object defines in .boot_only.* (Linux's modpost does this check
and calls it a section mismatch). Debug information and .eh_frame (which
the linker script discards) may point anywhere, and so may a function
marked BOOT_REF (kernel_main: it runs the boot steps, then frees them).
One more exception: a switch's jump table. gcc puts it in .rodata, as a list
of addresses inside the function (its case labels). An address inside a
boot-only function, not at the start of any function, can only be used by
that function's own code (C has no way to name it), so it is let through; a
pointer to the start of a boot-only function is not.

Prints one line per mismatch and exits 1, or exits 0 in silence.
"""
import struct
import sys

BOOT_ONLY_PREFIX = ".boot_only."
BOOT_REF_SECTION = ".text.boot_ref"  # BOOT_REF: resident code that calls boot steps
SHT_SYMTAB, SHT_RELA = 2, 4
STT_FUNC, STT_SECTION = 2, 3
SHN_UNDEF = 0


def read_object(path):
    data = open(path, "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        sys.exit(f"check-boot-only: {path} is not a little-endian ELF64 object")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    sections = []
    for i in range(shnum):
        name, kind, _flags, _addr, offset, size, link, info, _align, entsize = \
            struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
        sections.append(dict(name=name, kind=kind, offset=offset, size=size, link=link,
                             info=info, entsize=entsize))
    names = sections[shstrndx]

    def string(table, offset):
        start = table["offset"] + offset
        return data[start:data.index(b"\0", start)].decode()

    for section in sections:
        section["name"] = string(names, section["name"])
    symbols = []
    for section in sections:
        if section["kind"] != SHT_SYMTAB:
            continue
        strings = sections[section["link"]]
        for at in range(section["offset"], section["offset"] + section["size"], 24):
            name, info, _other, shndx, _value, _size = struct.unpack_from("<IBBHQQ", data, at)
            symbols.append(dict(name=string(strings, name), kind=info & 15, bind=info >> 4,
                                shndx=shndx, value=_value))
    relocations = []  # (section the address is written into, symbol index, addend)
    for section in sections:
        if section["kind"] != SHT_RELA:
            continue
        target = sections[section["info"]]["name"]
        for at in range(section["offset"], section["offset"] + section["size"], 24):
            _offset, info, addend = struct.unpack_from("<QQq", data, at)
            relocations.append((target, info >> 32, addend))
    return sections, symbols, relocations


def main(paths):
    objects = {path: read_object(path) for path in paths}

    def section_name(sections, shndx):
        return sections[shndx]["name"] if 0 < shndx < len(sections) else ""

    boot_only_globals = set()
    for sections, symbols, _ in objects.values():
        for symbol in symbols:
            if symbol["bind"] != 0 and section_name(sections, symbol["shndx"]).startswith(
                    BOOT_ONLY_PREFIX):
                boot_only_globals.add(symbol["name"])

    mismatches = []
    for path, (sections, symbols, relocations) in objects.items():
        function_starts = {(symbol["shndx"], symbol["value"]) for symbol in symbols
                           if symbol["kind"] == STT_FUNC}
        for where, index, addend in relocations:
            if where.startswith((BOOT_ONLY_PREFIX, BOOT_REF_SECTION, ".debug", ".eh_frame")):
                continue
            symbol = symbols[index]
            if (where.startswith(".rodata") and symbol["kind"] == STT_SECTION and
                    (symbol["shndx"], addend) not in function_starts):
                continue  # a jump table's case label, inside a function
            home = section_name(sections, symbol["shndx"])
            if symbol["shndx"] == SHN_UNDEF:
                bad = symbol["name"] in boot_only_globals
                what = symbol["name"]
            else:
                bad = home.startswith(BOOT_ONLY_PREFIX)
                what = home if symbol["kind"] == STT_SECTION else symbol["name"]
            if bad:
                mismatches.append(f"{path}: {where} refers to boot-only {what}")
    for line in sorted(set(mismatches)):
        print(f"check-boot-only: {line} (it is freed after boot: lib/boot_only.h)")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
