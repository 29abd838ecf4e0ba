#!/bin/sh
# tools/bench/run.sh: build the malloc benchmark, run it for every allocator,
# print the tables (see tools/bench/README.md). Exits 0 when the tables are
# printed; allocators that are not installed are skipped with a message.
#
#   tools/bench/run.sh            everything (~2 minutes on 2 cores)
#   RUNS=1 SECONDS_PER_RUN=0.2 CALLGRIND=0 tools/bench/run.sh    a quick look
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BENCH_BUILD:-$ROOT/build/bench}
RUNS=${RUNS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-0.5}
CALLGRIND=${CALLGRIND:-1}
PAIRS=${PAIRS:-1000000}
CC=${CC:-gcc}
CFLAGS="-std=c11 -O2 -g -Wall -Wextra -I$ROOT -pthread"
LIBDIR=/usr/lib/x86_64-linux-gnu
KMALLOC_SO=$ROOT/build/host/libkmalloc.so
WORKLOADS="churn mix1to4k larson prodcon large"

mkdir -p "$BUILD"
echo "== building (in $BUILD)"
PORTABLE="$(ls lib/*.c | grep -v '^lib/string.c$') $(ls mm/*.c) tests/host/platform_host.c tests/host/platform_posix.c"
$CC $CFLAGS -o "$BUILD/malloc_bench" tools/bench/malloc_bench.c || { echo "build of malloc_bench failed"; exit 1; }
if ! $CC $CFLAGS -o "$BUILD/malloc_bench_linked" tools/bench/malloc_bench_linked.c $PORTABLE; then
    echo "NOTE: malloc_bench_linked (mm/malloc.c linked in) did not build: skipped"
    rm -f "$BUILD/malloc_bench_linked"
fi

# name|LD_PRELOAD|binary
ALLOCATORS="glibc||$BUILD/malloc_bench"
add_peer() { # name library
    if [ -e "$2" ]; then
        ALLOCATORS="$ALLOCATORS
$1|$2|$BUILD/malloc_bench"
    else
        echo "NOTE: $1 skipped: $2 not found (apt-get install $3)"
    fi
}
add_peer jemalloc $LIBDIR/libjemalloc.so.2 libjemalloc2
add_peer mimalloc $LIBDIR/libmimalloc.so.2 libmimalloc2.0
add_peer tcmalloc $LIBDIR/libtcmalloc_minimal.so.4 libtcmalloc-minimal4
if [ -e "$KMALLOC_SO" ]; then
    ALLOCATORS="$ALLOCATORS
ferrite|$KMALLOC_SO|$BUILD/malloc_bench"
else
    echo "NOTE: ferrite (LD_PRELOAD) skipped: $KMALLOC_SO does not exist (build tools/libkmalloc first)"
fi
if [ -x "$BUILD/malloc_bench_linked" ]; then
    ALLOCATORS="$ALLOCATORS
ferrite-linked||$BUILD/malloc_bench_linked"
fi

# Operations of the equal-work runs (peak RSS): what the slowest peer does
# in about 0.3 s, so that the pass adds little to the timed runs' time.
equal_ops() {
    case $1 in
        churn) echo 4000000 ;;
        large) echo 4000 ;;
        *) echo 2000000 ;;
    esac
}

RESULTS=$BUILD/results.txt
: > "$RESULTS"
run_one() { # name preload binary args...
    name=$1 preload=$2 binary=$3
    shift 3
    if [ -n "$preload" ]; then
        out=$(LD_PRELOAD=$preload "$binary" "$@" 2>&1)
    else
        out=$("$binary" "$@" 2>&1)
    fi
    status=$?
    if [ $status -ne 0 ]; then
        echo "NOTE: $name $* failed (status $status): $out" | head -3
        return
    fi
    echo "alloc=$name round=${ROUND:-0} pass=${PASS:-timed} $out" | tail -1 >> "$RESULTS"
}

echo "== workloads: $WORKLOADS; $RUNS runs of ${SECONDS_PER_RUN}s each, one process per run"
# Round robin: run i of every allocator and workload before run i + 1 of any,
# so that a stretch of time when the (shared) machine is slow falls on every
# allocator alike, not on the five runs of one (they were back to back: one
# make bench had ferrite's churn median at 87 M ops/s, the next at 56).
echo "$ALLOCATORS" | while IFS='|' read -r name preload binary; do
    run_one "$name" "$preload" "$binary" none
