/*
 * smp.c: every CPU that ACPI reports, started and put to work.
 *
 * The boot CPU (the BSP) reads the MADT (kernel/acpi_tables.c), turns on its local
 * APIC, and makes the per-CPU structures for exactly the CPUs found: a struct
 * cpu each (kernel/percpu.h), the page caches and the malloc pools. Then, one
 * application processor (AP) at a time:
 *
 *   1. its stacks: pages from the page allocator, mapped in its slot of the
 *      CPU stacks area with unmapped guard pages below them (memlayout.h);
 *   2. the trampoline's parameter block: the kernel's CR3, CR0, CR4 and EFER,
 *      the entry point ap_main, the stack, the struct cpu;
 *   3. INIT, 10 ms, Startup IPI, 200 us, and a second Startup IPI if the CPU
 *      has not shown up yet (the Intel MultiProcessor Specification's
 *      sequence, appendix B.4); then up to AP_START_TIMEOUT_US for it to say
 *      it is online. A CPU that does not is reported and parked with INIT.
 *
 * The trampoline (boot/ap_trampoline.asm) runs from one page below 1 MiB that
 * the buddy allocator hands out (the LOW zone: no fixed address), identity-
 * mapped while the CPUs start; the page and the mapping go away at the end.
 *
 * An online AP waits in ap_idle(): interrupts on, halted, until the wakeup
 * IPI says its mailbox holds a job (smp_post).
 */
#include "kernel/smp.h"

#include "kernel/acpi_tables.h"
#include "kernel/boot_options.h"
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/delay.h"
#include "kernel/ksyms.h"
#include "kernel/lapic.h"
#include "kernel/memlayout.h"
#include "kernel/memory.h"
#include "kernel/paging.h"
#include "kernel/panic.h"
#include "kernel/backtrace.h"
#include "kernel/trap.h"
#include "lib/alloc.h"
#include "lib/args.h"
#include "lib/boot_only.h"
#include "lib/format.h"
#include "lib/string.h"
#include "mm/malloc.h"
#include "mm/page_alloc.h"
#include "mm/page_cache.h"

#define AP_START_TIMEOUT_US 2000000 /* a busy emulator host can be slow */
#define MAX_MADT_CPUS 256           /* processor entries read from the MADT */

#define MSR_EFER 0xC0000080

/* Keep in step with the block at the end of boot/ap_trampoline.asm. */
struct ap_trampoline_params {
    uint32_t cr3, cr4, cr0, efer;
    uint64_t entry;
    uint64_t stack_top;
    uint64_t cpu;
} __attribute__((packed));

extern const char ap_trampoline_start[], ap_trampoline_end[];
extern const char ap_trampoline_gdt[], ap_trampoline_gdt_pointer[];
extern const char ap_trampoline_far_jump[], ap_trampoline_long64[];
extern const char ap_trampoline_params[];

/* Where a label of the trampoline lands in its copy. */
static size_t trampoline_offset(const char *label)
{
    return (size_t)(label - ap_trampoline_start);
}

static struct cpu **cpus; /* [0, cpu_count) */

/* The value of a boot option naming a CPU index into *cpu, or a warning. */
static void parse_cpu_option(const char *option, const char *value, size_t length, uint64_t *cpu)
{
    char text[24];
    if (length >= sizeof(text) ||
        (memcpy(text, value, length), text[length] = '\0', !args_parse_u64(text, cpu)))
        log_warn("%s: '%.*s' is not a CPU index", option, (int)length, value);
}

/* smp.deaf=N: for labs and tests, CPU N (an index) is sent no Startup IPI, as
 * if it never answered: the timeout path, the report and a boot that goes on. */
static uint64_t deaf_cpu = UINT64_MAX;

static void apply_deaf(const char *value, size_t length)
{
    parse_cpu_option("smp.deaf", value, length, &deaf_cpu);
}

/* smp.late=N: CPU N (an index) starts, but waits in ap_main until the boot
 * CPU has given up on it, then tries to come online: the race between a CPU
 * that answers just as the deadline passes and the boot CPU that declares it
 * failed, forced to happen. Exactly one of the two compare-and-swaps on
 * cpu->state wins; here it is always the boot CPU's. */
