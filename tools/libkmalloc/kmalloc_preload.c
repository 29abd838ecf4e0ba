/*
 * kmalloc_preload.c: mm/malloc.c as the C library's allocator, for
 * LD_PRELOAD=build/host/libkmalloc.so (see tools/libkmalloc/README.md).
 *
 * Three parts:
 *   1. lib/platform.h for a process: threads stand for CPUs.
 *   2. A page source: the project's own buddy allocator (mm/buddy.c) over
 *      chunks of one big reserved virtual arena, plus direct mmap for runs
 *      the buddy cannot give (more than 4 MiB).
 *   3. The exported glibc allocation API, each a thin call to km_*.
 *
 * Nothing here calls malloc: all memory comes from mmap, and the first call
 * into the library (possibly from inside the dynamic loader or dlsym, before
 * main) initialises it under a spin lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lib/format.h"
#include "lib/platform.h"
#include "mm/buddy.h"
#include "mm/page_alloc.h"
#include "mm/malloc.h"

#define EXPORT __attribute__((visibility("default")))
#define PAGE_BYTES 4096ull

/* ---- small helpers -------------------------------------------------------- */

static void write_all(const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(2, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        text += n;
        len -= (size_t)n;
    }
}

static void spin_lock(volatile uint32_t *word)
{
    unsigned spins = 0;
    while (__atomic_exchange_n(word, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(word, __ATOMIC_RELAXED)) {
            /* The holder may be a preempted thread (more threads than
             * cores): after a short spin, give the core away. */
            if (++spins > 64)
                sched_yield();
            else
                __builtin_ia32_pause();
        }
    }
}

static void spin_unlock(volatile uint32_t *word)
{
    __atomic_store_n(word, 0, __ATOMIC_RELEASE);
}

/* ---- 1. lib/platform.h ----------------------------------------------------- */

/*
 * CPUs are threads, and each thread has a pool of its own, so that
 * mm/malloc.c's fast path (a pointer read from the thread's
 * platform_malloc_pool_slot, then the magazine) needs no lock at all.
 *
 * A thread's first call takes a pool id ("CPU"): one given back by a thread
 * that ended, or a new one (km_set_cpu_count). The pthread key's destructor
 * gives it back when the thread ends, after km_flush_cpu has emptied its
 * magazines and returned its free slabs; the next thread that takes the id
 * takes over its slabs. Ids 0 .. SHARED_POOLS - 1 are shared: a thread gets
 * one of them when every other id is taken (KM_MAX_CPUS), and after its exit
 * destructor has run (glibc frees a few things after the key destructors).
 * A sharing thread's pool pointer stays at km_closed_pool, so every call of
 * it takes the slow path, where "interrupts off" is the shared pool's lock
 * (re-entrant: the slow path nests it). An exclusive pool needs no lock.
 *
 * What none of this keeps out is a signal handler of the same thread calling
 * malloc while the thread is inside malloc: malloc is not async-signal-safe
 * (POSIX), and glibc's malloc is not either.
 */
#define SHARED_POOLS 4
static _Thread_local int my_cpu = -1;
static _Thread_local bool my_cpu_shared, my_thread_exiting;
static _Thread_local unsigned irq_depth;
static unsigned next_shared;
static struct {
    _Alignas(64) volatile uint32_t locked;
} cpu_locks[SHARED_POOLS];

/* Pool ids of ended threads, for the next threads; ids_made counts the pools. */
static volatile uint32_t id_lock;
static unsigned free_ids[KM_MAX_CPUS], free_id_count, ids_made;
static pthread_key_t exit_key;

/* lib/platform.h: the pool pointer, starting at the closed pool. */
_Thread_local void *platform_malloc_pool_slot = &km_closed_pool;

_Noreturn void platform_panic(const char *fmt, ...)
{
    char text[512];
    va_list args;
    va_start(args, fmt);
    int len = kvsnprintf(text, sizeof(text) - 1, fmt, args);
    va_end(args);
    if (len < 0)
        len = 0;
    if ((size_t)len > sizeof(text) - 2)
        len = (int)sizeof(text) - 2;
    text[len++] = '\n';
    write_all("libkmalloc: PANIC: ", 19);
    write_all(text, (size_t)len);
    abort();
}

void platform_print(const char *fmt, ...)
{
    char text[512];
    va_list args;
    va_start(args, fmt);
    int len = kvsnprintf(text, sizeof(text), fmt, args);
    va_end(args);
    if (len < 0)
        return;
    if ((size_t)len >= sizeof(text))
        len = (int)sizeof(text) - 1;
    write_all(text, (size_t)len);
}

