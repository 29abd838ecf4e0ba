/*
 * memlayout.h: the one owner of every fixed address in Ferrite.
 *
 * Nobody else writes a raw address. This file is also read by NASM: the build
 * turns each `#define NAME VALUE` line into `%define NAME VALUE` (see the
 * Makefile rule for build/memlayout.inc), so values here are plain literals,
 * without casts or suffixes, and nothing but #define lines and comments may
 * appear outside the C-only block at the end.
 */
#ifndef KERNEL_MEMLAYOUT_H
#define KERNEL_MEMLAYOUT_H

/* Physical address the kernel image is loaded at by GRUB: 1 MiB, the first
 * address above the legacy BIOS area (VGA memory and ROMs live in 640K-1M). */
#define KERNEL_PHYS_BASE 0x100000

/* Virtual address that maps physical 0 in the kernel image window: the top
 * 2 GiB of the address space, which -mcmodel=kernel requires. The kernel's
 * text is at KERNEL_VIRT_BASE + KERNEL_PHYS_BASE. */
#define KERNEL_VIRT_BASE 0xFFFFFFFF80000000

/* The direct map: all of physical memory, mapped once at this offset
 * (phys P is at virt DIRECT_MAP_BASE + P). Start of the upper canonical half. */
#define DIRECT_MAP_BASE 0xFFFF800000000000

/* How much the early (assembly) page tables put in the direct map: the first
 * 4 GiB, where GRUB puts everything it hands us (MBI, modules). */
#define EARLY_DIRECT_MAP_BYTES 0x100000000

/* Size of the boot CPU's stack (a guard page below it is left unmapped). */
#define BOOT_STACK_BYTES 0x4000

/* The kernel stacks of the CPUs other than the boot CPU (kernel/smp.c): CPU
 * i's slot starts at CPU_STACKS_BASE + i * CPU_STACK_SLOT_BYTES and holds, from
 * the bottom: an unmapped guard page, its stack, another guard page, its
 * double-fault stack; the rest of the slot stays unmapped. Pages come from
 * the page allocator; only the guard pages' addresses are reserved. */
#define CPU_STACKS_BASE 0xFFFFFE0000000000
#define CPU_STACK_SLOT_BYTES 0x10000
#define CPU_STACK_BYTES 0x4000
/* A double fault's handler prints the report and a backtrace, and stops:
 * about 1.5 KiB deep (gcc -fstack-usage: trap_dispatch 336 bytes,
 * backtrace_print_from 416, kvformat and its helpers 350, the trap frame).
 * One page, as Linux gives its #DF stack; the boot CPU's is in .bss. */
#define CPU_DOUBLE_FAULT_STACK_BYTES 0x1000

/* The framebuffer GRUB set up under UEFI (kernel/fbcon.c): device memory
 * outside RAM, anywhere in the physical address space (above 4 GiB too), so it
 * is not in the direct map but in a window of its own, write-combining. */
#define FRAMEBUFFER_BASE 0xFFFFFD0000000000
#define FRAMEBUFFER_MAX_BYTES 0x4000000

/* Legacy devices at fixed physical addresses, set by the PC architecture. */
#define VGA_TEXT_PHYS 0xB8000

#ifndef __ASSEMBLER__
#include <stdint.h>

typedef uint64_t phys_addr_t;  /* a physical address: never dereference */
typedef uintptr_t virt_addr_t; /* a virtual address of the kernel */

/* Direct-map conversions: the only way C code turns phys into a pointer. */
static inline void *phys_to_virt(phys_addr_t phys)
{
    return (void *)(uintptr_t)(phys + DIRECT_MAP_BASE);
}

static inline phys_addr_t virt_to_phys_direct(const void *virt)
{
    return (phys_addr_t)((uintptr_t)virt - DIRECT_MAP_BASE);
}

/* Kernel-image addresses (text, data, bss) convert with the image offset. */
static inline phys_addr_t kernel_image_virt_to_phys(const void *virt)
{
    return (phys_addr_t)((uintptr_t)virt - KERNEL_VIRT_BASE);
}
#endif

#endif
