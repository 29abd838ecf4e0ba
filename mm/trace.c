/* trace.c: the allocators' trace points (see trace.h): empty on purpose. */
#include "mm/trace.h"

/* noinline and an empty asm: the call stays even if a compiler could see
 * into this file (LTO), so a breakpoint here always stops. */
__attribute__((noinline)) void trace_buddy_split(uint64_t pfn, unsigned from_order,
                                                 unsigned to_order)
{
    (void)pfn, (void)from_order, (void)to_order;
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void trace_malloc_refill(unsigned cpu, unsigned size_class, void *base,
                                                   unsigned pages, unsigned objects,
                                                   unsigned object_bytes)
{
    (void)cpu, (void)size_class, (void)base, (void)pages, (void)objects, (void)object_bytes;
    __asm__ volatile("" ::: "memory");
}
