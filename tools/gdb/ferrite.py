"""ferrite.py: GDB commands that show Ferrite's memory, in the shell's words.

Loaded by `make debug` (tools/gdb/debug.sh) and, for a plain
`gdb build/ferrite.elf`, by the auto-load script the build writes next to
the ELF (build/ferrite.elf-gdb.py). Everything is read from the stopped
kernel's memory through the ELF's types and symbols; nothing calls into the
kernel, so the commands work at any breakpoint, on any CPU, and in a kernel
that panicked.

    kmem map             the cleaned memory map and where every usable byte is (`e820`, `mem`)
    kmem buddy [ZONE]    free blocks per zone and order, and each CPU's page cache (`buddy`)
    kmem page ADDR       the struct page of a physical or kernel address; `kmem page pfn N`
    kmem obj ADDR        what an address is: slab, class, object, allocated or free, who asked
    kmem malloc [CPU]    a CPU's malloc pool (the selected thread's by default)
    kmem vtop VADDR      walk the page tables from CR3, level by level (`vtop`)
    kmem cpus            the CPUs (GDB threads) with their per-CPU area and stacks

Physical memory is read through the kernel's direct map (DIRECT_MAP_BASE +
physical), which maps all RAM once the kernel's page tables are live.
"""
import struct

import gdb
import gdb.printing

PAGE_SIZE = 4096
KIB = 1024
DIRECT_MAP_BASE = 0xFFFF800000000000
KERNEL_VIRT_BASE = 0xFFFFFFFF80000000
PAGE_INDEX_NONE = 0xFFFFFFFF
KM_OWNER_LARGE = 0x80000000
KM_OWNER_INDEX_MASK = 0x3FFFFFFF
DESCRIPTORS_PER_PAGE = 32
POINTERS_PER_PAGE = 512

ZONE_NAMES = ["low", "dma32", "normal"]
# enum page_state, in the words of mm/buddy.c's page_state_name.
PAGE_STATES = {"PAGE_RESERVED": "reserved", "PAGE_FREE_HEAD": "free head",
               "PAGE_ALLOCATED_HEAD": "allocated head", "PAGE_TAIL": "tail",
               "PAGE_CACHED": "cached"}
SLAB_LISTS = ["unused descriptor", "current", "partial", "full", "kept (fully free)"]


class KmemError(Exception):
    """A message for the user: printed as it is, no Python traceback."""


# ---- reading the kernel ------------------------------------------------------------------


def static(file, name):
    """A file-scope variable of the kernel: 'kernel/memory.c'::buddy."""
    try:
        return gdb.parse_and_eval(f"'{file}'::{name}")
    except gdb.error as error:
        raise KmemError(f"cannot read {file}'s {name} ({error}): is build/ferrite.elf loaded?")


def u64(value):
    return int(value) & 0xFFFFFFFFFFFFFFFF


def read_bytes(address, length):
    try:
        return bytes(gdb.selected_inferior().read_memory(address, length))
    except gdb.MemoryError:
        raise KmemError(f"cannot read {length} bytes at {address:#x} (not mapped now)")


def read_u64(address):
    return struct.unpack("<Q", read_bytes(address, 8))[0]


def enum_name(value, enum=None):
    """The enumerator's name of a value: of enum type, or a number stored in a smaller field
    (struct page's state is a uint8_t) with the enum's name given."""
    number = int(value)
    kind = gdb.lookup_type(enum) if enum else value.type.strip_typedefs()
    for field in kind.fields():
        if field.enumval == number:
            return field.name
    return str(number)


def hex0(value):
    """%#lx as the kernel prints it: 0 for zero, 0x... otherwise."""
    return "0" if value == 0 else f"{value:#x}"


# mm/memmap.c's memmap_type_name.
MEMMAP_TYPES = {1: "RAM", 2: "reserved", 3: "ACPI reclaimable", 4: "ACPI NVS", 5: "bad"}


def memmap_type_name(kind):
    return MEMMAP_TYPES.get(kind, f"type {kind}" if kind < 32 else "other")


def register(name):
    try:
        return u64(gdb.parse_and_eval(f"${name}"))
    except gdb.error:
        return None


def number(text):
    """A number or a GDB expression (a symbol, $rax, 0x...)."""
    try:
        return u64(gdb.parse_and_eval(text))
    except gdb.error as error:
        raise KmemError(f"{text!r} is not an address or number: {error}")


def kernel_started():
    if u64(static("kernel/paging.c", "kernel_pml4_phys")) == 0:
        raise KmemError("the kernel's page tables are not built yet (stopped before "
                        "memory_init?): continue past kernel_main's memory step")


def symbol_at(address):
    block = gdb.execute(f"info symbol {address:#x}", to_string=True).strip()
    if block.startswith("No symbol"):
        return f"{address:#x}"
    name = block.split(" in section")[0]
    if " + " in name:  # "f + 37" -> "f+0x25", as the kernel's backtraces print it
        function, offset = name.split(" + ")
        name = f"{function}+{int(offset):#x}"
    return name


# ---- the page allocator ------------------------------------------------------------------


