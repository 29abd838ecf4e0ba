/*
 * malloc_bench.c: one benchmark program for every allocator.
 *
 * The allocator is whatever malloc/free the process ends up with: glibc's,
 * or one loaded with LD_PRELOAD (jemalloc, mimalloc, tcmalloc, ours as
 * build/host/libkmalloc.so). tools/bench/malloc_bench_linked.c compiles this
 * same file against mm/malloc.c directly (BENCH_LINKED), so that a figure for
 * our allocator exists without the preload library.
 *
 *   malloc_bench WORKLOAD [seconds [operations]]
 *
 * WORKLOAD is one of
 *   none        allocator warmed by one malloc/free, nothing else: baseline RSS
 *   churn       1 thread, 16-256 B, a window of live objects, random replacement
 *   mix1to4k    1 thread, 1025-4096 B, the same
 *   larson      2 threads, 16-1024 B, each replaces objects of its window and
 *               hands the old one to its neighbour, which frees it
 *   prodcon     1 producer mallocs 16-256 B into a queue, 1 consumer frees
 *   large       1 thread, 64 KiB-4 MiB, a window of 16 blocks, random replacement;
 *               every page of a new block is written (a program uses what it asks for)
 *   fastpath N  N malloc(64)+free pairs in a loop (for callgrind)
 *
 * One line of output, key=value:
 *   workload= ops= seconds= ops_per_s= peak_req= bookkeeping= maxrss_kb=
 * ops counts calls: a malloc is one op, a free is one op. peak_req is the
 * peak of the requested bytes of live objects (sampled every 64 operations in
 * the threaded workloads), bookkeeping the bytes of the benchmark's own
 * arrays (to subtract from RSS), maxrss_kb getrusage(RUSAGE_SELF).ru_maxrss
 * at exit: the same figure the parent's wait4 reports for this child.
 *
 * Every workload fills its window untimed, then runs its timed phase until
 * its operation count (default 2*10^8) or its time limit (default 0.5 s) is
 * reached. run.sh uses both: timed runs for the speed, and runs of a fixed
 * count with a generous time limit for the peak RSS at equal work (the
 * single-threaded workloads then make exactly the same calls whatever the
 * allocator: the random sizes come from a fixed seed).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#ifdef BENCH_LINKED
/* malloc_bench_linked.c defines these on top of km_*. */
void *bench_malloc(size_t size);
void bench_free(void *ptr);
void bench_thread_start(unsigned index); /* a CPU id for the thread */
void bench_init(void);
#else
#define bench_malloc malloc
#define bench_free free
static void bench_thread_start(unsigned index)
{
    (void)index;
}
static void bench_init(void) {}
#endif

#define CACHE_LINE 64
#define SAMPLE_MASK 63u

static double time_limit = 0.5;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline uint64_t rng_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

static inline size_t rng_size(uint64_t *state, size_t lo, size_t hi)
{
    return lo + (size_t)(rng_next(state) % (hi - lo + 1));
}

/* The benchmark's own arrays: mmap, not malloc, so the allocator under test
 * sees only the workload; counted in bookkeeping. */
static size_t bookkeeping;

static void *book_alloc(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    memset(p, 0, bytes); /* touched: in RSS */
    bookkeeping += bytes;
    return p;
}

static inline void touch(void *p, size_t size)
{
    /* Write the first and the last byte, as a user of the object would. */
    ((volatile char *)p)[0] = 1;
    ((volatile char *)p)[size - 1] = 2;
}

static void *checked_malloc(size_t size)
{
    void *p = bench_malloc(size);
    if (!p) {
        fprintf(stderr, "malloc(%zu) failed\n", size);
        exit(3);
    }
    touch(p, size);
    return p;
}

struct result {
    uint64_t ops;
    double seconds;
    uint64_t peak_req;
};

/* ---- churn and mix1to4k: one thread, a window of live objects ------------ */

/* Writes one byte in every page of a new block: the pages become real, as in
 * a program that uses its buffers (an allocator that returns runs to the
 * system and takes them back pays the page faults here). */
static void touch_pages(char *block, size_t size, bool touch)
{
    for (size_t offset = 0; touch && offset < size; offset += 4096)
        block[offset] = (char)offset;
}

static struct result window_workload_touching(size_t lo, size_t hi, size_t window, uint64_t max_ops,
                                              bool touch);

static struct result window_workload(size_t lo, size_t hi, size_t window, uint64_t max_ops)
{
    return window_workload_touching(lo, hi, window, max_ops, false);
}

