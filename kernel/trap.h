/* trap.h: CPU exceptions and interrupts: the IDT, the saved frame, reports. */
#ifndef KERNEL_TRAP_H
#define KERNEL_TRAP_H

#include <stdbool.h>
#include <stdint.h>

/* What kernel/trap_entry.asm leaves on the stack, lowest address first. */
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector;
    uint64_t error_code; /* 0 for vectors without one */
    /* pushed by the CPU */
    uint64_t rip, cs, rflags, rsp, ss;
};

#define TRAP_EXCEPTION_COUNT 32
#define TRAP_IRQ_BASE 32 /* legacy PIC IRQ n arrives as vector 32 + n */

enum {
    TRAP_DIVIDE_ERROR = 0,
    TRAP_DEBUG = 1,
    TRAP_NMI = 2,
    TRAP_BREAKPOINT = 3,
    TRAP_INVALID_OPCODE = 6,
    TRAP_DOUBLE_FAULT = 8,
    TRAP_GENERAL_PROTECTION = 13,
    TRAP_PAGE_FAULT = 14,
};

typedef void (*irq_handler_fn)(void);
/* A handler for a vector past the PIC's (48-255: IPIs, the APIC's spurious
 * vector); it sends its own end-of-interrupt if one is due. */
typedef void (*vector_handler_fn)(struct trap_frame *frame);
/* Called on an NMI before it is reported: true if it was expected and handled
 * (kernel/smp.c uses NMIs to get another CPU's backtrace). */
typedef bool (*nmi_handler_fn)(struct trap_frame *frame);

void idt_init(void);
void trap_set_irq_handler(unsigned irq, irq_handler_fn handler);
void trap_set_vector_handler(unsigned vector, vector_handler_fn handler);
void trap_set_nmi_handler(nmi_handler_fn handler);
/* On an AP: load the shared IDT. */
void idt_load(void);
const char *trap_exception_name(unsigned vector);     /* "page fault" */
const char *trap_exception_mnemonic(unsigned vector); /* "#PF" */
unsigned trap_breakpoint_count(void);                 /* int3s handled so far */

/* Decode a page-fault error code into words ("not-present, write, kernel
 * mode, data access") in buf; returns buf. */
char *trap_describe_page_fault(uint64_t error_code, char *buf, unsigned size);

#endif
