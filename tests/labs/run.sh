#!/usr/bin/env bash
# tests/labs/run.sh: every lab both ways (labs/README.md). The tree as it stands gets full
# marks; the lab's starting point, exported to a temporary tree, fails its grade with the
# lab's panic line showing; and each hole alone costs points, so that no hole goes unchecked
# (those runs stop at the first failed check: LAB_STOP_AT_FIRST_FAILURE).
# Ends with "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
out=build/tests/labs
mkdir -p "$out"
passed=0 failed=0
result() { # name, ok (0/1), why
    if [ "$2" = 1 ]; then echo "PASS labs/$1"; passed=$((passed + 1)); else
        echo "FAIL labs/$1: $3"; failed=$((failed + 1)); fi
}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# The one-hole trees start from this tree's objects (the full-marks grade has just built them):
# export keeps every file's time but the holed one's, so make compiles only that file and what
# depends on it. The starting-point trees build from nothing, as a student's does.
seed_build() {
    mkdir -p "$1/build"
    for part in kernel-objects host host-tsan memlayout.inc linker.ld bootfs-root bootfs.tar; do
        [ -e "build/$part" ] && cp -a "build/$part" "$1/build/"
    done
    return 0
}

for folder in labs/[0-9][0-9]-*/; do
    name=$(basename "$folder")
    n=$((10#${name%%-*}))
    # The tree as it stands: full marks.
    python3 labs/lab.py grade "$n" > "$out/$name-full.log" 2>&1
    status=$?
    score=$(sed -n 's/^Score: \([0-9]*\)\/\([0-9]*\)$/\1 \2/p' "$out/$name-full.log")
    set -- $score
    result "${name}_full_marks" "$([ $status = 0 ] && [ -n "$score" ] && [ "$1" = "$2" ] && echo 1)" \
        "score ${score:-none}, status $status ($out/$name-full.log)"
    # The starting point: every hole open.
    python3 labs/lab.py export "$n" "$scratch/$name" > /dev/null
    (cd "$scratch/$name" && python3 labs/lab.py grade "$n") > "$out/$name-start.log" 2>&1
    status=$?
    result "${name}_start_fails_its_grade" "$([ $status != 0 ] && grep -q "^Score: " "$out/$name-start.log" && echo 1)" \
        "status $status ($out/$name-start.log)"
    result "${name}_start_says_yours_to_write" \
        "$(grep -q "lab $n: [a-z_]* is yours to write" "$out/$name-start.log" && echo 1)" \
        "no 'lab $n: ... is yours to write' line in $out/$name-start.log"
    # Each hole alone costs points.
    for function in $(python3 -c "import sys; sys.path.insert(0, 'labs'); import lab
print(' '.join(f for _, f in lab.holes(lab.lab_folder($n))))"); do
        rm -rf "$scratch/one"
        python3 labs/lab.py export "$n" "$scratch/one" "$function" > /dev/null
        seed_build "$scratch/one"
        (cd "$scratch/one" && LAB_STOP_AT_FIRST_FAILURE=1 python3 labs/lab.py grade "$n") \
            > "$out/$name-$function.log" 2>&1
        score=$(sed -n 's/^Score: \([0-9]*\)\/\([0-9]*\)$/\1 \2/p' "$out/$name-$function.log")
        set -- $score
        result "${name}_hole_${function}_costs_points" \
            "$([ -n "$score" ] && [ "$1" -lt "$2" ] && echo 1)" \
            "score ${score:-none} with only $function open ($out/$name-$function.log)"
    done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
