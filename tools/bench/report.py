#!/usr/bin/env python3
"""tools/bench/report.py RESULTS CALLGRIND PAIRS: the tables of tools/bench/run.sh.

RESULTS: one line per process, "alloc=NAME workload=W ops= seconds= ops_per_s=
peak_req= bookkeeping= maxrss_kb=" (malloc_bench.c). CALLGRIND: "alloc=NAME
pairs=N ir=IR" for N = 0 and N = PAIRS.
"""
import statistics
import sys

WORKLOADS = ["churn", "mix1to4k", "larson", "prodcon", "large"]
OURS = ("ferrite", "ferrite-linked")


def parse(path):
    rows = []
    try:
        with open(path) as f:
            for line in f:
                fields = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
                if "alloc" in fields:
                    rows.append(fields)
    except OSError:
        pass
    return rows


def main():
    results, callgrind, pairs = parse(sys.argv[1]), parse(sys.argv[2]), int(sys.argv[3])
    allocs = []
    for r in results:
        if r["alloc"] not in allocs:
            allocs.append(r["alloc"])
    base = {r["alloc"]: int(r["maxrss_kb"]) for r in results if r["workload"] == "none"}
    stats = {}  # (alloc, workload) -> (ops/s median, peak RSS KiB, requested/held)
    timed_rss = {}  # (alloc, workload) -> the largest peak RSS of its timed runs
    for a in allocs:
        for w in WORKLOADS:
            mine = [r for r in results if r["alloc"] == a and r["workload"] == w]
            runs = [r for r in mine if r.get("pass", "timed") == "timed"]
            # Memory from the equal-work runs (the same operations for every
            # allocator, run.sh); files from before them have timed runs only.
            equal = [r for r in mine if r.get("pass") == "equal"] or runs
            if not runs:
                continue
            ops = statistics.median(float(r["ops_per_s"]) for r in runs)
            rss = statistics.median(int(r["maxrss_kb"]) for r in equal)
            timed_rss[a, w] = max(int(r["maxrss_kb"]) for r in runs)
            # requested / held, per run: peak requested live bytes over
            # (peak RSS - the allocator's baseline RSS - the benchmark's own arrays).
            effs = []
            for r in equal:
                held = (int(r["maxrss_kb"]) - base.get(a, 0)) * 1024 - int(r["bookkeeping"])
                if held > 0:
                    effs.append(int(r["peak_req"]) / held)
            eff = statistics.median(effs) if effs else float("nan")
            stats[a, w] = (ops, rss, eff)

    def table(title, header, rows):
        print()
        print(title)
        print()
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
        for row in rows:
            print("| " + " | ".join(row) + " |")

    def millions(rate):  # the large-block workload runs at thousands of ops/s: keep its digits
        return "%.2f" % (rate / 1e6) if rate >= 1e5 else "%.4f" % (rate / 1e6)

    table("Throughput, million ops/s (median of runs; an op is one malloc or one free)",
          ["allocator"] + WORKLOADS,
          [[a] + [millions(stats[a, w][0]) if (a, w) in stats else "-" for w in WORKLOADS]
           for a in allocs])
    table("Peak RSS, MiB (getrusage ru_maxrss of the process, median of the equal-work runs: "
          "the same operations for every allocator; baseline = workload none)",
          ["allocator", "baseline"] + WORKLOADS,
          [[a, "%.1f" % (base.get(a, 0) / 1024)] +
           ["%.1f" % (stats[a, w][1] / 1024) if (a, w) in stats else "-" for w in WORKLOADS]
           for a in allocs])
    table("Peak RSS of the timed runs, MiB (the largest; a faster allocator did more operations "
          "in its time, so this is not a comparison at equal work)",
          ["allocator"] + WORKLOADS,
          [[a] + ["%.1f" % (timed_rss[a, w] / 1024) if (a, w) in timed_rss else "-" for w in WORKLOADS]
           for a in allocs])
    table("Requested / held (peak requested live bytes / (peak RSS - baseline - benchmark arrays)); higher is better",
          ["allocator"] + WORKLOADS,
          [[a] + ["%.2f" % stats[a, w][2] if (a, w) in stats else "-" for w in WORKLOADS]
           for a in allocs])

    # ops/s ratios are taken round by round (run.sh runs round i of every
    # allocator before round i + 1 of any, so the two runs of a pair are
    # seconds apart) and the median of those is shown: on a shared machine
    # whose speed drifts by a third from one minute to the next, that is
    # steadier than a ratio of two medians.
    by_round = {}
    for r in results:
        if r.get("round", "0") != "0" and r.get("pass", "timed") == "timed":
            by_round[r["alloc"], r["workload"], r["round"]] = float(r["ops_per_s"])

    def speed_ratio(ours, peer, w):
        pairs = [by_round[ours, w, n] / by_round[peer, w, n]
                 for (a, wl, n) in by_round if a == ours and wl == w and (peer, w, n) in by_round]
        if pairs:
            return statistics.median(pairs)
        return stats[ours, w][0] / stats[peer, w][0]

    peers = [a for a in allocs if a not in OURS]
    for ours in (a for a in allocs if a in OURS):
        table("Ratios for %s: its ops/s divided by the peer's, the median of the ratios "
              "of the same round (>1: ours faster), and its peak RSS at equal work divided by the "
              "peer's (<1: ours smaller)" % ours,
              ["workload"] + ["ops/s vs " + p for p in peers] + ["RSS vs " + p for p in peers],
              [[w] + ["%.2f" % speed_ratio(ours, p, w) if (ours, w) in stats and (p, w) in stats else "-"
                      for p in peers] +
               ["%.2f" % (stats[ours, w][1] / stats[p, w][1]) if (ours, w) in stats and (p, w) in stats else "-"
                for p in peers]
               for w in WORKLOADS])

    if callgrind:
        ir = {(c["alloc"], int(c["pairs"])): int(c["ir"]) for c in callgrind}
        inside = {(c["alloc"], int(c["pairs"])): int(c.get("inside", 0)) for c in callgrind}
        rows = []
        for a in allocs:
            row = [a]
            for counts in (inside, ir):
                if (a, 0) in counts and (a, pairs) in counts and counts[a, 0] and counts[a, pairs]:
                    row.append("%.1f" % ((counts[a, pairs] - counts[a, 0]) / pairs))
                else:
                    row.append("-")
            rows.append(row)
        table("Fast path: instructions per malloc(64)+free pair (callgrind Ir, %d pairs minus 0 pairs, / %d). "
              "Inside malloc and free: the inclusive cost of the benchmark's calls to them, every "
              "instruction the allocator runs (a PLT stub too, where callgrind counts one). "
              "Whole program: also the loop, its argument moves and the two calls (7 instructions), "
              "and the two PLT jumps of a preloaded library (9)"
              % (pairs, pairs), ["allocator", "inside malloc+free", "whole program"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
