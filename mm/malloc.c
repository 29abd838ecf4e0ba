/*
 * malloc.c: size-classed slabs in per-CPU pools over a page source (the
 * design is in malloc.h; the classes in size_class.h).
 *
 * The file reads top-down: the slab descriptor and its invariants, the
 * per-CPU pools, the descriptor pool, slab creation and retirement, remote
 * frees, the fast paths (take and give back a bit), finding what a pointer
 * is, large runs, the public calls, then statistics and km_check.
 *
 * Concurrency, in one paragraph. A CPU's pool (struct km_cpu) and the owner
 * side of its slabs are touched only by that CPU, with interrupts off, and no
 * lock. Other CPUs touch a slab only through its remote half (remote_bits,
 * remote_state, remote_next) and the owner's remote queues, all with atomics.
 * The descriptor pool, the side-table pool and the call-site table are shared
 * and take a lock, off the fast path. Counters and the free bitmap use relaxed
 * atomic loads and stores (plain moves on x86-64, never a locked instruction)
 * so that km_stats and the remote double-free check may read them from other
 * CPUs without a data race.
 */
#include "mm/malloc.h"

#include "lib/boot_only.h"
#include "lib/format.h"
#include "lib/platform.h"
#include "lib/string.h"
#include "mm/trace.h"

#define KM_PAGE_BYTES 4096u
#define BITMAP_WORDS (SIZE_CLASS_MAX_OBJECTS / 64)

/* ---- the slab descriptor ------------------------------------------------- */

/* Which list a slab is on, from its owner's point of view. */
enum slab_list {
    SLAB_UNUSED = 0, /* a free descriptor, in the descriptor pool */
    SLAB_CURRENT,    /* its owner's current slab for its class: in no list */
    SLAB_PARTIAL,    /* in its owner's partial list: has free objects */
    SLAB_FULL,       /* no free object (remote frees may be pending): in no list */
    SLAB_KEPT,       /* fully free, kept for reuse: its owner's `kept` */
};

/* remote_state: bit 0 is QUEUED, the rest is the descriptor's generation
 * (see below). */
#define REMOTE_QUEUED 1u
#define REMOTE_GENERATION 2u

/* The tracker's record of one live object (km_track_enable). */
struct track_entry {
    uint16_t requested_bytes;
    uint16_t site;
};

#define TRACK_TABLE_BYTES (SIZE_CLASS_MAX_OBJECTS * sizeof(struct track_entry)) /* 1 KiB */

/*
 * struct km_slab: the descriptor of one slab, 128 bytes, in a descriptor page
 * (never inside the slab). Two cache lines: the first is the owner's, the
 * second is where other CPUs write, so remote frees do not keep stealing the
 * line the owner's fast path uses.
 *
 * Invariants (km_check verifies them where all CPUs are quiet):
 *   - base, object_count, class_index and owner_cpu are fixed from the
 *     slab's creation to its retirement; objects are at base + i * object
 *     bytes, i < object_count = size_classes[class_index].objects.
 *   - every page of the slab has owner word index + 1, and only its pages do.
 *   - free_bits: bit i set <=> object i is free in the owner's eyes; no bit at
 *     or past object_count; free_count = the number of set bits.
 *   - remote_bits: bit i set <=> object i was freed by another CPU and the
 *     owner has not folded it in yet. free_bits & remote_bits == 0 (a common
 *     bit is a double free).
 *   - list says where the slab is (enum slab_list): CURRENT is the pool's
 *     current, KEPT its kept slab, PARTIAL in its partial list (free_count >
 *     0), FULL in no list (free_count == 0).
 *   - remote_state: QUEUED while the slab is on its owner's remote queue for
 *     its class, or while the owner, having taken it off, is folding its
 *     remote bits in: whoever sets QUEUED pushes the slab, and only the owner
 *     clears it. The other bits count the descriptor's lives: retirement adds
 *     REMOTE_GENERATION, with one compare-and-swap that also finds QUEUED
 *     clear (seal_for_retirement), and nothing else changes them.
 *   - A remote free is one atomic OR into remote_bits in the common case: the
 *     word already had a bit pending, so whoever set that word's first bit
 *     (finding the word 0) has queued the slab or will. That first freer
 *     then sets QUEUED with a compare-and-swap from the state it read before
 *     its OR (generation g, QUEUED clear) and, if that works, pushes the
 *     slab. If QUEUED was set, the owner is folding and looks at the bits
 *     again after clearing it. If the generation moved, the owner has already
 *     folded the bit in and retired the slab: the descriptor may be another
 *     slab's by now, which the failed compare-and-swap leaves untouched
 *     (descriptors are never given back, so the word is always there).
 *   - The owner retires a fully free slab only if sealing it works: QUEUED
 *     clear, generation moved on. A fully free slab that is queued waits in
 *     its list (PARTIAL or KEPT, possibly breaking the keep limit) until its
 *     queue entry comes round, and is looked at again then.
 */
struct km_slab {
    /* Written by the owner CPU only. */
    _Alignas(64) uint64_t free_bits[BITMAP_WORDS];
    struct km_slab *next; /* partial list, or the descriptor pool's free list */
    struct km_slab *prev; /* partial list */
    char *base;
    uint16_t free_count;
    uint16_t object_count;
    uint8_t class_index;
    uint8_t owner_cpu;
    uint8_t list;   /* enum slab_list */
    uint8_t poison; /* objects are filled with KM_POISON_BYTE while free */
    /* Written by other CPUs (atomics) and by the owner when folding in. */
    _Alignas(64) uint64_t remote_bits[BITMAP_WORDS];
    struct km_slab *remote_next; /* the owner's remote queue for the class */
    struct track_entry *track;   /* side table of object_count entries, or NULL */
    uint32_t remote_state;
    uint32_t index; /* in the descriptor pool: fixed for the descriptor's life */
};

_Static_assert(sizeof(struct km_slab) == 128, "two cache lines: 32 descriptors per page");
_Static_assert(SIZE_CLASS_MAX_OBJECTS % 64 == 0, "whole bitmap words");

/* ---- global state ---------------------------------------------------------- */

/*
 * The descriptor pool: descriptor pages, found from a descriptor index through
 * a two-level directory (index -> directory page -> descriptor page -> slot):
 * 512 x 512 x 32 = 8 Mi descriptors at most, enough for 32 GiB of one-page
 * slabs; past that new slabs fail like out of memory. The top level is a
 * static array (4 KiB of bss); directory and descriptor pages come from the
 * page source and are never given back: one descriptor page per 32 slabs of
 * the peak (about 1% of the slab pages for one-page slabs, less for larger).
 */
#define DESCRIPTORS_PER_PAGE (KM_PAGE_BYTES / sizeof(struct km_slab)) /* 32 */
#define POINTERS_PER_PAGE (KM_PAGE_BYTES / sizeof(void *))            /* 512 */
#define DIRECTORY_ENTRIES 512
#define MAX_DESCRIPTORS (DIRECTORY_ENTRIES * POINTERS_PER_PAGE * DESCRIPTORS_PER_PAGE)

_Static_assert(MAX_DESCRIPTORS - 1 < KM_OWNER_INDEX_MASK, "owner words hold index + 1");

/* Per CPU, per class. Only its CPU writes it. Counters are signed: a remote
 * free counts on the CPU that frees, so one CPU's count may go negative; the
 * sum over CPUs is right. */
struct km_class_pool {
    struct km_slab *current; /* allocations come from here; NULL before the first */
    struct km_slab *partial; /* head of the partial list (doubly linked) */
    struct km_slab *kept;    /* a fully free slab kept for reuse, or NULL */
    int64_t live_objects;
    int64_t live_requested_bytes; /* tracked objects only */
    int64_t tracked_live_objects;
    int64_t slabs;
    int64_t slab_pages;
    int64_t allocations;
    int64_t requested_bytes_total;
    int64_t remote_frees;
};

/*
 * A magazine: a bounded stack of free objects of one class, the first thing
 * malloc and free look at. stack[1 .. count] hold the objects (stack[count]
 * is the top); stack[0] is always NULL, so that free can compare its pointer
 * with the top (the cheap double-free check) without first testing count.
 * cap is the capacity, at most KM_MAGAZINE_MAX objects and KM_MAGAZINE_BYTES
 * bytes of objects; cap 0 closes the magazine: malloc sees it empty and free
 * sees it full, so both take the slow path (malloc.debug, and the all-zero
 * pool a host thread starts from).
 * Only its CPU writes it, and only its CPU reads the objects; count is
 * stored with relaxed atomics so that km_stats may read it from elsewhere.
 */
struct km_magazine {
    uint64_t count;
    uint64_t cap;
    void *stack[];
};

/* Capacity: at most 64 objects and 256 KiB of them. Measured with make bench
 * (docs/performance.md): 16 KiB gave mix1to4k (1-4 KiB objects) 24 M ops/s,
 * 64 KiB 48 M, 128 KiB 56 M, and a smaller peak RSS each time (fewer
 * half-used slabs); 256 KiB (64 objects of 4096 bytes, 32 before) another
 * 10% with the same RSS: each 4096-byte object is a slab of its own, and a
 * short magazine sent it back to the page allocator and took it again.
 * 192 KiB (48 of 4096) gained nothing. 128 objects instead of 64 changed
 * nothing measurable; fewer cost speed (32: -9% churn; 16: -25%). With
 * today's classes the object cap is the one that binds (64 x 4096 = 256 KiB);
 * the byte cap bounds a CPU's magazines at 28 x 256 KiB whatever the caps
 * become. Under memory pressure the magazines are emptied before an
 * allocation fails (platform_malloc_reclaim). */
#define KM_MAGAZINE_MAX 64
#define KM_MAGAZINE_BYTES 262144u
#define KM_MAGAZINE_MIN 4
/* On a small machine (the source's memory_pages), fewer: the magazines of
 * one CPU, full, hold at most a sixteenth of the memory. */
#define KM_MAGAZINES_SHARE_OF_MEMORY 16

/*
 * What free's fast path knows about a page from its byte in the page-kind
 * map: kind 0 is "not a slab page" (limit 0 refuses everything), kind c + 1
 * is a page of a slab of class c (the byte holds the kind times 4: scaled by
 * 8 in an address, that is the kind's offset). A slab starts at a multiple
 * of its run's size rounded up to a power of two (slab_align_pages: the
 * buddy allocator gives runs that way anyway), so a pointer's offset in its
 * slab is n = ptr & offset_mask, whichever page of the slab it is in. One
 * multiply tells whether n is the first byte of an object: with magic =
 * ceil(2^64 / S) for S-byte objects, n * magic (mod 2^64) is below magic
 * exactly when S divides n (Lemire, Kaser and Kurz, "Faster remainder by
 * direct computation", 2019), and then it equals (n / S) * e, where e = S *
 * magic - 2^64 < S. So "n * magic < limit", with limit = objects * e (1 when
 * e is 0: S is a power of two and its slab has no tail), also refuses the
 * slab's tail.
 */
struct km_kind {
    uint64_t magic;
    uint64_t limit;
    uint64_t offset_mask;         /* slab_align_pages * 4096 - 1 */
    struct km_magazine *magazine; /* the class's, in this CPU's pool */
};

_Static_assert(sizeof(struct km_kind) == 32, "the map byte is kind * 4, scaled by 8");

#define KM_KINDS_MAX 64

/* A CPU's inbox of remote frees: 2 KiB. A batch is at most half a magazine
 * (32 objects), so several senders fit at once; a sender that finds no room
 * frees its objects one by one into their slabs' remote bitmaps. */
#define KM_INBOX_SLOTS 256

/* One CPU's state, in pages of its own: the fixed part below, then its
 * magazines, one per class, at magazine_offset[class] bytes from the start
 * (the same for every CPU). The fast paths read only the first two fields,
 * this CPU's copies of two tables, so that each lookup is one load from the
 * pool pointer they already hold. */