done
ROUND=0
while [ $ROUND -lt "$RUNS" ]; do
    ROUND=$((ROUND + 1))
    printf '   round %s of %s:' "$ROUND" "$RUNS"
    for w in $WORKLOADS; do
        echo "$ALLOCATORS" | while IFS='|' read -r name preload binary; do
            run_one "$name" "$preload" "$binary" "$w" "$SECONDS_PER_RUN"
        done
        # The same work for every allocator, for the peak RSS: a timed run
        # of a faster allocator does more operations and meets rarer peaks
        # of live bytes (larson: 2.5 M operations for glibc in 0.5 s, 28 M
        # for ours; at 200 M each, glibc peaks at 47 MiB and ours at 39).
        ops=$(equal_ops "$w")
        echo "$ALLOCATORS" | while IFS='|' read -r name preload binary; do
            PASS=equal run_one "$name" "$preload" "$binary" "$w" 60 "$ops"
        done
        printf ' %s' "$w"
    done
    echo
done

CG=$BUILD/callgrind.txt
: > "$CG"
if [ "$CALLGRIND" = 1 ] && command -v valgrind >/dev/null 2>&1; then
    echo "== callgrind: $PAIRS malloc(64)+free pairs minus 0 pairs"
    echo "$ALLOCATORS" | while IFS='|' read -r name preload binary; do
        for n in 0 "$PAIRS"; do
            file=$BUILD/callgrind.$name.$n.out
            rm -f "$file"
            if [ -n "$preload" ]; then
                LD_PRELOAD=$preload valgrind --tool=callgrind --callgrind-out-file="$file" "$binary" fastpath "$n" >/dev/null 2>&1
            else
                valgrind --tool=callgrind --callgrind-out-file="$file" "$binary" fastpath "$n" >/dev/null 2>&1
            fi
            ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$file" 2>/dev/null | head -1)
            [ -n "$ir" ] || ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$file" 2>/dev/null | head -1)
            # Inside the allocator: the inclusive cost of main's calls (tools/bench/callgrind_calls.py).
            inside=$(python3 tools/bench/callgrind_calls.py "$file" 2>/dev/null | sed -n 's/^inside=//p')
            echo "alloc=$name pairs=$n ir=${ir:-0} inside=${inside:-0}" >> "$CG"
        done
    done
else
    echo "NOTE: callgrind skipped (CALLGRIND=0 or valgrind missing)"
fi

python3 "$ROOT/tools/bench/report.py" "$RESULTS" "$CG" "$PAIRS"

# The kernel itself: malloc and page-cache throughput on 1, 2 and 4 emulated
# CPUs (the `bench` shell command, kernel/bench.c), in QEMU with -smp 4.
KERNEL_BENCH=${KERNEL_BENCH:-1}
if [ "$KERNEL_BENCH" = 1 ] && [ -e build/ferrite.elf ] && command -v qemu-system-x86_64 >/dev/null; then
    echo
    echo "== in the kernel: QEMU -smp 4 -m 256M (TCG, thread=multi), \`bench\`"
    tools/make-iso.sh build/ferrite.elf "$BUILD/bench.iso" 'quiet run="bench; exit 0"' >/dev/null 2>&1 &&
        SMP=4 MEM=256M SERIAL_LOG="$BUILD/kernel-bench.log" timeout 300 \
            tools/qemu-run.sh "$BUILD/bench.iso" </dev/null >/dev/null 2>&1
    echo
    echo "| in the kernel (emulated CPUs) | 1 CPU | 2 CPUs | 4 CPUs |"
    echo "|---|---:|---:|---:|"
    for kind in malloc page-cache; do
        row=$(sed -n "s/^bench $kind: [0-9]* CPUs*: \([0-9.]*\) M ops\/s.*/\1/p" "$BUILD/kernel-bench.log" | tr -d '\r' | tr '\n' '|')
        echo "| $kind, M ops/s (all CPUs) | $(echo "${row%|}" | sed 's/|/ | /g') |"
    done
else
    echo "NOTE: kernel bench skipped (KERNEL_BENCH=0, no build/ferrite.elf, or no QEMU)"
fi
exit 0
