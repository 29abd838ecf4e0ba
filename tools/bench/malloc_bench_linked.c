/*
 * malloc_bench_linked.c: malloc_bench.c against mm/malloc.c linked in
 * directly (km_malloc/km_free), with a page source of its own on mmap, so
 * our allocator has a figure without build/host/libkmalloc.so.
 *
 * Page source: one address-space reservation (PROT_NONE, MAP_NORESERVE) of
 * ARENA_BYTES, an owner word per page in a second reservation, runs handed
 * out from free lists of exact page counts, else bumped from the top of what
 * was used. A run given back is kept, resident, on its page count's free
 * list (no madvise: a DONTNEED and the page faults after it cost more than
 * the allocator itself when slabs come and go; peak RSS is what is reported).
 * One spinlock covers it: the page source is malloc's slow path.
 *
 * Each benchmark thread is a CPU of its own (host_set_cpu, tests/host).
 */
#define _GNU_SOURCE
#define BENCH_LINKED 1
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "mm/malloc.h"
#include "tests/host/platform_host.h"

#define PAGE 4096ull
#define ARENA_BYTES (16ull << 30) /* address space only */
#define ARENA_PAGES (ARENA_BYTES / PAGE)
#define FREE_LISTS 1024           /* exact counts 1 .. 1023; longer runs share list 0 */
#define BENCH_CPUS 4

static char *arena;
static uint32_t *owners;
static uint64_t bump;                 /* pages used from the start */
static uint32_t *next_free;           /* per page: next run on its list, + 1 */
static uint32_t free_heads[FREE_LISTS]; /* first page index + 1, 0 if empty */
static uint32_t *run_pages;           /* per first page of a free run: its length */
static atomic_flag lock = ATOMIC_FLAG_INIT;

static void take(void)
{
    while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire))
        ;
}

static void give(void)
{
    atomic_flag_clear_explicit(&lock, memory_order_release);
}

static void *reserve(size_t bytes, int prot)
{
    void *p = mmap(NULL, bytes, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    return p;
}

static void *source_alloc(size_t pages, size_t align_pages)
{
    if (pages == 0)
        return NULL;
    if (align_pages == 0)
        align_pages = 1;
    take();
    size_t list = pages < FREE_LISTS ? pages : 0;
    /* The head of the exact list, if suitably aligned (slabs want 1). */
    uint32_t *link = &free_heads[list];
    while (*link) {
        uint64_t first = *link - 1;
        if (run_pages[first] == pages && first % align_pages == 0) {
            *link = next_free[first];
            give();
            return arena + first * PAGE;
        }
        if (list != 0)
            break; /* exact list: only the head is checked */
        link = &next_free[first];
    }
    uint64_t first = (bump + align_pages - 1) & ~(uint64_t)(align_pages - 1);
    if (first + pages > ARENA_PAGES) {
        give();
        return NULL;
    }
    bump = first + pages;
    give();
    char *p = arena + first * PAGE;
    if (mprotect(p, pages * PAGE, PROT_READ | PROT_WRITE) != 0) {
        perror("mprotect");
        exit(2);
    }
    return p;
}

static void source_free(void *start, size_t pages)
{
    uint64_t first = (uint64_t)((char *)start - arena) / PAGE;
    take();
    size_t list = pages < FREE_LISTS ? pages : 0;
    run_pages[first] = (uint32_t)pages;
    next_free[first] = free_heads[list];
    free_heads[list] = (uint32_t)(first + 1);
    give();
}

static uint32_t *source_owner(const void *addr)
{
    const char *a = addr;
    if (a < arena || a >= arena + bump * PAGE)
        return NULL;
    return &owners[(uint64_t)(a - arena) / PAGE];
}

static struct malloc_page_source source = {source_alloc, source_free, source_owner, NULL, 0, 0};

void bench_init(void)
{
    /* align_pages is counted from the arena's start: align the arena to
     * 1 GiB so that it holds for the addresses themselves. */
    uintptr_t raw = (uintptr_t)reserve(ARENA_BYTES + (1ull << 30), PROT_NONE);
    arena = (char *)((raw + (1ull << 30) - 1) & ~(uintptr_t)((1ull << 30) - 1));
    owners = reserve(ARENA_PAGES * sizeof(uint32_t), PROT_READ | PROT_WRITE);
    next_free = reserve(ARENA_PAGES * sizeof(uint32_t), PROT_READ | PROT_WRITE);
    run_pages = reserve(ARENA_PAGES * sizeof(uint32_t), PROT_READ | PROT_WRITE);
    source.page_map = reserve(ARENA_PAGES * sizeof(struct km_page_info), PROT_READ | PROT_WRITE);
    source.map_start = (uintptr_t)arena;
    source.map_pages = ARENA_PAGES;
    host_set_quiet(true);
    if (km_init(&source, BENCH_CPUS) != 0) {
        fprintf(stderr, "km_init failed\n");
        exit(2);
    }
}

void bench_thread_start(unsigned index)
{
    host_set_cpu(index % BENCH_CPUS, BENCH_CPUS);
}

void *bench_malloc(size_t size)
{
    return km_malloc(size);
}

void bench_free(void *ptr)
{
    km_free(ptr);
}

#include "tools/bench/malloc_bench.c"
