/*
 * trace.h: named events of the allocators, for a debugger to stop at.
 *
 * Each is an empty function that the allocator calls where the event happens,
 * with the event's facts as its arguments. A breakpoint on it (GDB's
 * `kbreak split`, `kbreak refill`: docs/gdb.md) stops there with the facts in
 * `info args`, whatever the optimisation: the code that splits a block is
 * inlined at -O2 (take_block_locked in mm/buddy.c has no frame of its own),
 * but a call to an out-of-line function stays, and its arguments are in the
 * argument registers at its first instruction. They sit on slow paths only
 * (a split, a new slab), where one empty call costs nothing measurable.
 */
#ifndef MM_TRACE_H
#define MM_TRACE_H

#include <stdint.h>

/* The buddy allocator split a free block: the block of 2^from_order pages at
 * pfn became one block of 2^to_order pages for the caller (at pfn) and free
 * buddies of orders to_order .. from_order - 1 (from_order > to_order). */
void trace_buddy_split(uint64_t pfn, unsigned from_order, unsigned to_order);

/* CPU cpu's malloc pool took a new slab for class size_class from the page
 * source: pages pages at base, objects objects of object_bytes. */
void trace_malloc_refill(unsigned cpu, unsigned size_class, void *base, unsigned pages,
                         unsigned objects, unsigned object_bytes);

#endif