static struct result window_workload_touching(size_t lo, size_t hi, size_t window, uint64_t max_ops,
                                              bool touch)
{
    void **slots = book_alloc(window * sizeof(void *));
    uint32_t *sizes = book_alloc(window * sizeof(uint32_t));
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    uint64_t live = 0, peak = 0;
    for (size_t i = 0; i < window; i++) {
        sizes[i] = (uint32_t)rng_size(&rng, lo, hi);
        slots[i] = checked_malloc(sizes[i]);
        touch_pages(slots[i], sizes[i], touch);
        live += sizes[i];
    }
    peak = live;
    uint64_t ops = 0;
    double start = now(), elapsed = 0;
    while (ops < max_ops) {
        for (int k = 0; k < (touch ? 16 : 1024); k++) {
            size_t i = (size_t)(rng_next(&rng) % window);
            bench_free(slots[i]);
            live -= sizes[i];
            sizes[i] = (uint32_t)rng_size(&rng, lo, hi);
            slots[i] = checked_malloc(sizes[i]);
            touch_pages(slots[i], sizes[i], touch);
            live += sizes[i];
            if (live > peak)
                peak = live;
        }
        ops += touch ? 32 : 2048;
        elapsed = now() - start;
        if (elapsed > time_limit)
            break;
    }
    for (size_t i = 0; i < window; i++)
        bench_free(slots[i]);
    return (struct result){ops, elapsed, peak};
}

/* ---- a single-producer single-consumer ring ------------------------------ */

struct ring {
    _Alignas(CACHE_LINE) _Atomic uint64_t head;        /* written by the producer */
    _Alignas(CACHE_LINE) _Atomic uint64_t tail;        /* written by the consumer */
    _Alignas(CACHE_LINE) _Atomic uint64_t freed_bytes; /* consumer: requested bytes freed */
    _Alignas(CACHE_LINE) uint64_t capacity;            /* a power of two */
    void **items;
    uint32_t *sizes;
};

static void ring_init(struct ring *r, uint64_t capacity)
{
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->freed_bytes, 0);
    r->capacity = capacity;
    r->items = book_alloc(capacity * sizeof(void *));
    r->sizes = book_alloc(capacity * sizeof(uint32_t));
}

static _Atomic int stop_flag;

/* Pushes, spinning while the ring is full; false if told to stop meanwhile. */
static bool ring_push(struct ring *r, uint64_t *head, uint64_t *tail_cache, void *p, uint32_t size)
{
    while (*head - *tail_cache >= r->capacity) {
        atomic_store_explicit(&r->head, *head, memory_order_release);
        *tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (*head - *tail_cache >= r->capacity) {
            if (atomic_load_explicit(&stop_flag, memory_order_relaxed))
                return false;
            sched_yield();
        }
    }
    r->items[*head & (r->capacity - 1)] = p;
    r->sizes[*head & (r->capacity - 1)] = size;
    ++*head;
    if ((*head & 15) == 0) /* publish in batches: less cache-line traffic */
        atomic_store_explicit(&r->head, *head, memory_order_release);
    return true;
}

/* Frees everything in the ring; returns how many. */
static uint64_t ring_drain(struct ring *r, uint64_t *tail)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t n = 0, bytes = 0;
    while (*tail < head) {
        bench_free(r->items[*tail & (r->capacity - 1)]);
        bytes += r->sizes[*tail & (r->capacity - 1)];
        ++*tail;
        n++;
    }
    if (n) {
        atomic_store_explicit(&r->tail, *tail, memory_order_release);
        atomic_fetch_add_explicit(&r->freed_bytes, bytes, memory_order_relaxed);
    }
    return n;
}

/* ---- larson: each thread hands replaced objects to its neighbour --------- */

#define LARSON_THREADS 2
#define LARSON_WINDOW 20000
#define LARSON_RING 4096
#define LARSON_LO 16
#define LARSON_HI 1024

struct larson_thread {
    _Alignas(CACHE_LINE) unsigned index;
    struct ring *out, *in;
    uint64_t max_ops;
    uint64_t ops;
    double seconds;
    uint64_t peak_req;
    pthread_barrier_t *barrier;
};