static void ensure_init(void);

/* Set while this thread takes its pool id: the locks taken meanwhile (to
 * start malloc, or to add a pool) ask for the CPU id, and get this one. */
#define TAKING_CPU (PLATFORM_LOCK_NO_OWNER - 1)
static _Thread_local bool taking_cpu;

static void take_cpu(void)
{
    taking_cpu = true;
    ensure_init();
    int id = -1;
    if (!my_thread_exiting) {
        spin_lock(&id_lock);
        if (free_id_count > 0)
            id = (int)free_ids[--free_id_count];
        else if (ids_made < KM_MAX_CPUS && km_set_cpu_count(ids_made + 1) == 0)
            id = (int)ids_made++;
        spin_unlock(&id_lock);
    }
    if (id >= 0 && pthread_setspecific(exit_key, (void *)(uintptr_t)(id + 1)) != 0) {
        spin_lock(&id_lock); /* no destructor would give it back: give it back now */
        free_ids[free_id_count++] = (unsigned)id;
        spin_unlock(&id_lock);
        id = -1;
    }
    if (id < 0) {
        id = (int)(__atomic_fetch_add(&next_shared, 1, __ATOMIC_RELAXED) % SHARED_POOLS);
        my_cpu_shared = true;
    }
    my_cpu = id;
    taking_cpu = false;
}

unsigned platform_cpu_index(void)
{
    if (__builtin_expect(my_cpu < 0, 0)) {
        if (taking_cpu)
            return TAKING_CPU;
        take_cpu();
    }
    return (unsigned)my_cpu;
}

/* The key's destructor: the thread ends; its pool goes back for the next. */
static void thread_ends(void *value)
{
    unsigned id = (unsigned)(uintptr_t)value - 1;
    km_flush_cpu();
    platform_malloc_pool_slot = &km_closed_pool;
    my_cpu = -1;
    my_cpu_shared = false;
    my_thread_exiting = true; /* later calls of this thread share a pool */
    spin_lock(&id_lock);
    free_ids[free_id_count++] = id;
    spin_unlock(&id_lock);
}

void platform_set_malloc_pool(void *pool)
{
    if (!my_cpu_shared)
        platform_malloc_pool_slot = pool;
}

void platform_malloc_not_started(void)
{
    ensure_init();
}

void platform_malloc_failed(void)
{
    errno = ENOMEM;
}

unsigned platform_cpu_count(void)
{
    return __atomic_load_n(&ids_made, __ATOMIC_RELAXED);
}

void *platform_phys_to_virt(uint64_t phys)
{
    platform_panic("libkmalloc: no physical memory here (phys_to_virt(%#llx))",
                   (unsigned long long)phys);
}

uint64_t platform_interrupts_save_disable(void)
{
    unsigned cpu = platform_cpu_index();
    if (taking_cpu)
        return 0; /* no pool yet: nothing of one to protect */
    if (my_cpu_shared && irq_depth++ == 0)
        spin_lock(&cpu_locks[cpu].locked);
    return 0;
}

void platform_interrupts_restore(uint64_t saved)
{
    (void)saved;
    if (taking_cpu)
        return;
    if (my_cpu_shared && --irq_depth == 0)
        spin_unlock(&cpu_locks[my_cpu].locked);
}

/* ---- 2. the page source ---------------------------------------------------- */

/*
 * The arena: ARENA_BYTES of address space reserved once (MAP_NORESERVE: it
 * costs nothing until touched), cut into CHUNK_BYTES chunks. Each chunk gets
 * its own struct buddy on first need (buddy_init + buddy_free_range of the
 * whole chunk), so a small program pays for one chunk's metadata (16 bytes
 * per page: 128 KiB for 32 MiB), not for 64 GiB's worth (256 MiB). Chunks
 * were 256 MiB: their 1 MiB of page structs, all written by buddy_free_range,
 * was most of a small program's extra resident memory over glibc's. The buddy
 * structs and page arrays live in a second NORESERVE mapping. A page's owner
 * word is its struct page.owner, exactly as in the kernel.
 *
 * Runs of more than 4 MiB (the buddy's largest block), or aligned beyond
 * 4 MiB, are direct mmaps, recorded in a small locked table (start, pages,
 * and a separately mmap'd array of owner words) so the mapping itself
 * carries no header; they are munmap'd when freed.
 *
 * Big runs are mapped aligned to 4 MiB "granules", and each granule a run
 * covers is entered in a hash table (granule -> run), so that the owner of
 * any pointer outside the arena is found in O(1): a pointer that is not
 * ours (a foreign free) costs one or two probes, not a scan.
 *
 * Freed runs of at least MADVISE_PAGES pages stay resident while the pages
 * kept that way (retained_pages) are under RETAIN_PAGES: a program that
 * frees a 1 MiB buffer usually allocates another soon, and giving the pages
 * back to the kernel only to fault them in again, page by page, is what made
 * large blocks four times slower than glibc. Past the budget, a freed run is
 * madvise(MADV_DONTNEED)'d first, so its memory goes back to the kernel.
 * The count is an estimate (an allocation of such a run takes its pages off
 * the count, whether they were the resident ones or not), which is what
 * bounds it: resident free pages stay near RETAIN_PAGES, never far above.
 * Smaller runs (slabs) always stay resident: they come back soon.
 */
