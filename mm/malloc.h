/*
 * malloc.h: the kernel's malloc, with per-CPU pools of size-classed slabs.
 *
 * The allocator asks a page source for runs of 4 KiB pages and knows nothing
 * else about the machine: the kernel's source is the buddy allocator
 * (kernel/heap.c), the host's is mmap or a test arena. It is the design of
 * OSv's mempool without its three costs (a header inside each pool page, pools
 * that stop at 1 KiB, page-sized early allocations).
 *
 * Small requests (up to 4096 bytes, see mm/size_class.h) come from slabs: a
 * run of 1 to 8 pages cut into objects of one size class, back to back from
 * the first byte. The slab's descriptor (struct km_slab below) lives apart,
 * in a pool of descriptor pages, so the object pages hold objects only: two
 * 2048-byte objects per page, four 3072-byte objects in 3 pages. Each page of
 * a slab names its descriptor in its owner word (struct page.owner in the
 * kernel), which is how km_free finds the slab of any pointer in O(1):
 *
 *   owner word                    meaning
 *   0                             not malloc's page
 *   1 .. 2^30 - 1                 a slab page: descriptor index + 1
 *   KM_OWNER_LARGE | n            first page of a large run of n pages
 *
 * The other pages of a large run keep word 0: writing a word per page on
 * every allocation and free cost more than the run itself (docs/malloc.md).
 * An error message that needs the run of such a page walks back to it.
 *
 * Large requests (above 4096 bytes, or aligned beyond what a class gives) take
 * exactly ceil(size / 4096) pages straight from the source.
 *
 * Per-CPU pools. For each class, each CPU owns its slabs: a current slab it
 * allocates from, a list of partial slabs, and at most one fully free slab
 * kept for reuse (past that, an empty slab's pages go back to the source).
 * In front of them sits a magazine, a bounded stack of free objects of the
 * class (at most 64 objects and 16 KiB). The fast path, km_malloc and
 * km_free, pops and pushes it: no call, no lock, no locked instruction and
 * no interrupt flag change, because the magazine is this CPU's alone and
 * interrupt handlers never call malloc. free finds the class of a pointer in
 * the page map (two bytes per page, see struct malloc_page_source) and
 * checks that it is the start of an object with one multiply. The slabs'
 * bitmaps are touched only when a magazine is refilled (half of it) or
 * flushed (its oldest half), with interrupts off (docs/malloc.md).
 *
 * Remote frees. An object of another CPU's slab goes into this CPU's
 * magazine like any other; when the magazine flushes it, it goes to its
 * owner (named in the page map) in a batch with the others leaving for that
 * owner: n pointers written into the owner's inbox after one compare-and-swap
 * reserves their slots. The owner frees them into its slabs, with every
 * check, at its next refill. When an inbox is full (and in malloc.debug),
 * an object's bit is set in its slab's remote bitmap instead (one atomic OR;
 * the word's first bit also queues the slab for its owner), and the owner
 * folds those bits in when its current slab runs out. How the owner knows a
 * slab can go back to the source while another CPU may be freeing into it is
 * explained at struct km_slab (mm/malloc.c), remote_state.
 *
 * Errors. A double free, a pointer inside an object or a large run but not at
 * its start, a pointer into a slab's tail, and a pointer to a page malloc does
 * not own all panic, naming the address, the class and the slab. In release
 * mode a double free is caught at the second free only if the pointer is on
 * top of the magazine (freed twice in a row); otherwise when the second copy
 * gets back to its slab (from the magazine, or through its owner's inbox),
 * if the first got there before it. malloc.debug (km_debug_enable)
 * catches it at the second free: on the owner CPU, or on any CPU while the
 * owner's bitmap already shows the object free, or when two remote frees of
 * one object meet in the remote bitmap; the one case caught late is a remote
 * free racing a free elsewhere before the owner reclaims: then the owner
 * panics when it reclaims (it finds the bit set in both bitmaps).
 *
 * Out of memory returns NULL (ENOMEM from km_posix_memalign) at any step,
 * with nothing changed.
 *
 * Counters are per CPU (plain stores, no atomics; km_stats sums them) and
 * move at refill and flush time: per class the objects out of the slabs
 * (km_stats subtracts those waiting in magazines), slabs and their pages. The
 * cumulative allocations, requested bytes and object bytes count every call
 * only in malloc.debug. Requested bytes of *live*
 * objects need each object's size at free time: km_track_enable(true) keeps it
 * (and the call site) in a side table per slab, for the slabs made while it
 * is on.
 */
#ifndef MM_MALLOC_H
#define MM_MALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/size_class.h"

/* What malloc notes about each page of the page source's window, for the
 * fast path and for remote frees: the page's kind (0: not a slab page; else
 * its class + 1, times 4) and the CPU whose slab it is in. */
struct km_page_info {
    uint8_t kind_times_4;
    uint8_t owner_cpu;
};

