#!/usr/bin/env python3
"""callgrind_calls.py OUT [CALLER]: the instructions spent inside the functions
CALLER (default: main) calls, from a callgrind output file.

A call's cost line in callgrind's format is inclusive: the Ir of the callee
and of everything it calls. Summed over main's calls, that is every
instruction malloc and free execute (the library's own, whatever it calls,
and the PLT jump when callgrind counts it there), and none of the benchmark
loop's (its increments, compares, argument moves and the call instructions
themselves stay in main's self cost). Prints "inside=N" and one line per
callee, most expensive first.
"""
import re
import sys


def main():
    path = sys.argv[1]
    caller = sys.argv[2] if len(sys.argv) > 2 else "main"
    names = {}  # compressed id -> name, for fn/cfn

    def name_of(spec):
        match = re.match(r"\((\d+)\)(?:\s+(.*))?$", spec.strip())
        if not match:
            return spec.strip()
        ident, name = match.groups()
        if name:
            names[ident] = name
        return names.get(ident, "(%s)" % ident)

    current, callee, expect_cost = None, None, False
    per_callee = {}
    with open(path) as lines:
        for line in lines:
            line = line.rstrip("\n")
            if expect_cost:
                expect_cost = False
                fields = line.split()
                if current == caller and len(fields) >= 2:
                    per_callee[callee] = per_callee.get(callee, 0) + int(fields[1])
                continue
            if line.startswith("fn="):
                current = name_of(line[3:])
            elif line.startswith("cfn="):
                callee = name_of(line[4:])
            elif line.startswith("calls="):
                expect_cost = True
    print("inside=%d" % sum(per_callee.values()))
    for name, cost in sorted(per_callee.items(), key=lambda item: -item[1]):
        print("  %-40s %d" % (name, cost))


if __name__ == "__main__":
    main()
