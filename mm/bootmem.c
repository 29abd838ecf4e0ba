/*
 * bootmem.c: see bootmem.h.
 *
 * Every question here ("is this page free?", "who claims it?") is answered by
 * the same sweep: cut the address space at every range boundary into
 * elementary intervals; inside one interval nothing changes, so one test per
 * interval tells whether it is RAM and which reservation (the first that
 * covers it) claims it. With a few dozen ranges this is small and obvious,
 * which matters more here than speed: it runs a handful of times at boot.
 *
 * The sweep and its table of boundaries are boot-only (lib/boot_only.h):
 * every change to the reservations ends with count_claims, which stores each
 * reservation's claim in it, so that `mem` reads the claims after the boot
 * without the sweep.
 */
#include "mm/bootmem.h"

#include "lib/boot_only.h"
#include "lib/string.h"

#define PAGE_MASK ((uint64_t)BOOTMEM_PAGE_SIZE - 1)
#define MAX_BOUNDARIES (2 * (BOOTMEM_MAX_RAM_RANGES + BOOTMEM_MAX_RESERVATIONS))
#define NO_RESERVATION ((size_t)-1)

static void count_claims(struct bootmem *bootmem);

static uint64_t page_floor(uint64_t address)
{
    return address & ~PAGE_MASK;
}

static uint64_t page_ceiling(uint64_t address)
{
    return address > UINT64_MAX - PAGE_MASK ? page_floor(UINT64_MAX)
                                            : page_floor(address + PAGE_MASK);
}

BOOT_ONLY void bootmem_init(struct bootmem *bootmem)
{
    memset(bootmem, 0, sizeof(*bootmem));
}

BOOT_ONLY bool bootmem_add_ram(struct bootmem *bootmem, uint64_t start, uint64_t end)
{
    if (bootmem->ram_count == BOOTMEM_MAX_RAM_RANGES || (start & PAGE_MASK) || (end & PAGE_MASK) ||
        end <= start)
        return false;
    if (bootmem->ram_count > 0 && bootmem->ram[bootmem->ram_count - 1].end > start)
        return false;
    bootmem->ram[bootmem->ram_count++] = (struct bootmem_range){start, end};
    return true;
}

BOOT_ONLY bool bootmem_reserve(struct bootmem *bootmem, uint64_t start, uint64_t end,
                               const char *name)
{
    if (end <= start)
        return false;
    start = page_floor(start);
    end = page_ceiling(end);
    /* Pages allocated one at a time under one name (page tables) come out
     * next to each other: grow the last reservation instead of adding one. */
    if (bootmem->reserved_count > 0) {
        struct bootmem_reservation *last = &bootmem->reserved[bootmem->reserved_count - 1];
        if (last->name == name && !last->released && (end == last->start || start == last->end)) {
            last->start = start < last->start ? start : last->start;
            last->end = end > last->end ? end : last->end;
            count_claims(bootmem);
            return true;
        }
    }
    if (bootmem->reserved_count == BOOTMEM_MAX_RESERVATIONS)
        return false;
    bootmem->reserved[bootmem->reserved_count++] =
        (struct bootmem_reservation){start, end, name, false, 0};
    count_claims(bootmem);
    return true;
}

BOOT_ONLY unsigned bootmem_release(struct bootmem *bootmem, const char *name)
{
    unsigned released = 0;
    for (size_t i = 0; i < bootmem->reserved_count; i++) {
        if (!bootmem->reserved[i].released && strcmp(bootmem->reserved[i].name, name) == 0) {
            bootmem->reserved[i].released = true;
            released++;
        }
    }
    count_claims(bootmem);
    return released;
}

/* All range boundaries, sorted, without duplicates. Returns the count. */
BOOT_ONLY static size_t collect_boundaries(const struct bootmem *bootmem, uint64_t *points)
{
    size_t count = 0;
    for (size_t i = 0; i < bootmem->ram_count; i++) {
        points[count++] = bootmem->ram[i].start;
        points[count++] = bootmem->ram[i].end;
    }
    for (size_t i = 0; i < bootmem->reserved_count; i++) {
        points[count++] = bootmem->reserved[i].start;
        points[count++] = bootmem->reserved[i].end;
    }
    for (size_t i = 1; i < count; i++) { /* insertion sort: a few hundred points */
        uint64_t point = points[i];
        size_t j = i;
        for (; j > 0 && points[j - 1] > point; j--)
            points[j] = points[j - 1];
        points[j] = point;
    }
    size_t unique = 0;
    for (size_t i = 0; i < count; i++) {
        if (unique == 0 || points[unique - 1] != points[i])
            points[unique++] = points[i];
    }
    return unique;
}

BOOT_ONLY static bool is_ram(const struct bootmem *bootmem, uint64_t start, uint64_t end)
{
    for (size_t i = 0; i < bootmem->ram_count; i++) {
        if (bootmem->ram[i].start <= start && end <= bootmem->ram[i].end)
            return true;
    }
    return false;
}

/* The first active reservation covering [start, end), or NO_RESERVATION.
 * (An elementary interval is either wholly inside a range or wholly out.) */
