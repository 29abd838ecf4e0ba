/*
 * percpu.h: each CPU's own area (struct cpu), reached through GS.
 *
 * Every CPU points its GS base (MSR 0xC0000101) at its struct cpu, whose
 * first field points at itself: `mov %gs:0, reg` gives this CPU's struct cpu
 * in one instruction, with no table lookup and no lock, whatever CPU the code
 * runs on. The boot CPU's area is static (it is needed before any allocator);
 * the others' are allocated by kernel/smp.c for the CPUs ACPI reports, not
 * for a compile-time maximum.
 */
#ifndef KERNEL_PERCPU_H
#define KERNEL_PERCPU_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/backtrace.h"

#include "kernel/gdt.h"

enum cpu_state {
    CPU_ABSENT,   /* in the table, not started yet */
    CPU_STARTING, /* INIT-SIPI-SIPI sent, waiting for it */
    CPU_ONLINE,   /* running the kernel, idle or at work */
    CPU_FAILED,   /* did not answer in time: left alone */
};

/* Work for a CPU (kernel/smp.c: smp_run_on). */
typedef void (*cpu_work_fn)(void *argument);

struct cpu {
    struct cpu *self; /* %gs:0 (PERCPU_SELF_OFFSET) */
    unsigned index;   /* %gs:8 (PERCPU_INDEX_OFFSET): 0 .. smp_cpu_count() - 1; 0 is the boot CPU */
    uint32_t apic_id; /* local APIC id (from the MADT, checked by the CPU itself) */
    void *malloc_pool; /* %gs:16 (PLATFORM_MALLOC_POOL_OFFSET, lib/platform.h): mm/malloc.c's */
    uint32_t acpi_uid; /* ACPI processor UID */
    volatile enum cpu_state state;
    uint64_t stack_bottom, stack_top;                           /* kernel stack (virtual) */
    uint64_t double_fault_stack_bottom, double_fault_stack_top; /* IST 1 */
    struct cpu_descriptor_tables tables;                        /* GDT and TSS */
    /* The mailbox: one job at a time, posted by another CPU. A poster first
     * claims it (mailbox_claimed 0 -> 1, one compare-and-swap: two posters
     * cannot merge), then fills work and work_argument and bumps work_posted;
     * the CPU runs the job, frees the claim, then sets work_done = work_posted. */
    cpu_work_fn volatile work;
    void *volatile work_argument;
    volatile uint64_t work_posted, work_done; /* sequence numbers */
    uint64_t work_started; /* the job running now (a wait inside it must not rerun it) */
    volatile uint32_t mailbox_claimed;
    uint64_t wakeups; /* interrupts that woke it from its idle loop */
    /* Reclaim requests (kernel/smp.c, smp_reclaim): asked is bumped by a CPU
     * out of memory, done set by this CPU once it has given back its
     * magazines, empty slabs and cached pages. */
    volatile uint64_t reclaim_asked, reclaim_done;
    volatile bool reclaim_put_off; /* an IPI found it in malloc's fast path */
    unsigned interrupt_depth;      /* handlers running (kernel/trap.c) */
    uint64_t park_ticket;          /* smp_pause_other_cpus: its park job's ticket, until resumed */
    volatile bool answered_late;   /* came up after the boot CPU gave up on it (kept offline) */
    /* NMIs from another CPU (kernel/smp.c): what it asked for (SMP_NMI_*
     * bits), and the answers, which this CPU writes without printing. */
    volatile uint32_t nmi_request;
    volatile bool nmi_backtrace_ready, stopped;
    struct backtrace_capture nmi_backtrace;
    const void *volatile waiting_for_lock; /* the lock this CPU spins on, or NULL */
    unsigned console_depth; /* kernel/console.c: how deep this CPU holds the console */
};

#define PERCPU_SELF_OFFSET 0
#define PERCPU_INDEX_OFFSET 8

/* This CPU's area. */
static inline struct cpu *this_cpu(void)
{
    struct cpu *cpu;
    __asm__ volatile("movq %%gs:0, %0" : "=r"(cpu));
    return cpu;
}

static inline unsigned this_cpu_index(void)
{
    unsigned index;
    __asm__ volatile("movl %%gs:8, %0" : "=r"(index));
    return index;
}

/* Points GS at cpu (its self field is set here). */
void percpu_install(struct cpu *cpu);
/* The boot CPU's area, installed first thing in kernel_main, with its GDT
 * and TSS (kernel/gdt.c) and its double-fault stack. The per-CPU descriptor
 * tables have one owner: struct cpu holds them, gdt_load loads them. */
void percpu_init_boot(void);
struct cpu *percpu_boot_cpu(void);

#endif
