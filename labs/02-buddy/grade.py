# Lab 2's checks (run by `make grade LAB=2`, through labs/lab.py's Grader).
import re


def grade(lab):
    built = lab.build()
    lab.check("the kernel builds", 10, built, "see build/labs/lab2/build.log")
    ok, why = lab.host_test("mm/test_buddy")
    lab.check("host tests: mm/buddy (tests/host/mm/test_buddy.c)", 20, ok, why)
    ok, why = lab.host_test("mm/test_buddy_run")
    lab.check("host tests: runs of pages (tests/host/mm/test_buddy_run.c)", 10, ok, why)
    log, problem = ("", "the kernel did not build") if not built else lab.boot(
        "buddy-3M", 'run="buddy storm; buddy exhaust; buddy check; exit 0"', mem="3M")
    hole = re.search(r"^KERNEL PANIC: (lab 2: .*)$", log, re.M)
    why = problem or (hole.group(1) if hole else "see build/labs/lab2/buddy-3M.serial")
    lab.check("boots to the shell at -m 3M", 10, "ferrite> " in log, why)
    lab.check("buddy storm (random allocations and frees, every block stamped)", 20,
              re.search(r"^buddy storm: .*stamps broken: 0; free lists back as before: yes; "
                        r"invariants: ok$", log, re.M) is not None, why)
    lab.check("buddy exhaust (every page, then all back)", 20,
              re.search(r"^buddy exhaust: .*patterns broken: 0; free lists identical: yes$", log,
                        re.M) is not None, why)
    lab.check("buddy check (the free lists' invariants)", 10,
              re.search(r"^buddy check: ok$", log, re.M) is not None, why)