/* Where the pages come from. All three are required, and must be safe to call
 * from any CPU with interrupts off. */
struct malloc_page_source {
    /* A run of `pages` contiguous 4 KiB pages aligned to align_pages pages (a power of two), or
     * NULL. */
    void *(*alloc_pages)(size_t pages, size_t align_pages);
    /* Gives back a run exactly as alloc_pages returned it. */
    void (*free_pages)(void *start, size_t pages);
    /* The owner word of the page holding addr (struct page.owner in the kernel), or NULL if that
     * page is not one the source handed out. */
    uint32_t *(*page_owner)(const void *addr);
    /* The page map, for free's fast path and remote frees (optional: NULL
     * and 0 without one, and then every free takes the slow path): one
     * struct km_page_info (2 bytes), zeroed, for each 4 KiB page of the
     * window [map_start, map_start + map_pages * 4096) (map_start
     * page-aligned) where the source's pages lie. malloc writes the entries
     * of its slab pages and reads them in free's fast path. */
    struct km_page_info *page_map;
    uintptr_t map_start;
    size_t map_pages;
    /* How many pages the source has for malloc in all (optional: 0 means
     * plenty). A CPU's magazines are sized to hold at most a sixteenth of
     * them (but at least 4 objects a class), so that a small machine gets
     * short magazines and a small pool (at -m 3M: 5 objects a class, 3 pages
     * a CPU instead of 7). */
    size_t memory_pages;
};

#define KM_MAX_CPUS 64        /* per-CPU pools; a CPU's id must be below km_init's count */
#define KM_EMPTY_SLABS_KEPT 1 /* fully free slabs a CPU keeps per class (its current counts) */
#define KM_OWNER_LARGE 0x80000000u
#define KM_OWNER_INDEX_MASK 0x3fffffffu
#define KM_EINVAL 22
#define KM_ENOMEM 12

/*
 * Starts (or starts over, forgetting every earlier allocation: tests) with
 * pools for CPUs 0 .. cpu_count - 1 (0 means 1). Before any other km_* call.
 * 0, or -1 if cpu_count is above KM_MAX_CPUS or the source has no page for the
 * per-CPU state (one page per CPU).
 */
int km_init(const struct malloc_page_source *source, unsigned cpu_count);
/* Adds pools for CPUs up to cpu_count - 1 (the kernel starts malloc before it
 * has counted its CPUs): call it before those CPUs first use malloc. Never
 * shrinks. 0 or -1 (above KM_MAX_CPUS, out of memory). */
int km_set_cpu_count(unsigned cpu_count);

/* The host library builds these two as its exported malloc and free
 * (-Dkm_malloc=malloc, see the Makefile): no wrapper around the fast path. */
#ifndef KM_FAST_PATH_EXPORT
#define KM_FAST_PATH_EXPORT
#endif
KM_FAST_PATH_EXPORT void *km_malloc(size_t size); /* malloc(0) returns a 16-byte object */
KM_FAST_PATH_EXPORT void km_free(void *ptr);      /* NULL is fine */
void *km_calloc(size_t count, size_t size);       /* overflow-checked: NULL */
/* In place when the new size still maps to the same class (growing or
 * shrinking within the class), or when a large run keeps its page count;
 * otherwise a new object, the contents copied up to the smaller size, the old
 * one freed. realloc(NULL, n) is malloc(n); realloc(p, 0) frees p and returns
 * NULL. On failure NULL, and p is untouched. */
void *km_realloc(void *ptr, size_t size);
void *km_aligned_alloc(size_t align, size_t size); /* power-of-two align; NULL otherwise */
/* align: a power of two, multiple of sizeof(void *). 0, KM_EINVAL or KM_ENOMEM;
 * *out is set only on success. */
int km_posix_memalign(void **out, size_t align, size_t size);
/* The object's or the run's bytes; 0 for NULL; a pointer km_free would refuse
 * (or a free object) panics. */
size_t km_malloc_usable_size(const void *ptr);
/* The same, recording the requested size and a call site for the tracker (km_malloc calls it with
 * __builtin_return_address(0)). */
void *km_malloc_at(size_t size, const void *caller);

/* Whether pc lies in km_malloc's or km_free's fast path: an interrupt that
 * stopped a CPU there must not touch that CPU's magazines (it puts off
 * reclaim requests instead: platform_malloc_reclaim). */
bool km_fast_path_at(uintptr_t pc);

/* Gives every object in this CPU's magazines back to its slab (the slabs stay:
 * see km_flush_cpu). */
void km_drain_magazines(void);

/*
 * Gives back what this CPU holds and does not use: empties its magazines,
 * folds in the remote frees
 * queued for it and returns every fully free slab (the current and kept ones
 * too) to the source. For a CPU going idle, and for tests that count pages.
 */
void km_flush_cpu(void);