#define ARENA_BYTES (64ull << 30)
#define MIN_ARENA_BYTES (1ull << 30)
#define CHUNK_BYTES (32ull << 20)
#define CHUNK_PAGES (CHUNK_BYTES / PAGE_BYTES)
#define MAX_CHUNKS (ARENA_BYTES / CHUNK_BYTES)
/* A chunk's own page allocator (mm/page_alloc.c, as in the kernel) over its buddy. */
struct chunk_header {
    struct buddy buddy;
    struct page_alloc pages;
};
#define CHUNK_HEADER_BYTES                                                                         \
    ((sizeof(struct chunk_header) + PAGE_BYTES - 1) / PAGE_BYTES * PAGE_BYTES)
#define CHUNK_META_BYTES (CHUNK_HEADER_BYTES + CHUNK_PAGES * sizeof(struct page))
#define MADVISE_PAGES 16u
#define RETAIN_PAGES ((32u << 20) / PAGE_BYTES)
#define BIG_MAX 4096u
#define GRANULE_SHIFT 22 /* 4 MiB */
#define BIG_HASH_SIZE (1u << 16)
#define BIG_HASH_TOMBSTONE UINT32_MAX
#define BUDDY_MAX_PAGES (1ull << BUDDY_MAX_ORDER)

static char *arena;            /* CHUNK_BYTES-aligned */
static unsigned chunk_limit;   /* chunks the reservation holds */
static unsigned chunks_active; /* chunks with a buddy: 0 .. chunks_active - 1 (atomic) */
static char *chunk_meta;
static volatile uint32_t grow_lock;

/*
 * The run cache: freed runs of 3 to 15 pages that are not a power of two
 * (slabs of 3, 5 and 7 pages, small large runs), kept whole on a list per page
 * count, and handed out again for a run of the same count. The buddy
 * allocator keeps such a run as pieces (5 = 4 + 1) cut from a bigger block
 * (8) whose other piece (3) is often in use by then, so the pieces cannot
 * merge back, and the next 5-page run splits a fresh, untouched block: with
 * slabs of many classes coming and going, mix1to4k's peak RSS was 1.5 MiB
 * (5%) above what the same program needed with exact-size lists. At most
 * RUN_CACHE_PAGES pages wait here; past that a run goes back to the buddy. The
 * list link is the run's first word (its memory is free, and resident).
 */
#define RUN_CACHE_LISTS 16
#define RUN_CACHE_PAGES 512u /* 2 MiB */
static void *run_cache[RUN_CACHE_LISTS];
static unsigned run_cache_pages;
static volatile uint32_t run_cache_lock;

static bool run_cacheable(size_t pages)
{
    return pages >= 3 && pages < RUN_CACHE_LISTS && (pages & (pages - 1)) != 0;
}

/* A cached run of exactly `pages` pages aligned to align_pages, or NULL. */
static void *run_cache_take(size_t pages, size_t align_pages)
{
    if (!run_cacheable(pages) || !__atomic_load_n(&run_cache[pages], __ATOMIC_RELAXED))
        return NULL;
    spin_lock(&run_cache_lock);
    void **run = run_cache[pages];
    if (run && (uintptr_t)run / PAGE_BYTES % align_pages == 0) {
        run_cache[pages] = *run;
        run_cache_pages -= (unsigned)pages;
    } else {
        run = NULL; /* the head only: a misaligned head sends this one to the buddy */
    }
    spin_unlock(&run_cache_lock);
    return run;
}

