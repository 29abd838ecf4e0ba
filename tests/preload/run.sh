#!/bin/sh
# tests/preload/run.sh: real programs on build/host/libkmalloc.so (LD_PRELOAD).
# Each check prints PASS or FAIL with its name; the last line is "N passed, M failed",
# and the exit status is non-zero when anything failed. Takes well under 60 s.
# Every program must prove that the library served it (run_km), and its stderr is
# compared with the plain run's, not thrown away.
#   usage: sh tests/preload/run.sh [path/to/libkmalloc.so]
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LIB=${1:-$ROOT/build/host/libkmalloc.so}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PASSED=0
FAILED=0
CC=${CC:-cc}

check() { # name, then the command's exit status in $?
    if [ "$2" -eq 0 ]; then
        echo "PASS $1"; PASSED=$((PASSED + 1))
    else
        echo "FAIL $1"; FAILED=$((FAILED + 1))
    fi
}

# run_km NAME COMMAND...: COMMAND on the library, stdout to $TMP/NAME.km and
# stderr to $TMP/NAME.km.err (kept: a warning there is a difference). Its
# status is COMMAND's, or 99 when the library did not report from the
# process (KMALLOC_REPORT, kmalloc_preload.c): then it was not loaded, or
# served nothing, and the program ran on glibc's malloc, which proves nothing.
run_km() {
    name=$1
    shift
    rm -f "$TMP/report"
    KMALLOC_REPORT="$TMP/report" LD_PRELOAD="$LIB" "$@" >"$TMP/$name.km" 2>"$TMP/$name.km.err"
    st=$?
    if ! grep -qE '^libkmalloc: pid [0-9]+, chunks [1-9]' "$TMP/report" 2>/dev/null; then
        echo "    $name: no report from libkmalloc.so in the process: it was not loaded"
        sed -n '1,5s/^/    stderr: /p' "$TMP/$name.km.err"
        return 99
    fi
    return $st
}

# run_plain NAME COMMAND...: the same without the library (the oracle).
run_plain() {
    name=$1
    shift
    "$@" >"$TMP/$name.plain" 2>"$TMP/$name.plain.err"
}

# same NAME: stdout and stderr of both runs are identical (shows how if not).
same() {
    cmp -s "$TMP/$1.plain" "$TMP/$1.km" && cmp -s "$TMP/$1.plain.err" "$TMP/$1.km.err" && return 0
    diff "$TMP/$1.plain.err" "$TMP/$1.km.err" | sed -n '1,6s/^/    stderr: /p'
    diff "$TMP/$1.plain" "$TMP/$1.km" | sed -n '1,6s/^/    stdout: /p'
    return 1
}

if [ ! -f "$LIB" ]; then
    echo "FAIL library: $LIB not found (make libkmalloc)"
    echo "0 passed, 1 failed"
    exit 1
fi
LIB=$(cd "$(dirname "$LIB")" && pwd)/$(basename "$LIB") # absolute: the checks change directory

# 1. Python building and dropping many dicts, lists and strings.
cat > "$TMP/churn.py" <<'PY'
import random
random.seed(7)
total = 0
keep = []
for round in range(40):
    objs = []
    for i in range(20000):
        d = {str(j) * (i % 7 + 1): [j] * (j % 9) for j in range(i % 11)}
        s = "x" * random.randint(0, 3000)
        objs.append((d, s, list(range(i % 50))))
    keep.append(objs[::97])
    total += sum(len(s) + len(d) + len(l) for d, s, l in objs)
    del objs
    if len(keep) > 5:
        keep.pop(0)
big = [bytearray(random.randint(1, 12) << 20) for _ in range(8)]
print(total, sum(len(b) for b in big), len(keep))
PY
run_plain py python3 "$TMP/churn.py"
run_km py python3 "$TMP/churn.py" && same py
check "python dict/list/string churn" $?

# 2. sort on 200k random lines.
seq 1 200000 | shuf --random-source=/dev/zero | sed 's/$/ some text to sort by/' > "$TMP/lines"
run_plain sort sort "$TMP/lines"
run_km sort sort "$TMP/lines" && same sort
check "sort 200k lines" $?

