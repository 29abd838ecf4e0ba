# Lab 1's checks (run by `make grade LAB=1`, through labs/lab.py's Grader).
import re

MACHINES = [("pc", "3M"), ("pc", "128M"), ("pc", "4G"), ("q35", "4G")]


def firmware_ram(log):
    """Bytes of type-1 entries in the firmware's map as `e820` printed it (real QEMU maps do
    not overlap, so this is what the cleaning must find)."""
    part = log[log.rfind("firmware memory map, as given"):].split("cleaned (")[0]
    return sum(int(end, 16) - int(start, 16) for start, end in
               re.findall(r"^  0x([0-9a-f]+)-0x([0-9a-f]+) +\d+ KiB  type 1 ", part, re.M))


def grade(lab):
    built = lab.build()
    lab.check("the kernel builds", 10, built, "see build/labs/lab1/build.log")
    ok, why = lab.host_test("mm/test_memmap")
    lab.check("host tests: mm/memmap (tests/host/mm/test_memmap.c)", 20, ok, why)
    low_used = False
    for machine, mem in MACHINES:
        name = f"{machine}-{mem}"
        log, problem = ("", "the kernel did not build") if not built else lab.boot(
            name, 'run="e820; mem; buddy exhaust; exit 0"', mem=mem, machine=machine)
        hole = re.search(r"^KERNEL PANIC: (lab 1: .*)$", log, re.M)
        usable = re.search(r"^usable: (\d+) bytes, in whole pages", log, re.M)
        balanced = re.search(r"^accounted: (\d+) bytes, usable: \1 bytes$", log, re.M)
        firmware = firmware_ram(log)
        ok = bool(usable and balanced and firmware and int(usable.group(1)) == firmware)
        why = problem or (hole.group(1) if hole else
                          f"usable {usable.group(1) if usable else '?'} vs the firmware's RAM "
                          f"{firmware}; accounted = usable: {'yes' if balanced else 'no'} "
                          f"(build/labs/lab1/{name}.serial)")
        lab.check(f"-m {mem} {machine}: mem accounts for the firmware's RAM, byte for byte", 15,
                  ok, why)
        below = re.search(r"^buddy exhaust: .*: (\d+) below 1 MiB", log, re.M)
        low_used = low_used or bool(below and int(below.group(1)) > 0)
    lab.check("pages below 1 MiB are used (buddy exhaust takes some)", 10, low_used,
              "no boot gave the page allocator a page below 1 MiB")
