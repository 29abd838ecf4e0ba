/* gdt.h: segments (flat in long mode) and the TSS, which holds the IST stacks.
 * Every CPU has its own GDT and TSS (in its struct cpu, kernel/percpu.h): the
 * TSS names that CPU's double-fault stack, and a TSS descriptor is marked busy
 * once loaded, so two CPUs cannot share one. */
#ifndef KERNEL_GDT_H
#define KERNEL_GDT_H

#include <stdint.h>

#define GDT_KERNEL_CODE 0x08
#define GDT_KERNEL_DATA 0x10
#define GDT_TSS 0x18

/* Interrupt Stack Table slots (1-based, as the IDT gate encodes them). */
#define IST_DOUBLE_FAULT 1

struct __attribute__((packed)) tss {
    uint32_t reserved0;
    uint64_t rsp[3]; /* stacks for privilege changes (ring 0-2): unused yet */
    uint64_t reserved1;
    uint64_t ist[7]; /* ist[0] is IST slot 1 */
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t io_bitmap_offset;
};

/* One CPU's descriptor tables: null, kernel code, kernel data, TSS (a
 * 16-byte descriptor: two slots), and the TSS itself. */
struct cpu_descriptor_tables {
    _Alignas(16) uint64_t gdt[5];
    struct tss tss;
};

/* Fill tables for this CPU, with its double-fault stack, and load them (lgdt,
 * reload the segment registers, ltr). */
void gdt_load(struct cpu_descriptor_tables *tables, uint64_t double_fault_stack_top);
/* The tables live in each CPU's struct cpu (kernel/percpu.h), their one owner:
 * percpu_init_boot loads the boot CPU's, an AP loads its own as it starts. */
uint16_t gdt_loaded_task_register(void);

#endif