static uint64_t late_cpu = UINT64_MAX;

static void apply_late(const char *value, size_t length)
{
    parse_cpu_option("smp.late", value, length, &late_cpu);
}

BOOT_OPTION_NAMED(smp_late, "smp.late", true,
                  "CPU N answers only after the start deadline (shows the start race)", apply_late);

BOOT_OPTION_NAMED(smp_deaf, "smp.deaf", true,
                  "pretend CPU N does not answer its Startup IPIs (shows the timeout path)",
                  apply_deaf);
static bool smp_nmi(struct trap_frame *frame);
static unsigned cpu_count = 1;
static struct cpu *boot_cpu_table[1];

unsigned smp_cpu_count(void)
{
    return __atomic_load_n(&cpu_count, __ATOMIC_ACQUIRE);
}

struct cpu *smp_cpu(unsigned index)
{
    if (!cpus) /* before smp_init */
        return index == 0 ? percpu_boot_cpu() : NULL;
    return index < smp_cpu_count() ? cpus[index] : NULL;
}

unsigned smp_online_count(void)
{
    unsigned online = 0;
    for (unsigned i = 0; i < smp_cpu_count(); i++)
        online += smp_cpu(i)->state == CPU_ONLINE;
    return online;
}

/* ---- the mailbox -------------------------------------------------------- */

static void wakeup_interrupt(struct trap_frame *frame)
{
    (void)frame;
    this_cpu()->wakeups++;
    lapic_end_of_interrupt();
}

static void spurious_interrupt(struct trap_frame *frame)
{
    (void)frame; /* no end-of-interrupt for the spurious vector */
}

/* ---- reclaim: every CPU gives back what it holds unused ---------------------
 *
 * A CPU whose allocation failed asks every other online CPU to give back its
 * malloc magazines and empty slabs (km_flush_cpu) and its page cache, and
 * waits a bounded time (RECLAIM_WAIT_US) for their answers; docs/malloc.md.
 *   - The request is a sequence number (reclaim_asked) and an IPI. The CPU
 *     answers in the interrupt handler, where its interrupts are off, so it
 *     was stopped outside every slow path and lock (those run with
 *     interrupts off). The one unsafe place left is malloc's fast path,
 *     which changes this CPU's magazine with interrupts on: if the IPI
 *     stopped it there (km_fast_path_at), the handler answers nothing and
 *     the asker sends again a millisecond later.
 *   - The asker may have interrupts off (any caller of malloc may), so while
 *     it waits it answers requests made to itself: two CPUs out of memory at
 *     once each answer the other in their wait loop, and both go on.
 *   - A CPU that does not answer in time (it runs long with interrupts off,
 *     or is stopped) keeps its memory; the allocation may then fail. */
#define RECLAIM_WAIT_US 20000
#define RECLAIM_RESEND_US 1000

static void reclaim_here(struct cpu *cpu)
{
    uint64_t asked = __atomic_load_n(&cpu->reclaim_asked, __ATOMIC_ACQUIRE);
    cpu->reclaim_put_off = false;
    km_flush_cpu();
    memory_drain_this_cpu();
    __atomic_store_n(&cpu->reclaim_done, asked, __ATOMIC_RELEASE);
}

static void reclaim_interrupt(struct trap_frame *frame)
{
    struct cpu *cpu = this_cpu();
    lapic_end_of_interrupt();
    if (km_fast_path_at(frame->rip)) {
        cpu->reclaim_put_off = true; /* the asker sends again */
        return;
    }
    reclaim_here(cpu);
}

