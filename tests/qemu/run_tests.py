#!/usr/bin/env python3
"""QEMU tests: boot the real ISO, read the serial console, check the status.

Each test boots build/ferrite.elf in an ISO made with its own kernel command
line (tools/make-iso.sh), runs it with tools/qemu-run.sh (the same script as
`make run`), optionally types into the serial console once the prompt shows,
and checks what the kernel printed and the guest's exit status.

    python3 tests/qemu/run_tests.py [-k PATTERN] [-j JOBS] [-v]

Ends with the line "N passed, M failed".
"""
import argparse
import concurrent.futures
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KERNEL = os.path.join(ROOT, "build", "ferrite.elf")
OUT = os.path.join(ROOT, "build", "tests", "qemu")
PROMPT = b"ferrite> "
PANIC_STATUS = 127
DEFAULT_BOOTFS = os.path.join(ROOT, "build", "bootfs.tar")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bootfs_tests  # noqa: E402  (the boot filesystem's cases, with their host-side oracle)


@dataclass
class QemuTest:
    name: str
    cmdline: str
    status: int                      # the guest's exit status expected
    expect: list = field(default_factory=list)     # regexes that must match the log
    forbid: list = field(default_factory=list)     # regexes that must not
    mem: str = "128M"
    machine: str = "pc"
    smp: int = 1
    typed: object = b""              # typed into the console once the prompt shows:
                                     # bytes, or a list of bytes and pauses (seconds)
    exit_device: bool = True
    end_on: str = ""                 # stop QEMU when this regex shows (no exit device)
    timeout: float = 60.0
    check: object = None             # extra check: function(log) -> error or None
    qemu_args: list = field(default_factory=list)  # more QEMU options (e.g. -cpu max)
    seabios_log: bool = False        # capture SeaBIOS's debug log; check(log, seabios) gets it
    bootfs: str = "default"          # the archive GRUB loads as the "bootfs" module: "default"
                                     # (build/bootfs.tar), "none", or a path
    firmware: str = "bios"           # bios (SeaBIOS) or uefi (OVMF): FIRMWARE of qemu-run.sh
    grub_maps: bool = False          # GRUB prints lsmmap (and lsefimmap) first: GRUB_MAPS=1
    screendump: bool = False         # when end_on shows: the screen to NAME.ppm, then quit


_elf_tables = {}


def elf_table(start, end, prefix):
    """The names of the entries of a link-section table of the kernel (the
    in-kernel tests, the shell commands), read from the ELF's symbol table:
    every symbol between the table's start and end symbols, prefix removed.
    The entries' sizes must add up to the table's size, so that an entry
    without a symbol of its own cannot go unnoticed."""
    key = (start, end, prefix)
    if key not in _elf_tables:
        out = subprocess.run(["nm", "-n", "-S", KERNEL], capture_output=True, text=True,
                             check=True).stdout
        symbols = []  # (address, size or None, name)
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 4:
                symbols.append((int(parts[0], 16), int(parts[1], 16), parts[3]))
            elif len(parts) == 3:
                symbols.append((int(parts[0], 16), None, parts[2]))
        bounds = {name: address for address, _, name in symbols}
        if start not in bounds or end not in bounds:
            raise RuntimeError(f"{KERNEL} has no {start}/{end} symbols")
        entries = [(name, size) for address, size, name in symbols
                   if bounds[start] <= address < bounds[end] and name.startswith(prefix)]
        if sum(size or 0 for _, size in entries) != bounds[end] - bounds[start]:
            raise RuntimeError(f"{KERNEL}: the {prefix}* symbols do not cover {start}..{end}")
        _elf_tables[key] = [name[len(prefix):] for name, _ in entries]
    return _elf_tables[key]


def kernel_ktests():
    return elf_table("__ktests_start", "__ktests_end", "ktest_descriptor_")


def kernel_commands():
    return elf_table("__shell_commands_start", "__shell_commands_end", "shell_command_")


def memmap_picture_agrees(log):
    """tools/memmap/memmap.py's SVG, drawn from this boot's log, writes every row of `mem`
    and every region of the cleaned map with the same byte count (read here on their own)."""
    import html
    import tempfile
    text = log.replace("\r", "")
    mem = text[text.rfind("where every usable byte of RAM is"):]
    rows = re.findall(r"^  (.+?) +(\d+) bytes +\d+ KiB", mem.split("accounted:")[0], re.M)
    e820 = text[text.rfind("cleaned (sorted, overlaps resolved"):].split("\nusable:")[0]
    regions = re.findall(r"^  0x([0-9a-f]+)-0x([0-9a-f]+) +\d+ KiB  (.+)$", e820, re.M)
    if len(rows) < 10 or not regions:
        return f"no `mem` rows ({len(rows)}) or cleaned regions ({len(regions)}) in the log"
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "boot.log"), "w") as saved:
            saved.write(log)
        svg = os.path.join(folder, "map.svg")
        done = subprocess.run([sys.executable, os.path.join(ROOT, "tools/memmap/memmap.py"),
                               os.path.join(folder, "boot.log"), svg],
                              capture_output=True, text=True)
        if done.returncode != 0:
            return f"memmap.py failed: {done.stderr.strip()}"
        texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", open(svg).read())]
    for name, count in rows:
        if not any(t.startswith(f"{name}: {count} bytes") for t in texts):
            return f"the picture has no '{name}: {count} bytes' (mem's row)"
    for start, end, kind in regions:
        first, last = int(start, 16), int(end, 16)
        wanted = f"{kind}: {first:#x}-{last:#x}, {last - first} bytes"
        if not any(t.startswith(wanted) for t in texts):
            return f"the picture has no '{wanted}' (e820's cleaned region)"
    return None


# GRUB's lsmmap names for the multiboot2 memory types (GRUB's grub_memory_type_t).
LSMMAP_TYPES = {"available RAM": 1, "reserved RAM": 2, "ACPI reclaimable RAM": 3,
                "ACPI non-volatile storage RAM": 4, "faulty RAM (BadRAM)": 5,
                "persistent RAM": 7, "persistent RAM (legacy)": 12,
                "RAM holding coreboot tables": 16, "RAM holding firmware code": 20}