# 3. Four threads, each freeing the objects another thread allocated.
cat > "$TMP/threads.c" <<'C'
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define THREADS 4
#define OBJECTS 20000
#define ROUNDS 20
static unsigned char *slots[THREADS][OBJECTS];
static size_t sizes[THREADS][OBJECTS];
static pthread_barrier_t barrier;
static int failures;
static size_t size_for(unsigned t, unsigned i, unsigned r)
{
    unsigned x = (t * 2654435761u) ^ (i * 40503u) ^ (r * 97u);
    x ^= x >> 13;
    return x % 16 == 0 ? 4097 + x % 70000 : x % 600;
}
static void *worker(void *arg)
{
    unsigned t = (unsigned)(uintptr_t)arg;
    for (unsigned r = 0; r < ROUNDS; r++) {
        for (unsigned i = 0; i < OBJECTS; i++) {
            size_t n = size_for(t, i, r);
            unsigned char *p = malloc(n);
            if (!p && n) { __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED); continue; }
            memset(p, (int)((t * 31 + i + r) & 0xff), n);
            slots[t][i] = p;
            sizes[t][i] = n;
        }
        pthread_barrier_wait(&barrier);
        unsigned victim = (t + 1 + r % (THREADS - 1)) % THREADS; /* another thread's objects */
        for (unsigned i = 0; i < OBJECTS; i++) {
            unsigned char *p = slots[victim][i];
            size_t n = sizes[victim][i];
            unsigned char want = (unsigned char)((victim * 31 + i + r) & 0xff);
            for (size_t k = 0; k < n; k++)
                if (p[k] != want) { __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED); break; }
            free(p);
        }
        pthread_barrier_wait(&barrier);
    }
    return NULL;
}
int main(void)
{
    pthread_t threads[THREADS];
    pthread_barrier_init(&barrier, NULL, THREADS);
    for (unsigned t = 0; t < THREADS; t++)
        pthread_create(&threads[t], NULL, worker, (void *)(uintptr_t)t);
    for (unsigned t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    printf("failures %d\n", failures);
    return failures != 0;
}
C
if $CC -O2 -pthread -o "$TMP/threads" "$TMP/threads.c"; then
    run_km threads "$TMP/threads" && grep -q '^failures 0$' "$TMP/threads.km"
    check "4 threads, cross-thread frees, patterns intact" $?
else
    check "4 threads, cross-thread frees (compile)" 1
fi

# 4. ls -lR and grep -r over real trees.
run_km ls ls -lR /usr/include && run_plain ls ls -lR /usr/include && same ls
check "ls -lR /usr/include" $?
run_plain grep grep -r -l -i license /usr/share/doc
run_km grep grep -r -l -i license /usr/share/doc
st=$?
sort -o "$TMP/grep.plain" "$TMP/grep.plain" && sort -o "$TMP/grep.km" "$TMP/grep.km"
[ $st -eq 0 ] && [ -s "$TMP/grep.plain" ] && same grep
check "grep -r /usr/share/doc" $?

# 5. The library really is the allocator: malloc(17) is a 32-byte object
#    (glibc would say 24), and the odd entry points work.
cat > "$TMP/usable.c" <<'C'
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    void *p = malloc(17);
    size_t n = malloc_usable_size(p);
    printf("usable %zu\n", n);
    free(p);
    void *a = aligned_alloc(256, 1000), *m = memalign(64, 100), *v = valloc(10), *q = NULL;
    int bad = posix_memalign(&q, 4096, 50000);
    void *big = malloc(40u << 20), *r = realloc(malloc(10), 100000);
    bad |= ((uintptr_t)a % 256) || ((uintptr_t)m % 64) || ((uintptr_t)v % 4096) ||
           ((uintptr_t)q % 4096) || !big || !r || malloc_usable_size(big) < (40u << 20);
    free(a); free(m); free(v); free(q); free(big); free(r);
    return n != 32 || bad;
}
C
if $CC -O2 -o "$TMP/usable" "$TMP/usable.c"; then
    run_km usable "$TMP/usable" && grep -q '^usable 32$' "$TMP/usable.km"
    check "malloc_usable_size(malloc(17)) == 32 (library in use)" $?
else
    check "malloc_usable_size (compile)" 1
fi

# 7. fork while other threads are inside malloc: the child (which has only the
# forking thread) must find every lock free and malloc working, threads too.
# The pthread_atfork handlers in kmalloc_preload.c are what makes this work.
cat > "$TMP/forks.c" <<'C'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int stop;

static void *churn(void *arg)
{
    unsigned seed = (unsigned)(size_t)arg;
    void *slots[256] = {0};
    while (!stop) {
        seed = seed * 1103515245 + 12345;
        unsigned i = seed >> 24;
        free(slots[i]);
        size_t size = seed % 8 == 0 ? 70000 + seed % 300000 : 1 + seed % 3000;
        slots[i] = malloc(size);
        if (slots[i])
            memset(slots[i], (int)i, size < 64 ? size : 64);
    }
    for (int i = 0; i < 256; i++)
        free(slots[i]);
    return NULL;
}

static void *child_thread(void *arg)
{
    char **strings = malloc(1000 * sizeof(char *));
    for (int i = 0; i < 1000; i++) {
        strings[i] = malloc(1 + i % 500);
        memset(strings[i], 'c', 1 + i % 500);
    }
    for (int i = 0; i < 1000; i++)
        free(strings[i]);
    free(strings);
    return arg;
}

int main(void)
{
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, churn, (void *)(size_t)(i + 1));
    int children_ok = 0;
    for (int round = 0; round < 200; round++) {
        pid_t pid = fork();
        if (pid == 0) {
            pthread_t t;
            void *result = NULL;
            if (pthread_create(&t, NULL, child_thread, (void *)7) != 0)
                _exit(2);
            child_thread(NULL);
            pthread_join(t, &result);
            _exit(result == (void *)7 ? 0 : 3);
        }
        int status = 0;
        if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
            WEXITSTATUS(status) == 0)
            children_ok++;
    }
    stop = 1;
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    printf("children that ran malloc and a thread: %d of 200\n", children_ok);
    return children_ok == 200 ? 0 : 1;
}
C
if $CC -O2 -pthread -o "$TMP/forks" "$TMP/forks.c"; then
    run_plain forks "$TMP/forks"
    run_km forks timeout 120 "$TMP/forks" && same forks
    check "fork 200 times while 4 threads malloc; each child mallocs in 2 threads" $?
else
    check "fork while threads malloc (compile)" 1
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
