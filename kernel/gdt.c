/*
 * gdt.c: a CPU's GDT and TSS.
 *
 * Long mode ignores segment bases and limits, but still needs a code segment
 * with the L bit, a data segment, and a TSS. The TSS matters for one reason
 * here: its Interrupt Stack Table gives the double-fault handler a stack of
 * its own, so a kernel stack overflow (which faults again when the CPU pushes
 * the exception frame on the dead stack) still gets a readable report.
 */
#include "kernel/gdt.h"

#include <stddef.h>

struct __attribute__((packed)) gdt_pointer {
    uint16_t limit;
    uint64_t base;
};

static uint64_t tss_descriptor_low(uint64_t base, uint32_t limit)
{
    return (limit & 0xFFFFull) | (base & 0xFFFFFFull) << 16 |
           0x89ull << 40 /* present, 64-bit TSS (available) */ |
           (uint64_t)(limit >> 16 & 0xF) << 48 | (base >> 24 & 0xFF) << 56;
}

void gdt_load(struct cpu_descriptor_tables *tables, uint64_t double_fault_stack_top)
{
    uint64_t *gdt = tables->gdt;
    gdt[0] = 0;
    gdt[1] = 0x00AF9A000000FFFFull; /* code: present, ring 0, long mode */
    gdt[2] = 0x00CF92000000FFFFull; /* data: present, writable */
    uint64_t tss_base = (uint64_t)&tables->tss;
    gdt[3] = tss_descriptor_low(tss_base, sizeof(struct tss) - 1);
    gdt[4] = tss_base >> 32;

    tables->tss = (struct tss){0};
    tables->tss.ist[IST_DOUBLE_FAULT - 1] = double_fault_stack_top;
    tables->tss.io_bitmap_offset = sizeof(struct tss); /* no I/O bitmap */

    struct gdt_pointer pointer = {sizeof(tables->gdt) - 1, (uint64_t)gdt};
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