def grub_lsmmap_agrees(log):
    """Under UEFI: GRUB's own `lsmmap` (printed before it loaded the kernel, GRUB_MAPS=1),
    with neighbours of one type joined, is the map the kernel's `e820` says it was given; and
    `mem` accounts for every available byte of it."""
    text = re.sub(r"\x1b\[[0-9;=?]*[A-Za-z]", "", log.replace("\r", ""))
    grub = text[text.find("grub: lsmmap"):text.find("grub: end of maps")]
    listed = []
    for base, length, name in re.findall(r"^base_addr = 0x([0-9a-f]+), length = 0x([0-9a-f]+), "
                                         r"(.+)$", grub, re.M):
        if name not in LSMMAP_TYPES:
            return f"GRUB's lsmmap has a type this test does not know: {name}"
        listed.append((int(base, 16), int(base, 16) + int(length, 16), LSMMAP_TYPES[name]))
    entries = []  # in address order (lsmmap keeps the EFI map's), neighbours of a type joined
    for start, end, kind in sorted(listed):
        if entries and entries[-1][1] == start and entries[-1][2] == kind:
            entries[-1] = (entries[-1][0], end, kind)
        else:
            entries.append((start, end, kind))
    if not entries:
        return "no lsmmap from GRUB in the log (GRUB_MAPS=1)"
    given = text[text.find("firmware memory map, as given"):text.find("cleaned (sorted")]
    kernel = [(int(a, 16), int(b, 16), int(k)) for a, b, k in
              re.findall(r"^  0x([0-9a-f]+)-0x([0-9a-f]+) +\d+ KiB  type (\d+)", given, re.M)]
    if sorted(kernel) != entries:
        return f"the kernel's map {kernel} differs from GRUB's lsmmap {entries}"
    available = sum(end - start for start, end, kind in entries if kind == 1)
    accounted = re.search(r"^accounted: (\d+) bytes, usable: (\d+) bytes$", text, re.M)
    if not accounted or int(accounted.group(1)) != available or int(accounted.group(2)) != available:
        return f"mem's accounting ({accounted.group(0) if accounted else 'none'}) is not " \
               f"GRUB's {available} available bytes"
    return None


# GRUB's lsefimmap names and the kernel's `efimap` names (the UEFI spec's) of the EFI types.
LSEFIMMAP_TYPES = {"reserved": 0, "ldr-code": 1, "ldr-data": 2, "BS-code": 3, "BS-data": 4,
                   "RT-code": 5, "RT-data": 6, "conv-mem": 7, "unusable": 8, "ACPI-rec": 9,
                   "ACPI-nvs": 10, "MMIO": 11, "IO-ports": 12, "PAL-code": 13, "persist": 14}
EFI_TYPES = {"Reserved": 0, "LoaderCode": 1, "LoaderData": 2, "BootServicesCode": 3,
             "BootServicesData": 4, "RuntimeServicesCode": 5, "RuntimeServicesData": 6,
             "ConventionalMemory": 7, "UnusableMemory": 8, "ACPIReclaimMemory": 9,
             "ACPIMemoryNVS": 10, "MemoryMappedIO": 11, "MemoryMappedIOPortSpace": 12,
             "PalCode": 13, "PersistentMemory": 14, "UnacceptedMemory": 15}


def grub_lsefimmap_agrees(log):
    """Under UEFI: every descriptor GRUB's `lsefimmap` listed before it loaded the kernel
    is in the kernel's `efimap`, byte for byte and with its type, except where conventional
    memory was taken after GRUB printed: by GRUB for the kernel, its modules and the boot
    information (LoaderCode, LoaderData) or by the firmware on its behalf (BootServicesCode,
    BootServicesData), all free again once boot services end; and `efimap` found tag 6 and
    the EFI map the same."""
    text = re.sub(r"\x1b\[[0-9;=?]*[A-Za-z]", "", log.replace("\r", ""))
    listing = text[text.find("grub: lsefimmap"):text.find("grub: end of maps")]
    grub = [(int(a, 16), int(b, 16) + 1, LSEFIMMAP_TYPES.get(name)) for name, a, b in
            re.findall(r"^(\S+)\s+([0-9a-f]{16})-([0-9a-f]{16}) ", listing, re.M)]
    if not grub or None in [kind for _, _, kind in grub]:
        return "no lsefimmap from GRUB in the log, or a type this test does not know"
    efimap = text[text.find("EFI memory map (multiboot2 tag 17)"):text.find("free after Exit")]
    kernel = sorted((int(a, 16), int(b, 16), EFI_TYPES.get(name, -1)) for a, b, name in
                    re.findall(r"^  0x([0-9a-f]+)-0x([0-9a-f]+) +\d+ +\d+  (\S+)", efimap, re.M))
    if not kernel:
        return "no `efimap` listing from the kernel"
    for start, end, kind in grub:
        at = start
        for k_start, k_end, k_kind in kernel:
            if k_end <= at or k_start >= end:
                continue
            if k_start > at:
                return f"GRUB's {start:#x}-{end:#x} has a gap at {at:#x} in the kernel's EFI map"
            if k_kind != kind and not (kind == 7 and k_kind in (1, 2, 3, 4)):
                return (f"GRUB's {start:#x}-{end:#x} (EFI type {kind}) is type {k_kind} at "
                        f"{max(at, k_start):#x} in the kernel's EFI map")
            at = k_end
        if at < end:
            return f"GRUB's {start:#x}-{end:#x}: the kernel's EFI map stops at {at:#x}"
    if not re.search(r"^  the same: every usable byte of tag 6 is free in the EFI map", text, re.M):
        return "efimap found differences between tag 6 and the EFI map"
    return grub_lsmmap_agrees(log)


CONSOLE_FONT = "/usr/share/consolefonts/Lat15-VGA16.psf.gz"
FBCON_GREY, FBCON_BLACK = (0xAA, 0xAA, 0xAA), (0, 0, 0)


def font_glyphs():
    """{character: 16 rows} for printable ASCII, from Debian's PSF1 font, read here with the
    test's own code (not the kernel's lib/psf.c)."""
    import gzip
    data = gzip.open(CONSOLE_FONT).read()
    count, height = (512 if data[2] & 1 else 256), data[3]
    table, glyph, by_code, at = data[4 + count * height:], 0, {}, 0
    while glyph < count and at + 2 <= len(table):
        code = int.from_bytes(table[at:at + 2], "little")
        at += 2
        if code == 0xFFFF:
            glyph += 1
        elif code < 128 and code not in by_code:
            by_code[code] = glyph
    return {chr(c): data[4 + g * height:4 + (g + 1) * height] for c, g in by_code.items()}, height


