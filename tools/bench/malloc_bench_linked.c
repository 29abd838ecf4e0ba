/*
 * malloc_bench_linked.c: malloc_bench.c against mm/malloc.c linked in
 * directly (km_malloc/km_free), so our allocator has a figure without
 * build/host/libkmalloc.so (no preload shim, no chunks, no run cache).
 *
 * Page source: the kernel's page allocator (mm/page_alloc.c over mm/buddy.c)
 * over one arena of ARENA_BYTES (MAP_NORESERVE: pages cost memory once
 * touched), with the owner word in each page's struct page, as in the kernel.
 * A freed run stays resident (no madvise): peak RSS is what is reported. The
 * buddy's metadata (16 bytes a page: 1 MiB for 256 MiB) is all written at
 * start, so it is in every workload's RSS, the baseline included.
 *
 * Each benchmark thread is a CPU of its own (host_set_cpu, tests/host): CPU 0
 * has a page cache, the others go to the buddy (one CPU counted).
 */
#define _GNU_SOURCE
#define BENCH_LINKED 1
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "mm/malloc.h"
#include "mm/page_alloc.h"
#include "tests/host/platform_host.h"

#define PAGE 4096ull
#define ARENA_BYTES (256ull << 20) /* every workload's peak fits, large's 70 MiB too */
#define ARENA_PAGES (ARENA_BYTES / PAGE)
#define BENCH_CPUS 4

static char *arena;
static struct buddy buddy;
static struct page_alloc pages_front;

static void *reserve(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    return p;
}

static void *source_alloc(size_t pages, size_t align_pages)
{
    uint64_t pfn;
    if (pages == 0 || align_pages == 0 || (align_pages & (align_pages - 1)) ||
        page_alloc_try_run(&pages_front, pages, (unsigned)__builtin_ctzll(align_pages), &pfn) != 0)
        return NULL;
    return (void *)(uintptr_t)(pfn * PAGE);
}

static void source_free(void *start, size_t pages)
{
    page_alloc_free_run(&pages_front, (uintptr_t)start / PAGE, pages);
}

static uint32_t *source_owner(const void *addr)
{
    struct page *page = buddy_pfn_to_page(&buddy, (uintptr_t)addr / PAGE);
    return page ? &page->owner : NULL;
}

static struct malloc_page_source source = {
    .alloc_pages = source_alloc, .free_pages = source_free, .page_owner = source_owner};

void bench_init(void)
{
    /* Blocks are aligned in page frame numbers: a 4 MiB-aligned arena makes
     * every block of the buddy (4 MiB at most) aligned in memory too. */
    uintptr_t raw = (uintptr_t)reserve(ARENA_BYTES + (4ull << 20));
    arena = (char *)((raw + (4ull << 20) - 1) & ~(uintptr_t)((4ull << 20) - 1));
    struct buddy_range range = {(uintptr_t)arena / PAGE, (uintptr_t)arena / PAGE + ARENA_PAGES};
    size_t metadata_bytes = buddy_metadata_bytes(&range, 1);
    if (buddy_init(&buddy, &range, 1, reserve(metadata_bytes), metadata_bytes) != 0) {
        fprintf(stderr, "buddy_init refused the arena\n");
        exit(2);
    }
    buddy_free_range(&buddy, range.start_pfn, range.end_pfn);
    page_alloc_init(&pages_front, &buddy);
    source.page_map = reserve(ARENA_PAGES * sizeof(struct km_page_info));
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
