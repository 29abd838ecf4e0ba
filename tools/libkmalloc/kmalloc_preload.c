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
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lib/format.h"
#include "lib/platform.h"
#include "mm/buddy.h"
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
 * CPUs. A thread gets a virtual CPU on its first call, round-robin over
 * cpu_total (the online CPUs, at most KM_MAX_CPUS), and keeps it for life.
 *
 * "Interrupts off" is what makes a CPU's pool its own in mm/malloc.c: the
 * fast path takes no lock because nothing else runs on that CPU meanwhile.
 * Here, with more threads than virtual CPUs, two threads share a CPU and its
 * pool, so platform_interrupts_save_disable takes that CPU's lock (re-entrant
 * through a per-thread depth count: malloc nests it) and restore drops it.
 * With no more threads than CPUs the lock is uncontended: one atomic
 * exchange. What it does not do is keep out a signal handler on the same
 * thread: a handler calling malloc while the thread is inside malloc would
 * deadlock (or, in the kernel, is what interrupts-off prevents). That is not
 * a new limit: malloc is not async-signal-safe (POSIX), and glibc's malloc
 * would deadlock on its arena lock just the same.
 */
static unsigned cpu_total = 1;
static unsigned next_cpu;
static _Thread_local unsigned my_cpu = ~0u;
static _Thread_local unsigned irq_depth;
static struct {
    _Alignas(64) volatile uint32_t locked;
} cpu_locks[KM_MAX_CPUS];

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

unsigned platform_cpu_id(void)
{
    unsigned cpu = my_cpu;
    if (__builtin_expect(cpu == ~0u, 0)) {
        cpu = __atomic_fetch_add(&next_cpu, 1, __ATOMIC_RELAXED) % cpu_total;
        my_cpu = cpu;
    }
    return cpu;
}

unsigned platform_cpu_count(void)
{
    return cpu_total;
}

void *platform_phys_to_virt(uint64_t phys)
{
    platform_panic("libkmalloc: no physical memory here (phys_to_virt(%#llx))",
                   (unsigned long long)phys);
}

/* The lock is lib/spinlock.c (a fair ticket lock); its three needs. A waiter
 * yields: with more threads than cores, the next in line may be preempted. */
void platform_cpu_relax(void)
{
    sched_yield();
}

uint64_t platform_time_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec / 1000;
}

void platform_lock_waiting(const struct platform_lock *lock)
{
    (void)lock; /* the reports here do not look for ABBA */
}

_Noreturn void platform_lock_stuck(const struct platform_lock *lock, unsigned cpu,
                                   const char *why)
{
    platform_panic("libkmalloc: suspected deadlock on lock %p: CPU %u %s", (const void *)lock,
                   cpu, why);
}

uint64_t platform_interrupts_save_disable(void)
{
    if (irq_depth++ == 0)
        spin_lock(&cpu_locks[platform_cpu_id()].locked);
    return 0;
}

void platform_interrupts_restore(uint64_t saved)
{
    (void)saved;
    if (--irq_depth == 0)
        spin_unlock(&cpu_locks[platform_cpu_id()].locked);
}

/* ---- 2. the page source ---------------------------------------------------- */

/*
 * The arena: ARENA_BYTES of address space reserved once (MAP_NORESERVE: it
 * costs nothing until touched), cut into CHUNK_BYTES chunks. Each chunk gets
 * its own struct buddy on first need (buddy_init + buddy_free_range of the
 * whole chunk), so a small program pays for one chunk's metadata (16 bytes
 * per page: 1 MiB for 256 MiB), not for 64 GiB's worth (256 MiB). The buddy
 * structs and page arrays live in a second NORESERVE mapping. A page's owner
 * word is its struct page.owner, exactly as in the kernel.
 *
 * Runs of more than 4 MiB (the buddy's largest block), or aligned beyond
 * 4 MiB, are direct mmaps, recorded in a small locked table (start, pages,
 * and a separately mmap'd array of owner words) so the mapping itself
 * carries no header; they are munmap'd when freed.
 *
 * Runs of at least MADVISE_PAGES pages freed to the buddy are first
 * madvise(MADV_DONTNEED)'d, so their memory goes back to the kernel (a later
 * use sees zero pages again); smaller runs (slabs) are kept resident, since
 * they come back soon and a syscall per slab would cost more than it saves.
 */