BOOT_ONLY static size_t claimed_by(const struct bootmem *bootmem, uint64_t start, uint64_t end)
{
    for (size_t i = 0; i < bootmem->reserved_count; i++) {
        const struct bootmem_reservation *reservation = &bootmem->reserved[i];
        if (!reservation->released && reservation->start <= start && end <= reservation->end)
            return i;
    }
    return NO_RESERVATION;
}

/* Calls visit(ctx, start, end, owner) for each elementary RAM interval. */
typedef void (*interval_fn)(void *ctx, uint64_t start, uint64_t end, size_t owner);

BOOT_ONLY_DATA static uint64_t boundaries[MAX_BOUNDARIES]; /* boot is single-threaded */

BOOT_ONLY static void sweep(const struct bootmem *bootmem, interval_fn visit, void *ctx)
{
    size_t count = collect_boundaries(bootmem, boundaries);
    for (size_t i = 0; i + 1 < count; i++) {
        if (is_ram(bootmem, boundaries[i], boundaries[i + 1]))
            visit(ctx, boundaries[i], boundaries[i + 1],
                  claimed_by(bootmem, boundaries[i], boundaries[i + 1]));
    }
}

struct free_visit {
    bootmem_range_fn visit;
    void *ctx;
    uint64_t run_start, run_end; /* adjacent free intervals are merged */
};

BOOT_ONLY static void visit_free(void *ctx, uint64_t start, uint64_t end, size_t owner)
{
    struct free_visit *state = ctx;
    if (owner != NO_RESERVATION)
        return;
    if (state->run_end == start) {
        state->run_end = end;
        return;
    }
    if (state->run_end > state->run_start)
        state->visit(state->ctx, state->run_start, state->run_end);
    state->run_start = start;
    state->run_end = end;
}

BOOT_ONLY static void for_each_free_range(const struct bootmem *bootmem, bootmem_range_fn visit,
                                          void *ctx)
{
    struct free_visit state = {visit, ctx, 0, 0};
    sweep(bootmem, visit_free, &state);
    if (state.run_end > state.run_start)
        visit(ctx, state.run_start, state.run_end);
}

BOOT_ONLY void bootmem_for_each_free_range(struct bootmem *bootmem, bootmem_range_fn visit,
                                           void *ctx)
{
    bootmem->handed_over = true;
    for_each_free_range(bootmem, visit, ctx);
}

struct fit_search {
    uint64_t bytes, align, limit;
    uint64_t best; /* highest fitting address found, or 0 */
};

BOOT_ONLY static void consider_free_range(void *ctx, uint64_t start, uint64_t end)
{
    struct fit_search *search = ctx;
    if (search->limit && end > search->limit)
        end = search->limit;
    if (end <= start || end - start < search->bytes)
        return;
    uint64_t candidate = (end - search->bytes) & ~(search->align - 1); /* as high as possible */
    if (candidate >= start && candidate != 0 && candidate > search->best)
        search->best = candidate;
}

BOOT_ONLY uint64_t bootmem_alloc(struct bootmem *bootmem, uint64_t bytes, uint64_t align,
                                 uint64_t limit, const char *name)
{
    if (bootmem->handed_over || bytes == 0)
        return 0;
    if (align < BOOTMEM_PAGE_SIZE || (align & (align - 1)))
        align = BOOTMEM_PAGE_SIZE;
    struct fit_search search = {page_ceiling(bytes), align, limit, 0};
    for_each_free_range(bootmem, consider_free_range, &search);
    if (search.best == 0) /* 0 also means "none": page 0 is never handed out */
        return 0;
    if (!bootmem_reserve(bootmem, search.best, search.best + search.bytes, name))
        return 0; /* the reservation table is full */
    return search.best;
}

BOOT_ONLY static void add_claim(void *ctx, uint64_t start, uint64_t end, size_t owner)
{
    struct bootmem *bootmem = ctx;
    if (owner != NO_RESERVATION)
        bootmem->reserved[owner].claimed_pages += (uint32_t)((end - start) / BOOTMEM_PAGE_SIZE);
}

BOOT_ONLY static void count_claims(struct bootmem *bootmem)
{
    for (size_t i = 0; i < bootmem->reserved_count; i++)
        bootmem->reserved[i].claimed_pages = 0;
    sweep(bootmem, add_claim, bootmem);
}

uint64_t bootmem_claimed_bytes(const struct bootmem *bootmem, size_t index)
{
    if (index >= bootmem->reserved_count)
        return 0;
    return (uint64_t)bootmem->reserved[index].claimed_pages * BOOTMEM_PAGE_SIZE;
}

uint64_t bootmem_ram_bytes(const struct bootmem *bootmem)
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < bootmem->ram_count; i++)
        bytes += bootmem->ram[i].end - bootmem->ram[i].start;
    return bytes;
}

BOOT_ONLY static void add_free(void *ctx, uint64_t start, uint64_t end)
{
    *(uint64_t *)ctx += end - start;
}

BOOT_ONLY uint64_t bootmem_free_bytes(const struct bootmem *bootmem)
{
    uint64_t bytes = 0;
    for_each_free_range(bootmem, add_free, &bytes);
    return bytes;
}
