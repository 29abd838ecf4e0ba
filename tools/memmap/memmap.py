#!/usr/bin/env python3
"""memmap.py LOG OUT.svg [TITLE]: draw the physical memory map that a real boot printed.

LOG is a serial log in which the kernel ran `e820` and `mem` (`make memmap` boots
one). The picture has three bars, each with its byte counts written on it or in
its legend, all read from the log (nothing is computed from the kernel's code):

  1. the first 2 MiB, magnified: the firmware's regions (cleaned map) and the
     reservations in them (page 0, the kernel's sections, the boot information,
     the boot module...), so that the sub-megabyte regions are visible;
  2. all of physical memory up to the end of RAM: the same, with the zones
     (low below 1 MiB, dma32 below 4 GiB, normal above);
  3. where every usable byte is, as `mem` counts it: one segment per row
     (reservations, lost to alignment, page caches, free per zone, allocated),
     as wide as its share of the usable bytes.

The SVG is written directly (no plotting library: the picture is rectangles and
text, and a plain file is easy to test and diff).
"""
import html
import re
import sys

WIDTH, LEFT, RIGHT = 1200, 40, 1160
KIB, MIB, GIB = 1024, 1 << 20, 1 << 30

FIRMWARE_COLORS = {"RAM": "#cfe8c4", "reserved": "#bdbdbd", "ACPI reclaimable": "#f5c97a",
                   "ACPI NVS": "#e8a25c", "bad": "#e06666"}