class Buddy:
    """kernel/memory.c's one buddy allocator and its page caches."""

    def __init__(self):
        kernel_started()
        self.buddy = static("kernel/memory.c", "buddy")
        self.pages = u64(self.buddy["pages"])
        self.page_count = int(self.buddy["page_count"])
        self.sections = []
        for i in range(int(self.buddy["section_count"])):
            s = self.buddy["sections"][i]
            self.sections.append((int(s["start_pfn"]), int(s["end_pfn"]), int(s["first_page"]),
                                  int(s["zone"])))

    def zone(self, index):
        return self.buddy["zones"][index]

    def free_blocks(self, zone, order):
        return int(self.zone(zone)["free_area"][order]["nr_free"])

    def max_order(self):
        return self.zone(0)["free_area"].type.range()[1]

    def index_of_pfn(self, pfn):
        for start, end, first, _zone in self.sections:
            if start <= pfn < end:
                return first + (pfn - start)
        return None

    def pfn_of_index(self, index):
        for start, end, first, _zone in self.sections:
            if first <= index < first + (end - start):
                return start + (index - first)
        return None

    def page(self, pfn):
        index = self.index_of_pfn(pfn)
        if index is None:
            return None
        return self.buddy["pages"][index]

    def page_caches(self):
        """[(cpu, struct page_cache)] of kernel/memory.c's page allocator."""
        caches = static("kernel/memory.c", "pages")["caches"]
        count = int(caches["cpu_count"])
        return [(cpu, caches["caches"][cpu]) for cpu in range(count)]

    def cached_pages(self):
        return sum(int(cache["count"]) for _cpu, cache in self.page_caches())

    def cache_holding(self, index):
        """The CPU whose page cache lists page index, or None."""
        for cpu, cache in self.page_caches():
            walk, steps = int(cache["first"]), 0
            while walk != PAGE_INDEX_NONE and steps <= int(cache["count"]):
                if walk == index:
                    return cpu
                walk = int(self.buddy["pages"][walk]["next"])
                steps += 1
        return None

    def census(self):
        """Pages by what the page states say: free, allocated, cached (one read of the array)."""
        page_type = gdb.lookup_type("struct page")
        size = page_type.sizeof
        offset = {field.name: field.bitpos // 8 for field in page_type.fields()}
        raw = read_bytes(self.pages, self.page_count * size)
        free = [0] * len(ZONE_NAMES)
        allocated = cached = 0
        states = {field.name: field.enumval for field in gdb.lookup_type("enum page_state").fields()}
        for page in range(0, len(raw), size):
            state = raw[page + offset["state"]]
            pages = 1 << raw[page + offset["order"]]
            if state == states["PAGE_FREE_HEAD"]:
                free[raw[page + offset["zone"]]] += pages
            elif state == states["PAGE_ALLOCATED_HEAD"]:
                allocated += pages
            elif state == states["PAGE_CACHED"]:
                cached += 1
        return free, allocated, cached


# ---- bootmem's reservations, as `mem` counts them -----------------------------------------


def subtract(intervals, cut):
    """Page intervals [a, b) minus the interval cut."""
    out = []
    for a, b in intervals:
        if cut[1] <= a or b <= cut[0]:
            out.append((a, b))
            continue
        if a < cut[0]:
            out.append((a, cut[0]))
        if cut[1] < b:
            out.append((cut[1], b))
    return out


def intersect(intervals, ram):
    out = []
    for a, b in intervals:
        for r0, r1 in ram:
            lo, hi = max(a, r0), min(b, r1)
            if lo < hi:
                out.append((lo, hi))
    return out


def reservations():
    """[(name, start, end, claimed bytes)]: each claims the pages it touches, within RAM,
    that no earlier reservation claims (mm/bootmem.h)."""
    bootmem = static("kernel/memory.c", "bootmem")
    ram = [(u64(bootmem["ram"][i]["start"]) // PAGE_SIZE, u64(bootmem["ram"][i]["end"]) // PAGE_SIZE)
           for i in range(int(bootmem["ram_count"]))]
    rows, earlier = [], []
    for i in range(int(bootmem["reserved_count"])):
        r = bootmem["reserved"][i]
        if bool(r["released"]):
            continue
        start, end = u64(r["start"]), u64(r["end"])
        touched = (start // PAGE_SIZE, (end + PAGE_SIZE - 1) // PAGE_SIZE)
        mine = intersect([touched], ram) if end > start else []
        for cut in earlier:
            mine = subtract(mine, cut)
        earlier.append(touched)
        claimed = sum(b - a for a, b in mine) * PAGE_SIZE
        rows.append((r["name"].string(), start, end, claimed))
    return rows


def print_row(name, count, where=""):
    gdb.write(f"  {name:<38} {count:12} bytes {count // KIB:8} KiB{where}\n")


# ---- kmem ---------------------------------------------------------------------------------


class KmemCommand(gdb.Command):
    """Ferrite's memory, read from the stopped kernel (tools/gdb/ferrite.py).

kmem map             the cleaned memory map and where every usable byte is (as `e820`, `mem`)
kmem buddy [ZONE]    free blocks per zone and order; each CPU's page cache (as `buddy`)
kmem page ADDR       the struct page of an address (physical, or a kernel virtual address)
kmem page pfn N      the struct page of page frame N
kmem obj ADDR        what an address is: slab, class, object, allocated or free, who asked
kmem malloc [CPU]    a CPU's malloc pool: magazines, current and partial slabs, remote frees
kmem vtop VADDR      walk the page tables from CR3, level by level (as `vtop`)
kmem cpus            the CPUs (GDB threads) with their per-CPU area and stacks"""

    def __init__(self):
        super().__init__("kmem", gdb.COMMAND_DATA, gdb.COMPLETE_COMMAND, True)

    def invoke(self, argument, from_tty):
        if argument.strip():
            raise gdb.GdbError(f"kmem: no subcommand {argument.split()[0]!r} (`help kmem` lists them)")
        gdb.write(self.__doc__.split("\n", 1)[1].lstrip("\n") + "\n")


class Subcommand(gdb.Command):
    """A kmem subcommand: errors print as one line, not a Python traceback."""

    def __init__(self, name):
        super().__init__(f"kmem {name}", gdb.COMMAND_DATA)

    def invoke(self, argument, from_tty):
        try:
            self.run(gdb.string_to_argv(argument))
        except KmemError as error:
            raise gdb.GdbError(f"kmem: {error}")


class KmemMap(Subcommand):
    """The cleaned memory map, then where every usable byte is (as the shell's `mem`).
Usage: kmem map
The rows are bootmem's reservations, the free pages of each zone, the page caches and the
allocated pages, each counted from the kernel's own tables (allocated: from the page states)."""

    def __init__(self):
        super().__init__("map")

    def run(self, argv):
        if argv:
            raise KmemError("usage: kmem map")
        buddy = Buddy()
        clean = static("kernel/memory.c", "clean_map")
        gdb.write(f"cleaned memory map ({int(clean['region_count'])} regions):\n")
        for i in range(int(clean["region_count"])):
            region = clean["regions"][i]
            start, end = u64(region["start"]), u64(region["end"])
            gdb.write(f"  0x{start:012x}-0x{end:012x} {(end - start) // KIB:10} KiB  "
                      f"{memmap_type_name(int(region['type']))}\n")
        usable = u64(clean["usable_bytes"])
        lost = u64(clean["lost_to_alignment_bytes"])
        gdb.write(f"where every usable byte of RAM is (usable: {usable} bytes = "
                  f"{usable // KIB} KiB):\n")
        accounted = 0
        for name, start, end, claimed in reservations():
            if claimed:
                print_row(name, claimed, f"  at {hex0(start)}-{hex0(end)}")
                accounted += claimed
        print_row("lost to alignment (partial pages)", lost)
        free, allocated, cached = buddy.census()
        caches = buddy.page_caches()
        high = int(caches[0][1]["high"]) if caches else 0
        batch = int(caches[0][1]["batch"]) if caches else 0
        print_row(f"per-CPU page caches (high {high}, batch {batch})", cached * PAGE_SIZE)
        for zone, name in enumerate(ZONE_NAMES):
            print_row(f"free, zone {name}", free[zone] * PAGE_SIZE)
        print_row("allocated from the page allocator", allocated * PAGE_SIZE)
        accounted += lost + (cached + sum(free) + allocated) * PAGE_SIZE
        mark = "" if accounted == usable else "   <-- MISMATCH"
        gdb.write(f"accounted: {accounted} bytes, usable: {usable} bytes{mark}\n")


class KmemBuddy(Subcommand):
    """Free blocks per zone and order (as the shell's `buddy`), and each CPU's page cache.
Usage: kmem buddy [ZONE]    (ZONE: low, dma32 or normal)
The table has the shape of Linux's /proc/buddyinfo; then, per CPU, the pages its cache
holds, its watermarks and its traffic with the buddy allocator."""

    def __init__(self):
        super().__init__("buddy")

    def run(self, argv):
        buddy = Buddy()
        zones = list(range(len(ZONE_NAMES)))
        if len(argv) > 1:
            raise KmemError("usage: kmem buddy [ZONE]")
        if argv:
            if argv[0] not in ZONE_NAMES:
                raise KmemError(f"no zone {argv[0]!r}: the zones are {', '.join(ZONE_NAMES)}")
            zones = [ZONE_NAMES.index(argv[0])]
        orders = range(buddy.max_order() + 1)
        gdb.write("free blocks per order (order n = 2^n pages of 4 KiB):\n")
        gdb.write("zone   " + "".join(f" {order:6}" for order in orders) + "\n")
        for zone in zones:
            gdb.write(f"{ZONE_NAMES[zone]:<7}" +
                      "".join(f" {buddy.free_blocks(zone, order):6}" for order in orders) + "\n")
        gdb.write(f"(and {buddy.cached_pages()} free pages in the per-CPU page caches, "
                  "not in these lists)\n")
        for cpu, cache in buddy.page_caches():
            gdb.write(f"page cache of CPU {cpu}: {int(cache['count'])} pages (low "
                      f"{int(cache['low'])}, high {int(cache['high'])}, batch "
                      f"{int(cache['batch'])}); {int(cache['allocs'])} allocations, "
                      f"{int(cache['frees'])} frees, {int(cache['refills'])} refills, "
                      f"{int(cache['drains'])} drains\n")


# ---- malloc ---------------------------------------------------------------------------------


def size_class(index):
    cls = gdb.parse_and_eval("size_classes")[index]
    return {"index": index, "object_bytes": int(cls["object_bytes"]),
            "objects": int(cls["objects"]), "slab_pages": int(cls["slab_pages"])}


def descriptor(index):
    """mm/malloc.c's slab descriptor number index (a struct km_slab)."""
    directory = static("mm/malloc.c", "directory")
    top = directory[index // (POINTERS_PER_PAGE * DESCRIPTORS_PER_PAGE)]
    if u64(top) == 0:
        raise KmemError(f"descriptor {index} is past the directory")
    page = top[index // DESCRIPTORS_PER_PAGE % POINTERS_PER_PAGE]
    return page[index % DESCRIPTORS_PER_PAGE]


def pools():
    """[(cpu, struct km_cpu *)] for the CPUs malloc has pools for."""
    count = int(static("mm/malloc.c", "cpu_count"))
    cpus = static("mm/malloc.c", "cpus")
    return [(cpu, cpus[cpu]) for cpu in range(count)]


def magazine(pool, index):
    offset = int(static("mm/malloc.c", "magazine_offset")[index])
    pointer = u64(pool) + offset
    return gdb.Value(pointer).cast(gdb.lookup_type("struct km_magazine").pointer())


def magazine_holds(pool, index, address):
    mag = magazine(pool, index)
    count = int(mag["count"])
    stack = u64(mag) + 16 # after count and cap
    words = struct.unpack(f"<{count + 1}Q", read_bytes(stack, (count + 1) * 8))
    return address in words[1:]


def slab_describe_object(slab, address):
    """(object index, state words) for address in slab."""
    cls = size_class(int(slab["class_index"]))
    base = u64(slab["base"])
    offset = address - base
    obj = offset // cls["object_bytes"]
    if obj >= int(slab["object_count"]):
        return obj, cls, "in the slab's tail (no object there)"
    word, bit = obj // 64, 1 << (obj % 64)
    if int(slab["free_bits"][word]) & bit:
        return obj, cls, "free (in the slab's bitmap)"
    if int(slab["remote_bits"][word]) & bit:
        return obj, cls, "free (freed by another CPU: in the slab's remote bitmap, not folded in yet)"
    object_start = base + obj * cls["object_bytes"]
    for cpu, pool in pools():
        if magazine_holds(pool, cls["index"], object_start):
            return obj, cls, f"free (waiting in CPU {cpu}'s magazine for class {cls['index']})"
        inbox = pool["inbox"]
        head, tail = int(pool["inbox_head"]), int(pool["inbox_tail"])
        slots = inbox.type.range()[1] + 1
        for sequence in range(tail, head):
            if u64(inbox[sequence % slots]) == object_start:
                return obj, cls, f"free (sent back to CPU {cpu}: in its inbox of remote frees)"
    return obj, cls, "allocated"


class Owner:
    """What a page's owner word (struct page.owner) says."""

    def __init__(self, page):
        self.word = int(page["owner"])
        self.large_pages = self.word & KM_OWNER_INDEX_MASK if self.word & KM_OWNER_LARGE else 0
        self.slab = None
        if self.word and not self.word & KM_OWNER_LARGE:
            self.slab = descriptor((self.word & KM_OWNER_INDEX_MASK) - 1)


def page_state(page):
    """A struct page's state in words ("free head", "cached"...)."""
    name = enum_name(page["state"], "enum page_state")
    return PAGE_STATES.get(name, name)


def physical_of(address):
    """A physical address from a physical, direct-map or kernel-image address."""
    if address >= KERNEL_VIRT_BASE:
        return address - KERNEL_VIRT_BASE
    if address >= DIRECT_MAP_BASE:
        return address - DIRECT_MAP_BASE
    return address


def reservation_of(phys):
    for name, start, end, claimed in reservations():
        if claimed and start // PAGE_SIZE * PAGE_SIZE <= phys < end:
            return name
    return None


def describe_page(buddy, pfn):
    page = buddy.page(pfn)
    if page is None:
        raise KmemError(f"page frame {pfn:#x} is not RAM the page allocator knows (holes, "
                        "firmware areas and page 0 have no struct page)")
    index = buddy.index_of_pfn(pfn)
    state = page_state(page)
    gdb.write(f"pfn {pfn:#x} (physical {pfn * PAGE_SIZE:#x}): struct page #{index} at "
              f"{u64(page.address):#x}\n")
    gdb.write(f"  state {state}, zone {ZONE_NAMES[int(page['zone'])]}, section "
              f"{int(page['section'])}")
    if state in ("free head", "allocated head"):
        pages = 1 << int(page["order"])
        gdb.write(f", order {int(page['order'])} ({pages} page{'s' if pages > 1 else ''})")
    gdb.write("\n")
    if state == "free head":
        gdb.write(f"  a free buddy block of order {int(page['order'])}, in zone "
                  f"{ZONE_NAMES[int(page['zone'])]}'s free list\n")
    elif state == "cached":
        cpu = buddy.cache_holding(index)
        where = f"CPU {cpu}'s" if cpu is not None else "a CPU's"
        gdb.write(f"  a free page waiting in {where} page cache\n")
    elif state == "tail":
        head = find_head(buddy, pfn)
        if head is not None:
            head_state = page_state(buddy.page(head))
            gdb.write(f"  inside the block at pfn {head:#x} ({head_state}, order "
                      f"{int(buddy.page(head)['order'])})\n")
    elif state == "reserved":
        name = reservation_of(pfn * PAGE_SIZE)
        gdb.write(f"  reserved at boot as: {name or 'not handed to the page allocator'}\n")
    owner = Owner(page)
    if owner.slab is not None:
        slab = owner.slab
        cls = size_class(int(slab["class_index"]))
        gdb.write(f"  malloc: a page of a slab of class {cls['index']} ({cls['object_bytes']}-byte "
                  f"objects, {cls['objects']} in {cls['slab_pages']} page"
                  f"{'s' if cls['slab_pages'] > 1 else ''}), slab at {u64(slab['base']):#x}, "
                  f"{int(slab['free_count'])} free in its bitmap, owner CPU "
                  f"{int(slab['owner_cpu'])}, {SLAB_LISTS[int(slab['list'])]}\n")
        describe_objects_on_page(slab, cls, pfn)
    elif owner.large_pages:
        gdb.write(f"  malloc: the first page of a large run of {owner.large_pages} pages\n")
    return page


def describe_objects_on_page(slab, cls, pfn):
    """The objects that start on this page of a slab, each with its state (a summary when
    there are many)."""
    base = u64(slab["base"])
    page_start = DIRECT_MAP_BASE + pfn * PAGE_SIZE
    first = max(0, -(-(page_start - base) // cls["object_bytes"]))
    states = []
    for obj in range(first, int(slab["object_count"])):
        start = base + obj * cls["object_bytes"]
        if start >= page_start + PAGE_SIZE:
            break
        states.append((obj, slab_describe_object(slab, start)[2]))
    if not states:
        gdb.write("  no object starts on this page (the previous one runs into it)\n")
    elif len(states) <= 8:
        gdb.write("  objects starting on this page: " +
                  "; ".join(f"#{obj} {state}" for obj, state in states) + "\n")
    else:
        counts = {}
        for _obj, state in states:
            word = state.split(" (")[0]
            counts[word] = counts.get(word, 0) + 1
        gdb.write(f"  objects #{states[0][0]}-#{states[-1][0]} start on this page: " +
                  ", ".join(f"{count} {word}" for word, count in sorted(counts.items())) + "\n")


def find_head(buddy, pfn):
    """The head of the block containing a tail page (a multiple of its order)."""
    for order in range(1, buddy.max_order() + 1):
        head = pfn & ~((1 << order) - 1)
        page = buddy.page(head)
        if page is None:
            return None
        if page_state(page) in ("free head", "allocated head") and int(page["order"]) >= order:
            return head
    return None


class KmemPage(Subcommand):
    """The struct page of an address or page frame, decoded, with who owns the page.
Usage: kmem page ADDR | kmem page pfn N
ADDR may be physical, in the direct map, or in the kernel image. Shows the zone, the state,
the order, and the owner: a free buddy block, a page cache, a malloc slab (its class) or large
run, or the boot reservation that holds it."""

    def __init__(self):
        super().__init__("page")

    def run(self, argv):
        if len(argv) == 2 and argv[0] == "pfn":
            pfn = number(argv[1])
        elif len(argv) == 1:
            pfn = physical_of(number(argv[0])) // PAGE_SIZE
        else:
            raise KmemError("usage: kmem page ADDR | kmem page pfn N")
        describe_page(Buddy(), pfn)


class KmemObj(Subcommand):
    """What an address is to malloc: slab, class, object, allocated or free, who asked.
Usage: kmem obj ADDR
A free object is found where it waits: the slab's bitmap, a CPU's magazine, the remote bitmap
or an inbox. With malloc.track (a boot option), an allocated one shows its call site and the
size requested."""

    def __init__(self):
        super().__init__("obj")

    def run(self, argv):
        if len(argv) != 1:
            raise KmemError("usage: kmem obj ADDR")
        address = number(argv[0])
        buddy = Buddy()
        phys = physical_of(address)
        page = buddy.page(phys // PAGE_SIZE)
        if page is None:
            raise KmemError(f"{address:#x} is not in RAM the page allocator knows")
        owner = Owner(page)
        if owner.slab is None and not owner.large_pages:
            state = page_state(page)
            raise KmemError(f"{address:#x} is in a page malloc does not own (page state: {state}; "
                            f"`kmem page {address:#x}` says more)")
        if owner.large_pages:
            start = DIRECT_MAP_BASE + phys // PAGE_SIZE * PAGE_SIZE
            gdb.write(f"{address:#x}: in a large run of {owner.large_pages} pages starting at "
                      f"{start:#x} (malloc of more than 4 KiB), offset {address - start:#x}\n")
            return
        slab = owner.slab
        virt = DIRECT_MAP_BASE + phys
        obj, cls, state = slab_describe_object(slab, virt)
        start = u64(slab["base"]) + obj * cls["object_bytes"]
        gdb.write(f"{address:#x}: object {obj} of {int(slab['object_count'])} in the slab at "
                  f"{u64(slab['base']):#x} (class {cls['index']}: {cls['object_bytes']} bytes, "
                  f"{cls['objects']} objects in {cls['slab_pages']} page"
                  f"{'s' if cls['slab_pages'] > 1 else ''}), offset {virt - start} in it\n")
        gdb.write(f"  object at {start:#x}-{start + cls['object_bytes']:#x}: {state}\n")
        gdb.write(f"  slab: owner CPU {int(slab['owner_cpu'])}, {SLAB_LISTS[int(slab['list'])]}, "
                  f"{int(slab['free_count'])} free in its bitmap, descriptor "
                  f"#{int(slab['index'])}\n")
        track = u64(slab["track"])
        if track and state == "allocated":
            entry = slab["track"][obj]
            site = int(entry["site"])
            caller = u64(static("mm/malloc.c", "sites")[site]["caller"])
            who = symbol_at(caller) if caller else "(a call site past the table)"
            gdb.write(f"  malloc.track: {int(entry['requested_bytes'])} bytes requested by {who}\n")
        elif not track:
            gdb.write("  (boot with malloc.track to see who allocated it)\n")


def this_cpu_index():
    """The selected thread's CPU, from its GS base (struct cpu.index)."""
    gs = register("gs_base")
    if not gs:
        raise KmemError("GS base is 0 on this thread: the CPU has no per-CPU area yet")
    cpu = gdb.Value(gs).cast(gdb.lookup_type("struct cpu").pointer())
    return int(cpu["index"])


class KmemMalloc(Subcommand):
    """A CPU's malloc pool: magazines, current and partial slabs, remote frees.
Usage: kmem malloc [CPU]    (default: the selected GDB thread's CPU)
For each class in use: the magazine's fill and capacity, the current slab, the partial slabs,
the kept slab, remote frees queued; then the inbox of objects other CPUs sent back."""

    def __init__(self):
        super().__init__("malloc")

    def run(self, argv):
        if len(argv) > 1:
            raise KmemError("usage: kmem malloc [CPU]")
        kernel_started()
        cpu = number(argv[0]) if argv else this_cpu_index()
        all_pools = dict(pools())
        if cpu not in all_pools:
            raise KmemError(f"CPU {cpu} has no malloc pool (pools: {sorted(all_pools)})")
        pool = all_pools[cpu]
        gdb.write(f"malloc pool of CPU {cpu} at {u64(pool):#x}"
                  f"{' (the selected thread)' if not argv else ''}:\n")
        gdb.write("class object  magazine  current slab (free)        partial  kept  remote "
                  "queue  live\n")
        count = gdb.parse_and_eval("size_classes").type.range()[1] + 1
        for index in range(count):
            classes = pool["classes"][index]
            mag = magazine(pool, index)
            current = u64(classes["current"])
            partial, walk = 0, classes["partial"]
            while u64(walk) and partial < 100000:
                partial += 1
                walk = walk["next"]
            kept = u64(classes["kept"])
            remote = u64(pool["remote_queue"][index])
            live = int(classes["live_objects"])
            if not (current or partial or kept or int(mag["count"]) or remote or live):
                continue
            cls = size_class(index)
            current_text = "-"
            if current:
                slab = classes["current"]
                current_text = f"{u64(slab['base']):#x} ({int(slab['free_count'])})"
            gdb.write(f"{index:5} {cls['object_bytes']:6} {int(mag['count']):4}/{int(mag['cap']):<4} "
                      f"{current_text:<26} {partial:7} {'yes' if kept else 'no':>5} "
                      f"{'pending' if remote else '-':>12} {live:5}\n")
        head, tail = int(pool["inbox_head"]), int(pool["inbox_tail"])
        gdb.write(f"inbox (objects of this CPU's slabs freed by other CPUs): {head - tail} "
                  f"waiting (head {head}, tail {tail})\n")
        gdb.write(f"large runs: {int(pool['large_live'])} live, {int(pool['large_pages'])} pages\n")
        gdb.write("(live: this CPU's count; a free counts on the CPU that frees, so only the "
                  "sum over CPUs is the number of live objects)\n")


class KmemVtop(Subcommand):
    """Walk the page tables from CR3 for a virtual address (as the shell's `vtop`).
Usage: kmem vtop VADDR
Each level's entry with its flags, then the physical address and the page size."""

    def __init__(self):
        super().__init__("vtop")

    def run(self, argv):
        if len(argv) != 1:
            raise KmemError("usage: kmem vtop VADDR")
        kernel_started()
        virt = number(argv[0])
        cr3 = register("cr3")
        table = (cr3 if cr3 is not None else u64(static("kernel/paging.c", "kernel_pml4_phys")))
        table &= 0x000FFFFFFFFFF000
        names = ["PML4", "PDPT", "PD", "PT"]
        for step, level in enumerate(range(3, -1, -1)):
            index = (virt >> (12 + 9 * level)) & 511
            entry = read_u64(DIRECT_MAP_BASE + table + index * 8)
            flags = ["present" if entry & 1 else "not present"]
            flags += [word for bit, word in [(2, "writable"), (4, "user")] if entry & bit]
            if entry & 0x80 and step < 3:
                flags.append("huge")
            if entry >> 63:
                flags.append("no-execute")
            # %#018lx, as the kernel prints it: C's # adds no 0x to a zero.
            shown = f"{entry:#018x}" if entry else "0" * 18
            gdb.write(f"  {names[step]:<4}[{index:3}] = {shown}  {' '.join(flags)}\n")
            if not entry & 1:
                gdb.write(f"{virt:#x} is not mapped\n")
                return
            if level == 0 or entry & 0x80:
                size = PAGE_SIZE << (9 * level)
                phys = (entry & 0x000FFFFFFFFFF000 & ~(size - 1)) | (virt & (size - 1))
                gdb.write(f"{virt:#x} -> physical {phys:#x} (in a {size // KIB} KiB page)\n")
                return
            table = entry & 0x000FFFFFFFFFF000


class KmemCpus(Subcommand):
    """The CPUs, each with its GDB thread, per-CPU area and stacks.
Usage: kmem cpus
QEMU's GDB stub shows each CPU as a thread; the thread whose GS base is a CPU's struct cpu is
that CPU. `thread N` selects one, and `kmem malloc` then shows its pool."""

    def __init__(self):
        super().__init__("cpus")

    def run(self, argv):
        if argv:
            raise KmemError("usage: kmem cpus")
        table = static("kernel/smp.c", "cpus")
        count = int(static("kernel/smp.c", "cpu_count"))
        if u64(table) == 0:
            raise KmemError("no CPU table yet (stopped before smp_init)")
        threads = {}
        selected = gdb.selected_thread()
        for thread in gdb.selected_inferior().threads():
            thread.switch()
            threads[register("gs_base")] = thread.num
        if selected is not None:
            selected.switch()
        gdb.write(f"{count} CPU{'s' if count != 1 else ''} in the kernel's table:\n")
        gdb.write("cpu  apic  state     gdb thread  struct cpu          stack                   "
                  "                double-fault stack\n")
        for index in range(max(count, 1)):
            cpu = table[index]
            if u64(cpu) == 0:
                continue
            cpu = cpu.dereference()
            state = enum_name(cpu["state"]).replace("CPU_", "").lower()
            thread = threads.get(u64(cpu.address), "-")
            mark = "*" if selected is not None and thread == selected.num else " "
            gdb.write(f"{index:3}{mark} {int(cpu['apic_id']):4}  {state:<9} {thread!s:>10}  "
                      f"{u64(cpu.address):#018x}  {u64(cpu['stack_bottom']):#x}-"
                      f"{u64(cpu['stack_top']):#x}  {u64(cpu['double_fault_stack_bottom']):#x}-"
                      f"{u64(cpu['double_fault_stack_top']):#x}\n")
        gdb.write("(* the selected thread; `thread N` switches, and `kmem malloc` follows)\n")


# ---- kbreak: breakpoints on the allocators' events ------------------------------------------


class EventBreakpoint(gdb.Breakpoint):
    """A breakpoint that says what happened when it stops; stop_if decides whether it does."""

    def __init__(self, location, describe, stop_if=None):
        super().__init__(location, internal=False)
        self.describe, self.stop_if = describe, stop_if

    def stop(self):
        try:
            if self.stop_if and not self.stop_if():
                return False
            gdb.write(self.describe() + "\n")
        except (gdb.error, KmemError) as error:
            gdb.write(f"kbreak: {error}\n")
        return True


def argument(name):
    return u64(gdb.parse_and_eval(name))


def describe_split():
    pfn, before, after = argument("pfn"), argument("from_order"), argument("to_order")
    if before - after == 1:
        rest = f"its other half (order {after}) goes back to the free list"
    else:
        rest = f"free buddies of orders {after} to {before - 1} go back to the free lists"
    return (f"kbreak split: the free block of order {before} ({1 << before} pages) at pfn {pfn:#x} "
            f"splits down to order {after} ({1 << after} page{'s' if after else ''}) for the "
            f"caller; {rest}")


def describe_refill():
    cpu, cls, base = argument("cpu"), argument("size_class"), argument("base")
    pages, objects, size = argument("pages"), argument("objects"), argument("object_bytes")
    return (f"kbreak refill: CPU {cpu}'s pool takes a new slab for class {cls} ({size}-byte "
            f"objects): {pages} page{'s' if pages > 1 else ''} at {base:#x}, {objects} objects")


def class_of_size(size):
    if size > 4096:
        return None
    return int(gdb.parse_and_eval("size_class_lookup")[(size + 15) >> 4])


class KbreakCommand(gdb.Command):
    """Breakpoints on the allocators' events, each saying what happened when it stops.

kbreak split         the buddy allocator splits a block (trace_buddy_split: the order before
                     and after)
kbreak malloc SIZE   malloc is called for a request of SIZE's size class (`finish` then shows
                     the object in $rax: `kmem obj $rax`)
kbreak refill        a CPU's malloc pool takes a new slab from the page allocator
                     (trace_malloc_refill)
They are ordinary GDB breakpoints: `info breakpoints` lists them, `delete N` removes one.
With -smp, `set scheduler-locking on` before `finish` keeps the other CPUs stopped meanwhile
(`step` alone: `set scheduler-locking step`)."""

    def __init__(self):
        super().__init__("kbreak", gdb.COMMAND_BREAKPOINTS, gdb.COMPLETE_NONE, True)

    def invoke(self, argument_text, from_tty):
        argv = gdb.string_to_argv(argument_text)
        try:
            if argv == ["split"]:
                EventBreakpoint("trace_buddy_split", describe_split)
            elif argv == ["refill"]:
                EventBreakpoint("trace_malloc_refill", describe_refill)
            elif len(argv) == 2 and argv[0] == "malloc":
                size = number(argv[1])
                if size > 4096:
                    raise KmemError(f"{size} bytes is above the largest class (4096): malloc "
                                    "takes whole pages for it")

                # The class table is built at boot (size_classes_init, from km_init), so
                # the class is looked up when malloc runs, not when the breakpoint is set.
                def same_class():
                    request = u64(gdb.parse_and_eval("$rdi"))  # malloc's size, at its entry
                    return class_of_size(request) == class_of_size(size)

                def describe():
                    request = u64(gdb.parse_and_eval("$rdi"))
                    wanted = class_of_size(size)
                    object_bytes = size_class(wanted)["object_bytes"]
                    return (f"kbreak malloc: malloc({request}) on CPU {this_cpu_index()}, class "
                            f"{wanted} ({object_bytes}-byte objects); `finish`, then "
                            "`kmem obj $rax`")

                EventBreakpoint("malloc", describe, same_class)
            else:
                gdb.write(self.__doc__.split("\n", 1)[1].lstrip("\n") + "\n")
        except KmemError as error:
            raise gdb.GdbError(f"kbreak: {error}")


# ---- pretty printers: `print *page` in words -------------------------------------------------


class PagePrinter:
    """struct page: its pfn, state, order, zone and malloc owner (`print/r` shows the fields)."""

    def __init__(self, value):
        self.value = value

    def to_string(self):
        page = self.value
        words = [page_state(page)]
        try:
            buddy = Buddy()
            index = (u64(page.address) - buddy.pages) // 16 if page.address is not None else None
            pfn = buddy.pfn_of_index(index) if index is not None else None
            if pfn is not None:
                words.insert(0, f"pfn {pfn:#x}")
        except (KmemError, gdb.error):
            pass  # before memory_init, or a copy not in the array: no pfn
        if words[-1] in ("free head", "allocated head"):
            words.append(f"order {int(page['order'])}")
        zone = int(page["zone"])
        words.append(f"zone {ZONE_NAMES[zone] if zone < len(ZONE_NAMES) else zone}")
        owner = int(page["owner"])
        if owner & KM_OWNER_LARGE:
            words.append(f"malloc large run of {owner & KM_OWNER_INDEX_MASK} pages")
        elif owner:
            words.append(f"malloc slab descriptor #{owner - 1}")
        return "struct page: " + ", ".join(words)


class SlabPrinter:
    """struct km_slab: class, base, free objects, owner, list."""

    def __init__(self, value):
        self.value = value

    def to_string(self):
        slab = self.value
        listed = int(slab["list"])
        if listed == 0:
            return f"struct km_slab #{int(slab['index'])}: unused descriptor"
        cls = size_class(int(slab["class_index"]))
        return (f"struct km_slab #{int(slab['index'])}: class {cls['index']} "
                f"({cls['object_bytes']}-byte objects) at {u64(slab['base']):#x}, "
                f"{int(slab['free_count'])} of {int(slab['object_count'])} free in its bitmap, "
                f"owner CPU {int(slab['owner_cpu'])}, {SLAB_LISTS[listed]}")


class PoolPrinter:
    """struct km_cpu: a CPU's malloc pool in one line (`kmem malloc` has the table)."""

    def __init__(self, value):
        self.value = value

    def to_string(self):
        pool = self.value
        count = pool["classes"].type.range()[1] + 1
        used = sum(1 for i in range(count) if u64(pool["classes"][i]["current"]))
        live = sum(int(pool["classes"][i]["live_objects"]) for i in range(count))
        return (f"struct km_cpu: CPU {int(pool['id'])}'s malloc pool, {used} classes with a "
                f"current slab, {live} live objects counted here; `kmem malloc {int(pool['id'])}` "
                "for the table")


def printers():
    collection = gdb.printing.RegexpCollectionPrettyPrinter("ferrite")
    collection.add_printer("page", "^page$", PagePrinter)
    collection.add_printer("km_slab", "^km_slab$", SlabPrinter)
    collection.add_printer("km_cpu", "^km_cpu$", PoolPrinter)
    return collection


gdb.printing.register_pretty_printer(gdb.current_objfile(), printers(), replace=True)
KbreakCommand()
KmemCommand()
KmemMap()
KmemBuddy()
KmemPage()
KmemObj()
KmemMalloc()
KmemVtop()
KmemCpus()
