#!/usr/bin/env bash
# format-check.sh: every C source and header of the tree against .clang-format
# (`clang-format --dry-run --Werror`), one case per file. Ends with "N passed,
# M failed"; `make format` rewrites the files that fail. The style: LLVM's,
# 4-space indents, 100 columns, function braces on their own line, includes in
# the order written. Another clang-format version than Debian bookworm's (14)
# may break lines differently: the check is made with that one.
set -uo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null 2>&1; then
    echo "format-check: clang-format is missing (apt-get install clang-format)"
    echo "0 passed, 1 failed"
    exit 1
fi
passed=0 failed=0
while IFS= read -r file; do
    if clang-format --style=file --dry-run --Werror "$file" >/dev/null 2>&1; then
        passed=$((passed + 1))
    else
        echo "FAIL format/$file: not as .clang-format says (make format fixes it):"
        clang-format --style=file "$file" | diff "$file" - | head -8 | sed 's/^/    /'
        failed=$((failed + 1))
    fi
done < <(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build/*')
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