/* For a process that forks (the host library's pthread_atfork handlers): takes
 * malloc's own locks, and lets them go on both sides of the fork. */
void km_fork_prepare(void);
void km_fork_release(void); /* the parent */
void km_fork_child(void);   /* the child: the locks made anew (their waiters are gone) */

/* ---- statistics and checks ---------------------------------------------- */

struct km_class_stats {
    uint32_t object_bytes;
    uint32_t slab_pages_each;
    uint64_t live_objects;
    uint64_t live_object_bytes;    /* handed out: live_objects * object_bytes */
    uint64_t live_requested_bytes; /* of tracked objects only (km_track_enable) */
    uint64_t tracked_live_objects; /* the objects live_requested_bytes covers */
    uint64_t slabs;
    uint64_t slab_pages;
    uint64_t allocations;           /* cumulative, as are the next two */
    uint64_t requested_bytes_total; /* what callers asked for */
    uint64_t object_bytes_total;    /* what they got: allocations * object_bytes */
    uint64_t remote_frees;          /* frees that came from another CPU than the slab's */
    uint64_t in_magazines;          /* free objects waiting in the CPUs' magazines */
};

struct km_stats {
    struct km_class_stats classes[SIZE_CLASS_COUNT];
    uint64_t large_live;        /* large runs handed out and not freed */
    uint64_t large_pages;       /* their pages */
    uint64_t large_allocations; /* cumulative, as is the next */
    uint64_t large_requested_bytes_total;
    uint64_t live_objects; /* sums over the classes */
    uint64_t live_object_bytes;
    uint64_t slab_pages;
    uint64_t metadata_pages; /* descriptors, their directory, per-CPU state, side tables */
    uint64_t pages_held;     /* slab_pages + large_pages + metadata_pages */
    /* allocations, requested_bytes_total and object_bytes_total count every
     * call only in malloc.debug (which tracking and poisoning imply); the fast
     * path counts nothing. false: those three are not kept up. */
    bool per_call_counts;
};

/* A snapshot (exact where the other CPUs are quiet). */
void km_stats(struct km_stats *out);

/* One CPU's share: the slabs it owns and what it did. */
struct km_cpu_usage {
    uint64_t slabs, slab_pages; /* owned by this CPU now */
    uint64_t allocations;       /* cumulative, small objects */
    uint64_t remote_frees;      /* frees it made into other CPUs' slabs */
    uint64_t inbox_waiting;     /* objects other CPUs gave back, waiting in its inbox */
};
/* false if cpu has no pool. */
bool km_cpu_usage(unsigned cpu, struct km_cpu_usage *out);
/* Every page malloc holds from the source now: slabs, large runs, metadata. */
size_t km_pages_held(void);

/*
 * Checks every invariant (struct km_slab in mm/malloc.c) of every slab: its
 * bitmaps against its counts, the owner word of each page, the per-CPU lists
 * and queues, and the counters against the slabs. Only where no other CPU uses
 * malloc. true, or false with a message in error.
 */
bool km_check(char *error, size_t size);

/* ---- poisoning -------------------------------------------------------------- */

#define KM_POISON_BYTE 0x6B
/*
 * With poisoning on, slabs made from then on fill each freed object with
 * KM_POISON_BYTE and check, when the object is handed out again, that it still
 * is: a write through a pointer used after free panics with the object, its
 * class and slab. It costs a fill and a check of the object on each free and
 * malloc: a debugging aid (the malloc.poison boot option), not for speed.
 */
void km_poison_enable(bool on);

/* ---- malloc.debug ------------------------------------------------------------ */

/*
 * Debug mode: every call takes the slow, fully checked path straight to the
 * slabs (no magazines): a double free is caught at the second free, and every
 * call is counted (allocations, requested bytes). Tracking and poisoning
 * imply it. This CPU switches at once; each other CPU at its next slow path
 * (its magazines are flushed then).
 */
void km_debug_enable(bool on);
bool km_debug_mode(void); /* asked for, or implied by tracking or poisoning */

/* ---- the tracker ---------------------------------------------------------- */

/*
 * With tracking on, each slab made from then on gets a 1 KiB side table (4
 * bytes for each of up to 256 objects, from pages of its own: counted in
 * metadata_pages) holding each live object's requested size and call site,
 * so km_stats reports the requested bytes of live objects, and
 * km_track_sites what each call site holds. Large
 * runs are not tracked (their waste is under a page each: see large_pages).
 * Site counting takes a lock: tracking is for measuring, not for speed.
 */
void km_track_enable(bool on);

#define KM_TRACK_SITES 64 /* call sites tracked; later ones are counted together as caller NULL */

struct km_site_stats {
    const void *caller;
    uint64_t allocations; /* cumulative */
    uint64_t live_objects;
    uint64_t live_requested_bytes;
};

/* Copies up to max sites, most live bytes first; returns how many there are. */
size_t km_track_sites(struct km_site_stats *out, size_t max);

#endif