RESERVATION_COLORS = ["#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                      "#bcbd22", "#7f7f7f", "#d62728", "#2ca02c", "#393b79", "#637939"]
ZONE_COLORS = {"low": "#fde0dd", "dma32": "#e0ecf4", "normal": "#efedf5"}


def parse(log):
    """(firmware regions [(start, end, type)], rows [(name, bytes, start, end)], usable)."""
    text = log.replace("\r", "")
    e820 = text.rfind("cleaned (sorted, overlaps resolved, merged;")
    mem = text.rfind("where every usable byte of RAM is (usable: ")
    if e820 < 0 or mem < 0:
        sys.exit("memmap: the log has no `e820` and `mem` output (boot with "
                 "run=\"e820; mem; exit 0\")")
    regions = []
    for line in text[e820:].split("\n")[1:]:
        match = re.match(r"^  0x([0-9a-f]+)-0x([0-9a-f]+) +\d+ KiB  (.+)$", line)
        if not match:
            break
        regions.append((int(match.group(1), 16), int(match.group(2), 16), match.group(3)))
    lines = text[mem:].split("\n")
    usable = int(re.search(r"usable: (\d+) bytes", lines[0]).group(1))
    rows = []
    for line in lines[1:]:
        if line.startswith("accounted:"):
            break
        match = re.match(r"^  (.+?) +(\d+) bytes +\d+ KiB(?:  at (0x[0-9a-f]+|0)-0x([0-9a-f]+))?$",
                         line)
        if match:
            start = int(match.group(3), 16) if match.group(3) else None
            end = int(match.group(4), 16) if match.group(4) else None
            rows.append((match.group(1), int(match.group(2)), start, end))
    if not regions or not rows:
        sys.exit("memmap: could not read the cleaned map or the rows of `mem` in the log")
    return regions, rows, usable


class Svg:
    def __init__(self):
        self.items = []

    def rect(self, x, y, w, h, fill, title=None, stroke="#444"):
        tip = f"<title>{html.escape(title)}</title>" if title else ""
        self.items.append(f'<rect x="{x:.2f}" y="{y}" width="{max(w, 0.8):.2f}" height="{h}" '
                          f'fill="{fill}" stroke="{stroke}" stroke-width="0.5">{tip}</rect>')

    def text(self, x, y, words, size=12, anchor="start", weight="normal"):
        self.items.append(f'<text x="{x:.2f}" y="{y}" font-size="{size}" text-anchor="{anchor}" '
                          f'font-weight="{weight}">{html.escape(words)}</text>')

    def write(self, path, height):
        with open(path, "w") as out:
            out.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
                      f'viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, sans-serif">\n')
            out.write(f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="white"/>\n')
            out.write("\n".join(self.items) + "\n</svg>\n")


def size_text(count):
    for unit, name in ((GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")):
        if count >= unit and count % unit == 0:
            return f"{count // unit} {name}"
    return f"{count} bytes" if count < KIB else f"{count / KIB:.1f} KiB"


def address_bar(svg, y, low, high, regions, reservations, colors, label, zones=False):
    """One bar of addresses [low, high): firmware regions on top, reservations under them."""
    scale = (RIGHT - LEFT) / (high - low)

    def x(address):
        return LEFT + (min(max(address, low), high) - low) * scale

    svg.text(LEFT, y - 8, label, 14, weight="bold")
    svg.rect(LEFT, y, RIGHT - LEFT, 34, "white", "no region: a hole (not RAM, not reported)")
    for start, end, kind in regions:
        if end > low and start < high:
            svg.rect(x(start), y, x(end) - x(start), 34, FIRMWARE_COLORS.get(kind, "#dddddd"),
                     f"{kind}: {start:#x}-{end:#x}")
    for name, _count, start, end in reservations:
        if end > low and start < high:
            svg.rect(x(start), y + 38, x(end) - x(start), 22, colors[name], f"{name}: {start:#x}-{end:#x}")
    if zones:
        for name, start, end in (("low", 0, MIB), ("dma32", MIB, 4 * GIB), ("normal", 4 * GIB, high)):
            if end > low and start < high:
                svg.rect(x(start), y + 64, x(end) - x(start), 16, ZONE_COLORS[name])
                svg.text((x(start) + x(min(end, high))) / 2, y + 76, f"zone {name}", 11, "middle")
    ticks = 8
    for i in range(ticks + 1):
        address = low + (high - low) * i // ticks
        svg.text(x(address), y + (96 if zones else 76), f"{address:#x}", 10, "middle")
    return y + (110 if zones else 90)


def draw(log, out, title):
    regions, rows, usable = parse(log)
    reservations = [row for row in rows if row[2] is not None]
    colors = {name: RESERVATION_COLORS[i % len(RESERVATION_COLORS)]
              for i, (name, _c, _s, _e) in enumerate(reservations)}
    ram_end = max(end for start, end, kind in regions if kind == "RAM")
    svg = Svg()
    svg.text(LEFT, 28, title or "Physical memory", 18, weight="bold")
    svg.text(LEFT, 48, f"usable: {usable} bytes ({size_text(usable)}); read from `e820` and "
             "`mem` on a real boot", 12)
    y = address_bar(svg, 90, 0, 2 * MIB, regions, reservations, colors,
                    "The first 2 MiB, magnified (firmware's regions above, reservations below)")
    y = address_bar(svg, y + 30, 0, ram_end, regions, reservations, colors,
                    f"All physical memory up to the end of RAM ({size_text(ram_end)})", zones=True)

    # Where every usable byte is: one segment per row of `mem`.
    y += 30
    svg.text(LEFT, y - 8, "Where every usable byte is (the rows of `mem`, widths to scale)", 14,
             weight="bold")
    x = LEFT
    row_colors = {}
    for name, count, start, _end in rows:
        if name in colors:
            row_colors[name] = colors[name]
        elif name.startswith("free"):
            row_colors[name] = "#a1d99b"
        elif name.startswith("allocated"):
            row_colors[name] = "#fb6a4a"
        else:
            row_colors[name] = "#fdd0a2"
        width = (RIGHT - LEFT) * count / usable
        if count:
            svg.rect(x, y, width, 34, row_colors[name], f"{name}: {count} bytes")
        x += width
    y += 58

    # The legend: every reservation and every row with its byte count, as `mem` says it.
    svg.text(LEFT, y, "Legend (bytes as `mem` counts them: the pages each row claims)", 13,
             weight="bold")
    y += 20
    for name, count, start, end in rows:
        svg.rect(LEFT, y - 11, 14, 14, row_colors[name])
        where = f" at {start:#x}-{end:#x}" if start is not None else ""
        svg.text(LEFT + 22, y, f"{name}: {count} bytes ({size_text(count)}){where}", 12)
        y += 19
    y += 10
    svg.text(LEFT, y, "Firmware regions (cleaned map):", 13, weight="bold")
    y += 20
    for start, end, kind in regions:
        svg.rect(LEFT, y - 11, 14, 14, FIRMWARE_COLORS.get(kind, "#dddddd"))
        svg.text(LEFT + 22, y, f"{kind}: {start:#x}-{end:#x}, {end - start} bytes "
                 f"({size_text(end - start)})", 12)
        y += 19
    svg.write(out, y + 20)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    draw(open(sys.argv[1], errors="replace").read(), sys.argv[2],
         sys.argv[3] if len(sys.argv) > 3 else None)