void smp_reclaim(void)
{
    struct cpu *me = this_cpu();
    uint64_t interrupts = cpu_save_interrupts_and_disable();
    reclaim_here(me);
    cpu_restore_interrupts(interrupts);
    if (!cpus)
        return;
    uint64_t wanted[KM_MAX_CPUS] = {0};
    unsigned waiting = 0, count = smp_cpu_count() < KM_MAX_CPUS ? smp_cpu_count() : KM_MAX_CPUS;
    for (unsigned i = 0; i < count; i++) {
        struct cpu *cpu = cpus[i];
        if (cpu == me || __atomic_load_n(&cpu->state, __ATOMIC_ACQUIRE) != CPU_ONLINE)
            continue;
        wanted[i] = __atomic_add_fetch(&cpu->reclaim_asked, 1, __ATOMIC_ACQ_REL);
        lapic_send_ipi(cpu->apic_id, LAPIC_VECTOR_RECLAIM);
        waiting++;
    }
    uint64_t start = platform_time_us(), last_send = start;
    while (waiting > 0 && platform_time_us() - start < RECLAIM_WAIT_US) {
        if (__atomic_load_n(&me->reclaim_asked, __ATOMIC_ACQUIRE) !=
            __atomic_load_n(&me->reclaim_done, __ATOMIC_ACQUIRE)) {
            interrupts = cpu_save_interrupts_and_disable();
            reclaim_here(me); /* another CPU out of memory asks us while we wait */
            cpu_restore_interrupts(interrupts);
        }
        bool resend = platform_time_us() - last_send >= RECLAIM_RESEND_US;
        waiting = 0;
        for (unsigned i = 0; i < count; i++) {
            if (!wanted[i] ||
                __atomic_load_n(&cpus[i]->reclaim_done, __ATOMIC_ACQUIRE) >= wanted[i])
                continue;
            waiting++;
            if (resend)
                lapic_send_ipi(cpus[i]->apic_id, LAPIC_VECTOR_RECLAIM);
        }
        if (resend)
            last_send = platform_time_us();
        cpu_relax();
    }
}

/* Runs the job in cpu's mailbox, if there is one (cpu is this CPU). */
static bool run_mailbox(struct cpu *cpu)
{
    uint64_t posted = __atomic_load_n(&cpu->work_posted, __ATOMIC_ACQUIRE);
    if (posted == cpu->work_started) /* nothing new (or it is the job running now) */
        return false;
    cpu->work_started = posted;
    cpu_work_fn fn = cpu->work;
    void *argument = cpu->work_argument;
    fn(argument);
    /* Free the mailbox first, then say the job is done: a waiter that sees
     * it done may post again at once and must find the mailbox free. */
    __atomic_store_n(&cpu->mailbox_claimed, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&cpu->work_done, posted, __ATOMIC_RELEASE);
    return true;
}

void smp_service_mailbox(void)
{
    if (cpus) /* before smp_init nobody can post */
        run_mailbox(this_cpu());
}

static _Noreturn void ap_idle(struct cpu *cpu)
{
    for (;;) {
        cpu_disable_interrupts();
        if (__atomic_load_n(&cpu->work_posted, __ATOMIC_ACQUIRE) != cpu->work_started) {
            cpu_enable_interrupts();
            run_mailbox(cpu);
            continue;
        }
        /* sti; hlt: an IPI that arrives between the check and the halt still
         * wakes us, since STI only takes effect after HLT has started. */
        cpu_enable_interrupts_and_halt();
    }
}

