/*
 * smp.h: finding the other CPUs (ACPI MADT), starting them (INIT-SIPI-SIPI
 * through a real-mode trampoline), and giving them work.
 *
 * CPU indexes run from 0 (the boot CPU) to smp_cpu_count() - 1, in MADT
 * order; every per-CPU structure (struct cpu, page caches, malloc pools) is
 * made for exactly these CPUs. A CPU that did not start keeps its index and
 * its state says so (CPU_FAILED).
 */
#ifndef KERNEL_SMP_H
#define KERNEL_SMP_H

#include <stdbool.h>

#include "kernel/percpu.h"
#include "lib/multiboot2.h"
#include "lib/platform.h"

/* After malloc_init: ACPI, the local APIC, then every enabled CPU started. */
void smp_init(const struct mb2_summary *boot);

unsigned smp_cpu_count(void); /* CPUs with an index (1 before smp_init) */
unsigned smp_online_count(void);
struct cpu *smp_cpu(unsigned index); /* NULL past the count */

/*
 * Runs fn(argument) on CPU index, which must be online and idle. Any CPU may
 * post to any other, and to itself (then fn runs at once). smp_post returns at
 * once (false if the CPU is not online or its mailbox is taken); smp_wait
 * waits for its job to end; smp_run_on does both. A CPU that waits runs the
 * jobs posted to it meanwhile, so a chain of CPUs waiting on each other
 * (`on 1 on 0 version`) cannot deadlock.
 */
bool smp_post(unsigned index, cpu_work_fn fn, void *argument);
void smp_wait(unsigned index);
bool smp_run_on(unsigned index, cpu_work_fn fn, void *argument);
/* Out of memory: every CPU gives back its malloc magazines, empty slabs and
 * cached pages, this one first; returns when all online CPUs have, or after
 * 20 ms (the protocol: kernel/smp.c). Safe with interrupts off. */
void smp_reclaim(void);

/* Runs a job posted to this CPU, if any. Waiting in smp_wait/smp_run_on does
 * it all along; the boot CPU's shell also calls it while it waits for input,
 * so that a job posted to CPU 0 never waits for a key press. */
void smp_service_mailbox(void);

/* For a long walk that holds locks (buddy check): every other online CPU
 * runs a job that spins, holding nothing, until resumed, so none of them
 * waits on those locks long enough to look deadlocked. Returns how many. */
unsigned smp_pause_other_cpus(void);
void smp_resume_other_cpus(void);

/* What an NMI from another CPU asks for (struct cpu's nmi_request). */
#define SMP_NMI_BACKTRACE 1u
#define SMP_NMI_STOP 2u

/* At a panic: every other online CPU is stopped by an NMI (it halts with
 * interrupts off), then one line says which ones did. */
void smp_stop_other_cpus(void);

/* Called by the lock code: prints who holds the lock, this CPU's backtrace
 * and the holder's (through an NMI), then panics. */
_Noreturn void smp_report_deadlock(const struct platform_lock *lock, unsigned me, const char *why);

#endif