#define ARENA_BYTES (64ull << 30)
#define MIN_ARENA_BYTES (1ull << 30)
#define CHUNK_BYTES (256ull << 20)
#define CHUNK_PAGES (CHUNK_BYTES / PAGE_BYTES)
#define MAX_CHUNKS (ARENA_BYTES / CHUNK_BYTES)
#define CHUNK_HEADER_BYTES ((sizeof(struct buddy) + PAGE_BYTES - 1) / PAGE_BYTES * PAGE_BYTES)
#define CHUNK_META_BYTES (CHUNK_HEADER_BYTES + CHUNK_PAGES * sizeof(struct page))
#define MADVISE_PAGES 16u
#define BIG_MAX 4096u
#define BUDDY_MAX_PAGES (1ull << BUDDY_MAX_ORDER)

static char *arena;            /* CHUNK_BYTES-aligned */
static unsigned chunk_limit;   /* chunks the reservation holds */
static unsigned chunks_active; /* chunks with a buddy: 0 .. chunks_active - 1 (atomic) */
static unsigned chunk_hint;    /* where the last allocation succeeded (atomic, a hint) */
static char *chunk_meta;
static volatile uint32_t grow_lock;

static struct big_run {
    char *start;
    size_t pages;
    uint32_t *owners;
} big_runs[BIG_MAX];
static unsigned big_count;
static volatile uint32_t big_lock;

static struct buddy *chunk_buddy(unsigned chunk)
{
    return (struct buddy *)(chunk_meta + (size_t)chunk * CHUNK_META_BYTES);
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
            struct buddy *buddy = chunk_buddy(active);
            uint64_t start_pfn = ((uintptr_t)arena + (uint64_t)active * CHUNK_BYTES) / PAGE_BYTES;
            struct buddy_range range = {start_pfn, start_pfn + CHUNK_PAGES};
            if (buddy_init(buddy, &range, 1, (char *)buddy + CHUNK_HEADER_BYTES,
                           CHUNK_PAGES * sizeof(struct page)) != 0) {
                ok = false;
            } else {
                buddy_free_range(buddy, range.start_pfn, range.end_pfn);
                __atomic_store_n(&chunks_active, active + 1, __ATOMIC_RELEASE);
            }
        }
    }
    spin_unlock(&grow_lock);
    return ok;
}

static void *arena_alloc(size_t pages, size_t align_pages)
{
    unsigned align_order = (unsigned)__builtin_ctzll(align_pages);
    for (;;) {
        unsigned active = __atomic_load_n(&chunks_active, __ATOMIC_ACQUIRE);
        unsigned hint = __atomic_load_n(&chunk_hint, __ATOMIC_RELAXED);
        for (unsigned i = 0; i < active; i++) {
            unsigned chunk = (hint + i) % active;
            uint64_t pfn;
            if (buddy_alloc_run_aligned(chunk_buddy(chunk), pages, align_order, BUDDY_ANY,
                                        &pfn) == 0) {
                if (chunk != hint)
                    __atomic_store_n(&chunk_hint, chunk, __ATOMIC_RELAXED);
                return (void *)(uintptr_t)(pfn * PAGE_BYTES);
            }
        }
        if (!grow_arena(active))
            return NULL;
    }
}