def framebuffer_shows(ppm_path, lines_from_bottom):
    """The check of a screendump: the framebuffer console's bottom text rows are these lines
    (each drawn here, pixel by pixel, grey on black, and compared whole, the rest of the row
    blank)."""
    def check(log):
        if not os.path.exists(ppm_path):
            return "no screendump"
        data = open(ppm_path, "rb").read()
        magic, size, depth, pixels = data.split(b"\n", 3)
        width, height = map(int, size.split())
        if magic != b"P6" or depth != b"255":
            return f"not a P6 PPM: {magic} {depth}"
        glyphs, glyph_height = font_glyphs()
        rows = height // glyph_height
        for back, line in enumerate(reversed(lines_from_bottom)):
            row = rows - 1 - back
            for column in range(width // 8):
                char = line[column] if column < len(line) else " "
                glyph = glyphs[char]
                for y in range(glyph_height):
                    for x in range(8):
                        at = ((row * glyph_height + y) * width + column * 8 + x) * 3
                        want = FBCON_GREY if glyph[y] & (0x80 >> x) else FBCON_BLACK
                        if tuple(pixels[at:at + 3]) != want:
                            return (f"text row {row} column {column} ({char!r}): pixel ({x}, {y}) "
                                    f"is {tuple(pixels[at:at + 3])}, not {want}")
        return None
    return check


def two_objects_in_one_page(log):
    """The two `malloc alloc 2048` objects are the two halves of one 4 KiB page."""
    found = [int(a, 16) for a in re.findall(r"^malloc alloc: 0x([0-9a-f]+) \(2048", log, re.M)]
    if len(found) != 2:
        return f"expected two 2048-byte objects, found {len(found)}"
    if found[0] >> 12 != found[1] >> 12 or found[0] == found[1]:
        return f"{found[0]:#x} and {found[1]:#x} are not the two halves of one page"
    return None


FOOTPRINT_BUDGET_BYTES = 320 * 1024  # 313,952 bytes when set (docs/performance.md), plus 4%


def footprint_within(budget):
    """`mem`'s footprint line equals usable - free - cached - magazines - module, and is at
    most budget bytes."""
    def check(log):
        m = re.search(r"^kernel footprint: (\d+) bytes \(\d+ KiB\) = usable - free and cached "
                      r"pages - (\d+) in malloc's magazines - (\d+) of the boot filesystem's module",
                      log, re.M)
        usable = re.search(r"usable: (\d+) bytes = ", log)
        if not m or not usable:
            return "no footprint line, or no usable line, in `mem`"
        free = sum(int(x) for x in re.findall(
            r"^  (?:free, zone \w+|per-CPU page caches \(.*?\)) +(\d+) bytes", log, re.M))
        want = int(usable.group(1)) - free - int(m.group(2)) - int(m.group(3))
        footprint = int(m.group(1))
        if footprint != want:
            return f"footprint {footprint} is not usable - free - magazines - module = {want}"
        if footprint > budget:
            return f"kernel footprint {footprint} bytes is over the budget of {budget}"
        return None
    return check


def every_ktest_passed(log):
    """Each in-kernel test in the ELF printed PASS, and the tally counts them all."""
    names = kernel_ktests()
    missing = [name for name in names if not re.search(rf"^PASS {name}\r?$", log, re.M)]
    if missing:
        return f"no PASS line for {len(missing)} of the ELF's {len(names)} tests: {missing[:5]}"
    if not re.search(rf"^{len(names)} passed, 0 failed", log, re.M):
        return f"no '{len(names)} passed, 0 failed' line (the ELF holds {len(names)} tests)"
    return None


def help_lists_every_command(log):
    """`help` names every shell command in the ELF."""
    names = kernel_commands()
    missing = [name for name in names if not re.search(rf"^  {name}\b", log, re.M)]
    if missing:
        return f"`help` does not list {missing} (the ELF holds {len(names)} commands)"
    return None


NO_PANIC = [r"KERNEL PANIC"]


def memory_checks(log, seabios):
    """The e820 listing matches SeaBIOS, and `buddy` printed the same before and after."""
    tables = re.findall(r"(^low .*\n^dma32 .*\n^normal .*\n)", log, re.M)
    if len(tables) != 2 or tables[0] != tables[1]:  # both after the page caches were drained
        return f"the buddy tables before and after exhaust differ: {tables}"
    return e820_matches_seabios(log, seabios)


def e820_matches_seabios(log, seabios):
    """The kernel's `e820` (the map as given) equals SeaBIOS's last e820 dump."""
    dumps = re.findall(r"e820 map has \d+ items:\n((?:\s+\d+: .*\n)+)", seabios)
    if not dumps:
        return "no e820 dump in SeaBIOS's log"
    firmware = [(int(a, 16), int(b, 16), int(t)) for a, b, t in
                re.findall(r"\d+: ([0-9a-f]+) - ([0-9a-f]+) = (\d+)", dumps[-1])]
    kernel = [(int(a, 16), int(b, 16), int(t)) for a, b, t in
              re.findall(r"^  0x([0-9a-f]+)-0x([0-9a-f]+) +\d+ KiB  type (\d+)", log, re.M)]
    if not kernel:
        return "no e820 listing from the kernel"
    if kernel != firmware:
        return f"kernel's map {kernel} differs from SeaBIOS's {firmware}"
    return None
CRASH_COMMON = [r"\*\*\* CPU exception", r"rip 0x[0-9a-f]{16}  [\w.]+\+0x", r"backtrace:",
                r"KERNEL PANIC: unhandled", r"ferrite: exit status 127"]

def cpus_table(log):
    """The rows of the first `cpus` table: (index, apic id, state)."""
    return [(int(m.group(1)), int(m.group(2)), m.group(3))
            for m in re.finditer(r"^ *(\d+) +(\d+) (online|absent|starting|FAILED) ", log, re.M)]


def smp_checks(apic_ids):
    """`cpus` lists exactly these APIC ids, all online, and the trampoline page came back."""
    def check(log):
        rows = cpus_table(log)
        if not rows:
            return "no `cpus` table in the log"
        first = rows[:len(apic_ids)]
        if [apic for _, apic, _ in first] != apic_ids:
            return f"APIC ids {[apic for _, apic, _ in first]}, want {apic_ids}"
        if any(state != "online" for _, _, state in first):
            return f"not every CPU online: {first}"
        if len(apic_ids) > 1:
            m = re.search(r"trampoline page (0x[0-9a-f]+) freed; LOW zone free pages (\d+) before, "
                          r"(\d+) after", log)
            if not m or m.group(2) != m.group(3):
                return "the trampoline page did not go back to the LOW zone"
            page = int(m.group(1), 16)
            if page >= 0x100000 or page % 4096:
                return f"trampoline page {page:#x} is not a page below 1 MiB"
        return None
    return check


SMP_EXPECT = [r"^stress: passed \(", r"free pages (\d+) before, \d+ after \+ \d+ kept by malloc "
              r"as slab descriptors = \1;"]


TESTS = [
    QemuTest("ktest_all_pass", "test", 0,
             expect=[r"PASS \w+", r"^[1-9]\d* passed, 0 failed"], forbid=NO_PANIC + [r"^FAIL"],
             check=every_ktest_passed),
    QemuTest("ktest_shell_command_pattern", 'run="ktest format; exit 0"', 0,
             expect=[r"PASS format_\w+", r"^[1-9]\d* passed, 0 failed"], forbid=[r"PASS traps?_"]),
    QemuTest("ktest_pattern_matching_nothing_fails", 'run="ktest nosuchtest; exit 0"', 0,
             expect=[r'ktest: no test name contains "nosuchtest": nothing ran',
                     r"^0 passed, 1 failed"]),
    QemuTest("echo_then_exit_3", 'run="echo hi; exit 3"', 3,
             expect=[r"^hi\r?$", r"ferrite: exit status 3"], forbid=NO_PANIC),
    QemuTest("help_lists_every_command", 'run="help; exit 0"', 0,
             expect=[r"^  help\b"], check=help_lists_every_command),
    QemuTest("version_and_cmdline", 'quietish=1 run="version; cmdline; exit 0"', 0,
             expect=[r"Ferrite \d+\.\d+\.\d+",
                     r'as the boot loader passed it: "quietish=1 "run=version; cmdline; exit 0""',
                     r'^  1\. quietish = "1"   \(unknown: ignored\)',
                     r'^  2\. run = "version; cmdline; exit 0"',
                     r"^  quiet\s+mute", r"warning: boot option 'quietish' is unknown"]),
    QemuTest("unknown_command_message", 'run="frobnicate now; exit 0"', 0,
             expect=[r"frobnicate: unknown command; type 'help' for the list"]),
    QemuTest("quiet_mutes_boot_log", 'quiet run="echo still here; exit 0"', 0,
             expect=[r"^still here"], forbid=[r"^boot:"]),
    QemuTest("quotes_reach_the_kernel_as_typed", 'run="echo it\'s here; exit 4"', 4,
             expect=[r"^it's here\r?$"]),
    QemuTest("exit_status_out_of_range", 'run="exit 200; exit 1x; exit 5"', 5,
             expect=[r"exit: 200 is too big", r"usage: exit \[N\]"]),
    QemuTest("crash_null_page_fault", 'run="crash null"', PANIC_STATUS,
             expect=CRASH_COMMON + [r"#PF \(page fault, vector 14\)",
                                    r"cr2 0x0000000000000000",
                                    r"not-present page, read, kernel mode, data access",
                                    r"crash_null_pointer\+0x", r"#\d+\s+0x[0-9a-f]+ crash_null_pointer_command\+"]),
    QemuTest("crash_div0", 'run="crash div0"', PANIC_STATUS,
             expect=CRASH_COMMON + [r"#DE \(divide error", r"crash_divide_by_zero\+0x"]),
    QemuTest("crash_ud", 'run="crash ud"', PANIC_STATUS,
             expect=CRASH_COMMON + [r"#UD \(invalid opcode", r"crash_invalid_opcode\+0x"]),
    QemuTest("crash_gp", 'run="crash gp"', PANIC_STATUS,
             expect=CRASH_COMMON + [r"#GP \(general protection fault",
                                    r"crash_general_protection\+0x",
                                    r"error code 0 \(not caused by a segment selector\)"]),
    QemuTest("crash_stack_double_fault", 'run="crash stack"', PANIC_STATUS,
             expect=CRASH_COMMON + [r"#DF \(double fault", r"kernel stack overflow",
                                    r"crash_recurse_forever[\w.]*\+0x",
                                    r"\.\.\. the same frame \d+ more times"]),
    QemuTest("crash_usage", 'run="crash; crash nothing; exit 0"', 0,
             expect=[r"^crash takes one of:", r"^  crash stack +stack overflow",
                     r'crash: no subcommand "nothing"'], forbid=NO_PANIC),
    # One shell contract: the usage from the command table, the word count checked by the
    # shell for every command alike, subcommands from a table that `help` lists.
    QemuTest("shell_usage_from_the_table",
             'run="version extra; mem extra; alloc; alloc 99; help malloc; malloc nosuch; '
             'malloc storm x; buddy storm 1 2; help nosuch; exit 0"', 0,
             expect=[r"ferrite> version extra\r?\nusage: version\r?$",
                     r"ferrite> mem extra\r?\nusage: mem\r?$",
                     r"^usage: alloc ORDER \[low\|dma32\|normal\]", r"^alloc: ORDER is 0-10",
                     r"^malloc SUBCOMMAND \.\.\.: look inside", r"^  malloc storm \[N\] +N random",
                     r"^  malloc leak N +lose N objects", r'malloc: no subcommand "nosuch"',
                     r"^usage: malloc storm \[N\]", r"^usage: buddy storm \[N\]",
                     r'help: no command "nosuch"'],
             forbid=NO_PANIC + [r"where every usable byte"]),
    QemuTest("boots_with_3M", 'run="version; exit 0"', 0, mem="3M",
             expect=[r"Ferrite \d", r"ferrite: exit status 0"], forbid=NO_PANIC),
    QemuTest("boots_on_q35", 'run="version; exit 0"', 0, machine="q35",
             expect=[r"Ferrite \d"], forbid=NO_PANIC),
    QemuTest("typed_commands_run", "", 6, typed=b"echo typed here\rexit 6\r",
             expect=[r"^typed here"]),
    QemuTest("line_editing_backspace_ctrl_u_ctrl_c", "", 7,
             typed=b"echo abcX\x7f\x08d\r" b"garbage\x15echo clean\r" b"nothing\x03exit 7\r",
             expect=[r"^abd\r?$", r"^clean\r?$", r"\^C"], forbid=[r"garbage: unknown"]),
    QemuTest("history_arrow_up", "", 8,
             typed=b"echo from history\r\x1b[A\rexit 8\r",
             check=lambda log: None if log.count("from history") >= 4
             else "the recalled line did not run again"),
    QemuTest("binary_garbage_and_long_lines", "", 9,
             typed=bytes(range(256)) * 4 + b"\x03" + b"x" * 3000 + b"\r" + b"exit 9\r",
             expect=[r"ferrite: exit status 9"], forbid=NO_PANIC),
    QemuTest("halt_stops_the_cpu", 'run="halt"', -1, end_on=r"ferrite: halted",
             expect=[r"ferrite: halted"], forbid=NO_PANIC),
    # -no-reboot turns the guest's reset into QEMU ending normally (status 0).
    QemuTest("reboot_resets_the_machine", 'run="reboot"', 0,
             expect=[r"ferrite: rebooting"], forbid=NO_PANIC),
    # The PS/2 keyboard, driven through QEMU's monitor (Ctrl-A C toggles it).
    QemuTest("ps2_keyboard_types_into_the_shell", "", 5,
             typed=[b"\x01c" + b"".join(b"sendkey %s\n" % k for k in
                                       [b"e", b"c", b"h", b"o", b"spc", b"shift-k", b"b",
                                        b"ret"]) + b"\x01c", 2.0, b"exit 5\r"],
             expect=[r"^Kb\r?$"]),
    # Physical memory (issue 3): every usable byte accounted for, invariants hold.
    QemuTest("memory_alloc_and_accounting_128M",
             'run="alloc 3 low; alloc 0; alloc 10; mem; buddy check; exit 0"', 0,
             expect=[r"^accounted: (\d+) bytes, usable: \1 bytes\r?$", r"^buddy check: ok",
                     r"^0x[0-9a-f]+ \(32 KiB, order 3\)"], forbid=NO_PANIC + [r"MISMATCH"]),
    # The firmware's map as the kernel sees it equals SeaBIOS's own e820 dump; every usable
    # byte is accounted for; using up every page and freeing it restores the free lists.
    *[QemuTest(f"memory_{machine}_{mem}",
               'run="e820; buddy exhaust; buddy; buddy exhaust; buddy storm 30000; buddy; buddy check; mem; exit 0"',
               0,
               mem=mem, machine=machine, seabios_log=True, check=memory_checks,
               expect=[r"^accounted: (\d+) bytes, usable: \1 bytes\r?$", r"^buddy check: ok",
                       r"free lists identical: yes", r"patterns broken: 0;",
                       r"stamps broken: 0; free lists back as before: yes; invariants: ok",
                       r": [1-9]\d* below 1 MiB, [1-9]\d* in \[1 MiB, 2 MiB\)",
                       r"[1-9]\d* above 4 GiB" if mem in ("4G", "8G") else r"0 above 4 GiB",
                       r"^  free, zone normal +[1-9]" if mem in ("4G", "8G") else r"normal +0 "],
               forbid=NO_PANIC + [r"MISMATCH"], timeout=120)
      for machine, mem in [("pc", "3M"), ("pc", "32M"), ("pc", "128M"), ("pc", "4G"), ("pc", "8G"),
                           ("q35", "4G")]],
    # The kernel's footprint at -m 3M, read from `mem` right after boot: its parts add up, and
    # it stays within the budget. The budget is today's figure plus 3% (issue 15 aims at 256
    # KiB; docs/performance.md has the breakdown): growth past it fails the suite.
    QemuTest("kernel_footprint_at_3M_within_budget", 'run="mem; exit 0"', 0, mem="3M",
             check=footprint_within(FOOTPRINT_BUDGET_BYTES), forbid=NO_PANIC + [r"MISMATCH"]),
    # A CPU with 1 GiB pages (qemu64 has none): the direct map of 8 GiB uses them.
    QemuTest("direct_map_uses_1g_pages_when_the_cpu_has_them",
             'run="ktest memory; vtop 0xffff800100000000; mem; exit 0"', 0, mem="8G",
             qemu_args=["-cpu", "max"],
             expect=[r"paging: direct map in [1-9]\d* x 1 GiB", r"1 GiB pages: yes",
                     r"in a 1048576 KiB page", r"^\d+ passed, 0 failed",
                     r"^accounted: (\d+) bytes, usable: \1 bytes\r?$"], forbid=NO_PANIC),
    # malloc (issue 4): the mixed workload and a million random operations.
    QemuTest("malloc_workload_efficiency", 'run="malloc classes; malloc workload; malloc check; buddy check; exit 0"', 0,
             expect=[r"^efficiency: \d+\.\d+% overall", r"^malloc check: ok", r"^buddy check: ok"],
             check=lambda log: (lambda m: None if m and float(m.group(1)) >= 85 and float(m.group(2)) >= 80
                                else f"efficiency below 85%/80%: {m.group(0) if m else 'none'}")(
                 re.search(r"efficiency: (\d+\.\d+)% overall, (\d+\.\d+)% for 1025-4096 B", log)),
             forbid=NO_PANIC),
    QemuTest("malloc_million_operation_storm", 'run="mem; malloc storm 1000000; buddy check; mem; exit 0"', 0,
             expect=[r"stamps or alignment broken: 0; slab and large pages: (\d+) before, \1 after "
                     r"freeing all \(the same\); \d+ metadata pages; check: ok",
                     r"^buddy check: ok", r"^accounted: (\d+) bytes, usable: \1 bytes\r?$"],
             forbid=NO_PANIC, timeout=300),
    QemuTest("malloc_leaks_since_a_mark", 'malloc.track run="malloc leaks mark; malloc workload; '
             'malloc leak 25; malloc leaks; exit 0"', 0,
             expect=[r"^ +25 +1200  malloc_leak_on_purpose\+0x",
                     r"malloc leaks: 1 call site\(s\) hold more than at the mark"],
             forbid=NO_PANIC),
    # make memmap's picture (tools/memmap) writes every byte count `mem` and `e820` print.
    *[QemuTest(f"memmap_picture_agrees_with_mem_{mem}", 'run="e820; mem; exit 0"', 0, mem=mem,
               check=memmap_picture_agrees, forbid=NO_PANIC) for mem in ("3M", "128M")],
    # One object on demand (for GDB and lessons): two 2048-byte objects share a page, a
    # mistyped address is refused with a message (free would panic on it), and a freed
    # object cannot be freed again through the table.
    QemuTest("malloc_alloc_and_free_one_object",
             'run="malloc alloc 2048; malloc alloc 2048; malloc free 0x1234; malloc alloc; '
             'malloc check; exit 0"', 0,
             expect=[r"^malloc alloc: 0x[0-9a-f]+ \(2048 bytes asked, 2048 usable, class \d+ of "
                     r"2048-byte objects\) on CPU 0",
                     r"^malloc free: 0x1234 is not an object that `malloc alloc` handed out",
                     r"^usage: malloc alloc SIZE", r"^malloc check: ok"],
             check=two_objects_in_one_page, forbid=NO_PANIC),
    QemuTest("malloc_track_names_call_sites", 'malloc.track run="malloc workload; malloc top; exit 0"', 0,
             expect=[r"^efficiency:", r"malloc_workload\+0x"], forbid=NO_PANIC),
    QemuTest("malloc_poison_catches_use_after_free", 'malloc.poison run="crash use-after-free"',
             PANIC_STATUS, expect=[r"KERNEL PANIC: malloc.poison: the 64-byte object at 0x[0-9a-f]+ "
                                   r"\(class 3, slab 0x[0-9a-f]+\) was written after it was freed: "
                                   r"byte 10 is 0x78, not 0x6b"]),
    QemuTest("malloc_check_and_crash_list", 'run="malloc check; crash nothing; exit 0"', 0,
             expect=[r"^malloc check: ok", r"use-after-free +write to freed memory"]),
    QemuTest("crash_double_free_panics", 'run="crash double-free"', PANIC_STATUS,
             expect=[r"KERNEL PANIC: .*pfn", r"crash_double_free"]),
    QemuTest("exit_without_exit_device_halts", 'run="exit 3"', -1, exit_device=False,
             end_on=r"halted", expect=[r"no isa-debug-exit device at port 0xf4"]),
    QemuTest("smp_1_cpu", 'run="cpus; stress 3000; exit 0"', 0, smp=1,
             expect=[r"^1 CPUs online", r"^stress: passed \(1 CPU: cross-CPU frees not tested\)\r?$"]
             + SMP_EXPECT, forbid=NO_PANIC, check=smp_checks([0])),
    QemuTest("smp_2_cpus", 'run="cpus; stress 10000; exit 0"', 0, smp=2,
             expect=[r"^2 CPUs online"] + SMP_EXPECT, forbid=NO_PANIC, check=smp_checks([0, 1]),
             timeout=120),
    QemuTest("smp_4_cpus_and_on", 'run="cpus; on 3 echo from cpu 3; on 2 cpus; stress 10000; '
             'on 9 echo no; exit 0"', 0, smp=4,
             expect=[r"^4 CPUs online", r"^from cpu 3\r?$", r"^on: no CPU 9 \(there are 4\)"]
             + SMP_EXPECT, forbid=NO_PANIC, check=smp_checks([0, 1, 2, 3]), timeout=180),
    # malloc.debug: no magazines, every call checked and counted: the same storm, stress on 8
    # CPUs and checks pass in that mode too (the others run in release mode).
    QemuTest("malloc_debug_storm_stress_and_checks",
             'malloc.debug run="malloc storm 1000000; stress 3000; malloc stats; buddy check; exit 0"',
             0, smp=8, timeout=300,
             expect=[r"stamps or alignment broken: 0; slab and large pages: (\d+) before, \1 after "
                     r"freeing all \(the same\); \d+ metadata pages; check: ok",
                     r"^stress: passed \(8 CPUs", r"^buddy check: ok"],
             forbid=NO_PANIC + [r"cumulative figures: not counted"]),
    # Two CPUs out of memory at the same time: each asks the other for its magazines and
    # cached pages (an IPI) and answers the other while it waits: both come back.
    QemuTest("smp_two_cpus_out_of_memory_at_once", 'run="malloc oom; malloc drain; malloc check; '
             'buddy check; exit 0"', 0, smp=2, mem="64M", timeout=180,
             expect=[r"^malloc oom: CPU 0 got \d+ objects of 4 KiB, then NULL; CPU 1 got \d+, then "
                     r"NULL; both came back",
                     r"^malloc oom: free pages (\d+) before, \d+ after freeing all \+ \d+ kept by "
                     r"malloc as slab descriptors = \1 \(the same\)",
                     r"^malloc drain: 2 CPU\(s\) flushed;", r"^malloc check: ok", r"^buddy check: ok"],
             forbid=NO_PANIC),
    QemuTest("smp_8_cpus", 'run="cpus; stress 5000; exit 0"', 0, smp=8,
             expect=[r"^8 CPUs online", r"^stress: passed \(8 CPUs: every one took part, handed "
                     r"objects over and made remote frees; every page cache refilled and drained\)"]
             + SMP_EXPECT, forbid=NO_PANIC,
             check=smp_checks(list(range(8))), timeout=300),
    QemuTest("smp_non_contiguous_apic_ids", 'run="cpus; stress 5000; exit 0"', 0,
             smp="6,sockets=2,cores=3", expect=[r"^6 CPUs online"] + SMP_EXPECT,
             forbid=NO_PANIC, check=smp_checks([0, 1, 2, 4, 5, 6]), timeout=300),
    QemuTest("smp_maxcpus_disabled_entries", 'run="cpus; stress 5000; exit 0"', 0,
             smp="2,maxcpus=4", expect=[r"MADT at 0x[0-9a-f]+: 4 processor entries, 2 enabled",
                                        r"^2 CPUs online"] + SMP_EXPECT,
             forbid=NO_PANIC + [r"^ *2 +2 "], check=smp_checks([0, 1]), timeout=120),
    QemuTest("smp_deadlock_report_two_cpus", 'run="crash deadlock"', PANIC_STATUS, smp=2,
             expect=[r"suspected deadlock on lock 0x[0-9a-f]+: CPU 0 waited 2 seconds without the lock changing hands; held by CPU 1",
                     r"#\d+ +0x[0-9a-f]+ crash_deadlock\+",
                     r"CPU 1 \(the holder\), interrupted by an NMI:",
                     r"#0 +0x[0-9a-f]+ crash_hold_lock_forever\+"], timeout=120),
    QemuTest("smp_deadlock_report_recursive", 'run="crash deadlock"', PANIC_STATUS,
             expect=[r"suspected deadlock on lock 0x[0-9a-f]+: CPU 0 this CPU already holds it"]),
    QemuTest("smp_cpu_that_does_not_start_is_reported", 'smp.deaf=2 run="cpus; stress 3000; exit 0"',
             0, smp=4,
             expect=[r"smp: cpu 2 \(apic 2\) did not start \(smp.deaf", r"smp: 3 of 4 CPUs online",
                     r"^ *2 +2 FAILED ", r"^1 CPU\(s\) did not start", r"^3 CPUs online",
                     r"stress: CPU 2 is not online: it takes no part", r"^stress: 3 CPUs"]
             + SMP_EXPECT,
             forbid=NO_PANIC, timeout=120),
    QemuTest("smp_q35_4_cpus", 'run="cpus; acpi; stress 5000; exit 0"', 0, smp=4, machine="q35",
             expect=[r"^4 CPUs online", r"APIC .* ok", r"MCFG .* ok"] + SMP_EXPECT,
             forbid=NO_PANIC, check=smp_checks([0, 1, 2, 3]), timeout=180),
    # Issue 13: any CPU may ask any other to run a command, itself included, nested: a CPU
    # that waits runs what is posted to it (before, `on 1 on 0 version` hung for good).
    QemuTest("smp_nested_on_any_cpu_to_any_cpu",
             'run="on 1 on 0 version; on 1 on 1 echo to itself; on 2 on 1 on 0 echo three hops; '
             'on 3 on 3 on 2 on 0 on 1 echo five hops; on 2 on 1 on 0 cpus; echo answered; exit 0"',
             0, smp=4, timeout=120,
             expect=[r"ferrite> on 1 on 0 version\r?\nFerrite \d", r"^to itself\r?$",
                     r"^three hops\r?$", r"^five hops\r?$", r"^4 CPUs online", r"^answered\r?$"],
             forbid=NO_PANIC + [r"usage: on", r"busy"]),
    # stress must fail when cross-CPU work does not happen (--no-handoff keeps frees local),
    # and pass with malloc.poison (freed objects filled and checked on reuse).
    QemuTest("smp_stress_fails_without_cross_cpu_frees",
             'run="stress 2000 --no-handoff; exit 0"', 0, smp=2, timeout=120,
             expect=[r"stress: FAILED: cross-CPU frees did not happen: CPU 0 handed over 0 objects"],
             forbid=NO_PANIC + [r"^stress: passed"]),
    QemuTest("smp_stress_with_malloc_poison", 'malloc.poison run="stress 3000; exit 0"', 0, smp=4,
             timeout=180, expect=[r"^stress: passed \(4 CPUs"] + SMP_EXPECT, forbid=NO_PANIC),
    # bench uses the online CPUs: with CPU 1 not started, the 2-CPU run uses CPU 2 (before, it
    # posted to CPU 1 by index and reported 0 ops/s).
    QemuTest("smp_bench_uses_the_online_cpus", 'smp.deaf=1 run="bench 5000; exit 0"', 0, smp=4,
             timeout=180,
             expect=[r"bench malloc: 2 CPUs: (?!0\.00 )\d+\.\d\d M ops/s",
                     r"bench page-cache: 2 CPUs: (?!0\.00 )\d+\.\d\d M ops/s",
                     r"bench malloc: 4 CPUs: skipped \(3 online\)"], forbid=NO_PANIC),
    # An ABBA deadlock between two CPUs: both time out together, and there is one report with
    # both backtraces, both locks and both holders (before: two half reports, an "unhandled
    # NMI"). The CPU that reports then stops the other.
    QemuTest("smp_crash_abba_gives_one_report", 'run="crash; crash abba"', PANIC_STATUS, smp=2,
             timeout=120,
             expect=[r"^  crash abba +two CPUs each hold the lock the other waits for",
                     r"suspected deadlock on lock (0x[0-9a-f]+): CPU \d waited 2 seconds",
                     r"^CPU \d \(waiting\):", r"^CPU \d \(the holder\), interrupted by an NMI:",
                     r"crash_abba_second_half\+", r"#\d+ +0x[0-9a-f]+ crash_abba\+",
                     r"an ABBA deadlock: CPU (\d) holds lock (0x[0-9a-f]+) and waits for lock "
                     r"(0x[0-9a-f]+); CPU (?!\1)\d holds lock \3 and waits for lock \2",
                     r"CPU \d stopped the other CPUs: \d \(halted\)"],
             forbid=[r"unhandled NMI", r"did not answer", r"again, while panicking"],
             check=lambda log: None if log.count("*** suspected deadlock") == 1
             else f"{log.count('*** suspected deadlock')} deadlock reports, want one"),
    # A panic stops the other CPUs (an NMI each; they halt) and says so, on any CPU; with no
    # exit device the machine then halts instead of ending QEMU.
    QemuTest("smp_panic_stops_the_other_cpus", 'run="on 2 crash null"', -1, smp=4,
             exit_device=False, end_on=r"no isa-debug-exit device", timeout=120,
             expect=[r"KERNEL PANIC", r"CPU 2 stopped the other CPUs: 0 \(halted\) 1 \(halted\) "
                     r"3 \(halted\)", r"no isa-debug-exit device"],
             forbid=[r"did not answer"]),
    # buddy check holds every zone lock for its walk of every page; at 8 GiB the other CPUs are
    # paused meanwhile (holding nothing), so none can take the wait for a deadlock.
    QemuTest("smp_buddy_check_pauses_the_other_cpus",
             'run="buddy check; on 1 buddy check; stress 2000; exit 0"', 0, smp=2, mem="8G",
             timeout=240,
             expect=[r"^buddy check: ok \(the other 1 CPU paused for the walk: \d+ ms\)"]
             + SMP_EXPECT, forbid=NO_PANIC),
    # A CPU that answers just after the start deadline (smp.late forces it) stays offline: one
    # compare-and-swap on each side decides; before, it could be marked online after INIT.
    QemuTest("smp_cpu_answering_after_the_deadline_stays_offline",
             'smp.late=2 run="cpus; on 2 echo from two; stress 3000; exit 0"', 0, smp=4,
             timeout=120,
             expect=[r"smp: cpu 2 \(apic 2\) did not start in time: it answered after the "
                     r"deadline and was kept offline", r"^ *2 +2 FAILED ", r"^3 CPUs online",
                     r"on: CPU 2 is FAILED", r"^stress: 3 CPUs"] + SMP_EXPECT,
             forbid=NO_PANIC + [r"^from two"]),
    QemuTest("smp_crash_deadlock_from_cpu_1", 'run="on 1 crash deadlock"', PANIC_STATUS, smp=2,
             timeout=120,
             expect=[r"crash: CPU 0 takes a lock and keeps it; CPU 1 waits for it",
                     r"suspected deadlock on lock 0x[0-9a-f]+: CPU 1 waited 2 seconds without the lock changing hands; held by CPU 0",
                     r"CPU 0 \(the holder\), interrupted by an NMI:",
                     r"#0 +0x[0-9a-f]+ crash_hold_lock_forever\+"]),
    *bootfs_tests.tests(QemuTest, DEFAULT_BOOTFS, NO_PANIC),
    # UEFI (issue 18): the same ISO through OVMF. GRUB prints its own maps first (the
    # oracle); the kernel's map and accounting must agree with them.
    QemuTest("efimap_under_bios_says_there_is_none", 'run="efimap; exit 0"', 0,
             expect=[r"^efimap: no EFI memory map: GRUB passes one \(multiboot2 tag 17\) only "
                     r"when it was booted by UEFI"], forbid=NO_PANIC),
    *[QemuTest(f"uefi_{machine}_exit_status", 'run="exit 7"', 7, firmware="uefi",
               machine=machine, timeout=120,
               expect=[r"^boot: loaded by GRUB", r"^ferrite: exit status 7"], forbid=NO_PANIC)
      for machine in ("pc", "q35")],
    # The kernel asks for a framebuffer: GOP sets one under UEFI (and GRUB no longer says it
    # found no video mode), while a BIOS boot keeps the VGA text screen.
    QemuTest("uefi_framebuffer_from_gop", 'run="exit 0"', 0, firmware="uefi", timeout=120,
             expect=[r"^boot: framebuffer: 800x600 pixels, 32 bits \(red, green, blue at bits "
                     r"16, 8, 0\), pitch 3200 bytes, at physical 0x[0-9a-f]+"],
             forbid=NO_PANIC + [r"no suitable video mode", r"no console will be available"]),
    QemuTest("bios_framebuffer_stays_vga_text", 'run="exit 0"', 0,
             expect=[r"^boot: framebuffer: VGA text, 80x25 characters at 0xb8000"],
             forbid=NO_PANIC),
    *[QemuTest(f"uefi_{machine}_{mem}_maps_agree_with_grub", 'run="e820; efimap; mem; exit 0"',
               0, firmware="uefi", grub_maps=True, mem=mem, machine=machine, timeout=180,
               expect=[r"grub: lsefimmap", r"^accounted: (\d+) bytes, usable: \1 bytes\r?$"],
               forbid=NO_PANIC, check=grub_lsefimmap_agrees)
      for machine in ("pc", "q35") for mem in ("128M", "1G", "4G")],
    *[QemuTest(f"uefi_{machine}_crash_report", 'run="crash null"', PANIC_STATUS, firmware="uefi",
               machine=machine, timeout=120,
               expect=CRASH_COMMON + [r"#PF \(page fault, vector 14\)",
                                      r"crash_null_pointer\+0x"])
      for machine in ("pc", "q35")],
    *[QemuTest(f"uefi_{machine}_smp_4_stress", 'run="cpus; stress 3000; buddy check; exit 0"', 0,
               firmware="uefi", machine=machine, smp=4, mem="256M", timeout=300,
               expect=[r"^4 CPUs online", r"^buddy check: ok"] + SMP_EXPECT, forbid=NO_PANIC,
               check=smp_checks([0, 1, 2, 3]))
      for machine in ("pc", "q35")],
    # The framebuffer console: after help and mem (more lines than the 37 rows: it scrolled),
    # the screen's last rows are the newest lines, drawn with Debian's font.
    QemuTest("uefi_framebuffer_console_shows_the_prompt", 'run="help; mem; echo last line"', 0,
             firmware="uefi", timeout=120, exit_device=False, screendump=True,
             end_on=r"ferrite> echo last line\r?\nlast line\r?\nferrite> ",
             expect=[r"^console: on the framebuffer too, 100x37 characters \(font "
                     r"/fonts/Lat15-VGA16\.psf, 8x16\); 1876 KiB at 0xfffffd0000000000, "
                     r"write-combining"],
             forbid=NO_PANIC,
             check=framebuffer_shows(os.path.join(OUT, "uefi_framebuffer_console_shows_the_prompt.ppm"),
                                     ["ferrite> echo last line", "last line", "ferrite> "])),
    *[QemuTest(f"uefi_{machine}_bootfs_mounted",
               'run="mount; cat /README.txt; buddy check; exit 0"', 0, firmware="uefi",
               machine=machine, timeout=120,
               expect=[r"^bootfs: mounted the module at 0x[0-9a-f]+ \(\d+ bytes\) read-only on "
                       r"/: \d+ files, \d+ directories, \d+ bytes served in place, 0 copied",
                       r"^buddy check: ok"], forbid=NO_PANIC)
      for machine in ("pc", "q35")],
]


class SerialReader(threading.Thread):
    """Collects QEMU's stdout (the serial console) with the time of the prompt."""

    def __init__(self, stream, start):
        super().__init__(daemon=True)
        self.stream, self.start_time = stream, start
        self.data = bytearray()
        self.prompt_seconds = None
        self.lock = threading.Lock()

    def run(self):
        while True:
            chunk = os.read(self.stream.fileno(), 4096)
            if not chunk:
                return
            with self.lock:
                self.data += chunk
                if self.prompt_seconds is None and PROMPT in self.data:
                    self.prompt_seconds = time.monotonic() - self.start_time

    def text(self):
        with self.lock:
            return self.data.decode("utf-8", "replace")


def build_iso(test):
    iso = os.path.join(OUT, test.name + ".iso")
    bootfs = {"default": DEFAULT_BOOTFS, "none": ""}.get(test.bootfs, test.bootfs)
    if bootfs and not os.path.exists(bootfs):
        raise RuntimeError(f"no archive {bootfs} (make bootfs; the corpus: set TESTDATA)")
    subprocess.run([os.path.join(ROOT, "tools", "make-iso.sh"), KERNEL, iso, test.cmdline]
                   + ([bootfs] if bootfs else []), check=True,
                   env=dict(os.environ, GRUB_MAPS="1" if test.grub_maps else "0"))
    return iso


def take_screendump(monitor, path):
    """QEMU's monitor writes the screen to path (PPM); then QEMU is told to quit."""
    import socket
    if os.path.exists(path):
        os.remove(path)
    time.sleep(0.5)  # the last characters drawn after the serial line showed them
    with socket.socket(socket.AF_UNIX) as connection:
        connection.connect(monitor)
        connection.sendall(f"screendump {path}\n".encode())
        for _ in range(100):
            time.sleep(0.1)
            if os.path.exists(path) and os.path.getsize(path) > 0:
                break
        time.sleep(0.3)
        connection.sendall(b"quit\n")
        time.sleep(0.3)


def run_one(test):
    """Returns (ok, message, seconds to prompt)."""
    iso = build_iso(test)
    log_path = os.path.join(OUT, test.name + ".log")
    env = dict(os.environ, MEM=test.mem, MACHINE=test.machine, SMP=str(test.smp),
               ACCEL="tcg", SERIAL_LOG=log_path, GUI="0", FIRMWARE=test.firmware)
    command = [os.path.join(ROOT, "tools", "qemu-run.sh"), iso]
    command += test.qemu_args
    seabios_path = os.path.join(OUT, test.name + ".seabios.log")
    if test.seabios_log:  # SeaBIOS writes its debug output to port 0x402
        command += ["-chardev", f"file,id=seabios,path={seabios_path}",
                    "-device", "isa-debugcon,iobase=0x402,chardev=seabios"]
    monitor = os.path.join(OUT, test.name + ".monitor")
    if test.screendump:  # a second monitor, on a socket of its own
        command += ["-monitor", f"unix:{monitor},server=on,wait=off"]
    env["EXIT_DEVICE"] = "1" if test.exit_device else "0"
    start = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)  # so QEMU can be killed with it
    reader = SerialReader(process.stdout, start)
    reader.start()
    typed = False
    timed_out = ended_early = False
    while process.poll() is None:
        elapsed = time.monotonic() - start
        if elapsed > test.timeout:
            timed_out = True
            break
        if test.end_on and re.search(test.end_on, reader.text()):
            ended_early = True
            if test.screendump:
                take_screendump(monitor, os.path.join(OUT, test.name + ".ppm"))
            break
        if not typed and reader.prompt_seconds is not None:
            typed = True
            parts = test.typed if isinstance(test.typed, list) else [test.typed]
            try:
                for part in parts:
                    if isinstance(part, float):
                        time.sleep(part)
                        continue
                    for i in range(0, len(part), 64):  # a person types slower than a pipe
                        process.stdin.write(part[i:i + 64])
                        process.stdin.flush()
                        time.sleep(0.01)
            except BrokenPipeError:
                pass
        time.sleep(0.02)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    reader.join(timeout=5)
    stderr = process.stderr.read().decode("utf-8", "replace")
    log = reader.text()
    with open(os.path.join(OUT, test.name + ".out"), "w") as saved:
        saved.write(log + "\n--- qemu-run stderr ---\n" + stderr)

    problems = []
    if timed_out:
        problems.append(f"did not end within {test.timeout:.0f} s")
    elif ended_early:
        pass
    elif process.returncode != test.status:
        problems.append(f"status {process.returncode}, expected {test.status}")
    for pattern in test.expect:
        if not re.search(pattern, log, re.M):
            problems.append(f"missing /{pattern}/")
    for pattern in test.forbid:
        if re.search(pattern, log, re.M):
            problems.append(f"unexpected /{pattern}/")
    if test.check and test.seabios_log:
        with open(seabios_path, errors="replace") as seabios:
            error = test.check(log, seabios.read())
        if error:
            problems.append(error)
    elif test.check:
        error = test.check(log)
        if error:
            problems.append(error)
    if "Remote 'g' packet" in stderr or "triple fault" in stderr.lower():
        problems.append("QEMU reported: " + stderr.strip()[:200])
    return not problems, "; ".join(problems), reader.prompt_seconds


