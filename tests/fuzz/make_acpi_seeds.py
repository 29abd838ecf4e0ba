#!/usr/bin/env python3
"""tests/fuzz/make_acpi_seeds.py - write the seed corpus of fuzz_acpi (standard library only).

    python3 tests/fuzz/make_acpi_seeds.py     (or: make -C tests/fuzz seeds)

corpus/fuzz_acpi/: images of physical memory as fuzz_acpi maps them (the image at physical 0,
    and again at 0xE0000), holding the ACPI tables QEMU's firmware builds
    (shared/notes/qemu-facts.md section 3):
    - SeaBIOS: an RSDP of revision 0 at offset 0, then FACP, APIC, HPET, WAET and the RSDT
      packed one after the other from an odd offset; pc -smp 1, -smp 6,sockets=2,cores=3
      (APIC ids 0,1,2,4,5,6), -smp 2,maxcpus=4 (two disabled entries), q35 -smp 4 with MCFG;
    - OVMF: an RSDP of revision 2, an XSDT and an RSDT, tables on 256-byte boundaries (OVMF uses
      pages; 256 keeps the seeds small); once intact, once with a broken XSDT checksum (the RSDT
      fallback);
    - bare MADTs at offset 0 (fuzz_acpi also parses the input as a MADT): QEMU's -smp 4, and one
      with x2APIC, LAPIC address override, x2APIC NMI and NMI source entries.

Deterministic: running it again rewrites the same bytes. Only the files named here are written.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "fuzz_acpi")


def checksummed(data, at):
    """data with byte `at` set so that all of data sums to 0 (mod 256)."""
    data = bytearray(data)
    data[at] = 0
    data[at] = (-sum(data)) & 0xFF
    return bytes(data)


def table(signature, revision, body, oem=b"BOCHS "):
    """A table: the 36-byte header as QEMU writes it, then body."""
    length = 36 + len(body)
    header = (signature + struct.pack("<IBB", length, revision, 0) + oem + b"BXPC" + signature +
              struct.pack("<I", 1) + b"BXPC" + struct.pack("<I", 1))
    return checksummed(header + body, 9)


def rsdp(revision, rsdt, xsdt=0):
    v1 = checksummed(b"RSD PTR " + b"\0" + b"BOCHS " + bytes([revision]) + struct.pack("<I", rsdt),
                     8)
    if revision < 2:
        return v1
    return checksummed(v1 + struct.pack("<IQB3x", 36, xsdt, 0), 32)


def root(signature, addresses):
    fmt = "<Q" if signature == b"XSDT" else "<I"
    return table(signature, 1, b"".join(struct.pack(fmt, a) for a in addresses))


def madt(apic_ids, present, extra=b""):
    """QEMU's MADT: an entry per possible CPU (type 9 from APIC id 255), then the I/O APIC, the
    five interrupt source overrides and the LINT1 NMI."""
    body = struct.pack("<II", 0xFEE00000, 1)
    for uid, apic_id in enumerate(apic_ids):
        flags = 1 if uid < present else 0
        if apic_id < 255:
            body += struct.pack("<BBBBI", 0, 8, uid, apic_id, flags)
        else:
            body += struct.pack("<BBHIII", 9, 16, 0, apic_id, flags, uid)
    body += struct.pack("<BBBBII", 1, 12, 0, 0, 0xFEC00000, 0)
    body += struct.pack("<BBBBIH", 2, 10, 0, 0, 2, 0)
    for irq in (5, 9, 10, 11):
        body += struct.pack("<BBBBIH", 2, 10, 0, irq, irq, 0x000D)
    body += struct.pack("<BBBHB", 4, 6, 0xFF, 0, 1)
    return table(b"APIC", 1, body + extra)


def fadt(revision, length):
    body = bytearray(length - 36)
    struct.pack_into("<I", body, 4, 0x40)  # DSDT address (not followed by the readers)
    struct.pack_into("<H", body, 10, 9)    # SCI interrupt 9
    return table(b"FACP", revision, bytes(body))


HPET = table(b"HPET", 1, struct.pack("<IBBHQBHB", 0x8086A201, 0, 0, 0, 0xFED00000, 0, 0, 0)[:20])
WAET = table(b"WAET", 1, struct.pack("<I", 2))
MCFG = table(b"MCFG", 1, bytes(8) + struct.pack("<QHBBI", 0xB0000000, 0, 0, 0xFF, 0))
BGRT = table(b"BGRT", 1, bytes(20))


def seabios(madt_table, machine="pc"):
    """RSDP (revision 0) at 0; tables packed from offset 0x43 as SeaBIOS packs them."""
    tables = [fadt(1 if machine == "pc" else 3, 116 if machine == "pc" else 244), madt_table,
              HPET, WAET]
    if machine == "q35":
        tables.append(MCFG)
    image = bytearray(0x43)
    addresses = []
    for t in tables:
        addresses.append(len(image))
        image += t
    rsdt_at = len(image)
    image += root(b"RSDT", addresses)
    image[0:20] = rsdp(0, rsdt_at)
    return bytes(image)


def ovmf(madt_table, break_xsdt=False):
    """RSDP (revision 2) at 0, XSDT at 0x40, RSDT at 0xA0, tables on 256-byte boundaries."""
    tables = [fadt(3, 244), madt_table, HPET, BGRT, WAET]
    image = bytearray(0x100)
    addresses = []
    for t in tables:
        addresses.append(len(image))
        image += t
        image += bytes(-len(image) % 0x100)
    xsdt = bytearray(root(b"XSDT", addresses))
    if break_xsdt:
        xsdt[40] ^= 0x10
    image[0x40:0x40 + len(xsdt)] = xsdt
    rsdt_table = root(b"RSDT", addresses)
    image[0xA0:0xA0 + len(rsdt_table)] = rsdt_table
    image[0:36] = rsdp(2, 0xA0, 0x40)
    return bytes(image)


def x2apic_madt():
    extra = struct.pack("<BBHQ", 5, 12, 0, 0xFEE00000)                # LAPIC address override
    extra += struct.pack("<BBHIB3x", 10, 12, 0x5, 0xFFFFFFFF, 1)     # x2APIC NMI, all CPUs
    extra += struct.pack("<BBHI", 3, 8, 0xD, 9)                      # NMI source
    extra += struct.pack("<BBHIII", 9, 16, 0, 7, 3, 300)             # online-capable x2APIC
    return madt([0, 1, 254, 255, 256, 0x10000], 5, extra)


SEEDS = {
    "seabios_pc_smp1.bin": seabios(madt([0], 1)),
    "seabios_pc_smp6_sockets2_cores3.bin": seabios(madt([0, 1, 2, 4, 5, 6], 6)),
    "seabios_pc_smp2_maxcpus4.bin": seabios(madt([0, 1, 2, 3], 2)),
    "seabios_q35_smp4_mcfg.bin": seabios(madt([0, 1, 2, 3], 4), "q35"),
    "ovmf_q35_smp4.bin": ovmf(madt([0, 1, 2, 3], 4)),
    "ovmf_broken_xsdt.bin": ovmf(madt([0, 1], 2), break_xsdt=True),
    "madt_qemu_smp4.bin": madt([0, 1, 2, 3], 4),
    "madt_x2apic.bin": x2apic_madt(),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print("%s: %d bytes" % (os.path.join("corpus", "fuzz_acpi", name), len(data)))


if __name__ == "__main__":
    main()
