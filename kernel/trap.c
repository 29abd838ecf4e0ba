/*
 * trap.c: the IDT and what happens when the CPU raises an exception.
 *
 * A fault in the kernel is a bug: the report says which exception, decodes its
 * error code, shows where (symbol+offset), the registers and a backtrace, then
 * panics. Breakpoints (int3) are reported and execution goes on. Legacy PIC
 * interrupts go to the handler registered for their IRQ.
 */
#include "kernel/trap.h"

#include "kernel/backtrace.h"
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/gdt.h"
#include "kernel/ksyms.h"
#include "kernel/panic.h"
#include "kernel/percpu.h"
#include "kernel/pic.h"
#include "lib/boot_only.h"
#include "lib/format.h"
#include "lib/platform.h"

extern const char __boot_only_start[], __boot_only_end[];

struct __attribute__((packed)) idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist; /* IST slot, 0 = stay on the current stack */
    uint8_t type_attributes;
    uint16_t offset_middle;
    uint32_t offset_high;
    uint32_t reserved;
};

struct __attribute__((packed)) idt_pointer {
    uint16_t limit;
    uint64_t base;
};

#define IDT_INTERRUPT_GATE 0x8E /* present, ring 0, interrupt gate (IF cleared) */
#define IDT_VECTORS 256
#define PIC_IRQ_COUNT 16

extern const uint64_t trap_stub_table[];
extern const uint64_t trap_stub_table_end[];

static struct idt_gate idt[IDT_VECTORS];
static irq_handler_fn irq_handlers[PIC_IRQ_COUNT];
static vector_handler_fn vector_handlers[IDT_VECTORS];
static nmi_handler_fn nmi_handler;
static unsigned breakpoints_handled;

struct exception_info {
    const char *mnemonic;
    const char *name;
};

static const struct exception_info exceptions[TRAP_EXCEPTION_COUNT] = {
    {"#DE", "divide error"},
    {"#DB", "debug"},
    {"NMI", "non-maskable interrupt"},
    {"#BP", "breakpoint"},
    {"#OF", "overflow"},
    {"#BR", "bound range exceeded"},
    {"#UD", "invalid opcode"},
    {"#NM", "device not available"},
    {"#DF", "double fault"},
    {"#CSO", "coprocessor segment overrun"},
    {"#TS", "invalid TSS"},
    {"#NP", "segment not present"},
    {"#SS", "stack-segment fault"},
    {"#GP", "general protection fault"},
    {"#PF", "page fault"},
    {"#15", "reserved exception 15"},
    {"#MF", "x87 floating-point error"},
    {"#AC", "alignment check"},
    {"#MC", "machine check"},
    {"#XM", "SIMD floating-point error"},
    {"#VE", "virtualization exception"},
    {"#CP", "control protection exception"},
    {"#22", "reserved exception 22"},
    {"#23", "reserved exception 23"},
    {"#24", "reserved exception 24"},
    {"#25", "reserved exception 25"},
    {"#26", "reserved exception 26"},
    {"#27", "reserved exception 27"},
    {"#HV", "hypervisor injection exception"},
    {"#VC", "VMM communication exception"},
    {"#SX", "security exception"},
    {"#31", "reserved exception 31"},
};

const char *trap_exception_name(unsigned vector)
{
    return vector < TRAP_EXCEPTION_COUNT ? exceptions[vector].name : "interrupt";
}

const char *trap_exception_mnemonic(unsigned vector)
{
    return vector < TRAP_EXCEPTION_COUNT ? exceptions[vector].mnemonic : "IRQ";
}

unsigned trap_breakpoint_count(void)
{
    return breakpoints_handled;
}

static void set_gate(unsigned vector, uint64_t handler, uint8_t ist)
{
    idt[vector] = (struct idt_gate){
        .offset_low = (uint16_t)handler,
        .selector = GDT_KERNEL_CODE,
        .ist = ist,
        .type_attributes = IDT_INTERRUPT_GATE,
        .offset_middle = (uint16_t)(handler >> 16),
        .offset_high = (uint32_t)(handler >> 32),
    };
}

BOOT_ONLY void idt_init(void)
{
    unsigned stub_count = (unsigned)(trap_stub_table_end - trap_stub_table);
    for (unsigned vector = 0; vector < stub_count; vector++) {
        uint8_t ist = vector == TRAP_DOUBLE_FAULT ? IST_DOUBLE_FAULT : 0;
        set_gate(vector, trap_stub_table[vector], ist);
    }
    idt_load();
}

void idt_load(void)
{
    struct idt_pointer pointer = {sizeof(idt) - 1, (uint64_t)idt};
    __asm__ volatile("lidt %0" : : "m"(pointer));
}

void trap_set_vector_handler(unsigned vector, vector_handler_fn handler)
{
    if (vector >= TRAP_IRQ_BASE + PIC_IRQ_COUNT && vector < IDT_VECTORS)
        vector_handlers[vector] = handler;
}

void trap_set_nmi_handler(nmi_handler_fn handler)
{
    nmi_handler = handler;
}

void trap_set_irq_handler(unsigned irq, irq_handler_fn handler)
{
    if (irq < PIC_IRQ_COUNT)
        irq_handlers[irq] = handler;
}

