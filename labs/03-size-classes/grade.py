# Lab 3's checks (run by `make grade LAB=3`, through labs/lab.py's Grader). The table is read
# from the kernel's own `malloc classes`; every bound below is computed here from the object
# sizes and page counts alone, so any design that meets the goals gets full marks, not only
# the solution's.
import re

PAGE = 4096


def classes_of(log):
    """[(object bytes, slab pages, objects)] from `malloc classes`, in order."""
    return [(int(size), int(pages), int(objects)) for size, pages, objects in
            re.findall(r"^ *\d+ +(\d+) +\d+ +(\d+) +(\d+) +\d+ B +[\d.]+%$", log, re.M)]


def worst_waste(sizes, low, high):
    """(share, request) of the request in low..high that wastes the most of its object."""
    worst, at, index = 0.0, None, 0
    for request in range(low, high + 1):
        while sizes[index] < request:
            index += 1
        waste = (sizes[index] - request) / sizes[index]
        if waste > worst:
            worst, at = waste, request
    return worst, at


def best_tail(size):
    """The smallest tail share a slab of 1 to 8 pages can have for objects of size bytes."""
    return min((pages * PAGE % size) / (pages * PAGE) for pages in range(1, 9))


def grade(lab):
    built = lab.build()
    lab.check("the kernel builds", 10, built, "see build/labs/lab3/build.log")
    ok, why = lab.host_test("mm/test_malloc")
    lab.check("host tests: malloc with your classes (tests/host/mm/test_malloc.c)", 15, ok, why)
    log, problem = ("", "the kernel did not build") if not built else lab.boot(
        "classes", 'run="malloc classes; malloc workload; malloc storm 100000; malloc check; '
        'buddy check; exit 0"')
    log = log or ""
    stop = re.search(r"^KERNEL PANIC: (.*)$", log, re.M)
    why = problem or (stop.group(1) if stop else "see build/labs/lab3/classes.serial")
    table = classes_of(log)
    sizes = [size for size, _, _ in table]
    lab.check("boots to the shell and prints the table (malloc classes)", 5,
              bool(table) and "ferrite> " in log, why)
    ok = bool(sizes) and sizes[-1] == PAGE and all(b > a for a, b in zip(sizes, sizes[1:]))
    lab.check("the classes grow and end at 4096", 5, ok, why if not table else f"classes: {sizes}")
    ok = sizes[:4] == [16, 32, 48, 64]
    lab.check("1-64 B: a class every 16 bytes (the least waste 16-byte alignment allows)", 10, ok,
              why if not table else f"the first classes are {sizes[:4]}")
    worst, at = worst_waste(sizes, 65, PAGE) if sizes and sizes[-1] == PAGE else (1.0, None)
    lab.check("65-4096 B: no request wastes more than 20% of its object", 20,
              bool(table) and worst <= 0.20,
              why if not table else f"{at} bytes wastes {100 * worst:.2f}% of its object")
    two = [(size, pages, objects) for size, pages, objects in table if size == 2048]
    lab.check("exactly two 2048-byte objects per 4 KiB page", 10,
              two == [(2048, 1, 2)],
              why if not table else f"the 2048-byte class: {two or 'none'} (size, pages, objects)")
    heavy = [size for size, pages, objects in table
             if (pages * PAGE % size) / (pages * PAGE) >= 0.02 and
             (pages * PAGE % size) / (pages * PAGE) > best_tail(size)]
    lab.check("slab tails under 2% (or the least 1 to 8 pages allow)", 10, bool(table) and not heavy,
              why if not table else f"classes with a tail that could be smaller: {heavy}")
    found = re.search(r"^efficiency: (\d+\.\d+)% overall, (\d+\.\d+)% for 1025-4096 B", log, re.M)
    lab.check("malloc workload: at least 85% of the held pages requested (80% for 1025-4096 B)",
              10, found is not None and float(found.group(1)) >= 85 and float(found.group(2)) >= 80,
              why if not found else found.group(0))
    lab.check("malloc storm, malloc check and buddy check pass with your classes", 5,
              re.search(r"stamps or alignment broken: 0; .*check: ok", log) is not None and
              re.search(r"^malloc check: ok", log, re.M) is not None and
              re.search(r"^buddy check: ok", log, re.M) is not None, why)
