# Lab 4's checks (run by `make grade LAB=4`, through labs/lab.py's Grader). Cross-CPU frees are
# checked where they happen: threads that stand for CPUs on the host (the same mm/malloc.c,
# also under ThreadSanitizer, which fails on a data race), and four CPUs in QEMU, once with the
# magazines (most objects go back through the owners' inboxes and, when one is full, your
# remote free) and once with malloc.debug (no magazines: every cross-CPU free is yours).
import re


def stress_checks(name, log, problem):
    stop = re.search(r"^KERNEL PANIC: (.*)$", log, re.M)
    why = problem or (stop.group(1) if stop else f"see build/labs/lab4/{name}.serial")
    balance = re.search(r"^stress: .*free pages (\d+) before, (\d+) after \+ (\d+) kept by malloc "
                        r"as slab descriptors = (\d+); malloc check: ok; buddy check: ok", log, re.M)
    passed = re.search(r"^stress: passed \(4 CPUs: every one took part, handed objects over and "
                       r"made remote frees", log, re.M)
    return passed is not None, balance is not None and balance.group(1) == balance.group(4), why


def grade(lab):
    built = lab.build()
    lab.check("the kernel builds", 10, built, "see build/labs/lab4/build.log")
    ok, why = lab.host_test("mm/test_malloc")
    lab.check("host tests: malloc, threads as CPUs (tests/host/mm/test_malloc.c)", 15, ok, why)
    ok, why = lab.host_test("mm/test_malloc", tsan=True)
    lab.check("the same under ThreadSanitizer: no data race", 15, ok, why)
    for name, cmdline, points in (
            ("stress-4", 'run="stress 10000; malloc check; exit 0"', 20),
            ("stress-4-debug", 'malloc.debug run="stress 3000; malloc check; exit 0"', 20)):
        log, problem = ("", "the kernel did not build") if not built else lab.boot(
            name, cmdline, mem="256M", smp="4")
        log = log or ""
        passed, balanced, why = stress_checks(name, log, problem)
        mode = "malloc.debug, every cross-CPU free yours" if "debug" in name else "with magazines"
        lab.check(f"stress on 4 CPUs ({mode}): no pattern broken", points // 2, passed, why)
        lab.check(f"stress on 4 CPUs ({mode}): every free page back, malloc and buddy checks ok",
                  points // 2, balanced and re.search(r"^malloc check: ok", log, re.M) is not None,
                  why)
