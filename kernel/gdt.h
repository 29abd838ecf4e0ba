/* gdt.h: segments (flat in long mode) and the TSS, which holds the IST stacks. */
#ifndef KERNEL_GDT_H
#define KERNEL_GDT_H

#include <stdint.h>

#define GDT_KERNEL_CODE 0x08
#define GDT_KERNEL_DATA 0x10
#define GDT_TSS 0x18

/* Interrupt Stack Table slots (1-based, as the IDT gate encodes them). */
#define IST_DOUBLE_FAULT 1

void gdt_init(void);
uint16_t gdt_loaded_task_register(void);
uint64_t gdt_double_fault_stack_top(void);
uint64_t gdt_double_fault_stack_bottom(void);

#endif