static bool run_cache_put(void *start, size_t pages)
{
    if (!run_cacheable(pages))
        return false;
    spin_lock(&run_cache_lock);
    bool kept = run_cache_pages + pages <= RUN_CACHE_PAGES;
    if (kept) {
        *(void **)start = run_cache[pages];
        __atomic_store_n(&run_cache[pages], start, __ATOMIC_RELAXED);
        run_cache_pages += (unsigned)pages;
    }
    spin_unlock(&run_cache_lock);
    return kept;
}

/* The big runs (start NULL: a free record) and the granule table, under big_lock. */
static struct big_run {
    char *start;
    size_t pages;
    uint32_t *owners;
} big_runs[BIG_MAX];
static struct {
    uintptr_t granule;
    uint32_t run; /* index + 1; 0: never used; BIG_HASH_TOMBSTONE: was used */
} big_hash[BIG_HASH_SIZE];
static unsigned big_hash_used; /* entries not 0 (live and tombstones) */
static volatile uint32_t big_lock;
static size_t retained_pages; /* atomic */
/* malloc sets the owner word of every page of a run, one call each: this
 * thread's last run found answers them without the lock, while no big run
 * has been freed since (big_frees, bumped by every free, says so). */
static uint64_t big_frees; /* atomic */
static _Thread_local struct big_run last_run;
static _Thread_local uint64_t last_run_frees;

static unsigned granule_slot(uintptr_t granule)
{
    return (unsigned)((granule * 0x9e3779b97f4a7c15ull) >> (64 - 16)) % BIG_HASH_SIZE;
}

/* The run covering addr, or NULL. Under big_lock. */
static struct big_run *big_run_of(const void *addr)
{
    uintptr_t granule = (uintptr_t)addr >> GRANULE_SHIFT;
    for (unsigned slot = granule_slot(granule), probes = 0; probes < BIG_HASH_SIZE;
         slot = (slot + 1) % BIG_HASH_SIZE, probes++) {
        uint32_t run = big_hash[slot].run;
        if (run == 0)
            return NULL;
        if (run != BIG_HASH_TOMBSTONE && big_hash[slot].granule == granule) {
            struct big_run *found = &big_runs[run - 1];
            uintptr_t offset = (uintptr_t)addr - (uintptr_t)found->start;
            return (uintptr_t)addr >= (uintptr_t)found->start && offset < found->pages * PAGE_BYTES
                       ? found
                       : NULL;
        }
    }
    return NULL;
}

static size_t granules_of(const struct big_run *run)
{
    return (run->pages * PAGE_BYTES + (1ull << GRANULE_SHIFT) - 1) >> GRANULE_SHIFT;
}

/* Enters (run index) or removes (BIG_HASH_TOMBSTONE) a run's granules. Under big_lock. */
static void big_hash_set(const struct big_run *run, uint32_t value)
{
    uintptr_t first = (uintptr_t)run->start >> GRANULE_SHIFT;
    for (size_t i = 0; i < granules_of(run); i++) {
        uintptr_t granule = first + i;
        unsigned slot = granule_slot(granule);
        if (value == BIG_HASH_TOMBSTONE) {
            while (big_hash[slot].run == BIG_HASH_TOMBSTONE || big_hash[slot].granule != granule)
                slot = (slot + 1) % BIG_HASH_SIZE;
        } else {
            while (big_hash[slot].run != 0 && big_hash[slot].run != BIG_HASH_TOMBSTONE)
                slot = (slot + 1) % BIG_HASH_SIZE;
            big_hash_used += big_hash[slot].run == 0;
        }
        big_hash[slot].granule = granule;
        big_hash[slot].run = value;
    }
}

/* The table again from the live runs only, without tombstones. Under big_lock. */
static void big_hash_rebuild(void)
{
    memset(big_hash, 0, sizeof(big_hash));
    big_hash_used = 0;
    for (uint32_t index = 0; index < BIG_MAX; index++)
        if (big_runs[index].start)
            big_hash_set(&big_runs[index], index + 1);
}

/* Keeps a freed arena run resident, or gives its memory back (see above). */
static void retain_or_give_back(void *start, size_t pages)
{
    size_t now = __atomic_load_n(&retained_pages, __ATOMIC_RELAXED);
    if (now + pages <= RETAIN_PAGES)
        __atomic_fetch_add(&retained_pages, pages, __ATOMIC_RELAXED);
    else
        madvise(start, pages * PAGE_BYTES, MADV_DONTNEED);
}