/* Posts a job; its ticket (the work_posted value to wait for), or 0. */
static uint64_t post(unsigned index, cpu_work_fn fn, void *argument)
{
    struct cpu *cpu = smp_cpu(index);
    if (!cpu || __atomic_load_n(&cpu->state, __ATOMIC_ACQUIRE) != CPU_ONLINE)
        return 0;
    uint32_t free_mailbox = 0;
    if (!__atomic_compare_exchange_n(&cpu->mailbox_claimed, &free_mailbox, 1, false,
                                     __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return 0; /* busy: another job is posted or running */
    cpu->work = fn;
    cpu->work_argument = argument;
    uint64_t ticket = __atomic_add_fetch(&cpu->work_posted, 1, __ATOMIC_RELEASE);
    lapic_send_ipi(cpu->apic_id, LAPIC_VECTOR_WAKEUP);
    return ticket;
}

/* Waits for cpu to reach ticket, running whatever is posted to this CPU
 * meanwhile: the CPU we wait for may be waiting for us (`on 1 on 0 ...`). */
static void wait_ticket(struct cpu *cpu, uint64_t ticket)
{
    struct cpu *me = this_cpu();
    while (__atomic_load_n(&cpu->work_done, __ATOMIC_ACQUIRE) < ticket) {
        if (!run_mailbox(me))
            cpu_relax();
    }
}

bool smp_post(unsigned index, cpu_work_fn fn, void *argument)
{
    struct cpu *cpu = smp_cpu(index);
    if (cpu && cpu == this_cpu() && cpu->state == CPU_ONLINE) {
        fn(argument); /* to itself: at once */
        return true;
    }
    return post(index, fn, argument) != 0;
}

void smp_wait(unsigned index)
{
    struct cpu *cpu = smp_cpu(index);
    if (!cpu || cpu == this_cpu())
        return;
    wait_ticket(cpu, __atomic_load_n(&cpu->work_posted, __ATOMIC_ACQUIRE));
}

bool smp_run_on(unsigned index, cpu_work_fn fn, void *argument)
{
    struct cpu *cpu = smp_cpu(index);
    if (cpu && cpu == this_cpu())
        return smp_post(index, fn, argument);
    uint64_t ticket = post(index, fn, argument);
    if (ticket)
        wait_ticket(cpu, ticket);
    return ticket != 0;
}

/* ---- an AP's first steps in C ------------------------------------------ */

void ap_main(struct cpu *cpu);
void ap_main(struct cpu *cpu)
{
    percpu_install(cpu);
    gdt_load(&cpu->tables, cpu->double_fault_stack_top);
    idt_load();
    paging_set_pat(); /* the same page attribute table as the boot CPU's */
    lapic_enable_this_cpu();
    uint32_t apic_id = lapic_id();
    if (apic_id != cpu->apic_id) /* ACPI and the hardware disagree: say so, carry on */
        log_warn("smp: cpu %u: the MADT says APIC id %u, the APIC says %u", cpu->index,
                 cpu->apic_id, apic_id);
    if (cpu->index == late_cpu) { /* smp.late: wait until the boot CPU has given up */
        uint64_t deadline = delay_deadline_us(4 * AP_START_TIMEOUT_US);
        while (__atomic_load_n(&cpu->state, __ATOMIC_ACQUIRE) == CPU_STARTING &&
               !delay_passed(deadline))
            cpu_relax();
    }
    /* STARTING -> ONLINE, unless the boot CPU already made it FAILED: one
     * compare-and-swap, against the one the boot CPU makes at its deadline. */
    enum cpu_state expected = CPU_STARTING;
    if (!__atomic_compare_exchange_n(&cpu->state, &expected, CPU_ONLINE, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&cpu->answered_late, true, __ATOMIC_RELEASE); /* no printing: INIT comes */
        cpu_halt_forever();
    }
    ap_idle(cpu);
}

/* ---- starting the APs ----------------------------------------------------- */

static void free_table_page(uint64_t phys)
{
    memory_free_pages(phys, 0);
}

/* Maps a fresh page at virt; its physical address, or 0. */
BOOT_ONLY static uint64_t map_stack_page(uint64_t virt)
{
    uint64_t phys = memory_alloc_pages(0, BUDDY_ANY);
    if (phys && !paging_map_kernel_page(virt, phys)) {
        memory_free_pages(phys, 0);
        return 0;
    }
    return phys;
}

/* The stacks of CPU index, in its slot: guard, stack, guard, double-fault stack. */
BOOT_ONLY static bool make_stacks(struct cpu *cpu)
{
    uint64_t slot = CPU_STACKS_BASE + (uint64_t)cpu->index * CPU_STACK_SLOT_BYTES;
    uint64_t stack = slot + 0x1000;
    uint64_t double_fault = stack + CPU_STACK_BYTES + 0x1000;
    for (uint64_t page = 0; page < CPU_STACK_BYTES; page += 0x1000)
        if (!map_stack_page(stack + page))
            return false;
    for (uint64_t page = 0; page < CPU_DOUBLE_FAULT_STACK_BYTES; page += 0x1000)
        if (!map_stack_page(double_fault + page))
            return false;
    cpu->stack_bottom = stack;
    cpu->stack_top = stack + CPU_STACK_BYTES;
    cpu->double_fault_stack_bottom = double_fault;
    cpu->double_fault_stack_top = double_fault + CPU_DOUBLE_FAULT_STACK_BYTES;
    return true;
}

BOOT_ONLY static bool wait_online(struct cpu *cpu, uint64_t microseconds)
{
    uint64_t deadline = delay_deadline_us(microseconds);
    while (__atomic_load_n(&cpu->state, __ATOMIC_ACQUIRE) != CPU_ONLINE)
        if (delay_passed(deadline))
            return false;
        else
            cpu_relax();
    return true;
}

BOOT_ONLY static void start_ap(struct cpu *cpu, uint64_t trampoline,
                               struct ap_trampoline_params *params)
{
    if (!make_stacks(cpu)) {
        log_warn("smp: cpu %u (apic %u): no memory for its stacks: not started", cpu->index,
                 cpu->apic_id);
        cpu->state = CPU_FAILED;
        return;
    }
    params->stack_top = cpu->stack_top;
    params->cpu = (uint64_t)cpu;
    cpu->state = CPU_STARTING;
    uint64_t started = read_tsc();
    bool sent = lapic_send_init(cpu->apic_id);
    bool deaf = cpu->index == deaf_cpu;
    delay_us(10000);
    sent = sent && (deaf || lapic_send_startup(cpu->apic_id, trampoline));
    if (sent && !wait_online(cpu, 200))
        sent = deaf || lapic_send_startup(cpu->apic_id, trampoline);
    if (sent && wait_online(cpu, AP_START_TIMEOUT_US)) {
        log_debug("smp: cpu %u (apic %u) online after %lu us", cpu->index, cpu->apic_id,
                  delay_us_since(started));
        return;
    }
    /* The deadline passed: STARTING -> FAILED, unless the CPU came online in
     * the meantime (then it is online, late but whole). */
    enum cpu_state expected = CPU_STARTING;
    if (!__atomic_compare_exchange_n(&cpu->state, &expected, CPU_FAILED, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        log_warn("smp: cpu %u (apic %u) came online just at the deadline", cpu->index,
                 cpu->apic_id);
        return;
    }
    if (cpu->index == late_cpu) /* let it find out, so the log can say so */
        delay_us(50000);
    lapic_send_init(cpu->apic_id); /* park it: it must not run the trampoline later */
    log_warn("smp: cpu %u (apic %u) did not start%s", cpu->index, cpu->apic_id,
             !sent  ? " (its APIC did not accept the IPIs)"
             : deaf ? " (smp.deaf: no Startup IPI was sent)"
             : __atomic_load_n(&cpu->answered_late, __ATOMIC_ACQUIRE)
                 ? " in time: it answered after the deadline and was kept offline"
                 : "");
}

/* The trampoline page: the code copied in, its three 32-bit addresses patched
 * for where the page is, and the parameter block filled in (all but the
 * stack and the struct cpu, which start_ap sets for each CPU). */
BOOT_ONLY static uint64_t prepare_trampoline(struct ap_trampoline_params **params_out)
{
    uint64_t page = memory_alloc_pages(0, BUDDY_BELOW_1M);
    if (!page)
        return 0;
    char *code = phys_to_virt(page);
    memcpy(code, ap_trampoline_start, trampoline_offset(ap_trampoline_end));
    uint32_t gdt = (uint32_t)(page + trampoline_offset(ap_trampoline_gdt));
    uint32_t long64 = (uint32_t)(page + trampoline_offset(ap_trampoline_long64));
    memcpy(code + trampoline_offset(ap_trampoline_gdt_pointer) + 2, &gdt, 4);
    memcpy(code + trampoline_offset(ap_trampoline_far_jump), &long64, 4);
    struct ap_trampoline_params *block =
        (struct ap_trampoline_params *)(code + trampoline_offset(ap_trampoline_params));
    block->cr3 = (uint32_t)paging_kernel_pml4_phys();
    block->cr4 = (uint32_t)read_cr4();
    block->cr0 = (uint32_t)read_cr0();
    block->efer = (uint32_t)read_msr(MSR_EFER);
    block->entry = (uint64_t)ap_main;
    *params_out = block;
    return page;
}

static void flush_tlb(void *unused)
{
    (void)unused;
    write_cr3(read_cr3());
}

/* The CPU table for the CPUs ACPI found; the boot CPU is index 0. */
BOOT_ONLY static unsigned make_cpu_table(const struct acpi_cpu *found, size_t count,
                                         uint32_t boot_apic_id)
{
    struct cpu *boot = percpu_boot_cpu();
    boot->apic_id = boot_apic_id;
    unsigned total = 1;
    for (size_t i = 0; i < count; i++)
        if (found[i].enabled && found[i].apic_id != boot_apic_id)
            total++;
    if (total > KM_MAX_CPUS) {
        log_warn("smp: %u CPUs found; this kernel uses the first %u", total, KM_MAX_CPUS);
        total = KM_MAX_CPUS;
    }
    struct cpu **table = calloc(total, sizeof(*table));
    if (!table)
        return 1;
    table[0] = boot;
    unsigned index = 1;
    for (size_t i = 0; i < count && index < total; i++) {
        if (!found[i].enabled)
            continue;
        if (found[i].apic_id == boot_apic_id) {
            boot->acpi_uid = found[i].uid;
            continue;
        }
        struct cpu *cpu = aligned_alloc(64, sizeof(struct cpu));
        if (!cpu)
            break;
        memset(cpu, 0, sizeof(*cpu));
        cpu->index = index;
        cpu->apic_id = found[i].apic_id;
        cpu->acpi_uid = found[i].uid;
        cpu->state = CPU_ABSENT;
        table[index++] = cpu;
    }
    cpus = table;
    return index;
}

/* What memory and panic need from the other CPUs (they cannot call smp.c:
 * it calls them). */
static const struct page_alloc_cpus memory_hooks = {
    .reclaim = smp_reclaim,
    .run_on = smp_run_on,
    .pause_others = smp_pause_other_cpus,
    .resume_others = smp_resume_other_cpus,
};

BOOT_ONLY void smp_init(const struct mb2_summary *boot)
{
    memory_set_cpu_hooks(&memory_hooks);
    panic_set_stop_others(smp_stop_other_cpus);
    trap_set_nmi_handler(smp_nmi);
    trap_set_vector_handler(LAPIC_VECTOR_WAKEUP, wakeup_interrupt);
    trap_set_vector_handler(LAPIC_VECTOR_RECLAIM, reclaim_interrupt);
    trap_set_vector_handler(LAPIC_VECTOR_SPURIOUS, spurious_interrupt);
    boot_cpu_table[0] = percpu_boot_cpu();

    BOOT_ONLY_DATA static struct acpi_cpu found[MAX_MADT_CPUS]; /* 3 KiB, until boot ends */
    struct acpi_madt madt;
    if (!acpi_find_cpus(boot, found, MAX_MADT_CPUS, &madt)) {
        log_warn("smp: no usable MADT: running on the boot CPU only");
        cpus = boot_cpu_table;
        return;
    }
    if (!lapic_init(madt.lapic_address_override ? madt.lapic_address_override
                                                : madt.lapic_address)) {
        cpus = boot_cpu_table;
        return;
    }
    delay_calibrate();
    unsigned total = make_cpu_table(found, madt.cpus_stored, lapic_id());
    /* One page cache per CPU found, a cache line each (a CPU is never taken away). */
    struct page_cache *caches =
        total > 1 ? aligned_alloc(64, total * sizeof(struct page_cache)) : NULL;
    if (total > 1 && (!caches || km_set_cpu_count(total) != 0)) {
        log_warn("smp: no memory for the per-CPU pools of %u CPUs: boot CPU only", total);
        free(caches);
        total = 1;
    }
    if (total > 1)
        memory_set_cpu_count(total, caches);
    __atomic_store_n(&cpu_count, total, __ATOMIC_RELEASE);
    if (total == 1) {
        log_info("smp: 1 CPU (APIC id %u)", percpu_boot_cpu()->apic_id);
        return;
    }
    if (paging_kernel_pml4_phys() >= 0x100000000ull)
        panic("smp: the kernel's PML4 is above 4 GiB; the trampoline cannot load it");

    struct ap_trampoline_params *params;
    uint64_t low_free_before = memory_free_page_count_in_zone(ZONE_LOW);
    uint64_t trampoline = prepare_trampoline(&params);
    if (!trampoline) {
        log_warn("smp: no free page below 1 MiB for the trampoline: boot CPU only");
        return;
    }
    log_info("smp: trampoline at physical %#lx (a LOW-zone page from the page allocator)",
             trampoline);
    paging_map_identity_page(trampoline);

    for (unsigned i = 1; i < total; i++)
        start_ap(cpus[i], trampoline, params);

    paging_remove_identity(free_table_page);
    memory_free_pages(trampoline, 0);
    for (unsigned i = 1; i < total; i++)
        smp_run_on(i, flush_tlb, NULL); /* no stale identity entry anywhere */
    memory_drain_page_caches();
    log_info("smp: trampoline page %#lx freed; LOW zone free pages %lu before, %lu after",
             trampoline, low_free_before, memory_free_page_count_in_zone(ZONE_LOW));
    log_info("smp: %u of %u CPUs online", smp_online_count(), total);
}

/* ---- pausing the other CPUs ------------------------------------------------------ */

static volatile unsigned paused_cpus;
static volatile bool pause_over;

static void park(void *unused)
{
    (void)unused;
    __atomic_fetch_add(&paused_cpus, 1, __ATOMIC_ACQ_REL);
    while (!__atomic_load_n(&pause_over, __ATOMIC_ACQUIRE))
        cpu_relax();
}

unsigned smp_pause_other_cpus(void)
{
    if (!cpus)
        return 0;
    unsigned me = this_cpu_index(), posted = 0;
    __atomic_store_n(&pause_over, false, __ATOMIC_RELEASE);
    __atomic_store_n(&paused_cpus, 0, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < smp_cpu_count(); i++) {
        cpus[i]->park_ticket = 0;
        if (i != me && cpus[i]->state == CPU_ONLINE &&
            (cpus[i]->park_ticket = post(i, park, NULL)) != 0)
            posted++;
    }
    /* They park between jobs, never inside a lock: wait until all have. */
    while (__atomic_load_n(&paused_cpus, __ATOMIC_ACQUIRE) < posted)
        if (!run_mailbox(this_cpu()))
            cpu_relax();
    return posted;
}

void smp_resume_other_cpus(void)
{
    __atomic_store_n(&pause_over, true, __ATOMIC_RELEASE);
    /* Until each has left park and freed its mailbox: a post right after
     * the resume (`buddy check; on 1 ...`) must not find it busy. */
    for (unsigned i = 0; cpus && i < smp_cpu_count(); i++)
        if (cpus[i]->park_ticket) {
            wait_ticket(cpus[i], cpus[i]->park_ticket);
            cpus[i]->park_ticket = 0;
        }
}

/* ---- NMIs: backtraces and stops ------------------------------------------------ */

/* One NMI handler for what CPUs ask of each other. It never prints (another
 * CPU may hold the console, and the serial and VGA code are not re-entrant):
 * it captures a backtrace into the CPU's own area, or stops the CPU, and the
 * CPU that asked prints what it finds. */
static bool smp_nmi(struct trap_frame *frame)
{
    struct cpu *me = this_cpu();
    uint32_t request = __atomic_exchange_n(&me->nmi_request, 0, __ATOMIC_ACQ_REL);
    if (!request)
        return false; /* not ours: reported as an unhandled NMI */
    if (request & SMP_NMI_BACKTRACE) {
        backtrace_capture(frame->rip, frame->rbp, &me->nmi_backtrace);
        __atomic_store_n(&me->nmi_backtrace_ready, true, __ATOMIC_RELEASE);
    }
    if (request & SMP_NMI_STOP) {
        __atomic_store_n(&me->stopped, true, __ATOMIC_RELEASE);
        cpu_halt_forever();
    }
    return true;
}

static bool send_nmi_request(struct cpu *cpu, uint32_t request)
{
    __atomic_fetch_or(&cpu->nmi_request, request, __ATOMIC_ACQ_REL);
    return lapic_send_nmi(cpu->apic_id);
}

void smp_stop_other_cpus(void)
{
    if (!cpus || smp_cpu_count() < 2)
        return;
    unsigned me = this_cpu_index(), asked = 0;
    for (unsigned i = 0; i < smp_cpu_count(); i++)
        if (i != me && cpus[i]->state == CPU_ONLINE && !cpus[i]->stopped)
            asked += send_nmi_request(cpus[i], SMP_NMI_STOP);
    if (asked == 0)
        return;
    /* 500 ms: under TCG on a loaded 2-core host a vCPU can go 100 ms unscheduled. */
    uint64_t deadline = delay_deadline_us(500000);
    bool all = false;
    while (!all && !delay_passed(deadline)) {
        all = true;
        for (unsigned i = 0; i < smp_cpu_count(); i++)
            if (i != me && cpus[i]->state == CPU_ONLINE &&
                !__atomic_load_n(&cpus[i]->stopped, __ATOMIC_ACQUIRE))
                all = false;
        cpu_relax();
    }
    kprintf("CPU %u stopped the other CPUs:", me);
    for (unsigned i = 0; i < smp_cpu_count(); i++) {
        if (i == me || cpus[i]->state != CPU_ONLINE)
            continue;
        kprintf(" %u (%s)", i,
                __atomic_load_n(&cpus[i]->stopped, __ATOMIC_ACQUIRE) ? "halted" : "did not answer");
    }
    kprintf("\n");
}

/* A backtrace of another CPU, taken by an NMI; false if it did not answer. */
static bool backtrace_of(struct cpu *cpu)
{
    __atomic_store_n(&cpu->nmi_backtrace_ready, false, __ATOMIC_RELEASE);
    if (!send_nmi_request(cpu, SMP_NMI_BACKTRACE))
        return false;
    uint64_t deadline = delay_deadline_us(200000);
    while (!__atomic_load_n(&cpu->nmi_backtrace_ready, __ATOMIC_ACQUIRE))
        if (delay_passed(deadline))
            return false;
        else
            cpu_relax();
    return true;
}

/* ---- deadlock reports -------------------------------------------------------- */

/* The CPU reporting a deadlock: the first to get here. In an ABBA deadlock
 * both CPUs time out together; the second waits here (its backtrace is taken
 * by NMI, then it is stopped with the others), so there is one report. */
static unsigned deadlock_reporter = PLATFORM_LOCK_NO_OWNER;

_Noreturn void smp_report_deadlock(const struct platform_lock *lock, unsigned me, const char *why)
{
    unsigned expected = PLATFORM_LOCK_NO_OWNER;
    if (!__atomic_compare_exchange_n(&deadlock_reporter, &expected, me, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        if (expected == me) /* a lock taken inside the report itself */
            panic_after_report("suspected deadlock while reporting one");
        for (;;) /* another CPU reports; it will take our backtrace and stop us */
            cpu_relax();
    }
    unsigned holder = __atomic_load_n(&lock->owner_cpu, __ATOMIC_RELAXED);
    char holder_name[16] = "no CPU yet"; /* handed over, not yet taken (lib/spinlock.c) */
    if (holder != PLATFORM_LOCK_NO_OWNER)
        ksnprintf(holder_name, sizeof(holder_name), "CPU %u", holder);
    kprintf("\n*** suspected deadlock on lock %p: CPU %u %s; held by %s\n", (const void *)lock, me,
            why, holder_name);
    kprintf("CPU %u (waiting):\n", me);
    backtrace_print_here();
    struct cpu *other = holder != me ? smp_cpu(holder) : NULL;
    if (other && other->state == CPU_ONLINE) {
        if (backtrace_of(other)) {
            kprintf("CPU %u (the holder), interrupted by an NMI:\n", holder);
            backtrace_print_capture(&other->nmi_backtrace);
        } else {
            kprintf("(CPU %u did not answer the NMI)\n", holder);
        }
        const struct platform_lock *second = other->waiting_for_lock;
        if (second) {
            unsigned second_holder = __atomic_load_n(&second->owner_cpu, __ATOMIC_RELAXED);
            kprintf("CPU %u is itself waiting for lock %p, held by CPU %u\n", holder,
                    (const void *)second, second_holder);
            if (second_holder == me)
                kprintf("an ABBA deadlock: CPU %u holds lock %p and waits for lock %p; CPU %u "
                        "holds lock %p and waits for lock %p\n",
                        me, (const void *)second, (const void *)lock, holder, (const void *)lock,
                        (const void *)second);
        }
    }
    panic_after_report("suspected deadlock on lock %p (CPU %u waiting, %s holding)",
                       (const void *)lock, me, holder_name);
}