static void *big_alloc(size_t pages, size_t align_pages)
{
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
    spin_lock(&big_lock);
    bool stored = big_count < BIG_MAX;
    if (stored)
        big_runs[big_count++] = (struct big_run){start, pages, owners};
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
    if (pages <= BUDDY_MAX_PAGES && align_pages <= BUDDY_MAX_PAGES) {
        void *start = arena_alloc(pages, align_pages);
        if (start)
            return start;
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
        unsigned chunk = (unsigned)(((uintptr_t)start - (uintptr_t)arena) / CHUNK_BYTES);
        if (pages >= MADVISE_PAGES)
            madvise(start, pages * PAGE_BYTES, MADV_DONTNEED);
        buddy_free_run(chunk_buddy(chunk), (uintptr_t)start / PAGE_BYTES, pages);
        return;
    }
    spin_lock(&big_lock);
    for (unsigned i = 0; i < big_count; i++) {
        if (big_runs[i].start == start) {
            struct big_run run = big_runs[i];
            big_runs[i] = big_runs[--big_count];
            spin_unlock(&big_lock);
            if (run.pages != pages)
                platform_panic("libkmalloc: freeing %zu pages of the %zu-page mapping at %p",
                               pages, run.pages, start);
            munmap(run.owners, (run.pages * sizeof(uint32_t) + PAGE_BYTES - 1) &
                                   ~(PAGE_BYTES - 1));
            munmap(run.start, run.pages * PAGE_BYTES);
            return;
        }
    }
    spin_unlock(&big_lock);
    platform_panic("libkmalloc: freeing %zu pages at %p, never handed out", pages, start);
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
    uint32_t *owner = NULL;
    spin_lock(&big_lock);
    for (unsigned i = 0; i < big_count; i++) {
        uintptr_t offset = (uintptr_t)addr - (uintptr_t)big_runs[i].start;
        if ((uintptr_t)addr >= (uintptr_t)big_runs[i].start &&
            offset < big_runs[i].pages * PAGE_BYTES) {
            owner = &big_runs[i].owners[offset / PAGE_BYTES];
            break;
        }
    }
    spin_unlock(&big_lock);
    return owner;
}

static const struct malloc_page_source preload_source = {
    source_alloc_pages,
    source_free_pages,
    source_page_owner,
};

/* ---- initialisation ---------------------------------------------------------- */

/* Online CPUs from /sys/devices/system/cpu/online ("0-3,8-11"), read with
 * plain syscalls (sysconf may allocate in some libcs); 1 if unreadable. */
static unsigned online_cpus(void)
{
    char text[256];
    int fd = open("/sys/devices/system/cpu/online", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 1;
    ssize_t len = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (len <= 0)
        return 1;
    text[len] = 0;
    unsigned count = 0;
    for (const char *p = text; *p >= '0' && *p <= '9';) {
        unsigned first = 0, last;
        while (*p >= '0' && *p <= '9')
            first = first * 10 + (unsigned)(*p++ - '0');
        last = first;
        if (*p == '-') {
            p++;
            last = 0;
            while (*p >= '0' && *p <= '9')
                last = last * 10 + (unsigned)(*p++ - '0');
        }
        if (last >= first)
            count += last - first + 1;
        if (*p == ',')
            p++;
    }
    return count ? count : 1;
}

static bool ready;
static volatile uint32_t init_lock;

static void init_slow(void)
{
    spin_lock(&init_lock);
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        unsigned cpus = online_cpus();
        cpu_total = cpus > KM_MAX_CPUS ? KM_MAX_CPUS : cpus;
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
        if (km_init(&preload_source, cpu_total) != 0)
            platform_panic("libkmalloc: km_init failed");
        __atomic_store_n(&ready, true, __ATOMIC_RELEASE);
    }
    spin_unlock(&init_lock);
}

static inline void ensure_init(void)
{
    if (__builtin_expect(!__atomic_load_n(&ready, __ATOMIC_ACQUIRE), 0))
        init_slow();
}

/* ---- 3. the exported API ---------------------------------------------------- */

static void *fail_enomem(void)
{
    errno = ENOMEM;
    return NULL;
}

EXPORT void *malloc(size_t size)
{
    ensure_init();
    void *p = km_malloc(size);
    return p ? p : fail_enomem();
}

EXPORT void free(void *ptr)
{
    if (!ptr)
        return;
    ensure_init();
    km_free(ptr);
}

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