def measure_boot_time(boots):
    """Boot the plain ISO `boots` times, one at a time; print the times to the
    prompt (from starting QEMU, so SeaBIOS and GRUB are included)."""
    test = QemuTest("boot_time", 'run=""', 0, typed=b"exit 0\r")
    seconds = []
    for _ in range(boots):
        ok, message, prompt_seconds = run_one(test)
        if not ok or prompt_seconds is None:
            print(f"boot-time: a boot failed: {message}")
            return 1
        seconds.append(prompt_seconds)
    seconds.sort()
    print(f"boot-time: QEMU start to shell prompt over {boots} boots (TCG, -m 128M, pc): "
          f"min {seconds[0]:.3f} s, median {seconds[len(seconds) // 2]:.3f} s, "
          f"max {seconds[-1]:.3f} s")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", "--pattern", default="", help="run tests whose name contains this")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("-v", "--verbose", action="store_true", help="print the log of failures")
    parser.add_argument("--boot-time", type=int, metavar="N",
                        help="measure QEMU start to prompt over N boots, one at a time")
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    if args.boot_time:
        return measure_boot_time(args.boot_time)
    tests = [t for t in TESTS if args.pattern in t.name]
    passed = failed = 0
    prompt_times = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_one, test): test for test in tests}
        for future in concurrent.futures.as_completed(futures):
            test = futures[future]
            try:
                ok, message, prompt_seconds = future.result()
            except Exception as error:  # a broken runner counts as a failure
                ok, message, prompt_seconds = False, f"runner error: {error}", None
            if prompt_seconds is not None and not test.typed and test.mem == "128M" \
                    and test.firmware == "bios":
                prompt_times.append(prompt_seconds)
            if ok:
                passed += 1
                print(f"PASS qemu/{test.name}", flush=True)
            else:
                failed += 1
                print(f"FAIL qemu/{test.name}: {message}", flush=True)
                print(f"     log: build/tests/qemu/{test.name}.out", flush=True)
                if args.verbose:
                    with open(os.path.join(OUT, test.name + ".out")) as saved:
                        print(saved.read()[-3000:])
    if prompt_times:
        print(f"qemu: QEMU start to shell prompt: min {min(prompt_times):.2f} s, "
              f"max {max(prompt_times):.2f} s over {len(prompt_times)} boots "
              f"(two QEMUs at a time; see docs/performance.md)")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