struct km_cpu {
    struct km_kind kinds[KM_KINDS_MAX]; /* by page kind, from the page map */
    /* The magazine of sizes 16 * r - 15 .. 16 * r (r = 0: size 0). */
    struct km_magazine *magazine_of_row[SIZE_CLASS_LOOKUP_ENTRIES];
    struct km_class_pool classes[SIZE_CLASS_COUNT];
    int64_t large_live;
    int64_t large_pages;
    int64_t large_allocations;
    int64_t large_requested_bytes_total;
    unsigned id;     /* its index in cpus[] */
    bool debug_seen; /* the mode its magazines are set for (see this_pool) */
    /* Slabs of this CPU with remote frees to fold in: pushed by other CPUs
     * (compare-and-swap), taken whole by this CPU (exchange). Its own lines. */
    _Alignas(64) struct km_slab *remote_queue[SIZE_CLASS_COUNT];
    /* Objects of this CPU's slabs that other CPUs' magazines gave back, sent
     * in batches (send_to_inbox): a sender reserves slots by moving head
     * (one compare-and-swap per batch) and writes the pointers; this CPU
     * takes them in order (a NULL slot: reserved, not written yet), NULLs the
     * slots and moves tail. Each on its own lines. */
    _Alignas(64) uint64_t inbox_head;
    _Alignas(64) uint64_t inbox_tail;
    _Alignas(64) void *inbox[KM_INBOX_SLOTS];
    uint8_t inbox_class[KM_INBOX_SLOTS]; /* each object's class, written before it */
};

static const struct malloc_page_source *source;
static struct km_cpu *cpus[KM_MAX_CPUS]; /* [0, cpu_count) are set */
static unsigned cpu_count;               /* grows only (km_set_cpu_count) */

/* The CPUs with a pool, for readers on any CPU (stats). */
static unsigned cpus_with_pools(void)
{
    return __atomic_load_n(&cpu_count, __ATOMIC_ACQUIRE);
}

/* The shared pools, under pool_lock. */
static struct platform_lock pool_lock = PLATFORM_LOCK_INIT;
static struct km_slab **directory[DIRECTORY_ENTRIES];
static uint32_t descriptors_made; /* written under the lock, read atomically */
static struct km_slab *free_descriptors;
static void *free_track_tables; /* a list through the tables' first bytes */

/* Metadata pages, by kind (written under pool_lock, read atomically). */
static int64_t cpu_pages, directory_pages, descriptor_pages, track_pages;

static bool tracking;        /* read at slab creation */
static bool poisoning;       /* read at slab creation, like tracking */
static bool debug_requested; /* km_debug_enable */
/* malloc.debug in effect: requested, or implied by tracking or poisoning.
 * Every call then takes the slow, fully checked path (each CPU closes its
 * magazines the next time it enters the slow path: this_pool). */
static bool debug_mode;

/* Filled by km_init from the class table. */
static size_t pool_bytes; /* struct km_cpu and its magazines */
static uint32_t magazine_offset[SIZE_CLASS_COUNT];
static uint16_t magazine_cap[SIZE_CLASS_COUNT];
/* Kind 0 (not a slab page), then one per class; magazine: an offset, not a pointer. */
#define KM_KINDS_USED (SIZE_CLASS_COUNT + 1)
_Static_assert(KM_KINDS_USED <= KM_KINDS_MAX, "a kind times 4 fits the page map's byte");
static struct km_kind kind_template[KM_KINDS_USED];

/* A slab's alignment, in pages: its page count rounded up to a power of two. */
static unsigned slab_align_pages(const struct size_class *cls)
{
    unsigned align = 1;
    while (align < cls->slab_pages)
        align *= 2;
    return align;
}
static struct { /* the page map (the source's), read by free's fast path */
    struct km_page_info *map;
    uintptr_t start; /* the window it covers */
    size_t pages;
} fast;

#if !PLATFORM_MALLOC_POOL_MAY_BE_NULL
/* The pool a host thread starts with (lib/platform.h): every size's
 * magazine is one closed magazine, and every page kind refuses (limit 0),
 * so both fast paths go to the slow path, which gives the thread its pool. */
static struct km_magazine closed_magazine = {0, 0, {NULL}};
struct km_cpu km_closed_pool = {
    .magazine_of_row = {[0 ... SIZE_CLASS_LOOKUP_ENTRIES - 1] = &closed_magazine},
};
#endif

/* The call-site table (index 0: every site past the table's capacity). */
static struct platform_lock site_lock = PLATFORM_LOCK_INIT;
static struct km_site_stats sites[KM_TRACK_SITES];

/* ---- small helpers --------------------------------------------------------- */

/* A counter only its CPU writes: load, add, store. Atomic loads and stores so
 * that readers on other CPUs do not race, but no read-modify-write. */
static inline void counter_add(int64_t *counter, int64_t delta)
{
    __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + delta, __ATOMIC_RELAXED);
}