static void *larson_main(void *arg)
{
    struct larson_thread *t = arg;
    bench_thread_start(t->index + 1);
    void **slots = book_alloc(LARSON_WINDOW * sizeof(void *));
    uint32_t *sizes = book_alloc(LARSON_WINDOW * sizeof(uint32_t));
    uint64_t rng = 0x9e3779b97f4a7c15ull * (t->index + 1);
    uint64_t live = 0, sent = 0, peak = 0;
    for (size_t i = 0; i < LARSON_WINDOW; i++) {
        sizes[i] = (uint32_t)rng_size(&rng, LARSON_LO, LARSON_HI);
        slots[i] = checked_malloc(sizes[i]);
        live += sizes[i];
    }
    uint64_t head = 0, tail_cache = 0, in_tail = 0, ops = 0;
    pthread_barrier_wait(t->barrier);
    double start = now(), elapsed = 0;
    while (ops < t->max_ops && !atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
        for (unsigned k = 0; k < 1024; k++) {
            size_t i = (size_t)(rng_next(&rng) % LARSON_WINDOW);
            /* While the neighbour's ring is full, free what our own holds
             * (else both threads could wait on each other). */
            while (head - tail_cache >= t->out->capacity) {
                tail_cache = atomic_load_explicit(&t->out->tail, memory_order_acquire);
                if (head - tail_cache >= t->out->capacity) {
                    atomic_store_explicit(&t->out->head, head, memory_order_release);
                    ops += ring_drain(t->in, &in_tail);
                    if (atomic_load_explicit(&stop_flag, memory_order_relaxed))
                        goto out;
                }
            }
            ring_push(t->out, &head, &tail_cache, slots[i], sizes[i]);
            sent += sizes[i];
            live -= sizes[i];
            sizes[i] = (uint32_t)rng_size(&rng, LARSON_LO, LARSON_HI);
            slots[i] = checked_malloc(sizes[i]);
            live += sizes[i];
            ops++; /* the malloc */
            if ((k & 15) == 15)
                ops += ring_drain(t->in, &in_tail); /* one op per free */
            if ((k & SAMPLE_MASK) == 0) {
                uint64_t freed = atomic_load_explicit(&t->out->freed_bytes, memory_order_relaxed);
                uint64_t held = live + (sent - freed);
                if (held > peak)
                    peak = held;
            }
        }
        elapsed = now() - start;
        if (elapsed > time_limit)
            atomic_store_explicit(&stop_flag, 1, memory_order_relaxed);
    }
out:
    elapsed = now() - start;
    atomic_store_explicit(&t->out->head, head, memory_order_release);
    atomic_store_explicit(&stop_flag, 1, memory_order_relaxed);
    t->seconds = elapsed;
    t->peak_req = peak;
    t->ops = ops;
    return slots; /* the window, freed by the main thread after the join */
}

static struct result larson(uint64_t max_ops)
{
    struct ring rings[LARSON_THREADS];
    struct larson_thread threads[LARSON_THREADS];
    pthread_t ids[LARSON_THREADS];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, LARSON_THREADS);
    for (unsigned i = 0; i < LARSON_THREADS; i++)
        ring_init(&rings[i], LARSON_RING);
    for (unsigned i = 0; i < LARSON_THREADS; i++) {
        threads[i] = (struct larson_thread){
            .index = i,
            .out = &rings[i],
            .in = &rings[(i + LARSON_THREADS - 1) % LARSON_THREADS],
            .max_ops = max_ops / LARSON_THREADS,
            .barrier = &barrier,
        };
        pthread_create(&ids[i], NULL, larson_main, &threads[i]);
    }
    struct result r = {0, 0, 0};
    void *windows[LARSON_THREADS];
    for (unsigned i = 0; i < LARSON_THREADS; i++) {
        pthread_join(ids[i], &windows[i]);
        if (threads[i].seconds > r.seconds)
            r.seconds = threads[i].seconds;
        r.peak_req += threads[i].peak_req;
    }
    /* Operations: every malloc and every free made in the timed phase. */
    for (unsigned i = 0; i < LARSON_THREADS; i++)
        r.ops += threads[i].ops;
    /* Leftovers: in the rings and the windows (untimed). */
    for (unsigned i = 0; i < LARSON_THREADS; i++) {
        uint64_t tail = atomic_load(&rings[i].tail);
        ring_drain(&rings[i], &tail);
        void **slots = windows[i];
        for (size_t k = 0; k < LARSON_WINDOW; k++)
            bench_free(slots[k]);
    }
    pthread_barrier_destroy(&barrier);
    return r;
}

/* ---- producer/consumer ---------------------------------------------------- */

#define PC_RING (1u << 16)
#define PC_LO 16
#define PC_HI 256

struct pc_shared {
    struct ring ring;
    uint64_t max_ops;
    uint64_t produced, consumed;
    double seconds;
    uint64_t peak_req;
    pthread_barrier_t barrier;
};

