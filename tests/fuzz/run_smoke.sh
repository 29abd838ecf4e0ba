#!/bin/sh
# tests/fuzz/run_smoke.sh SECONDS TARGET... - build each libFuzzer target and run it for SECONDS.
#
# Called by `make -C tests/fuzz smoke` and `make -C tests/fuzz long` (MAKE is passed in). For each
# target fuzz_NAME (tests/fuzz/fuzz_NAME.c):
#   1. build it on its own, so one target that does not compile fails only itself;
#   2. copy the seeds tests/fuzz/corpus/fuzz_NAME/ to a fresh build/fuzz/corpus/fuzz_NAME/ (the
#      run adds inputs there, never to the repository's seeds);
#   3. run it with -max_total_time=SECONDS -timeout=10 -rss_limit_mb=2048, FUZZ_JOBS at a time
#      (default: the number of CPUs). Log: build/fuzz/logs/fuzz_NAME.log. Crashing inputs:
#      build/fuzz/findings/fuzz_NAME/ (crash-*, leak-*, timeout-*, oom-*).
# A target passes if it built and libFuzzer ended with "Done N runs in S second(s)" and exit
# status 0; anything else (a finding, a build failure) fails it. The last line printed is
# "N passed, M failed"; the exit status is 0 only if nothing failed. No target at all is a
# failure (a smoke run that fuzzed nothing proves nothing).
set -u

if [ $# -lt 1 ] || ! [ "$1" -ge 1 ] 2>/dev/null; then
    echo "usage: $0 SECONDS TARGET..." >&2
    exit 2
fi
seconds=$1
shift

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build/fuzz
make_cmd=${MAKE:-make}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
tar_corpus=${TAR_CORPUS:-}
for candidate in "$root/../shared/testdata/tar" /work/shared/testdata/tar; do
    [ -z "$tar_corpus" ] && [ -d "$candidate" ] && tar_corpus=$candidate
done
mkdir -p "$build/logs" "$build/corpus" "$build/findings"

if [ $# -eq 0 ]; then # a smoke run that fuzzes nothing must not pass
    echo "no fuzz targets found (tests/fuzz/fuzz_*.c): FAILED"
    echo "0 passed, 1 failed"
    exit 1
fi

# 1. Build, one target at a time.
for target in "$@"; do
    rm -f "$build/logs/$target.status"
    if ! $make_cmd -s -C "$here" "$build/$target" >"$build/logs/$target.build.log" 2>&1; then
        echo build >"$build/logs/$target.status"
    fi
done

# 2 and 3. Run the targets that built, `jobs` at a time.
run_one() {
    target=$1
    rm -rf "$build/corpus/$target"
    mkdir -p "$build/corpus/$target" "$build/findings/$target"
    if [ -d "$here/corpus/$target" ]; then
        cp -R "$here/corpus/$target/." "$build/corpus/$target/"
    fi
    # fuzz_tar also starts from the shared tar corpus (../shared/testdata/tar), when it is
    # there: real archives from Go, libarchive and CPython, valid and malformed (< 256 KiB).
    if [ "$target" = fuzz_tar ] && [ -d "$tar_corpus" ]; then
        find "$tar_corpus" -name '*.tar' -size -256k -exec cp {} "$build/corpus/$target/" \;
    fi
    "$build/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$build/findings/$target/" \
        "$build/corpus/$target" >"$build/logs/$target.log" 2>&1
    echo $? >"$build/logs/$target.status"
}

running=0
for target in "$@"; do
    [ -e "$build/logs/$target.status" ] && continue # did not build
    seeds=$(ls "$here/corpus/$target" 2>/dev/null | wc -l)
    [ "$target" = fuzz_tar ] && [ -d "$tar_corpus" ] &&
        seeds=$((seeds + $(find "$tar_corpus" -name '*.tar' -size -256k | wc -l)))
    echo "$target: fuzzing for $seconds s from $seeds seeds"
    run_one "$target" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait
        running=0
    fi
done
wait

# Report, in target order.
passed=0
failed=0
for target in "$@"; do
    status=$(cat "$build/logs/$target.status" 2>/dev/null || echo missing)
    log=$build/logs/$target.log
    if [ "$status" = build ]; then
        echo "$target: FAILED: does not build (build/fuzz/logs/$target.build.log):"
        tail -n 20 "$build/logs/$target.build.log" | sed 's/^/    /'
        failed=$((failed + 1))
        continue
    fi
    done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1)
    if [ "$status" = 0 ] && [ -n "$done_line" ]; then
        inputs=$(ls "$build/corpus/$target" | wc -l)
        echo "$target: passed: $done_line; corpus now $inputs inputs"
        passed=$((passed + 1))
        continue
    fi
    echo "$target: FAILED (exit status $status; log build/fuzz/logs/$target.log)"
    grep -E 'Test unit written to|^Done [0-9]+ runs' "$log" | sed 's/^/    /'
    report=$(sed -n '/==[0-9]*==ERROR\|runtime error\|check failed\|ERROR: libFuzzer/,$p' "$log" |
        head -n 40)
    if [ -n "$report" ]; then
        echo "$report" | sed 's/^/    /'
    else
        tail -n 20 "$log" | sed 's/^/    /'
    fi
    echo "    reproduce: build/fuzz/$target build/fuzz/findings/$target/<file>"
    failed=$((failed + 1))
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
