/*
 * gdt.c: the kernel's GDT and TSS.
 *
 * Long mode ignores segment bases and limits, but still needs a code segment
 * with the L bit, a data segment, and a TSS. The TSS matters for one reason
 * here: its Interrupt Stack Table gives the double-fault handler a stack of
 * its own, so a kernel stack overflow (which faults again when the CPU pushes
 * the exception frame on the dead stack) still gets a readable report.
 */
#include "kernel/gdt.h"

#include <stddef.h>

struct __attribute__((packed)) tss {
    uint32_t reserved0;
    uint64_t rsp[3]; /* stacks for privilege changes (ring 0-2): unused yet */
    uint64_t reserved1;
    uint64_t ist[7]; /* ist[0] is IST slot 1 */
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t io_bitmap_offset;
};

struct __attribute__((packed)) gdt_pointer {
    uint16_t limit;
    uint64_t base;
};

#define DOUBLE_FAULT_STACK_BYTES 8192

static uint8_t double_fault_stack[DOUBLE_FAULT_STACK_BYTES] __attribute__((aligned(16)));
static struct tss tss;

/* null, kernel code, kernel data, TSS (a 16-byte descriptor: two slots). */
static uint64_t gdt[5];

static uint64_t tss_descriptor_low(uint64_t base, uint32_t limit)
{
    return (limit & 0xFFFFull) | (base & 0xFFFFFFull) << 16 |
           0x89ull << 40 /* present, 64-bit TSS (available) */ |
           (uint64_t)(limit >> 16 & 0xF) << 48 | (base >> 24 & 0xFF) << 56;
}

void gdt_init(void)
{
    gdt[0] = 0;
    gdt[1] = 0x00AF9A000000FFFFull; /* code: present, ring 0, long mode */
    gdt[2] = 0x00CF92000000FFFFull; /* data: present, writable */
    uint64_t tss_base = (uint64_t)&tss;
    gdt[3] = tss_descriptor_low(tss_base, sizeof(tss) - 1);
    gdt[4] = tss_base >> 32;

    tss.ist[IST_DOUBLE_FAULT - 1] = gdt_double_fault_stack_top();
    tss.io_bitmap_offset = sizeof(tss); /* no I/O bitmap */

    struct gdt_pointer pointer = {sizeof(gdt) - 1, (uint64_t)gdt};
    __asm__ volatile("lgdt %0\n\t"
                     "pushq %1\n\t" /* reload CS with a far return */
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "movw %w2, %%ds\n\t"
                     "movw %w2, %%es\n\t"
                     "movw %w2, %%ss\n\t"
                     "ltr %w3"
                     :
                     : "m"(pointer), "i"(GDT_KERNEL_CODE), "r"(GDT_KERNEL_DATA), "r"(GDT_TSS)
                     : "rax", "memory");
}

uint16_t gdt_loaded_task_register(void)
{
    uint16_t selector;
    __asm__ volatile("str %0" : "=r"(selector));
    return selector;
}

uint64_t gdt_double_fault_stack_top(void)
{
    return (uint64_t)double_fault_stack + sizeof(double_fault_stack);
}

uint64_t gdt_double_fault_stack_bottom(void)
{
    return (uint64_t)double_fault_stack;
}