char *trap_describe_page_fault(uint64_t error_code, char *buf, unsigned size)
{
    ksnprintf(buf, size, "%s, %s, %s mode, %s%s%s",
              error_code & 1 ? "protection violation" : "not-present page",
              error_code & 2 ? "write" : "read", error_code & 4 ? "user" : "kernel",
              error_code & 16 ? "instruction fetch" : "data access",
              error_code & 8 ? ", reserved bit set in a page-table entry" : "",
              error_code & 32 ? ", protection key" : "");
    return buf;
}

static void print_error_code(const struct trap_frame *frame)
{
    uint64_t code = frame->error_code;
    char words[160];
    switch (frame->vector) {
    case TRAP_PAGE_FAULT:
        kprintf("  cr2 0x%016lx  (the address that faulted)\n", read_cr2());
        if (read_cr2() >= (uint64_t)__boot_only_start && read_cr2() < (uint64_t)__boot_only_end)
            kprintf("  that is boot-only code or data, freed when the boot ended "
                    "(lib/boot_only.h: nothing may use it after)\n");
        kprintf("  error code %#lx: %s\n", code,
                trap_describe_page_fault(code, words, sizeof(words)));
        break;
    case TRAP_GENERAL_PROTECTION:
    case 10:
    case 11:
    case 12: /* #TS #NP #SS: a selector error code */
        if (code == 0) {
            kprintf("  error code 0 (not caused by a segment selector)\n");
            break;
        }
        kprintf("  error code %#lx: selector index %lu in the %s%s\n", code, code >> 3,
                (code & 2)   ? "IDT"
                : (code & 4) ? "LDT"
                             : "GDT",
                (code & 1) ? " (external event)" : "");
        break;
    case TRAP_DOUBLE_FAULT:
        kprintf("  (a fault while handling a fault; a kernel stack overflow ends here)\n");
        break;
    default:
        if (code)
            kprintf("  error code %#lx\n", code);
        break;
    }
}

static void print_registers(const struct trap_frame *frame)
{
    kprintf("  rax %016lx  rbx %016lx  rcx %016lx\n", frame->rax, frame->rbx, frame->rcx);
    kprintf("  rdx %016lx  rsi %016lx  rdi %016lx\n", frame->rdx, frame->rsi, frame->rdi);
    kprintf("  rbp %016lx  rsp %016lx  r8  %016lx\n", frame->rbp, frame->rsp, frame->r8);
    kprintf("  r9  %016lx  r10 %016lx  r11 %016lx\n", frame->r9, frame->r10, frame->r11);
    kprintf("  r12 %016lx  r13 %016lx  r14 %016lx\n", frame->r12, frame->r13, frame->r14);
    kprintf("  r15 %016lx  rflags %08lx  cs %04lx  ss %04lx\n", frame->r15, frame->rflags,
            frame->cs, frame->ss);
    kprintf("  cr0 %08lx  cr3 %08lx  cr4 %08lx\n", read_cr0(), read_cr3(), read_cr4());
}

static _Noreturn void report_exception(const struct trap_frame *frame)
{
    unsigned vector = (unsigned)frame->vector;
    char where[128];
    ksyms_format_address(frame->rip, where, sizeof(where));
    kprintf("\n*** CPU exception %s (%s, vector %u) in kernel mode\n",
            trap_exception_mnemonic(vector), trap_exception_name(vector), vector);
    kprintf("  rip 0x%016lx  %s\n", frame->rip, where);
    print_error_code(frame);
    print_registers(frame);
    backtrace_print_from(frame->rip, frame->rbp);
    panic_after_report("unhandled %s (%s) at %s", trap_exception_mnemonic(vector),
                       trap_exception_name(vector), where);
}

static void handle_irq(unsigned irq)
{
    if (pic_is_spurious(irq))
        return;
    if (irq_handlers[irq])
        irq_handlers[irq]();
    pic_end_of_interrupt(irq);
}

void trap_dispatch(struct trap_frame *frame);
void trap_dispatch(struct trap_frame *frame)
{
    unsigned vector = (unsigned)frame->vector;
    if (vector >= TRAP_IRQ_BASE && vector < TRAP_IRQ_BASE + PIC_IRQ_COUNT) {
        this_cpu()->interrupt_depth++; /* platform_in_interrupt: malloc refuses */
        handle_irq(vector - TRAP_IRQ_BASE);
        this_cpu()->interrupt_depth--;
        return;
    }
    if (vector >= TRAP_IRQ_BASE + PIC_IRQ_COUNT) {
        if (vector_handlers[vector]) {
            this_cpu()->interrupt_depth++;
            vector_handlers[vector](frame);
            this_cpu()->interrupt_depth--;
            return;
        }
        log_warn("interrupt on vector %u with no handler (CPU %u): ignored", vector,
                 platform_cpu_index());
        return;
    }
    if (vector == TRAP_NMI && nmi_handler && nmi_handler(frame))
        return;
    if (vector == TRAP_BREAKPOINT) {
        breakpoints_handled++;
        char where[128];
        ksyms_format_address(frame->rip - 1, where, sizeof(where));
        log_debug("breakpoint (int3) at %s; continuing", where);
        return;
    }
    report_exception(frame);
}
