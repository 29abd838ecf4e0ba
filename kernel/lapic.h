/*
 * lapic.h: the local APIC, each CPU's own interrupt controller (xAPIC mode,
 * memory-mapped registers). Used to start the other CPUs (INIT and Startup
 * IPIs) and to send them interrupts; the legacy PIC still brings the boot
 * CPU its device interrupts.
 */
#ifndef KERNEL_LAPIC_H
#define KERNEL_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define LAPIC_VECTOR_WAKEUP 0xF0   /* "look at your mailbox" (kernel/smp.c) */
#define LAPIC_VECTOR_RECLAIM 0xF1  /* "give back what you hold" (kernel/smp.c, smp_reclaim) */
#define LAPIC_VECTOR_SPURIOUS 0xFF /* must end in 0xF on old CPUs */

/* Maps the registers at phys (the MADT's address, else the MSR's) and turns
 * this CPU's APIC on. false (with a warning) if the CPU has no APIC. */
bool lapic_init(uint64_t phys);
/* On an AP: turn its APIC on (the registers are mapped already). */
void lapic_enable_this_cpu(void);
bool lapic_present(void);
uint64_t lapic_phys(void);
uint32_t lapic_id(void); /* this CPU's APIC id */
void lapic_end_of_interrupt(void);

/* The startup sequence. Each returns false if the APIC did not accept the
 * IPI in time (delivery status stuck). */
bool lapic_send_init(uint32_t apic_id);
bool lapic_send_startup(uint32_t apic_id, uint64_t trampoline_phys);
bool lapic_send_ipi(uint32_t apic_id, uint8_t vector);
bool lapic_send_nmi(uint32_t apic_id);

#endif
