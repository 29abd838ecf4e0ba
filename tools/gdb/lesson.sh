#!/usr/bin/env bash
# lesson.sh KERNEL_ELF ISO OUT [DOC]: play the GDB lesson (tools/gdb/lesson.py) on a
# two-CPU machine, started as `make debug` starts one, and write its transcript
# (markdown) to OUT; with DOC, also put it into DOC between the lines
# "<!-- lesson: begin -->" and "<!-- lesson: end -->" (`make gdb-lesson` does this
# for docs/gdb.md). tests/gdb checks a fresh transcript against docs/gdb.md.
set -uo pipefail
kernel="$1" iso="$2" out="$3" doc="${4:-}"
here="$(cd "$(dirname "$0")/../.." && pwd)"
rm -f "$out"
LESSON_OUT="$out" LESSON_BUILD="$(dirname "$kernel")" LESSON_SCRIPT="$here/tools/gdb/lesson.py" \
    SMP=2 MEM=128M GDB_BATCH="source $here/tools/gdb/lesson.py" \
    "$here/tools/gdb/debug.sh" "$kernel" "$iso"
grep -q "kmem page" "$out" 2>/dev/null || { echo "lesson: no whole transcript in $out" >&2; exit 1; }
[ -n "$doc" ] || exit 0
python3 - "$doc" "$out" <<'PY'
import sys
doc, out = sys.argv[1], sys.argv[2]
text = open(doc).read()
begin, end = "<!-- lesson: begin -->\n", "<!-- lesson: end -->"
if begin not in text or end not in text:
    sys.exit(f"lesson: {doc} has no {begin.strip()} ... {end} section")
head, rest = text.split(begin, 1)
tail = rest.split(end, 1)[1]
open(doc, "w").write(head + begin + "\n" + open(out).read() + end + tail)
print(f"lesson: {doc} updated")
PY