static inline int64_t counter_read(const int64_t *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

static inline uint64_t load_relaxed(const uint64_t *word)
{
    return __atomic_load_n(word, __ATOMIC_RELAXED);
}

static inline void store_relaxed(uint64_t *word, uint64_t value)
{
    __atomic_store_n(word, value, __ATOMIC_RELAXED);
}

/* Set bits in a word. Not __builtin_popcountll: without -mpopcnt GCC turns it
 * into a call to libgcc's __popcountdi2, and the kernel links without libgcc. */
static unsigned bit_count(uint64_t bits)
{
    bits = bits - ((bits >> 1) & 0x5555555555555555ull);
    bits = (bits & 0x3333333333333333ull) + ((bits >> 2) & 0x3333333333333333ull);
    bits = (bits + (bits >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (unsigned)((bits * 0x0101010101010101ull) >> 56);
}

/* True if the slab was not queued, and is now sealed: its generation moved
 * on, so that no remote freer still holding the old one can queue it. The
 * owner retires it next (see struct km_slab). */
static bool seal_for_retirement(struct km_slab *slab)
{
    uint32_t state = __atomic_load_n(&slab->remote_state, __ATOMIC_RELAXED);
    return !(state & REMOTE_QUEUED) &&
           __atomic_compare_exchange_n(&slab->remote_state, &state, state + REMOTE_GENERATION,
                                       false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
}

static const struct size_class *class_of(const struct km_slab *slab)
{
    return &size_classes[slab->class_index];
}

static char *object_address(const struct km_slab *slab, unsigned object)
{
    return slab->base + (size_t)object * class_of(slab)->object_bytes;
}

static uint32_t *owner_pointer(const void *page)
{
    uint32_t *owner = source->page_owner(page);
    if (!owner)
        platform_panic("malloc: page %p from the page source has no owner word", page);
    return owner;
}

/* Every page of a slab names its descriptor (word = index + 1), or nothing (0). */
static void set_slab_owners(char *base, unsigned pages, uint32_t word)
{
    for (unsigned page = 0; page < pages; page++)
        __atomic_store_n(owner_pointer(base + (size_t)page * KM_PAGE_BYTES), word,
                         __ATOMIC_RELAXED);
}

/* A page's entry in the page map, or NULL outside the map's window. */
static struct km_page_info *page_info(const void *page)
{
    uintptr_t offset = (uintptr_t)page - fast.start;
    return offset / KM_PAGE_BYTES < fast.pages ? &fast.map[offset / KM_PAGE_BYTES] : NULL;
}

/* Notes a page's kind and owner CPU in the page map (pages outside its
 * window have no entry). */
static void set_page_info(const void *page, unsigned kind_times_4, unsigned owner_cpu)
{
    struct km_page_info *info = page_info(page);
    if (info) {
        __atomic_store_n(&info->owner_cpu, (uint8_t)owner_cpu, __ATOMIC_RELAXED);
        __atomic_store_n(&info->kind_times_4, (uint8_t)kind_times_4, __ATOMIC_RELAXED);
    }
}

static struct km_magazine *magazine_of(struct km_cpu *cpu, unsigned index)
{
    return (struct km_magazine *)((char *)cpu + magazine_offset[index]);
}

static uint64_t magazine_count(const struct km_magazine *magazine)
{
    return __atomic_load_n(&magazine->count, __ATOMIC_RELAXED);
}

static void magazine_set_count(struct km_magazine *magazine, uint64_t count)
{
    __atomic_store_n(&magazine->count, count, __ATOMIC_RELAXED);
}

/* The current CPU's index; interrupts must be off. Panics for a CPU without a
 * pool: km_init or km_set_cpu_count was told too few CPUs. */
static unsigned checked_cpu_index(void)
{
    unsigned cpu = platform_cpu_index();
    if (cpu >= KM_MAX_CPUS || !cpus[cpu])
        platform_panic("malloc: CPU %u has no pool (km_init/km_set_cpu_count: %u CPUs)", cpu,
                       cpus_with_pools());
    return cpu;
}

static struct km_cpu *this_pool(void);

/* ---- the descriptor pool and the side-table pool -------------------------- */

static struct km_slab *descriptor_at(uint32_t index)
{
    struct km_slab **pages = directory[index / (POINTERS_PER_PAGE * DESCRIPTORS_PER_PAGE)];
    return &pages[index / DESCRIPTORS_PER_PAGE % POINTERS_PER_PAGE][index % DESCRIPTORS_PER_PAGE];
}

static void *metadata_run(size_t pages, int64_t *kind)
{
    void *run = source->alloc_pages(pages, 1);
    if (!run)
        return NULL;
    memset(run, 0, pages * KM_PAGE_BYTES);
    __atomic_store_n(kind, *kind + (int64_t)pages, __ATOMIC_RELAXED);
    return run;
}

static void *metadata_page(int64_t *kind)
{
    return metadata_run(1, kind);
}

/* One more page of descriptors on the free list. Under pool_lock. */
static bool grow_descriptors(void)
{
    uint32_t made = descriptors_made;
    if (made >= MAX_DESCRIPTORS)
        return false;
    uint32_t page_number = made / DESCRIPTORS_PER_PAGE;
    uint32_t top = page_number / POINTERS_PER_PAGE;
    if (!directory[top]) {
        directory[top] = metadata_page(&directory_pages);
        if (!directory[top])
            return false;
    }
    struct km_slab *page = metadata_page(&descriptor_pages);
    if (!page)
        return false;
    directory[top][page_number % POINTERS_PER_PAGE] = page;
    for (uint32_t i = DESCRIPTORS_PER_PAGE; i-- > 0;) {
        page[i].index = made + i;
        page[i].list = SLAB_UNUSED;
        page[i].next = free_descriptors;
        free_descriptors = &page[i];
    }
    __atomic_store_n(&descriptors_made, made + DESCRIPTORS_PER_PAGE, __ATOMIC_RELEASE);
    return true;
}

static struct km_slab *descriptor_alloc(void)
{
    platform_lock_acquire(&pool_lock);
    struct km_slab *slab = NULL;
    if (free_descriptors || grow_descriptors()) {
        slab = free_descriptors;
        free_descriptors = slab->next;
    }
    platform_lock_release(&pool_lock);
    return slab;
}

static void descriptor_free(struct km_slab *slab)
{
    slab->list = SLAB_UNUSED;
    platform_lock_acquire(&pool_lock);
    slab->next = free_descriptors;
    free_descriptors = slab;
    platform_lock_release(&pool_lock);
}

/* A side table for a new slab while tracking is on; NULL (the slab goes
 * untracked) when there is no page for it. */
static struct track_entry *track_table_alloc(void)
{
    platform_lock_acquire(&pool_lock);
    if (!free_track_tables) {
        char *page = metadata_page(&track_pages);
        for (size_t offset = 0; page && offset < KM_PAGE_BYTES; offset += TRACK_TABLE_BYTES) {
            *(void **)(page + offset) = free_track_tables;
            free_track_tables = page + offset;
        }
    }
    void *table = free_track_tables;
    if (table)
        free_track_tables = *(void **)table;
    platform_lock_release(&pool_lock);
    return table;
}

static void track_table_free(struct track_entry *table)
{
    platform_lock_acquire(&pool_lock);
    *(void **)table = free_track_tables;
    free_track_tables = table;
    platform_lock_release(&pool_lock);
}

/* ---- the tracker's call sites --------------------------------------------- */

/* The site slot of caller (0 when the table is full). */
static uint16_t site_of(const void *caller)
{
    uintptr_t hash = ((uintptr_t)caller >> 2) * 0x9e3779b97f4a7c15ull;
    unsigned start = 1 + (unsigned)(hash >> 58) % (KM_TRACK_SITES - 1);
    unsigned slot = start;
    do {
        if (sites[slot].caller == caller)
            return (uint16_t)slot;
        if (!sites[slot].caller) {
            sites[slot].caller = caller;
            return (uint16_t)slot;
        }
        slot = slot + 1 < KM_TRACK_SITES ? slot + 1 : 1;
    } while (slot != start);
    return 0;
}

static void track_alloc(struct km_class_pool *pool, struct km_slab *slab, unsigned object,
                        size_t size, const void *caller)
{
    platform_lock_acquire(&site_lock);
    uint16_t site = caller ? site_of(caller) : 0;
    sites[site].allocations++;
    sites[site].live_objects++;
    sites[site].live_requested_bytes += size;
    platform_lock_release(&site_lock);
    slab->track[object].requested_bytes = (uint16_t)size;
    slab->track[object].site = site;
    counter_add(&pool->live_requested_bytes, (int64_t)size);
    counter_add(&pool->tracked_live_objects, 1);
}

/* Called by whichever CPU frees the object, before the object can be reused. */
static void track_free(struct km_class_pool *pool, struct km_slab *slab, unsigned object)
{
    struct track_entry entry = slab->track[object];
    platform_lock_acquire(&site_lock);
    sites[entry.site].live_objects--;
    sites[entry.site].live_requested_bytes -= entry.requested_bytes;
    platform_lock_release(&site_lock);
    counter_add(&pool->live_requested_bytes, -(int64_t)entry.requested_bytes);
    counter_add(&pool->tracked_live_objects, -1);
}

/* ---- lists (owner only) ---------------------------------------------------- */

static void partial_add(struct km_class_pool *pool, struct km_slab *slab)
{
    slab->list = SLAB_PARTIAL;
    slab->prev = NULL;
    slab->next = pool->partial;
    if (pool->partial)
        pool->partial->prev = slab;
    pool->partial = slab;
}

static void partial_remove(struct km_class_pool *pool, struct km_slab *slab)
{
    if (slab->prev)
        slab->prev->next = slab->next;
    else
        pool->partial = slab->next;
    if (slab->next)
        slab->next->prev = slab->prev;
    slab->next = slab->prev = NULL;
}

static bool fully_free(const struct km_slab *slab)
{
    return slab->free_count == slab->object_count;
}

/* ---- slabs: creation and retirement (owner only, interrupts off) ---------- */

static struct km_slab *new_slab(struct km_class_pool *pool, unsigned cpu, unsigned index)
{
    const struct size_class *cls = &size_classes[index];
    struct km_slab *slab = descriptor_alloc();
    if (!slab)
        return NULL;
    char *base = source->alloc_pages(cls->slab_pages, slab_align_pages(cls));
    if (!base) {
        descriptor_free(slab);
        return NULL;
    }
    slab->track = __atomic_load_n(&tracking, __ATOMIC_RELAXED) ? track_table_alloc() : NULL;
    slab->poison = __atomic_load_n(&poisoning, __ATOMIC_RELAXED);
    if (slab->poison) /* every object starts free, so poisoned */
        memset(base, KM_POISON_BYTE, (size_t)cls->slab_pages * KM_PAGE_BYTES);
    for (unsigned word = 0; word < BITMAP_WORDS; word++) {
        unsigned first = word * 64;
        uint64_t bits = 0;
        if (cls->objects >= first + 64)
            bits = ~0ull;
        else if (cls->objects > first)
            bits = (1ull << (cls->objects - first)) - 1;
        store_relaxed(&slab->free_bits[word], bits);
        __atomic_store_n(&slab->remote_bits[word], 0, __ATOMIC_RELAXED);
    }
    /* remote_state keeps its generation (a new descriptor's is 0). */
    slab->base = base;
    slab->free_count = cls->objects;
    slab->object_count = cls->objects;
    slab->class_index = (uint8_t)index;
    slab->owner_cpu = (uint8_t)cpu;
    slab->next = slab->prev = slab->remote_next = NULL;
    set_slab_owners(base, cls->slab_pages, slab->index + 1);
    for (unsigned page = 0; page < cls->slab_pages; page++)
        set_page_info(base + (size_t)page * KM_PAGE_BYTES, (index + 1) * 4u, cpu);
    counter_add(&pool->slabs, 1);
    counter_add(&pool->slab_pages, cls->slab_pages);
    trace_malloc_refill(cpu, index, base, cls->slab_pages, cls->objects, cls->object_bytes);
    return slab;
}

/* Gives a fully free slab, in no list and sealed, back. */
static void retire(struct km_class_pool *pool, struct km_slab *slab)
{
    const struct size_class *cls = class_of(slab);
    set_slab_owners(slab->base, cls->slab_pages, 0);
    for (unsigned page = 0; page < cls->slab_pages; page++)
        set_page_info(slab->base + (size_t)page * KM_PAGE_BYTES, 0, 0);
    source->free_pages(slab->base, cls->slab_pages);
    if (slab->track)
        track_table_free(slab->track);
    slab->track = NULL;
    counter_add(&pool->slabs, -1);
    counter_add(&pool->slab_pages, -(int64_t)cls->slab_pages);
    descriptor_free(slab);
}

/*
 * The keep rule, applied to a slab that just became fully free (or is looked
 * at again): a CPU keeps at most KM_EMPTY_SLABS_KEPT fully free slab per class,
 * its current slab included; the others go back to the source, unless remote
 * frees are queued (QUEUED: see struct km_slab).
 */
static void on_fully_free(struct km_class_pool *pool, struct km_slab *slab)
{
    struct km_slab *current = pool->current;
    bool current_free = current && current != slab && fully_free(current);
    switch (slab->list) {
    case SLAB_CURRENT:
        if (pool->kept && seal_for_retirement(pool->kept)) {
            retire(pool, pool->kept);
            pool->kept = NULL;
        }
        return;
    case SLAB_PARTIAL:
        if (!pool->kept && !current_free) {
            partial_remove(pool, slab);
            slab->list = SLAB_KEPT;
            pool->kept = slab;
        } else if (seal_for_retirement(slab)) {
            partial_remove(pool, slab);
            retire(pool, slab);
        }
        return;
    case SLAB_KEPT:
        if (current_free && seal_for_retirement(slab)) {
            pool->kept = NULL;
            retire(pool, slab);
        }
        return;
    default:
        return;
    }
}

/* ---- remote frees ------------------------------------------------------------ */

static _Noreturn void double_free_panic(const char *what, const void *ptr, struct km_slab *slab,
                                        unsigned object, const char *how)
{
    platform_panic("%s(%p): double free (%s): object %u of class %u (%u bytes), slab %p "
                   "(descriptor %u, CPU %u)",
                   what, ptr, how, object, slab->class_index, class_of(slab)->object_bytes,
                   (void *)slab->base, slab->index, slab->owner_cpu);
}

/* True if we took the QUEUED token (it was clear); false if another CPU holds
 * it, which means that CPU pushes (or has pushed) the slab. */
static bool take_queue_token(struct km_slab *slab)
{
    uint32_t state = __atomic_load_n(&slab->remote_state, __ATOMIC_RELAXED);
    while (!(state & REMOTE_QUEUED))
        if (__atomic_compare_exchange_n(&slab->remote_state, &state, state | REMOTE_QUEUED, true,
                                        __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            return true;
    return false;
}

/* The bitmap words a slab uses: one for up to 64 objects. */
static unsigned bitmap_words(const struct km_slab *slab)
{
    return (slab->object_count + 63u) / 64u;
}

static bool remote_bits_pending(struct km_slab *slab)
{
    for (unsigned word = 0; word < bitmap_words(slab); word++)
        if (__atomic_load_n(&slab->remote_bits[word], __ATOMIC_SEQ_CST))
            return true;
    return false;
}

/* The owner folds a slab's remote frees into its free bitmap; it holds the
 * QUEUED token on entry (it took the slab off its queue). */
static void fold_remote_frees(struct km_class_pool *pool, struct km_slab *slab)
{
    for (;;) {
        for (unsigned word = 0; word < bitmap_words(slab); word++) {
            /* A locked exchange only where a bit is set: on another CPU's
             * line, each costs a transfer of it. */
            if (!__atomic_load_n(&slab->remote_bits[word], __ATOMIC_RELAXED))
                continue;
            uint64_t freed = __atomic_exchange_n(&slab->remote_bits[word], 0, __ATOMIC_ACQ_REL);
            if (!freed)
                continue;
            uint64_t bits = load_relaxed(&slab->free_bits[word]);
            if (bits & freed) {
                unsigned object = word * 64 + (unsigned)__builtin_ctzll(bits & freed);
                double_free_panic("km_free", object_address(slab, object), slab, object,
                                  "found when the owner reclaimed a remote free");
            }
            store_relaxed(&slab->free_bits[word], bits | freed);
            slab->free_count = (uint16_t)(slab->free_count + bit_count(freed));
        }
        __atomic_fetch_and(&slab->remote_state, ~REMOTE_QUEUED, __ATOMIC_SEQ_CST);
        /* A freer that set its bit after our exchange but saw QUEUED still set
         * did not push: look again, and go round if we get the token back. */
        if (!remote_bits_pending(slab) || !take_queue_token(slab))
            break;
    }
    if (slab->list == SLAB_FULL && slab->free_count > 0)
        partial_add(pool, slab);
    if (fully_free(slab))
        on_fully_free(pool, slab);
}

/* Takes this CPU's remote queue for a class and folds in every slab on it. */
static void reclaim_remote_frees(struct km_cpu *cpu, unsigned index)
{
    if (!__atomic_load_n(&cpu->remote_queue[index], __ATOMIC_RELAXED))
        return; /* nothing queued: no locked exchange on a line other CPUs write */
    struct km_slab *slab = __atomic_exchange_n(&cpu->remote_queue[index], NULL, __ATOMIC_ACQUIRE);
    while (slab) {
        struct km_slab *next = slab->remote_next; /* before the token is let go */
        fold_remote_frees(&cpu->classes[index], slab);
        slab = next;
    }
}

/* A free of object (live, in slab) from a CPU that does not own the slab. */
static void poison_fill(const struct km_slab *slab, unsigned object);

static void remote_free(struct km_class_pool *pool, struct km_slab *slab, unsigned object,
                        const void *ptr)
{
    unsigned word = object / 64;
    uint64_t mask = 1ull << (object % 64);
    if (load_relaxed(&slab->free_bits[word]) & mask)
        double_free_panic("km_free", ptr, slab, object, "the object is free");
    if (slab->track)
        track_free(pool, slab, object); /* before the bit: then the owner may reuse it */
    if (slab->poison)
        poison_fill(slab, object); /* before the bit too */
    /* Read while the object is live, so the slab's generation is current. */
    uint32_t generation = __atomic_load_n(&slab->remote_state, __ATOMIC_RELAXED) & ~REMOTE_QUEUED;
    uint64_t before = __atomic_fetch_or(&slab->remote_bits[word], mask, __ATOMIC_SEQ_CST);
    if (before & mask)
        double_free_panic("km_free", ptr, slab, object, "already freed from another CPU");
    counter_add(&pool->live_objects, -1);
    counter_add(&pool->remote_frees, 1);
    if (before) /* the common case: the word's first freer queues the slab */
        return;
    if (!__atomic_compare_exchange_n(&slab->remote_state, &generation, generation | REMOTE_QUEUED,
                                     false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
        return; /* queued already, or folded and retired (see struct km_slab) */
    /* We set QUEUED: push the slab on its owner's queue. Only the owner takes
     * from it, all at once, so there is no ABA problem. */
    struct km_slab **queue = &cpus[slab->owner_cpu]->remote_queue[slab->class_index];
    struct km_slab *head = __atomic_load_n(queue, __ATOMIC_RELAXED);
    do
        slab->remote_next = head;
    while (
        !__atomic_compare_exchange_n(queue, &head, slab, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

/* ---- the fast paths ----------------------------------------------------------- */

/* Makes a slab with a free object this CPU's current one for the class: the
 * current slab's remote frees, then a partial slab, then the kept one, then a
 * new one if may_grow. NULL when out of memory (or none, without may_grow). */
static struct km_slab *next_slab(struct km_cpu *cpu, unsigned index, bool may_grow)
{
    struct km_class_pool *pool = &cpu->classes[index];
    reclaim_remote_frees(cpu, index);
    if (pool->current && pool->current->free_count > 0)
        return pool->current;
    struct km_slab *slab = pool->partial;
    if (slab) {
        partial_remove(pool, slab);
    } else if (pool->kept) {
        slab = pool->kept;
        pool->kept = NULL;
    } else {
        slab = may_grow ? new_slab(pool, cpu->id, index) : NULL;
        if (!slab)
            return NULL;
    }
    if (pool->current)
        pool->current->list = SLAB_FULL;
    slab->list = SLAB_CURRENT;
    pool->current = slab;
    return slab;
}

/* Clears the lowest set free bit of a slab with free_count > 0. */
static unsigned take_free_object(struct km_slab *slab)
{
    unsigned word = 0;
    uint64_t bits;
    while (!(bits = load_relaxed(&slab->free_bits[word])))
        word++;
    store_relaxed(&slab->free_bits[word], bits & (bits - 1));
    slab->free_count--;
    return word * 64 + (unsigned)__builtin_ctzll(bits);
}

/* ---- poisoning (the malloc.poison boot option) ----------------------------- */

static void poison_fill(const struct km_slab *slab, unsigned object)
{
    memset(object_address(slab, object), KM_POISON_BYTE, class_of(slab)->object_bytes);
}

/* A free object must still be all poison: anything else was written through a
 * pointer that was used after free. */
static void poison_check(const struct km_slab *slab, unsigned object)
{
    const unsigned char *bytes = (const unsigned char *)object_address(slab, object);
    unsigned object_bytes = class_of(slab)->object_bytes;
    for (unsigned i = 0; i < object_bytes; i++) {
        if (bytes[i] != KM_POISON_BYTE)
            platform_panic("malloc.poison: the %u-byte object at %p (class %u, slab %p) was "
                           "written after it was freed: byte %u is %#x, not %#x",
                           object_bytes, (const void *)bytes, slab->class_index,
                           (const void *)slab->base, i, bytes[i], KM_POISON_BYTE);
    }
}

/* malloc.debug is in force while asked for, or implied by tracking or poisoning. */
static void update_debug_mode(void)
{
    bool on = __atomic_load_n(&debug_requested, __ATOMIC_RELAXED) ||
              __atomic_load_n(&tracking, __ATOMIC_RELAXED) ||
              __atomic_load_n(&poisoning, __ATOMIC_RELAXED);
    __atomic_store_n(&debug_mode, on, __ATOMIC_RELAXED);
    if (source) { /* this CPU at once; the others at their next slow path */
        uint64_t interrupts = platform_interrupts_save_disable();
        this_pool();
        platform_interrupts_restore(interrupts);
    }
}

void km_poison_enable(bool on)
{
    __atomic_store_n(&poisoning, on, __ATOMIC_RELAXED);
    update_debug_mode();
}

void km_debug_enable(bool on)
{
    __atomic_store_n(&debug_requested, on, __ATOMIC_RELAXED);
    update_debug_mode();
}

bool km_debug_mode(void)
{
    return __atomic_load_n(&debug_mode, __ATOMIC_RELAXED);
}

/* One object straight from this CPU's slabs, with every check and count: the
 * malloc.debug path. Interrupts are off. */
static void *slab_alloc(struct km_cpu *cpu, unsigned index, size_t size, const void *caller)
{
    struct km_class_pool *pool = &cpu->classes[index];
    struct km_slab *slab = pool->current;
    if (!slab || slab->free_count == 0) {
        slab = next_slab(cpu, index, true);
        if (!slab)
            return NULL;
    }
    unsigned object = take_free_object(slab);
    counter_add(&pool->live_objects, 1);
    counter_add(&pool->allocations, 1);
    counter_add(&pool->requested_bytes_total, (int64_t)size);
    if (slab->track)
        track_alloc(pool, slab, object, size, caller);
    if (slab->poison) /* after the books: they stay right if this panics */
        poison_check(slab, object);
    return object_address(slab, object);
}

static void local_free(struct km_class_pool *pool, struct km_slab *slab, unsigned object,
                       const void *ptr)
{
    unsigned word = object / 64;
    uint64_t mask = 1ull << (object % 64);
    uint64_t bits = load_relaxed(&slab->free_bits[word]);
    if (bits & mask)
        double_free_panic("km_free", ptr, slab, object, "the object is free");
    if (__atomic_load_n(&slab->remote_bits[word], __ATOMIC_RELAXED) & mask)
        double_free_panic("km_free", ptr, slab, object, "already freed from another CPU");
    if (slab->track)
        track_free(pool, slab, object);
    if (slab->poison)
        poison_fill(slab, object);
    store_relaxed(&slab->free_bits[word], bits | mask);
    slab->free_count++;
    counter_add(&pool->live_objects, -1);
    if (slab->list == SLAB_FULL)
        partial_add(pool, slab);
    if (fully_free(slab))
        on_fully_free(pool, slab);
}

/* ---- finding what a pointer is -------------------------------------------- */

/* The large run whose pages ptr lies in past the first, for a message:
 * a large run's owner word is set on its first page only (setting every page's
 * word cost more than the run's buddy work), so the run of a page with word 0
 * is found by walking back to the nearest page whose word is set. NULL when
 * that page heads no large run covering ptr. Error paths only. */
static const char *large_run_around(const void *ptr, size_t *page_in_run, size_t *run_pages)
{
    const char *page = (const char *)((uintptr_t)ptr & ~(uintptr_t)(KM_PAGE_BYTES - 1));
    for (size_t back = 1; back <= KM_OWNER_INDEX_MASK && (uintptr_t)page >= back * KM_PAGE_BYTES;
         back++) {
        const char *head = page - back * KM_PAGE_BYTES;
        uint32_t *owner = source->page_owner(head);
        uint32_t word = owner ? __atomic_load_n(owner, __ATOMIC_ACQUIRE) : 0;
        if (!owner)
            return NULL;
        if (word == 0)
            continue;
        if (!(word & KM_OWNER_LARGE) || (word & KM_OWNER_INDEX_MASK) <= back)
            return NULL;
        *page_in_run = back;
        *run_pages = word & KM_OWNER_INDEX_MASK;
        return head;
    }
    return NULL;
}

/* The owner word of ptr's page; panics if malloc does not own that page. */
static uint32_t owner_word(const char *what, const void *ptr)
{
    uint32_t *owner = source->page_owner(ptr);
    uint32_t word = owner ? __atomic_load_n(owner, __ATOMIC_ACQUIRE) : 0;
    if (word != 0)
        return word;
    size_t page_in_run, run_pages;
    const char *head = owner ? large_run_around(ptr, &page_in_run, &run_pages) : NULL;
    if (head)
        platform_panic("%s(%p): interior pointer into the large run at %p (class large, page %zu "
                       "of the run's %zu pages)",
                       what, ptr, (const void *)head, page_in_run, run_pages);
    platform_panic("%s(%p): never returned by malloc (class none, slab none): %s", what, ptr,
                   owner ? "its page is not malloc's (owner word 0): a foreign pointer, or "
                           "a large run freed twice"
                         : "not a page of malloc's page source");
}

/* The slab of a slab page's owner word. */
static struct km_slab *slab_of(const char *what, const void *ptr, uint32_t word)
{
    uint32_t index = (word & KM_OWNER_INDEX_MASK) - 1;
    if (index >= __atomic_load_n(&descriptors_made, __ATOMIC_ACQUIRE))
        platform_panic("%s(%p): corrupt owner word %#x (class unknown, no descriptor %u)", what,
                       ptr, word, index);
    return descriptor_at(index);
}

/* The index of the object ptr points at; panics unless ptr is its first byte. */
static unsigned object_of(const char *what, const void *ptr, struct km_slab *slab)
{
    const struct size_class *cls = class_of(slab);
    uintptr_t offset = (uintptr_t)ptr - (uintptr_t)slab->base;
    if ((uintptr_t)ptr < (uintptr_t)slab->base ||
        offset >= (uintptr_t)cls->slab_pages * KM_PAGE_BYTES)
        platform_panic("%s(%p): outside its slab %p (class %u, %u bytes): corrupt owner word", what,
                       ptr, (void *)slab->base, slab->class_index, cls->object_bytes);
    unsigned object = size_class_object_index(slab->class_index, (uint32_t)offset);
    if (object >= slab->object_count)
        platform_panic("%s(%p): in the tail of slab %p past its %u objects of class %u (%u bytes): "
                       "never returned by malloc",
                       what, ptr, (void *)slab->base, slab->object_count, slab->class_index,
                       cls->object_bytes);
    uint32_t into = (uint32_t)offset - object * cls->object_bytes;
    if (into)
        platform_panic("%s(%p): interior pointer, %u bytes into object %u at %p of class %u "
                       "(%u bytes), slab %p",
                       what, ptr, into, object, (void *)object_address(slab, object),
                       slab->class_index, cls->object_bytes, (void *)slab->base);
    return object;
}

/* The page count of the large run starting at ptr (word: its first page's
 * owner word); panics unless ptr is that first byte. */
static size_t large_pages_of(const char *what, const void *ptr, uint32_t word)
{
    size_t pages = word & KM_OWNER_INDEX_MASK;
    if ((uintptr_t)ptr % KM_PAGE_BYTES)
        platform_panic("%s(%p): interior pointer into the large run at %p (class large, %zu pages)",
                       what, ptr, (void *)((uintptr_t)ptr & ~(uintptr_t)(KM_PAGE_BYTES - 1)),
                       pages);
    return pages;
}

/* ---- magazines (the slow path's side; the fast path is km_malloc/km_free) -- */

/*
 * Refill: up to half a magazine's worth of objects out of this CPU's slabs
 * (its current slab first, then partial and kept ones, as next_slab decides),
 * a bitmap word at a time. A new slab is made only for the first object:
 * objects that would sit in the magazine never cost a slab of their own (a
 * 3072-byte slab is 3 pages for 4 objects). The slab counters move once per
 * refill: an object in a magazine is live in its slab's eyes (km_stats
 * subtracts what the magazines hold). false when not one object could be had
 * (out of memory).
 */
static void drain_inbox(struct km_cpu *cpu);

static bool magazine_refill(struct km_cpu *cpu, unsigned index, struct km_magazine *magazine)
{
    drain_inbox(cpu); /* objects other CPUs gave back, into the slabs first */
    struct km_class_pool *pool = &cpu->classes[index];
    uint32_t count = magazine->count, want = (magazine->cap + 1) / 2, got = 0;
    unsigned object_bytes = size_classes[index].object_bytes;
    while (got < want) {
        struct km_slab *slab = pool->current;
        if (!slab || slab->free_count == 0) {
            slab = next_slab(cpu, index, got == 0);
            if (!slab)
                break;
        }
        for (unsigned word = 0; word < bitmap_words(slab) && got < want; word++) {
            uint64_t bits = load_relaxed(&slab->free_bits[word]);
            if (!bits)
                continue;
            uint64_t taken = 0;
            while (bits && got < want) {
                uint64_t lowest = bits & -bits;
                unsigned object = word * 64 + (unsigned)__builtin_ctzll(bits);
                magazine->stack[count + ++got] = slab->base + (size_t)object * object_bytes;
                if (slab->track) /* tracking was on when the slab was made: keep its books */
                    track_alloc(pool, slab, object, object_bytes, NULL);
                taken |= lowest;
                bits ^= lowest;
            }
            store_relaxed(&slab->free_bits[word], bits);
            slab->free_count = (uint16_t)(slab->free_count - bit_count(taken));
        }
    }
    counter_add(&pool->live_objects, got);
    magazine_set_count(magazine, count + got);
    return got > 0;
}

/* An object out of a magazine goes back to its slab: into the bitmap if this
 * CPU owns the slab, else as a remote free. It was checked when it was freed;
 * the checks here catch a pointer freed twice (into magazines, where release
 * mode does not look) once the first copy is back. */
static void free_to_slab(struct km_cpu *cpu, struct km_slab *slab, unsigned object, const void *ptr)
{
    struct km_class_pool *pool = &cpu->classes[slab->class_index];
    if (slab->owner_cpu == cpu->id)
        local_free(pool, slab, object, ptr);
    else
        remote_free(pool, slab, object, ptr);
}

static void give_back(struct km_cpu *cpu, void *ptr)
{
    struct km_slab *slab = slab_of("km_free", ptr, owner_word("km_free", ptr));
    free_to_slab(cpu, slab, object_of("km_free", ptr, slab), ptr);
}

/* ---- inboxes: remote frees in batches ------------------------------------- */

/* Reserves count slots in owner's inbox and writes the objects there; false
 * (nothing sent) when the inbox has no room for them all. */
static bool send_to_inbox(struct km_cpu *owner, void *const *objects, const uint8_t *classes,
                          unsigned count)
{
    uint64_t head = __atomic_load_n(&owner->inbox_head, __ATOMIC_RELAXED);
    do {
        uint64_t tail = __atomic_load_n(&owner->inbox_tail, __ATOMIC_ACQUIRE);
        if (head + count - tail > KM_INBOX_SLOTS)
            return false;
    } while (!__atomic_compare_exchange_n(&owner->inbox_head, &head, head + count, true,
                                          __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
    for (unsigned i = 0; i < count; i++) {
        __atomic_store_n(&owner->inbox_class[(head + i) % KM_INBOX_SLOTS], classes[i],
                         __ATOMIC_RELAXED);
        __atomic_store_n(&owner->inbox[(head + i) % KM_INBOX_SLOTS], objects[i], __ATOMIC_RELEASE);
    }
    return true;
}

/* Objects of another CPU's slabs leave this CPU's magazines: to the owner's
 * inbox in one batch, counted freed here as a remote free is; or, when the
 * inbox is full, one by one into the slabs' remote bitmaps. */
static void send_batch(struct km_cpu *cpu, unsigned owner, void *const *objects, unsigned count)
{
    uint8_t classes[KM_MAGAZINE_MAX]; /* before they go: the owner may retire their slabs */
    for (unsigned i = 0; i < count; i++)
        classes[i] = (uint8_t)(page_info(objects[i])->kind_times_4 / 4 - 1);
    if (owner < cpus_with_pools() && owner != cpu->id &&
        send_to_inbox(cpus[owner], objects, classes, count)) {
        for (unsigned i = 0; i < count; i++) {
            counter_add(&cpu->classes[classes[i]].live_objects, -1);
            counter_add(&cpu->classes[classes[i]].remote_frees, 1);
        }
        return;
    }
    for (unsigned i = 0; i < count; i++)
        give_back(cpu, objects[i]);
}

/* Objects leaving this CPU's magazines: its own go back into its slabs;
 * other CPUs' go to their owners' inboxes, one batch per owner (the owner
 * is in the page map: no look at the slab, whose lines the owner writes).
 * objects is used as scratch. */
static void give_back_all(struct km_cpu *cpu, void **objects, uint64_t count)
{
    uint64_t remote = 0;
    for (uint64_t i = 0; i < count; i++) {
        const struct km_page_info *info = page_info(objects[i]);
        if (info && info->kind_times_4 && info->owner_cpu != cpu->id)
            objects[remote++] = objects[i];
        else
            give_back(cpu, objects[i]);
    }
    while (remote > 0) { /* one owner at a time: the first one left's */
        void *batch[KM_MAGAZINE_MAX];
        unsigned owner = page_info(objects[0])->owner_cpu, in_batch = 0;
        uint64_t left = 0;
        for (uint64_t i = 0; i < remote; i++) {
            if (page_info(objects[i])->owner_cpu == owner)
                batch[in_batch++] = objects[i];
            else
                objects[left++] = objects[i];
        }
        remote = left;
        send_batch(cpu, owner, batch, in_batch);
    }
}

/* This CPU takes what other CPUs sent to its inbox, in order, up to the
 * first slot reserved but not yet written, and frees each object into its
 * slab's bitmap with every check of a local free: a double free whose first
 * copy is already free there is caught now (not into the magazine, where
 * the only check would be the top). Tail moves past each object before it
 * is freed, so a panic on one leaves the inbox consistent. Interrupts off. */
static void free_inbox_objects(struct km_cpu *cpu)
{
    uint64_t tail = __atomic_load_n(&cpu->inbox_tail, __ATOMIC_RELAXED); /* ours alone */
    uint64_t head = __atomic_load_n(&cpu->inbox_head, __ATOMIC_ACQUIRE);
    for (; tail != head; tail++) {
        void **slot = &cpu->inbox[tail % KM_INBOX_SLOTS];
        void *ptr = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
        if (!ptr)
            break;
        __atomic_store_n(slot, NULL, __ATOMIC_RELAXED);
        __atomic_store_n(&cpu->inbox_tail, tail + 1, __ATOMIC_RELEASE);
        unsigned index =
            __atomic_load_n(&cpu->inbox_class[tail % KM_INBOX_SLOTS], __ATOMIC_RELAXED);
        struct km_class_pool *pool = &cpu->classes[index % SIZE_CLASS_COUNT];
        /* From here on a local free, which counts itself: take back the
         * sender's count (so a double free caught below leaves them right). */
        counter_add(&pool->live_objects, 1);
        /* It was an object of this CPU's slab when it was freed, and a slab
         * goes back only when all its objects are free: so if its page is
         * not such a slab page now, this copy was freed twice. */
        const struct km_page_info *info = page_info(ptr);
        if (!info || !info->kind_times_4 || info->owner_cpu != cpu->id)
            platform_panic("km_free(%p): double free (found in CPU %u's inbox): its page is no "
                           "longer a page of this CPU's slabs, so its slab had emptied and gone "
                           "back: the object was freed before this copy came",
                           ptr, cpu->id);
        struct km_slab *slab = slab_of("km_free", ptr, owner_word("km_free", ptr));
        unsigned object = object_of("km_free", ptr, slab);
        if (slab->owner_cpu != cpu->id || slab->class_index != index)
            platform_panic("km_free(%p): in CPU %u's inbox as class %u, but its slab %p is CPU "
                           "%u's, of class %u",
                           ptr, cpu->id, index, (void *)slab->base, slab->owner_cpu,
                           slab->class_index);
        local_free(pool, slab, object, ptr);
    }
}

/* The inbox's objects into their slabs, if another CPU sent any. */
static void drain_inbox(struct km_cpu *cpu)
{
    if (__atomic_load_n(&cpu->inbox_head, __ATOMIC_ACQUIRE) !=
        __atomic_load_n(&cpu->inbox_tail, __ATOMIC_RELAXED))
        free_inbox_objects(cpu);
}

/* Flush: the `objects` oldest objects (the bottom of the stack) go back.
 * They leave the magazine before the first goes back, so that a double free
 * caught on the way (a panic) leaves no object both in the magazine and free. */
static void magazine_flush(struct km_cpu *cpu, struct km_magazine *magazine, uint64_t objects)
{
    void *leaving[KM_MAGAZINE_MAX];
    uint64_t count = magazine->count;
    if (objects > count)
        objects = count;
    memcpy(leaving, &magazine->stack[1], objects * sizeof(void *));
    memmove(&magazine->stack[1], &magazine->stack[objects + 1], (count - objects) * sizeof(void *));
    magazine_set_count(magazine, count - objects);
    give_back_all(cpu, leaving, objects);
}

/* Opens (release) or flushes and closes (malloc.debug) a CPU's magazines. */
static void set_magazines(struct km_cpu *cpu, bool debug)
{
    for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++) {
        struct km_magazine *magazine = magazine_of(cpu, index);
        if (debug) {
            magazine_flush(cpu, magazine, magazine->count);
            magazine->cap = 0;
        } else {
            magazine->cap = magazine_cap[index];
        }
    }
    cpu->debug_seen = debug;
}

/* This CPU's pool, for the slow path (interrupts off): it points the fast
 * path's per-CPU pointer at it, and brings its magazines to the mode in force. */
static struct km_cpu *this_pool(void)
{
    struct km_cpu *cpu = cpus[checked_cpu_index()];
    if (platform_malloc_pool() != cpu)
        platform_set_malloc_pool(cpu);
    bool debug = __atomic_load_n(&debug_mode, __ATOMIC_RELAXED);
    if (cpu->debug_seen != debug)
        set_magazines(cpu, debug);
    return cpu;
}

/* ---- large runs ----------------------------------------------------------- */

static void *large_alloc(size_t size, size_t align)
{
    if (size > (size_t)KM_OWNER_INDEX_MASK * KM_PAGE_BYTES) /* also keeps size + 4095 in range */
        return NULL;
    size_t pages = size ? (size + KM_PAGE_BYTES - 1) / KM_PAGE_BYTES : 1;
    size_t align_pages = align > KM_PAGE_BYTES ? align / KM_PAGE_BYTES : 1;
    if (align_pages > KM_OWNER_INDEX_MASK)
        return NULL;
    char *start = source->alloc_pages(pages, align_pages);
    if (!start)
        return NULL;
    /* The first page's owner word only: see large_run_around. */
    __atomic_store_n(owner_pointer(start), KM_OWNER_LARGE | (uint32_t)pages, __ATOMIC_RELEASE);
    uint64_t interrupts = platform_interrupts_save_disable();
    struct km_cpu *cpu = cpus[checked_cpu_index()];
    counter_add(&cpu->large_live, 1);
    counter_add(&cpu->large_pages, (int64_t)pages);
    counter_add(&cpu->large_allocations, 1);
    counter_add(&cpu->large_requested_bytes_total, (int64_t)size);
    platform_interrupts_restore(interrupts);
    return start;
}

/* word: the head's owner word as the caller read it. The head is taken with
 * one compare-and-swap, so that of two CPUs freeing the run at once exactly
 * one goes on: the other panics, and the source never gets the run twice. */
static void large_free(void *ptr, size_t pages, uint32_t word)
{
    uint32_t expected = word;
    if (!__atomic_compare_exchange_n(owner_pointer(ptr), &expected, 0, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_RELAXED))
        platform_panic("km_free(%p): double free of the large run at %p (class large, %zu "
                       "pages): another CPU freed it at the same time",
                       ptr, ptr, pages);
    source->free_pages(ptr, pages);
    uint64_t interrupts = platform_interrupts_save_disable();
    struct km_cpu *cpu = cpus[checked_cpu_index()];
    counter_add(&cpu->large_live, -1);
    counter_add(&cpu->large_pages, -(int64_t)pages);
    platform_interrupts_restore(interrupts);
}

/* ---- the public calls ------------------------------------------------------ */

static size_t pool_pages(void)
{
    return (pool_bytes + KM_PAGE_BYTES - 1) / KM_PAGE_BYTES;
}

static int add_cpus(unsigned count)
{
    for (unsigned cpu = cpu_count; cpu < count; cpu++) {
        platform_lock_acquire(&pool_lock);
        struct km_cpu *state = metadata_run(pool_pages(), &cpu_pages);
        platform_lock_release(&pool_lock);
        if (!state)
            return -1;
        state->id = cpu;
        for (unsigned row = 0; row < SIZE_CLASS_LOOKUP_ENTRIES; row++)
            state->magazine_of_row[row] = magazine_of(state, size_class_lookup[row]);
        for (unsigned kind = 0; kind < KM_KINDS_USED; kind++) {
            state->kinds[kind] = kind_template[kind];
            if (kind > 0)
                state->kinds[kind].magazine =
                    (struct km_magazine *)((char *)state + (uintptr_t)kind_template[kind].magazine);
        }
        set_magazines(state, debug_mode);
        cpus[cpu] = state;
        __atomic_store_n(&cpu_count, cpu + 1, __ATOMIC_RELEASE); /* after cpus[cpu] */
    }
    return 0;
}

/* The most objects a magazine holds: KM_MAGAZINE_MAX, or fewer when a CPU's
 * full magazines (the same count of each class) would hold more than their
 * share of memory_pages (0: no limit). */
BOOT_ONLY static unsigned magazine_objects_at_most(size_t memory_pages)
{
    if (memory_pages == 0)
        return KM_MAGAZINE_MAX;
    uint64_t one_of_each = 0;
    for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++)
        one_of_each += size_classes[index].object_bytes;
    uint64_t share = (uint64_t)memory_pages * KM_PAGE_BYTES / KM_MAGAZINES_SHARE_OF_MEMORY;
    uint64_t objects = share / one_of_each;
    return objects < KM_MAGAZINE_MAX ? (unsigned)objects : KM_MAGAZINE_MAX;
}

/* The tables the fast paths read, from the class table: each class's
 * magazine (capacity and place in struct km_cpu), the page kinds, and the
 * magazine of each 16-byte row of sizes. */
BOOT_ONLY static void lay_out_pools(size_t memory_pages)
{
    size_t offset = (sizeof(struct km_cpu) + 63) & ~(size_t)63;
    memset(&kind_template[0], 0, sizeof(kind_template[0])); /* not a slab page: refuses all */
    unsigned most = magazine_objects_at_most(memory_pages);
    for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++) {
        const struct size_class *cls = &size_classes[index];
        unsigned cap = KM_MAGAZINE_BYTES / cls->object_bytes;
        cap = cap > most ? most : cap;
        cap = cap < KM_MAGAZINE_MIN ? KM_MAGAZINE_MIN : cap;
        magazine_cap[index] = (uint16_t)cap;
        magazine_offset[index] = (uint32_t)offset;
        offset += (sizeof(struct km_magazine) + (cap + 1) * sizeof(void *) + 63) & ~(size_t)63;
        uint64_t magic = UINT64_MAX / cls->object_bytes + 1;
        uint64_t excess = magic * cls->object_bytes; /* mod 2^64: e in struct km_kind */
        kind_template[index + 1] = (struct km_kind){
            .magic = magic,
            .limit = excess ? cls->objects * excess : 1,
            .offset_mask = (uint64_t)slab_align_pages(cls) * KM_PAGE_BYTES - 1,
            .magazine = (struct km_magazine *)(uintptr_t)magazine_offset[index],
        };
    }
    pool_bytes = offset;
}

BOOT_ONLY int km_init(const struct malloc_page_source *page_source, unsigned count)
{
    if (count == 0)
        count = 1;
    if (count > KM_MAX_CPUS || !page_source || !page_source->alloc_pages ||
        !page_source->free_pages || !page_source->page_owner)
        return -1;
    size_classes_init();
    lay_out_pools(page_source->memory_pages);
    source = page_source;
    fast.map = page_source->page_map;
    fast.start = page_source->map_start;
    fast.pages = page_source->page_map ? page_source->map_pages : 0;
    memset(cpus, 0, sizeof(cpus));
    cpu_count = 0;
    memset(directory, 0, sizeof(directory));
    descriptors_made = 0;
    free_descriptors = NULL;
    free_track_tables = NULL;
    cpu_pages = directory_pages = descriptor_pages = track_pages = 0;
    tracking = poisoning = debug_requested = debug_mode = false;
    memset(sites, 0, sizeof(sites));
    return add_cpus(count);
}

int km_set_cpu_count(unsigned count)
{
    if (count > KM_MAX_CPUS)
        return -1;
    return add_cpus(count);
}

static void refuse_interrupt_context(const char *what)
{
    if (platform_in_interrupt())
        platform_panic("%s: called from an interrupt handler (CPU %u): interrupt handlers must "
                       "not allocate or free (the fast path relies on it: docs/malloc.md)",
                       what, platform_cpu_index());
}

static void *allocate_once(size_t size, size_t align, const void *caller);

/* Every allocation but the fast path's comes here. Out of memory, it has
 * every CPU give back what it holds unused (platform_malloc_reclaim) and
 * tries once more before it returns NULL. */
static void *allocate(size_t size, size_t align, const void *caller)
{
    if (!__atomic_load_n(&source, __ATOMIC_ACQUIRE))
        platform_malloc_not_started();
    refuse_interrupt_context("malloc");
    void *ptr = allocate_once(size, align, caller);
    /* A size no run can hold (large_alloc refuses it without asking the
     * source) is not worth emptying every CPU's magazines for. */
    if (!ptr && size <= (size_t)KM_OWNER_INDEX_MASK * KM_PAGE_BYTES) {
        platform_malloc_reclaim();
        ptr = allocate_once(size, align, caller);
    }
    if (!ptr)
        platform_malloc_failed();
    return ptr;
}

/* A class that fits size and align, or pages. */
static void *allocate_once(size_t size, size_t align, const void *caller)
{
    unsigned index = size_class_for(size, align);
    if (index == SIZE_CLASS_NONE)
        return large_alloc(size, align);
    uint64_t interrupts = platform_interrupts_save_disable();
    struct km_cpu *cpu = this_pool();
    void *ptr;
    if (cpu->debug_seen) {
        ptr = slab_alloc(cpu, index, size, caller);
    } else {
        struct km_magazine *magazine = magazine_of(cpu, index);
        ptr = NULL;
        if (magazine->count || magazine_refill(cpu, index, magazine)) {
            uint64_t count = magazine->count;
            ptr = magazine->stack[count];
            magazine_set_count(magazine, count - 1);
        }
    }
    platform_interrupts_restore(interrupts);
    return ptr;
}

void *km_malloc_at(size_t size, const void *caller)
{
    return allocate(size, 0, caller);
}

static __attribute__((noinline)) void *malloc_slow(size_t size, const void *caller)
{
    return allocate(size, 0, caller);
}

/* Every free but the fast path's: large runs, pointers outside the page-kind
 * map's window, full magazines, malloc.debug, and errors (which panic). */
static __attribute__((noinline)) void free_slow(void *ptr)
{
    if (!ptr)
        return;
    if (!__atomic_load_n(&source, __ATOMIC_ACQUIRE))
        platform_malloc_not_started();
    refuse_interrupt_context("free");
    uint32_t word = owner_word("km_free", ptr);
    if (word & KM_OWNER_LARGE) {
        large_free(ptr, large_pages_of("km_free", ptr, word), word);
        return;
    }
    struct km_slab *slab = slab_of("km_free", ptr, word);
    unsigned object = object_of("km_free", ptr, slab);
    uint64_t interrupts = platform_interrupts_save_disable();
    struct km_cpu *cpu = this_pool();
    if (cpu->debug_seen) {
        free_to_slab(cpu, slab, object, ptr);
    } else {
        struct km_magazine *magazine = magazine_of(cpu, slab->class_index);
        if (magazine->stack[magazine->count] == ptr)
            double_free_panic("km_free", ptr, slab, object,
                              "freed twice in a row: it is on top of this CPU's magazine");
        if (load_relaxed(&slab->free_bits[object / 64]) & (1ull << (object % 64)))
            double_free_panic("km_free", ptr, slab, object, "the object is free");
        if (magazine->count == magazine->cap)
            magazine_flush(cpu, magazine, (magazine->cap + 1) / 2);
        uint32_t count = magazine->count + 1;
        magazine->stack[count] = ptr;
        magazine_set_count(magazine, count);
    }
    platform_interrupts_restore(interrupts);
}

/*
 * The fast paths. malloc: the size's magazine (one table load from the size),
 * pop. free: the page's kind (one byte from the page map), the object
 * check (one multiply), push. No call, no lock, no locked instruction, no
 * interrupt flag change: the magazine is this CPU's, and interrupt handlers
 * never call malloc (docs/malloc.md: malloc.debug checks it). Anything else
 * (an empty or full magazine, a large size or run, malloc.debug, an error)
 * takes the slow path above.
 */
#define KM_LIKELY(condition) __builtin_expect(!!(condition), 1)

/* Both fast paths live in a section of their own, so that an interrupt can
 * tell whether it stopped one (km_fast_path_at): the one place a CPU's
 * magazines are half-changed with interrupts on. */
#define KM_FAST_PATH __attribute__((section("malloc_fast"), noinline))
extern const char __start_malloc_fast[] __attribute__((visibility("hidden")));
extern const char __stop_malloc_fast[] __attribute__((visibility("hidden")));

bool km_fast_path_at(uintptr_t pc)
{
    return pc >= (uintptr_t)__start_malloc_fast && pc < (uintptr_t)__stop_malloc_fast;
}

KM_FAST_PATH void *km_malloc(size_t size)
{
    if (KM_LIKELY(size <= SIZE_CLASS_MAX_BYTES)) {
        struct km_cpu *pool = platform_malloc_pool();
        if (!PLATFORM_MALLOC_POOL_MAY_BE_NULL || pool) {
            struct km_magazine *magazine = pool->magazine_of_row[(size + 15) >> 4];
            uint64_t below; /* the count after the pop; a borrow means empty */
            if (KM_LIKELY(!__builtin_sub_overflow(magazine->count, (uint64_t)1, &below))) {
                magazine_set_count(magazine, below);
                return magazine->stack[below + 1];
            }
        }
    }
    return malloc_slow(size, __builtin_return_address(0));
}

KM_FAST_PATH void km_free(void *ptr)
{
    uintptr_t offset = (uintptr_t)ptr - fast.start;
    if (KM_LIKELY(offset / KM_PAGE_BYTES < fast.pages)) {
        size_t kind_times_4 =
            __atomic_load_n(&fast.map[offset / KM_PAGE_BYTES].kind_times_4, __ATOMIC_RELAXED);
        struct km_cpu *pool = platform_malloc_pool();
        if (!PLATFORM_MALLOC_POOL_MAY_BE_NULL || pool) {
            const struct km_kind *kind =
                (const struct km_kind *)((const char *)pool->kinds + kind_times_4 * 8);
            uint64_t in_slab = (uintptr_t)ptr & kind->offset_mask;
            if (KM_LIKELY(in_slab * kind->magic < kind->limit)) {
                struct km_magazine *magazine = kind->magazine;
                uint64_t count = magazine->count;
                if (KM_LIKELY(count != magazine->cap && magazine->stack[count] != ptr)) {
                    /* The next malloc of the class returns ptr (the stack is
                     * LIFO), and free writes nothing into the object, so its
                     * line would be cold then: start bringing it in now. An
                     * allocator that links free objects through them gets
                     * this from its own write. make bench: churn and
                     * mix1to4k +7%; prodcon -12% (its frees are of objects the
                     * other thread uses, and no malloc here reuses them). */
                    __builtin_prefetch(ptr, 0, 3);
                    magazine->stack[count + 1] = ptr;
                    magazine_set_count(magazine, count + 1);
                    return;
                }
            }
        }
    }
    free_slow(ptr);
}

void *km_calloc(size_t count, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(count, size, &bytes))
        return NULL;
    void *ptr = allocate(bytes, 0, __builtin_return_address(0));
    if (ptr)
        memset(ptr, 0, bytes);
    return ptr;
}

size_t km_malloc_usable_size(const void *ptr)
{
    if (!ptr)
        return 0;
    uint32_t word = owner_word("km_malloc_usable_size", ptr);
    if (word & KM_OWNER_LARGE)
        return large_pages_of("km_malloc_usable_size", ptr, word) * KM_PAGE_BYTES;
    struct km_slab *slab = slab_of("km_malloc_usable_size", ptr, word);
    unsigned object = object_of("km_malloc_usable_size", ptr, slab);
    if (load_relaxed(&slab->free_bits[object / 64]) & (1ull << (object % 64)))
        platform_panic("km_malloc_usable_size(%p): object %u of class %u (%u bytes), slab %p, "
                       "is free",
                       ptr, object, slab->class_index, class_of(slab)->object_bytes,
                       (void *)slab->base);
    return class_of(slab)->object_bytes;
}

void *km_realloc(void *ptr, size_t size)
{
    const void *caller = __builtin_return_address(0);
    if (!ptr)
        return allocate(size, 0, caller);
    if (size == 0) {
        km_free(ptr);
        return NULL;
    }
    size_t old_bytes;
    uint32_t word = owner_word("km_realloc", ptr);
    if (word & KM_OWNER_LARGE) {
        size_t pages = large_pages_of("km_realloc", ptr, word);
        if (size > SIZE_CLASS_MAX_BYTES && (size + KM_PAGE_BYTES - 1) / KM_PAGE_BYTES == pages)
            return ptr;
        old_bytes = pages * KM_PAGE_BYTES;
    } else {
        struct km_slab *slab = slab_of("km_realloc", ptr, word);
        unsigned object = object_of("km_realloc", ptr, slab);
        if (size_class_of(size) == slab->class_index) {
            if (slab->track) {
                /* The object is the caller's: its entry is ours to update. */
                uint64_t interrupts = platform_interrupts_save_disable();
                struct km_class_pool *pool = &cpus[checked_cpu_index()]->classes[slab->class_index];
                int64_t delta = (int64_t)size - slab->track[object].requested_bytes;
                slab->track[object].requested_bytes = (uint16_t)size;
                counter_add(&pool->live_requested_bytes, delta);
                platform_lock_acquire(&site_lock);
                sites[slab->track[object].site].live_requested_bytes += (uint64_t)delta;
                platform_lock_release(&site_lock);
                platform_interrupts_restore(interrupts);
            }
            return ptr;
        }
        old_bytes = class_of(slab)->object_bytes;
    }
    void *moved = allocate(size, 0, caller);
    if (!moved)
        return NULL;
    memcpy(moved, ptr, old_bytes < size ? old_bytes : size);
    km_free(ptr);
    return moved;
}

void *km_aligned_alloc(size_t align, size_t size)
{
    if (align == 0 || (align & (align - 1)))
        return NULL;
    return allocate(size, align, __builtin_return_address(0));
}

int km_posix_memalign(void **out, size_t align, size_t size)
{
    if (align < sizeof(void *) || (align & (align - 1)))
        return KM_EINVAL;
    void *ptr = allocate(size, align, __builtin_return_address(0));
    if (!ptr)
        return KM_ENOMEM;
    *out = ptr;
    return 0;
}

void km_drain_magazines(void)
{
    uint64_t interrupts = platform_interrupts_save_disable();
    struct km_cpu *cpu = this_pool();
    drain_inbox(cpu);
    for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++) {
        struct km_magazine *magazine = magazine_of(cpu, index);
        magazine_flush(cpu, magazine, magazine->count);
    }
    platform_interrupts_restore(interrupts);
}

void km_flush_cpu(void)
{
    if (!__atomic_load_n(&source, __ATOMIC_ACQUIRE))
        return; /* not started: nothing held (a reclaim may come that early) */
    uint64_t interrupts = platform_interrupts_save_disable();
    struct km_cpu *cpu = this_pool();
    drain_inbox(cpu);
    for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++) {
        struct km_class_pool *pool = &cpu->classes[index];
        struct km_magazine *magazine = magazine_of(cpu, index);
        magazine_flush(cpu, magazine, magazine->count);
        reclaim_remote_frees(cpu, index);
        if (pool->kept && seal_for_retirement(pool->kept)) {
            retire(pool, pool->kept);
            pool->kept = NULL;
        }
        struct km_slab *slab = pool->partial;
        while (slab) {
            struct km_slab *next = slab->next;
            if (fully_free(slab) && seal_for_retirement(slab)) {
                partial_remove(pool, slab);
                retire(pool, slab);
            }
            slab = next;
        }
        slab = pool->current;
        if (slab && fully_free(slab) && seal_for_retirement(slab)) {
            pool->current = NULL;
            retire(pool, slab);
        }
    }
    platform_interrupts_restore(interrupts);
}

/* ---- statistics --------------------------------------------------------------- */

static uint64_t non_negative(int64_t value)
{
    return value > 0 ? (uint64_t)value : 0;
}

static uint64_t metadata_page_count(void)
{
    return non_negative(counter_read(&cpu_pages) + counter_read(&directory_pages) +
                        counter_read(&descriptor_pages) + counter_read(&track_pages));
}

void km_stats(struct km_stats *out)
{
    memset(out, 0, sizeof(*out));
    unsigned cpu_total = cpus_with_pools();
    int64_t large_live = 0, large_pages = 0, large_allocations = 0, large_requested = 0;
    for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++) {
        const struct size_class *cls = &size_classes[index];
        int64_t sums[8] = {0};
        uint64_t in_magazines = 0;
        for (unsigned cpu = 0; cpu < cpu_total; cpu++) {
            const struct km_class_pool *pool = &cpus[cpu]->classes[index];
            in_magazines += magazine_count(magazine_of(cpus[cpu], index));
            sums[0] += counter_read(&pool->live_objects);
            sums[1] += counter_read(&pool->live_requested_bytes);
            sums[2] += counter_read(&pool->tracked_live_objects);
            sums[3] += counter_read(&pool->slabs);
            sums[4] += counter_read(&pool->slab_pages);
            sums[5] += counter_read(&pool->allocations);
            sums[6] += counter_read(&pool->requested_bytes_total);
            sums[7] += counter_read(&pool->remote_frees);
        }
        struct km_class_stats *row = &out->classes[index];
        row->object_bytes = cls->object_bytes;
        row->slab_pages_each = cls->slab_pages;
        /* Out of the slabs: live, or free in a magazine. */
        row->in_magazines = in_magazines;
        row->live_objects = non_negative(sums[0] - (int64_t)in_magazines);
        row->live_object_bytes = row->live_objects * cls->object_bytes;
        row->live_requested_bytes = non_negative(sums[1]);
        row->tracked_live_objects = non_negative(sums[2]);
        row->slabs = non_negative(sums[3]);
        row->slab_pages = non_negative(sums[4]);
        row->allocations = non_negative(sums[5]);
        row->requested_bytes_total = non_negative(sums[6]);
        row->object_bytes_total = row->allocations * cls->object_bytes;
        row->remote_frees = non_negative(sums[7]);
        out->live_objects += row->live_objects;
        out->live_object_bytes += row->live_object_bytes;
        out->slab_pages += row->slab_pages;
    }
    for (unsigned cpu = 0; cpu < cpu_total; cpu++) {
        large_live += counter_read(&cpus[cpu]->large_live);
        large_pages += counter_read(&cpus[cpu]->large_pages);
        large_allocations += counter_read(&cpus[cpu]->large_allocations);
        large_requested += counter_read(&cpus[cpu]->large_requested_bytes_total);
    }
    out->large_live = non_negative(large_live);
    out->large_pages = non_negative(large_pages);
    out->large_allocations = non_negative(large_allocations);
    out->large_requested_bytes_total = non_negative(large_requested);
    out->metadata_pages = metadata_page_count();
    out->per_call_counts = km_debug_mode();
    out->pages_held = out->slab_pages + out->large_pages + out->metadata_pages;
}

bool km_cpu_usage(unsigned cpu, struct km_cpu_usage *out)
{
    memset(out, 0, sizeof(*out));
    if (cpu >= cpus_with_pools())
        return false;
    int64_t slabs = 0, slab_pages = 0, allocations = 0, remote_frees = 0;
    for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++) {
        const struct km_class_pool *pool = &cpus[cpu]->classes[index];
        slabs += counter_read(&pool->slabs);
        slab_pages += counter_read(&pool->slab_pages);
        allocations += counter_read(&pool->allocations);
        remote_frees += counter_read(&pool->remote_frees);
    }
    out->slabs = non_negative(slabs);
    out->slab_pages = non_negative(slab_pages);
    out->allocations = non_negative(allocations);
    out->remote_frees = non_negative(remote_frees);
    out->inbox_waiting = __atomic_load_n(&cpus[cpu]->inbox_head, __ATOMIC_ACQUIRE) -
                         __atomic_load_n(&cpus[cpu]->inbox_tail, __ATOMIC_ACQUIRE);
    if (out->inbox_waiting > KM_INBOX_SLOTS) /* read while they moved */
        out->inbox_waiting = KM_INBOX_SLOTS;
    return true;
}

size_t km_pages_held(void)
{
    int64_t pages = 0;
    unsigned cpu_total = cpus_with_pools();
    for (unsigned cpu = 0; cpu < cpu_total; cpu++) {
        pages += counter_read(&cpus[cpu]->large_pages);
        for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++)
            pages += counter_read(&cpus[cpu]->classes[index].slab_pages);
    }
    return (size_t)(non_negative(pages) + metadata_page_count());
}

void km_fork_prepare(void)
{
    platform_lock_acquire(&pool_lock);
    platform_lock_acquire(&site_lock);
}

void km_fork_release(void)
{
    platform_lock_release(&site_lock);
    platform_lock_release(&pool_lock);
}

/* In the child, a ticket lock is not let go but made anew: threads of the
 * parent that were waiting for it took tickets the child's threads would
 * wait behind forever. */
void km_fork_child(void)
{
    platform_interrupts_restore(pool_lock.saved_interrupts);
    platform_interrupts_restore(site_lock.saved_interrupts);
    pool_lock = (struct platform_lock)PLATFORM_LOCK_INIT;
    site_lock = (struct platform_lock)PLATFORM_LOCK_INIT;
    /* A thread that is gone may have reserved inbox slots it never wrote:
     * close the gaps, or the owner's drain would stop at them for good (the
     * objects it was sending stay allocated in the child: a leak of at most
     * one batch, never a corruption). */
    for (unsigned cpu = 0; cpu < cpu_count; cpu++) {
        struct km_cpu *state = cpus[cpu];
        uint64_t written = state->inbox_tail;
        for (uint64_t slot = state->inbox_tail; slot != state->inbox_head; slot++) {
            void *ptr = state->inbox[slot % KM_INBOX_SLOTS];
            state->inbox[slot % KM_INBOX_SLOTS] = NULL;
            if (ptr)
                state->inbox[written++ % KM_INBOX_SLOTS] = ptr;
        }
        state->inbox_head = written;
    }
}

void km_track_enable(bool on)
{
    __atomic_store_n(&tracking, on, __ATOMIC_RELAXED);
    update_debug_mode();
}

size_t km_track_sites(struct km_site_stats *out, size_t max)
{
    platform_lock_acquire(&site_lock);
    size_t count = 0;
    for (unsigned slot = 0; slot < KM_TRACK_SITES; slot++) {
        if (!sites[slot].caller && !sites[slot].allocations)
            continue;
        /* Insertion into out, most live bytes first. */
        size_t at = count < max ? count : max;
        while (at > 0 && out[at - 1].live_requested_bytes < sites[slot].live_requested_bytes) {
            if (at < max)
                out[at] = out[at - 1];
            at--;
        }
        if (at < max)
            out[at] = sites[slot];
        count++;
    }
    platform_lock_release(&site_lock);
    return count;
}

/* ---- km_check ----------------------------------------------------------------- */

/* Per CPU and class, what the walk of all descriptors finds. */
struct check_tally {
    int64_t slabs, slab_pages, listed, queued;
};

static unsigned bitmap_count(const uint64_t *bits)
{
    unsigned count = 0;
    for (unsigned word = 0; word < BITMAP_WORDS; word++)
        count += bit_count(load_relaxed(&bits[word]));
    return count;
}

/* One in-use descriptor on its own: fields, bitmaps, owner words. */
static bool check_slab(struct km_slab *slab, char *error, size_t size)
{
    if (slab->class_index >= SIZE_CLASS_COUNT || slab->owner_cpu >= cpu_count) {
        ksnprintf(error, size, "descriptor %u: class %u, CPU %u out of range", slab->index,
                  slab->class_index, slab->owner_cpu);
        return false;
    }
    const struct size_class *cls = class_of(slab);
    if (slab->object_count != cls->objects || (uintptr_t)slab->base % KM_PAGE_BYTES) {
        ksnprintf(error, size,
                  "slab %p (descriptor %u): %u objects (class has %u), base unaligned?",
                  (void *)slab->base, slab->index, slab->object_count, cls->objects);
        return false;
    }
    for (unsigned word = 0; word < BITMAP_WORDS; word++) {
        uint64_t local = slab->free_bits[word], remote = slab->remote_bits[word];
        uint64_t valid = 0;
        if (slab->object_count >= (word + 1) * 64)
            valid = ~0ull;
        else if (slab->object_count > word * 64)
            valid = (1ull << (slab->object_count - word * 64)) - 1;
        if ((local | remote) & ~valid || local & remote) {
            ksnprintf(error, size,
                      "slab %p (class %u): bitmap word %u: free %#llx, remote %#llx, valid %#llx",
                      (void *)slab->base, slab->class_index, word, (unsigned long long)local,
                      (unsigned long long)remote, (unsigned long long)valid);
            return false;
        }
    }
    if (bitmap_count(slab->free_bits) != slab->free_count) {
        ksnprintf(error, size, "slab %p (class %u): free_count %u, but %u free bits",
                  (void *)slab->base, slab->class_index, slab->free_count,
                  bitmap_count(slab->free_bits));
        return false;
    }
    bool list_ok = true;
    switch (slab->list) {
    case SLAB_CURRENT:
        list_ok = cpus[slab->owner_cpu]->classes[slab->class_index].current == slab;
        break;
    case SLAB_PARTIAL:
        list_ok = slab->free_count > 0;
        break;
    case SLAB_FULL:
        list_ok = slab->free_count == 0;
        break;
    case SLAB_KEPT:
        list_ok =
            fully_free(slab) && cpus[slab->owner_cpu]->classes[slab->class_index].kept == slab;
        break;
    default:
        list_ok = false;
    }
    if (!list_ok) {
        ksnprintf(error, size, "slab %p (class %u, CPU %u): list state %u with %u of %u free",
                  (void *)slab->base, slab->class_index, slab->owner_cpu, slab->list,
                  slab->free_count, slab->object_count);
        return false;
    }
    for (unsigned page = 0; page < cls->slab_pages; page++) {
        const char *address = slab->base + (size_t)page * KM_PAGE_BYTES;
        uint32_t *owner = source->page_owner(address);
        if (!owner || *owner != slab->index + 1) {
            ksnprintf(error, size, "slab %p (class %u): page %p has owner word %#x, not %#x",
                      (void *)slab->base, slab->class_index, (const void *)address,
                      owner ? *owner : 0, slab->index + 1);
            return false;
        }
    }
    return true;
}

/* One CPU's lists for one class: links, membership, and the keep rule. */
static bool check_pool(unsigned cpu, unsigned index, const struct check_tally *tally, char *error,
                       size_t size)
{
    const struct km_class_pool *pool = &cpus[cpu]->classes[index];
    int64_t limit = (int64_t)descriptors_made, listed = 0, queued = 0, fully_free_slabs = 0;
    const struct km_slab *previous = NULL;
    for (struct km_slab *slab = pool->partial; slab; slab = slab->next) {
        if (++listed > limit || slab->list != SLAB_PARTIAL || slab->prev != previous ||
            slab->owner_cpu != cpu || slab->class_index != index) {
            ksnprintf(error, size, "CPU %u class %u: partial list broken at slab %p", cpu, index,
                      (void *)slab->base);
            return false;
        }
        if (fully_free(slab) && !(slab->remote_state & REMOTE_QUEUED)) {
            ksnprintf(error, size, "CPU %u class %u: fully free slab %p left in the partial list",
                      cpu, index, (void *)slab->base);
            return false;
        }
        previous = slab;
    }
    for (struct km_slab *slab = cpus[cpu]->remote_queue[index]; slab; slab = slab->remote_next) {
        if (++queued > limit || !(slab->remote_state & REMOTE_QUEUED) || slab->owner_cpu != cpu ||
            slab->class_index != index) {
            ksnprintf(error, size, "CPU %u class %u: remote queue broken at slab %p", cpu, index,
                      (void *)slab->base);
            return false;
        }
    }
    const struct km_slab *current = pool->current, *kept = pool->kept;
    if (current) {
        listed++;
        if (current->list != SLAB_CURRENT || current->owner_cpu != cpu ||
            current->class_index != index) {
            ksnprintf(error, size, "CPU %u class %u: current slab %p is not CURRENT", cpu, index,
                      (void *)current->base);
            return false;
        }
        fully_free_slabs += fully_free(current);
    }
    if (kept) {
        listed++;
        if (kept->list != SLAB_KEPT || kept->owner_cpu != cpu || kept->class_index != index) {
            ksnprintf(error, size, "CPU %u class %u: kept slab %p is not KEPT", cpu, index,
                      (void *)kept->base);
            return false;
        }
        if (!(kept->remote_state & REMOTE_QUEUED)) /* else: looked at again when dequeued */
            fully_free_slabs++;
    }
    if (fully_free_slabs > KM_EMPTY_SLABS_KEPT) {
        ksnprintf(error, size, "CPU %u class %u: %lld fully free slabs kept (limit %d)", cpu, index,
                  (long long)fully_free_slabs, KM_EMPTY_SLABS_KEPT);
        return false;
    }
    if (listed != tally->listed || queued != tally->queued) {
        ksnprintf(error, size,
                  "CPU %u class %u: lists hold %lld slabs, queue %lld; descriptors say %lld, %lld",
                  cpu, index, (long long)listed, (long long)queued, (long long)tally->listed,
                  (long long)tally->queued);
        return false;
    }
    if (pool->slabs != tally->slabs || pool->slab_pages != tally->slab_pages) {
        ksnprintf(error, size,
                  "CPU %u class %u: counters say %lld slabs, %lld pages; descriptors %lld, %lld",
                  cpu, index, (long long)pool->slabs, (long long)pool->slab_pages,
                  (long long)tally->slabs, (long long)tally->slab_pages);
        return false;
    }
    return true;
}

/* Tallies one CPU's slabs by class, from a walk of every descriptor. */
static void tally_cpu(unsigned cpu, struct check_tally tallies[SIZE_CLASS_COUNT])
{
    memset(tallies, 0, SIZE_CLASS_COUNT * sizeof(tallies[0]));
    for (uint32_t index = 0; index < descriptors_made; index++) {
        const struct km_slab *slab = descriptor_at(index);
        if (slab->list == SLAB_UNUSED || slab->owner_cpu != cpu)
            continue;
        struct check_tally *tally = &tallies[slab->class_index];
        tally->slabs++;
        tally->slab_pages += class_of(slab)->slab_pages;
        tally->listed += slab->list != SLAB_FULL;
        tally->queued += (slab->remote_state & REMOTE_QUEUED) != 0;
    }
}

bool km_check(char *error, size_t size)
{
    int64_t live[SIZE_CLASS_COUNT] = {0};
    int64_t unused = 0, tracked = 0;
    for (uint32_t index = 0; index < descriptors_made; index++) {
        struct km_slab *slab = descriptor_at(index);
        if (slab->index != index) {
            ksnprintf(error, size, "descriptor %u says it is %u", index, slab->index);
            return false;
        }
        if (slab->list == SLAB_UNUSED) {
            unused++;
            continue;
        }
        if (!check_slab(slab, error, size))
            return false;
        tracked += slab->track != NULL;
        live[slab->class_index] +=
            slab->object_count - slab->free_count - (int64_t)bitmap_count(slab->remote_bits);
    }
    int64_t free_listed = 0;
    for (struct km_slab *slab = free_descriptors; slab; slab = slab->next)
        if (++free_listed > unused || slab->list != SLAB_UNUSED)
            break;
    if (free_listed != unused) {
        ksnprintf(error, size, "descriptor pool: %lld unused descriptors, free list has %lld",
                  (long long)unused, (long long)free_listed);
        return false;
    }
    /* What sits in the inboxes left its slabs' bitmaps' count: counted freed. */
    for (unsigned cpu = 0; cpu < cpu_count; cpu++) {
        uint64_t head = cpus[cpu]->inbox_head, tail = cpus[cpu]->inbox_tail;
        if (head - tail > KM_INBOX_SLOTS) {
            ksnprintf(error, size, "CPU %u's inbox: head %llu, tail %llu", cpu,
                      (unsigned long long)head, (unsigned long long)tail);
            return false;
        }
        for (; tail != head; tail++) {
            void *ptr = cpus[cpu]->inbox[tail % KM_INBOX_SLOTS];
            const struct km_page_info *info = ptr ? page_info(ptr) : NULL;
            if (!info || !info->kind_times_4 || info->owner_cpu != cpu) {
                ksnprintf(error, size,
                          "CPU %u's inbox, slot %llu: %p is not an object of its slabs", cpu,
                          (unsigned long long)tail, ptr);
                return false;
            }
            live[info->kind_times_4 / 4 - 1]--;
        }
    }
    /* One walk of the descriptors per CPU: O(CPUs x slabs), and a small stack. */
    for (unsigned cpu = 0; cpu < cpu_count; cpu++) {
        struct check_tally tallies[SIZE_CLASS_COUNT];
        tally_cpu(cpu, tallies);
        for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++)
            if (!check_pool(cpu, index, &tallies[index], error, size))
                return false;
    }
    for (unsigned index = 0; index < SIZE_CLASS_COUNT; index++) {
        int64_t counted = 0;
        for (unsigned cpu = 0; cpu < cpu_count; cpu++)
            counted += cpus[cpu]->classes[index].live_objects;
        if (counted != live[index]) {
            ksnprintf(error, size, "class %u: counters say %lld live objects, bitmaps %lld", index,
                      (long long)counted, (long long)live[index]);
            return false;
        }
    }
    int64_t large_live = 0, large_pages = 0;
    for (unsigned cpu = 0; cpu < cpu_count; cpu++) {
        large_live += cpus[cpu]->large_live;
        large_pages += cpus[cpu]->large_pages;
    }
    if (large_live < 0 || large_pages < large_live) {
        ksnprintf(error, size, "large runs: %lld live in %lld pages", (long long)large_live,
                  (long long)large_pages);
        return false;
    }
    int64_t free_tables = 0;
    for (void **table = free_track_tables; table; table = *table)
        if (++free_tables > track_pages * (int64_t)(KM_PAGE_BYTES / TRACK_TABLE_BYTES))
            break;
    if (cpu_pages != (int64_t)(cpu_count * pool_pages()) ||
        descriptor_pages != (int64_t)(descriptors_made / DESCRIPTORS_PER_PAGE) ||
        tracked + free_tables != track_pages * (int64_t)(KM_PAGE_BYTES / TRACK_TABLE_BYTES)) {
        ksnprintf(error, size,
                  "metadata: %lld CPU pages for %u CPUs, %lld descriptor pages for %u "
                  "descriptors, %lld side tables + %lld free in %lld pages",
                  (long long)cpu_pages, cpu_count, (long long)descriptor_pages, descriptors_made,
                  (long long)tracked, (long long)free_tables, (long long)track_pages);
        return false;
    }
    return true;
}
