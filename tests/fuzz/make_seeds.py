#!/usr/bin/env python3
"""tests/fuzz/make_seeds.py - write the seed corpora of the fuzz targets (standard library only).

    python3 tests/fuzz/make_seeds.py     (or: make -C tests/fuzz seeds)

corpus/fuzz_multiboot2/: whole MBIs shaped like what GRUB 2.06 passes (tag order and sizes from
    shared/notes/multiboot2-facts.md): SeaBIOS pc -m 128M, OVMF q35 -m 256M (modules and MBI
    below 1 MiB, both RSDP tags, an EFI memory map), pc -m 3M, meminfo only, the bare end tag,
    and one with the odd-but-valid shapes (entry_size 32, a zero-length module...).
corpus/fuzz_memmap/: firmware memory maps as 20-byte records (u64 base, u64 length, u32 type,
    little-endian), the QEMU maps of shared/notes/qemu-facts.md.
corpus/fuzz_psf/: small PSF1 fonts: a Unicode table for ASCII, one with a combining sequence,
    and 512 glyphs without a table.

Deterministic: running it again rewrites the same bytes. Only the files named here are written.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

RAM, RESERVED, ACPI, NVS = 1, 2, 3, 4
GRUB_CODE = 20  # GRUB's own type under OVMF
HT_HOLE = (0xFD00000000, 0x10000000000, RESERVED)  # AMD HyperTransport hole below 1 TiB

# Maps as (start, end exclusive, type).
LOW = [(0x0, 0x9FC00, RAM), (0x9FC00, 0xA0000, RESERVED), (0xF0000, 0x100000, RESERVED)]
BIOS_FLASH = (0xFFFC0000, 0x100000000, RESERVED)
MAPS = {
    "pc_128m": LOW + [(0x100000, 0x7FE0000, RAM), (0x7FE0000, 0x8000000, RESERVED), BIOS_FLASH,
                      HT_HOLE],
    # -cpu qemu64,vendor=GenuineIntel: no HT hole
    "pc_4g": LOW + [(0x100000, 0xBFFE0000, RAM), (0xBFFE0000, 0xC0000000, RESERVED), BIOS_FLASH,
                    (0x100000000, 0x140000000, RAM)],
    "pc_8g_ht_hole": LOW + [(0x100000, 0xBFFE0000, RAM), (0xBFFE0000, 0xC0000000, RESERVED),
                            BIOS_FLASH, (0x100000000, 0x240000000, RAM), HT_HOLE],
    "q35_4g": LOW + [(0x100000, 0x7FFDF000, RAM), (0x7FFDF000, 0x80000000, RESERVED),
                     (0xB0000000, 0xC0000000, RESERVED), (0xFED1C000, 0xFED20000, RESERVED),
                     BIOS_FLASH, (0x100000000, 0x180000000, RAM), HT_HOLE],
    "pc_3m": LOW + [(0x100000, 0x2E0000, RAM), (0x2E0000, 0x300000, RESERVED), BIOS_FLASH,
                    HT_HOLE],
}

# OVMF-like (q35 -m 256M): ACPI and NVS regions, GRUB's type 20, no 0x9fc00 split.
OVMF_MAP = [
    (0x0, 0xA0000, RAM), (0x100000, 0x800000, RAM), (0x800000, 0x808000, NVS),
    (0x808000, 0x810000, RAM), (0x810000, 0x900000, NVS), (0x900000, 0xE8A0000, RAM),
    (0xE8A0000, 0xEB00000, GRUB_CODE), (0xEB00000, 0xF6EC000, RAM), (0xF6EC000, 0xF7F2000, RESERVED),
    (0xF7F2000, 0xF7FA000, ACPI), (0xF7FA000, 0xF87E000, NVS), (0xF87E000, 0xFF78000, RAM),
    (0xFF78000, 0x10000000, NVS), (0xB0000000, 0xC0000000, RESERVED),
    (0xFFC00000, 0x100000000, RESERVED),
]


def u32(*values):
    return struct.pack("<%dI" % len(values), *values)


def u64(*values):
    return struct.pack("<%dQ" % len(values), *values)


def tag(tag_type, payload=b""):
    size = 8 + len(payload)
    return u32(tag_type, size) + payload + b"\0" * (-size % 8)


def mbi(*tags):
    body = b"".join(tags) + tag(0)
    return u32(8 + len(body), 0) + body


def string(text):
    return text.encode() + b"\0"


def mmap_tag(regions, entry_size=24):
    entries = b"".join((u64(start, end - start) + u32(kind, 0)).ljust(entry_size, b"\xee")
                       for start, end, kind in regions)
    return tag(6, u32(entry_size, 0) + entries)


def module(start, end, text):
    return tag(3, u32(start, end) + string(text))


def rsdp(revision):
    """An ACPI RSDP with valid checksums: 20 bytes (revision 0) or 36 (revision 2)."""
    head = b"RSD PTR " + b"\0" + b"BOCHS " + bytes([revision]) + u32(0x07FE1AD8)
    head = head[:8] + bytes([-sum(head) & 0xFF]) + head[9:]
    if revision < 2:
        return head
    tail = u32(36) + u64(0x0F7F20E8) + b"\0" * 4  # length, XSDT, extended checksum, reserved
    body = head + tail
    return body[:32] + bytes([-sum(body) & 0xFF]) + body[33:]


def elf_sections(count, entsize=64):
    return tag(9, u32(count, entsize, count - 1) + b"\0" * (count * entsize))


APM = tag(10, struct.pack("<HHIHHHHH", 0x0102, 0xF000, 0xB0E0, 0xF000, 0x0040, 3, 0xFFF0,
                          0xFFFF) + b"\0\0")
BOOTDEV = tag(5, u32(0xE0, 0xFFFFFFFF, 0xFFFFFFFF))
EGA_TEXT = tag(8, u64(0xB8000) + u32(160, 80, 25) + bytes([16, 2]) + b"\0\0")
LOAD_BASE = tag(21, u32(0x100000))


def meminfo(lower_kib, upper_kib):
    return tag(4, u32(lower_kib, upper_kib))


MBIS = {
    "seabios_pc_128m.mbi": mbi(
        LOAD_BASE, tag(1, string("console=ttyS0 hello=world")),
        tag(2, string("GRUB 2.06-13+deb12u2")), APM,
        module(0x107000, 0x10A000, "bootfs type=tar"), module(0x10B000, 0x10B003, "tiny"),
        mmap_tag(MAPS["pc_128m"]), elf_sections(3), meminfo(639, 129920), BOOTDEV, EGA_TEXT,
        tag(14, rsdp(0))),
    "ovmf_q35_256m.mbi": mbi(
        LOAD_BASE, tag(1, string("console=ttyS0")), tag(2, string("GRUB 2.06-13+deb12u2")),
        module(0x5000, 0x5C00, "bootfs type=tar"), module(0x6000, 0x6003, "three"),
        module(0x7000, 0x7800, ""), module(0x8000, 0x8FFF, "last"),
        mmap_tag(OVMF_MAP), elf_sections(2), meminfo(640, 252928),
        tag(12, u64(0x0F9EE018)), tag(14, rsdp(0)), tag(15, rsdp(2)),
        tag(17, u32(48, 1) + b"".join(u32(kind, 0) + u64(start, 0, (end - start) >> 12, 0xF)
                                      for start, end, kind in [(0x0, 0xA0000, 7),
                                                               (0x100000, 0x800000, 7),
                                                               (0x800000, 0x808000, 10)]))),
    "pc_3m.mbi": mbi(
        LOAD_BASE, tag(1, string("")), tag(2, string("GRUB 2.06")), APM,
        mmap_tag(MAPS["pc_3m"]), elf_sections(2), meminfo(639, 1920), BOOTDEV, EGA_TEXT,
        tag(14, rsdp(0))),
    "meminfo_only.mbi": mbi(tag(1, string("mem=fallback")), meminfo(639, 129920)),
    "end_tag_only.mbi": mbi(),
    "odd_shapes.mbi": mbi(
        tag(1, b"no terminator"), tag(1, string("second cmdline")),
        mmap_tag([], entry_size=24), mmap_tag(MAPS["pc_128m"][:3], entry_size=32),
        module(0, 0, "empty.bin"), tag(3, u32(0x9000, 0x9000)), module(0x2000, 0x1000, "backwards"),
        tag(4, u32(639)), tag(15, rsdp(2)), tag(14, rsdp(0)), tag(0xFFFF, b"x" * 13)),
}


def memmap_records(regions):
    return b"".join(u64(start, end - start) + u32(kind) for start, end, kind in regions)


def write(directory, name, data):
    path = os.path.join(HERE, "corpus", directory)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, name), "wb") as f:
        f.write(data)
    print("%-40s %5d bytes" % (os.path.join("corpus", directory, name), len(data)))


def psf1(mode, height, count, table=None):
    """A PSF1 font (lib/psf.h): glyph g's rows all hold g & 0xff; table: per glyph, a list of
    u16 codes (0xFFFE starts a sequence), each list closed by 0xFFFF."""
    glyphs = b"".join(bytes([g & 0xFF]) * height for g in range(count))
    codes = b""
    for entry in table or []:
        codes += b"".join(struct.pack("<H", c) for c in entry) + struct.pack("<H", 0xFFFF)
    return bytes([0x36, 0x04, mode, height]) + glyphs + codes


FONTS = {
    "ascii_table.psf": psf1(0x02, 4, 256, [[g] if 32 <= g < 127 else [] for g in range(256)]),
    "sequences.psf": psf1(0x06, 2, 256, [[0xFFFE, 65, 0x301] if g == 1 else [g] for g in range(256)]),
    "no_table_512.psf": psf1(0x01, 2, 512),
}


def main():
    for name, data in FONTS.items():
        write("fuzz_psf", name, data)
    for name, data in MBIS.items():
        assert len(data) % 8 == 0 and struct.unpack_from("<I", data)[0] == len(data)
        write("fuzz_multiboot2", name, data)
    for name, regions in MAPS.items():
        write("fuzz_memmap", name + ".bin", memmap_records(regions))
    # Unsorted and overlapping, as the kernel must still handle it.
    write("fuzz_memmap", "unsorted_overlapping.bin", memmap_records(
        [(0x100000, 0x8000000, RAM), (0x0, 0xA0000, RAM), (0x7FE0000, 0x8000000, RESERVED),
         (0x9FC00, 0xA0000, RESERVED), (0x100000, 0x200000, 5)]))


if __name__ == "__main__":
    main()
