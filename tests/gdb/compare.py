#!/usr/bin/env python3
"""compare.py KIND SERIAL_LOG GDB_LOG [ADDR...]: the GDB extension's view against the
kernel's own, printed at the same moment (tests/gdb/run.sh).

The serial log holds the shell's output after each "ferrite> COMMAND" line; the GDB
log holds each kmem command's output after a marker line "@@ COMMAND" (run.sh puts
`echo @@ ...` before every kmem command). KIND says what to compare:

  buddy   the free-block table of the last `buddy` against `kmem buddy`
  map     every row of the last `mem` (names and bytes, to "accounted:") against `kmem map`
  vtop    for each ADDR, `vtop ADDR` against `kmem vtop ADDR`, line for line
  lesson  (compare.py lesson DOC TRANSCRIPT) the lesson section of DOC against a fresh
          transcript of tools/gdb/lesson.py, line for line, numbers and addresses aside

Exits 0 when they agree; otherwise prints what differs and exits 1. No output from
one side is a failure, never a pass.
"""
import re
import sys


def blocks(path, prefix):
    """{command: [output lines of its last run]} from a log where each command's output
    follows a line starting with prefix."""
    found, current = {}, None
    try:
        text = open(path, errors="replace").read().replace("\r", "")
    except OSError as error:
        sys.exit(f"compare: cannot read {path}: {error}")
    for line in text.split("\n"):
        if line.startswith(prefix):
            current = line[len(prefix):].strip()
            found[current] = []
        elif current is not None:
            found[current].append(line)
    return found


def need(found, command, where):
    if command not in found or not any(line.strip() for line in found[command]):
        sys.exit(f"compare: no output of `{command}` in {where}")
    return found[command]


def buddy_table(lines):
    return [line.split() for line in lines if re.match(r"^(low|dma32|normal)\s+\d", line)]


def map_rows(lines):
    """(name, bytes) for each row of `mem`, up to the accounted line."""
    rows = []
    for line in lines:
        if line.startswith("accounted:"):
            rows.append(("accounted", line.split()[1]))
            break
        match = re.match(r"^  (.+?)\s+(\d+) bytes\s+\d+ KiB", line)
        if match:
            rows.append((match.group(1), match.group(2)))
    return rows


def vtop_lines(lines):
    return [line.rstrip() for line in lines
            if re.match(r"^  (PML4|PDPT|PD|PT)", line) or "->" in line or "not mapped" in line]


def differ(what, kernel, extension):
    print(f"compare: {what} differ")
    print(f"  kernel:    {kernel}")
    print(f"  extension: {extension}")
    return 1


# How many orders the first split of a boot spans moves with the kernel's size (the
# free blocks it finds): kbreak split words a one-order and a longer split differently,
# and either is the lesson's text.
SPLIT_ENDINGS = re.compile(r"its other half \(order #\) goes back to the free list$|"
                           r"free buddies of orders # to # go back to the free lists$")


def without_numbers(text):
    """Lines with every address and number replaced: what must stay the same."""
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"0x[0-9a-f]+", "0x#", line.rstrip())
        line = re.sub(r"\d+", "#", line)
        lines.append(SPLIT_ENDINGS.sub("<the split's other halves go back>", line))
    return [line for line in lines if line]


def lesson(doc, transcript):
    text = open(doc).read()
    begin, end = "<!-- lesson: begin -->", "<!-- lesson: end -->"
    if begin not in text or end not in text:
        print(f"compare: {doc} has no lesson section")
        return 1
    documented = without_numbers(text.split(begin, 1)[1].split(end, 1)[0])
    fresh = without_numbers(open(transcript).read())
    if len(fresh) < 20:
        print(f"compare: the fresh transcript {transcript} is too short ({len(fresh)} lines)")
        return 1
    for number, (old, new) in enumerate(zip(documented, fresh), 1):
        if old != new:
            print(f"compare: the lesson in {doc} is out of date (run `make gdb-lesson`); "
                  f"line {number} of the transcript:")
            print(f"  doc:   {old}")
            print(f"  fresh: {new}")
            return 1
    if len(documented) != len(fresh):
        print(f"compare: the lesson in {doc} has {len(documented)} lines, a fresh run "
              f"{len(fresh)} (run `make gdb-lesson`)")
        return 1
    return 0


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    if argv[0] == "lesson":
        return lesson(argv[1], argv[2])
    kind, serial_log, gdb_log, addresses = argv[0], argv[1], argv[2], argv[3:]
    shell = blocks(serial_log, "ferrite> ")
    gdb = blocks(gdb_log, "@@ ")
    failures = 0
    if kind == "buddy":
        kernel = buddy_table(need(shell, "buddy", serial_log))
        extension = buddy_table(need(gdb, "kmem buddy", gdb_log))
        if not kernel or kernel != extension:
            failures += differ("free-block tables", kernel, extension)
    elif kind == "map":
        kernel = map_rows(need(shell, "mem", serial_log))
        extension = map_rows(need(gdb, "kmem map", gdb_log))
        if len(kernel) < 5 or kernel != extension:
            failures += differ("`mem` rows", kernel, extension)
    elif kind == "vtop":
        if not addresses:
            sys.exit("compare: vtop needs addresses")
        for address in addresses:
            kernel = vtop_lines(need(shell, f"vtop {address}", serial_log))
            extension = vtop_lines(need(gdb, f"kmem vtop {address}", gdb_log))
            if not kernel or kernel != extension:
                failures += differ(f"walks of {address}", kernel, extension)
    else:
        sys.exit(f"compare: unknown kind {kind!r}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