static void retained_taken(size_t pages)
{
    size_t now = __atomic_load_n(&retained_pages, __ATOMIC_RELAXED);
    while (now > 0 &&
           !__atomic_compare_exchange_n(&retained_pages, &now, now > pages ? now - pages : 0, true,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

static struct chunk_header *chunk_header(unsigned chunk)
{
    return (struct chunk_header *)(chunk_meta + (size_t)chunk * CHUNK_META_BYTES);
}

static struct buddy *chunk_buddy(unsigned chunk)
{
    return &chunk_header(chunk)->buddy;
}

/* Brings chunk `active` (the next one) to life; false when the arena is full
 * or its metadata cannot be set up. */
static bool grow_arena(unsigned seen)
{
    bool ok = true;
    spin_lock(&grow_lock);
    unsigned active = __atomic_load_n(&chunks_active, __ATOMIC_ACQUIRE);
    if (active == seen) { /* nobody grew it meanwhile */
        if (active >= chunk_limit) {
            ok = false;
        } else {
            struct chunk_header *header = chunk_header(active);
            struct buddy *buddy = &header->buddy;
            uint64_t start_pfn = ((uintptr_t)arena + (uint64_t)active * CHUNK_BYTES) / PAGE_BYTES;
            struct buddy_range range = {start_pfn, start_pfn + CHUNK_PAGES};
            if (buddy_init(buddy, &range, 1, (char *)header + CHUNK_HEADER_BYTES,
                           CHUNK_PAGES * sizeof(struct page)) != 0) {
                ok = false;
            } else {
                buddy_free_range(buddy, range.start_pfn, range.end_pfn);
                page_alloc_init(&header->pages, buddy);
                __atomic_store_n(&chunks_active, active + 1, __ATOMIC_RELEASE);
            }
        }
    }
    spin_unlock(&grow_lock);
    return ok;
}

/* The lowest chunk that has the run: memory that was used before (and is
 * resident) goes out again before a later chunk's untouched pages do. Going
 * from a hint instead (the last chunk that worked) let a program whose slabs
 * filled the first chunk once move on to the second for good, leaving the
 * first one's freed pages resident and idle: 9 MiB more peak RSS in mix1to4k. */
static void *arena_alloc(size_t pages, size_t align_pages)
{
    unsigned align_order = (unsigned)__builtin_ctzll(align_pages);
    for (;;) {
        unsigned active = __atomic_load_n(&chunks_active, __ATOMIC_ACQUIRE);
        for (unsigned chunk = 0; chunk < active; chunk++) {
            uint64_t pfn;
            if (page_alloc_try_run(&chunk_header(chunk)->pages, pages, align_order, &pfn) == 0)
                return (void *)(uintptr_t)(pfn * PAGE_BYTES);
        }
        if (!grow_arena(active))
            return NULL;
    }
}

static void *big_alloc(size_t pages, size_t align_pages)
{
    size_t granule_pages = (1ull << GRANULE_SHIFT) / PAGE_BYTES;
    if (align_pages < granule_pages) /* a granule holds at most one run */
        align_pages = granule_pages;
    if (pages > SIZE_MAX / PAGE_BYTES - align_pages)
        return NULL;
    size_t bytes = pages * PAGE_BYTES, extra = (align_pages - 1) * PAGE_BYTES;
    char *map = mmap(NULL, bytes + extra, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    uintptr_t align = align_pages * PAGE_BYTES;
    char *start = (char *)(((uintptr_t)map + align - 1) & ~(align - 1));
    if (start > map)
        munmap(map, (size_t)(start - map));
    if ((size_t)(start - map) < extra)
        munmap(start + bytes, extra - (size_t)(start - map));
    size_t owner_bytes = (pages * sizeof(uint32_t) + PAGE_BYTES - 1) & ~(PAGE_BYTES - 1);
    uint32_t *owners = mmap(NULL, owner_bytes, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (owners == MAP_FAILED) {
        munmap(start, bytes);
        return NULL;
    }
    struct big_run run = {start, pages, owners};
    spin_lock(&big_lock);
    uint32_t index = 0;
    while (index < BIG_MAX && big_runs[index].start)
        index++;
    /* A quarter of the table stays empty, so that a probe always ends;
     * tombstones count until a rebuild clears them. */
    if (big_hash_used + granules_of(&run) > BIG_HASH_SIZE * 3 / 4)
        big_hash_rebuild();
    bool stored = index < BIG_MAX && big_hash_used + granules_of(&run) <= BIG_HASH_SIZE * 3 / 4;
    if (stored) {
        big_runs[index] = run;
        big_hash_set(&run, index + 1);
    }
    spin_unlock(&big_lock);
    if (!stored) {
        munmap(owners, owner_bytes);
        munmap(start, bytes);
        return NULL;
    }
    return start;
}

static void *source_alloc_pages(size_t pages, size_t align_pages)
{
    if (pages == 0 || align_pages == 0 || (align_pages & (align_pages - 1)))
        return NULL;
    void *cached = run_cache_take(pages, align_pages);
    if (cached)
        return cached;
    if (pages <= BUDDY_MAX_PAGES && align_pages <= BUDDY_MAX_PAGES) {
        void *start = arena_alloc(pages, align_pages);
        if (start) {
            if (pages >= MADVISE_PAGES)
                retained_taken(pages);
            return start;
        }
        if (pages * 2 < BUDDY_MAX_PAGES) /* small runs do not fall back to mmap */
            return NULL;
    }
    return big_alloc(pages, align_pages);
}

static bool in_arena(const void *addr)
{
    uintptr_t a = (uintptr_t)addr, base = (uintptr_t)arena;
    return a >= base && a - base < (uintptr_t)chunk_limit * CHUNK_BYTES;
}

static void source_free_pages(void *start, size_t pages)
{
    if (in_arena(start)) {
        if (run_cache_put(start, pages))
            return;
        unsigned chunk = (unsigned)(((uintptr_t)start - (uintptr_t)arena) / CHUNK_BYTES);
        if (pages >= MADVISE_PAGES)
            retain_or_give_back(start, pages);
        page_alloc_free_run(&chunk_header(chunk)->pages, (uintptr_t)start / PAGE_BYTES, pages);
        return;
    }
    spin_lock(&big_lock);
    struct big_run *found = big_run_of(start);
    if (!found || found->start != start) {
        spin_unlock(&big_lock);
        platform_panic("libkmalloc: freeing %zu pages at %p, never handed out", pages, start);
    }
    struct big_run run = *found;
    big_hash_set(&run, BIG_HASH_TOMBSTONE);
    found->start = NULL;
    __atomic_fetch_add(&big_frees, 1, __ATOMIC_RELEASE); /* every thread's last_run is stale */
    spin_unlock(&big_lock);
    if (run.pages != pages)
        platform_panic("libkmalloc: freeing %zu pages of the %zu-page mapping at %p", pages,
                       run.pages, start);
    munmap(run.owners, (run.pages * sizeof(uint32_t) + PAGE_BYTES - 1) & ~(PAGE_BYTES - 1));
    munmap(run.start, run.pages * PAGE_BYTES);
}

static uint32_t *source_page_owner(const void *addr)
{
    if (in_arena(addr)) {
        unsigned chunk = (unsigned)(((uintptr_t)addr - (uintptr_t)arena) / CHUNK_BYTES);
        if (chunk >= __atomic_load_n(&chunks_active, __ATOMIC_ACQUIRE))
            return NULL;
        struct page *page = buddy_pfn_to_page(chunk_buddy(chunk), (uintptr_t)addr / PAGE_BYTES);
        return page ? &page->owner : NULL;
    }
    uintptr_t offset = (uintptr_t)addr - (uintptr_t)last_run.start;
    if (last_run.start && (uintptr_t)addr >= (uintptr_t)last_run.start &&
        offset < last_run.pages * PAGE_BYTES &&
        __atomic_load_n(&big_frees, __ATOMIC_ACQUIRE) == last_run_frees)
        return &last_run.owners[offset / PAGE_BYTES];
    uint32_t *owner = NULL;
    spin_lock(&big_lock);
    struct big_run *run = big_run_of(addr);
    if (run) {
        owner = &run->owners[((uintptr_t)addr - (uintptr_t)run->start) / PAGE_BYTES];
        last_run = *run;
        last_run_frees = __atomic_load_n(&big_frees, __ATOMIC_RELAXED);
    }
    spin_unlock(&big_lock);
    return owner;
}

static struct malloc_page_source preload_source = {
    .alloc_pages = source_alloc_pages,
    .free_pages = source_free_pages,
    .page_owner = source_page_owner,
};

/* ---- initialisation ---------------------------------------------------------- */

static bool ready;
static volatile uint32_t init_lock;

/*
 * fork. A thread may be inside malloc, holding a lock, when another forks;
 * the child has only the forking thread, so such a lock would stay held
 * forever. So fork_prepare takes every lock, in the order the slow path
 * nests them (the shared pools', malloc's own, the arena's, each chunk's
 * zone locks, the big-run table's), and both sides let go after the fork.
 * A thread in the fast path holds nothing and changes its magazine with one
 * store at the end, so the child's copy of its pool is consistent; a thread
 * in a slow path of its own pool is not stopped by any lock, so the child
 * never reuses the pools of the threads that are gone (their ids are not
 * given back). Their slabs are still found by free: objects they held in
 * the parent can be freed in the child.
 */
static uint64_t fork_interrupts;

/* 1: take every zone lock; 0: let go (the parent); -1: make them anew (the
 * child: a thread of the parent that waited for one holds a ticket that
 * nobody in the child will ever serve). */
static void lock_chunks(int how)
{
    unsigned active = __atomic_load_n(&chunks_active, __ATOMIC_ACQUIRE);
    for (unsigned chunk = 0; chunk < active; chunk++)
        for (int zone = 0; zone < ZONE_COUNT; zone++) {
            struct platform_lock *zone_lock = &chunk_buddy(chunk)->zones[zone].lock;
            if (how > 0) {
                platform_lock_acquire(zone_lock);
            } else if (how == 0) {
                platform_lock_release(zone_lock);
            } else {
                platform_interrupts_restore(zone_lock->saved_interrupts);
                *zone_lock = (struct platform_lock)PLATFORM_LOCK_INIT;
            }
        }
}

static void fork_prepare(void)
{
    spin_lock(&id_lock);
    fork_interrupts = platform_interrupts_save_disable(); /* our own shared pool, if any */
    for (int i = 0; i < SHARED_POOLS; i++)
        if (!my_cpu_shared || i != my_cpu)
            spin_lock(&cpu_locks[i].locked);
    km_fork_prepare();
    spin_lock(&grow_lock);
    lock_chunks(1);
    spin_lock(&big_lock);
    spin_lock(&run_cache_lock);
}

static void fork_release(bool child)
{
    spin_unlock(&run_cache_lock);
    spin_unlock(&big_lock);
    lock_chunks(child ? -1 : 0);
    spin_unlock(&grow_lock);
    if (child)
        km_fork_child();
    else
        km_fork_release();
    for (int i = SHARED_POOLS - 1; i >= 0; i--)
        if (!my_cpu_shared || i != my_cpu)
            spin_unlock(&cpu_locks[i].locked);
    platform_interrupts_restore(fork_interrupts);
    spin_unlock(&id_lock);
}

static void fork_parent(void)
{
    fork_release(false);
}

static void fork_child(void)
{
    fork_release(true);
    free_id_count = 0; /* the pools of the threads that did not come along stay theirs */
}

static void init_slow(void)
{
    bool was_taking = taking_cpu;
    taking_cpu = true; /* km_init's locks must not ask for a pool id yet */
    spin_lock(&init_lock);
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        /* The biggest reservation the system allows, halving from 64 GiB
         * (overcommit settings or a ulimit -v may refuse the full size). */
        uint64_t bytes = ARENA_BYTES;
        char *map = MAP_FAILED;
        for (; bytes >= MIN_ARENA_BYTES; bytes /= 2) {
            map = mmap(NULL, bytes + CHUNK_BYTES, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (map != MAP_FAILED)
                break;
        }
        if (map == MAP_FAILED)
            platform_panic("libkmalloc: cannot reserve an arena of %llu bytes",
                           (unsigned long long)MIN_ARENA_BYTES);
        arena = (char *)(((uintptr_t)map + CHUNK_BYTES - 1) & ~(uintptr_t)(CHUNK_BYTES - 1));
        chunk_limit = (unsigned)(bytes / CHUNK_BYTES);
        chunk_meta = mmap(NULL, (size_t)chunk_limit * CHUNK_META_BYTES, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (chunk_meta == MAP_FAILED)
            platform_panic("libkmalloc: cannot reserve the arena's metadata");
        /* The page map: two bytes per page of the arena (32 MiB for
         * 64 GiB, touched only where slabs are). */
        preload_source.page_map =
            mmap(NULL, (size_t)(bytes / PAGE_BYTES) * sizeof(struct km_page_info),
                 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (preload_source.page_map == MAP_FAILED)
            platform_panic("libkmalloc: cannot reserve the page map");
        preload_source.map_start = (uintptr_t)arena;
        preload_source.map_pages = (size_t)(bytes / PAGE_BYTES);
        if (pthread_key_create(&exit_key, thread_ends) != 0)
            platform_panic("libkmalloc: no pthread key for the thread-exit handler");
        if (km_init(&preload_source, SHARED_POOLS) != 0)
            platform_panic("libkmalloc: km_init failed");
        ids_made = SHARED_POOLS;
        pthread_atfork(fork_prepare, fork_parent, fork_child);
        __atomic_store_n(&ready, true, __ATOMIC_RELEASE);
    }
    spin_unlock(&init_lock);
    taking_cpu = was_taking;
}

static inline void ensure_init(void)
{
    if (__builtin_expect(!__atomic_load_n(&ready, __ATOMIC_ACQUIRE), 0))
        init_slow();
}

/*
 * KMALLOC_REPORT=FILE: at exit, the process appends one line to FILE,
 * "libkmalloc: pid P, chunks C, pages held H", so that a test can prove the
 * library was loaded and served the program (tests/preload/run.sh): a wrong
 * LD_PRELOAD path leaves the program on glibc's malloc, and writes nothing.
 * C is the number of 32 MiB chunks the buddy allocator opened: 1 or more once
 * anything was allocated.
 */
__attribute__((destructor)) static void report_at_exit(void)
{
    const char *path = getenv("KMALLOC_REPORT");
    if (!path || !*path)
        return;
    char line[128];
    int len = ksnprintf(line, sizeof(line), "libkmalloc: pid %d, chunks %u, pages held %zu\n",
                        (int)getpid(), __atomic_load_n(&chunks_active, __ATOMIC_ACQUIRE),
                        __atomic_load_n(&ready, __ATOMIC_ACQUIRE) ? km_pages_held() : (size_t)0);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    ssize_t written = write(fd, line, (size_t)len); /* O_APPEND: one line per process */
    (void)written;
    close(fd);
}

/* ---- 3. the exported API ---------------------------------------------------- */

static void *fail_enomem(void)
{
    errno = ENOMEM;
    return NULL;
}

/* malloc and free are mm/malloc.c's km_malloc and km_free themselves, renamed
 * by the Makefile (-Dkm_malloc=malloc -Dkm_free=free): the first call starts
 * everything from the slow path (platform_malloc_not_started), and a NULL
 * sets errno there (platform_malloc_failed). */

EXPORT void *calloc(size_t count, size_t size)
{
    ensure_init();
    void *p = km_calloc(count, size);
    return p ? p : fail_enomem();
}

EXPORT void *realloc(void *ptr, size_t size)
{
    ensure_init();
    if (ptr && size == 0) { /* frees, returns NULL: glibc's behaviour, not an error */
        km_free(ptr);
        return NULL;
    }
    void *p = km_realloc(ptr, size);
    return p ? p : fail_enomem();
}

EXPORT void *reallocarray(void *ptr, size_t count, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(count, size, &bytes))
        return fail_enomem();
    return realloc(ptr, bytes);
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
    ensure_init();
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    void *p = km_aligned_alloc(align, size);
    return p ? p : fail_enomem();
}

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
    ensure_init();
    return km_posix_memalign(out, align, size);
}

EXPORT void *memalign(size_t align, size_t size)
{
    /* glibc rounds an alignment that is not a power of two up to one. */
    size_t a = 1;
    while (a < align) {
        if (a > SIZE_MAX / 2)
            return fail_enomem();
        a *= 2;
    }
    return aligned_alloc(a, size);
}

EXPORT void *valloc(size_t size)
{
    return aligned_alloc(PAGE_BYTES, size);
}

EXPORT void *pvalloc(size_t size)
{
    if (size > SIZE_MAX - PAGE_BYTES)
        return fail_enomem();
    size_t rounded = size ? (size + PAGE_BYTES - 1) & ~(size_t)(PAGE_BYTES - 1) : PAGE_BYTES;
    return aligned_alloc(PAGE_BYTES, rounded);
}

EXPORT size_t malloc_usable_size(void *ptr)
{
    if (!ptr)
        return 0;
    ensure_init();
    return km_malloc_usable_size(ptr);
}

/* ---- reclaim -------------------------------------------------------------------
 *
 * The library asks no other thread for its magazines: stopping a thread at a
 * safe point would take one of the program's signals. An allocation that
 * finds no memory gives back this thread's own magazines and empty slabs and
 * tries once more (the arena is 64 GiB of address space: that is rare). */
void platform_malloc_reclaim(void)
{
    km_flush_cpu();
}

bool platform_in_interrupt(void)
{
    return false; /* signal handlers are the program's: malloc is not async-signal-safe */
}