static void *producer_main(void *arg)
{
    struct pc_shared *s = arg;
    bench_thread_start(1);
    uint64_t rng = 0x2545f4914f6cdd1dull, head = 0, tail_cache = 0, sent = 0, peak = 0, n = 0;
    pthread_barrier_wait(&s->barrier);
    double start = now(), elapsed = 0;
    while (n < s->max_ops / 2) {
        for (unsigned k = 0; k < 1024; k++) {
            uint32_t size = (uint32_t)rng_size(&rng, PC_LO, PC_HI);
            void *p = checked_malloc(size);
            if (!ring_push(&s->ring, &head, &tail_cache, p, size)) {
                bench_free(p);
                goto out;
            }
            sent += size;
            n++;
            if ((k & SAMPLE_MASK) == 0) {
                uint64_t held =
                    sent - atomic_load_explicit(&s->ring.freed_bytes, memory_order_relaxed);
                if (held > peak)
                    peak = held;
            }
        }
        elapsed = now() - start;
        if (elapsed > time_limit)
            break;
    }
out:
    elapsed = now() - start;
    atomic_store_explicit(&s->ring.head, head, memory_order_release);
    atomic_store_explicit(&stop_flag, 1, memory_order_release);
    s->produced = n;
    s->seconds = elapsed;
    s->peak_req = peak;
    return NULL;
}

static void *consumer_main(void *arg)
{
    struct pc_shared *s = arg;
    bench_thread_start(2);
    uint64_t tail = 0, n = 0;
    pthread_barrier_wait(&s->barrier);
    for (;;) {
        uint64_t got = ring_drain(&s->ring, &tail);
        n += got;
        if (!got) {
            if (atomic_load_explicit(&stop_flag, memory_order_acquire)) {
                n += ring_drain(&s->ring, &tail);
                break;
            }
            sched_yield();
        }
    }
    s->consumed = n;
    return NULL;
}

static struct result prodcon(uint64_t max_ops)
{
    struct pc_shared *s = book_alloc(sizeof(*s));
    ring_init(&s->ring, PC_RING);
    s->max_ops = max_ops;
    pthread_barrier_init(&s->barrier, NULL, 2);
    pthread_t p, c;
    pthread_create(&c, NULL, consumer_main, s);
    pthread_create(&p, NULL, producer_main, s);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    pthread_barrier_destroy(&s->barrier);
    /* The consumer's last frees come after the producer stopped its clock;
     * count only those the producer's interval covers, at most produced. */
    return (struct result){2 * s->produced, s->seconds, s->peak_req};
}

/* ---- the fast path, for callgrind ---------------------------------------- */

static struct result fastpath(uint64_t pairs)
{
    /* One 64-byte object stays live throughout (in the 0-pair run too), so
     * the pair below never empties its slab or run: the fast path proper. */
    void *keep = bench_malloc(64);
    __asm__ volatile("" : : "r"(keep) : "memory");
    for (uint64_t i = 0; i < pairs; i++) {
        void *p = bench_malloc(64);
        __asm__ volatile("" : : "r"(p) : "memory"); /* keep the pair */
        bench_free(p);
    }
    bench_free(keep);
    return (struct result){2 * pairs, 0, 64};
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr,
                "usage: %s none|churn|mix1to4k|larson|prodcon|large [seconds [operations]] | "
                "fastpath N\n",
                argv[0]);
        return 1;
    }
    const char *w = argv[1];
    if (argc > 2 && strcmp(w, "fastpath") != 0)
        time_limit = atof(argv[2]);
    uint64_t max_ops = 200000000;
    if (argc > 3 && strcmp(w, "fastpath") != 0)
        max_ops = strtoull(argv[3], NULL, 10);
    bench_init();
    bench_thread_start(0);
    /* Warm the allocator up (its own initialisation is part of the baseline). */
    void *warm = bench_malloc(1);
    __asm__ volatile("" : : "r"(warm) : "memory");
    bench_free(warm);

    struct result r = {0, 0, 0};
    if (strcmp(w, "none") == 0)
        ;
    else if (strcmp(w, "churn") == 0)
        r = window_workload(16, 256, 100000, max_ops);
    else if (strcmp(w, "mix1to4k") == 0)
        r = window_workload(1025, 4096, 10000, max_ops);
    else if (strcmp(w, "larson") == 0)
        r = larson(max_ops);
    else if (strcmp(w, "prodcon") == 0)
        r = prodcon(max_ops);
    else if (strcmp(w, "large") == 0)
        r = window_workload_touching(64 << 10, 4 << 20, 16, max_ops, true);
    else if (strcmp(w, "fastpath") == 0)
        r = fastpath(argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000);
    else {
        fprintf(stderr, "unknown workload %s\n", w);
        return 1;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("workload=%s ops=%llu seconds=%.6f ops_per_s=%.0f peak_req=%llu bookkeeping=%zu "
           "maxrss_kb=%ld\n",
           w, (unsigned long long)r.ops, r.seconds, r.seconds > 0 ? (double)r.ops / r.seconds : 0.0,
           (unsigned long long)r.peak_req, bookkeeping, ru.ru_maxrss);
    return 0;
}
