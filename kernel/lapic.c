/* lapic.c: see lapic.h. Register offsets and bits from the Intel SDM, vol. 3A, ch. 11. */
#include "kernel/lapic.h"

#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/delay.h"
#include "kernel/memlayout.h"
#include "kernel/paging.h"
#include "lib/boot_only.h"

#define MSR_APIC_BASE 0x1B
#define APIC_BASE_ENABLE (1u << 11)
#define CPUID_APIC (1u << 9) /* leaf 1, EDX */

#define REG_ID 0x020
#define REG_EOI 0x0B0
#define REG_SPURIOUS 0x0F0
#define REG_ICR_LOW 0x300
#define REG_ICR_HIGH 0x310

#define SPURIOUS_APIC_ENABLE (1u << 8)
#define ICR_DELIVERY_FIXED (0u << 8)
#define ICR_DELIVERY_NMI (4u << 8)
#define ICR_DELIVERY_INIT (5u << 8)
#define ICR_DELIVERY_STARTUP (6u << 8)
#define ICR_SEND_PENDING (1u << 12)
#define ICR_LEVEL_ASSERT (1u << 14)

#define ICR_TIMEOUT_US 100000

static volatile uint32_t *registers;
static uint64_t registers_phys;

static uint32_t read_register(unsigned offset)
{
    return registers[offset / 4];
}

static void write_register(unsigned offset, uint32_t value)
{
    registers[offset / 4] = value;
}

bool lapic_present(void)
{
    return registers != 0;
}

uint64_t lapic_phys(void)
{
    return registers_phys;
}

void lapic_enable_this_cpu(void)
{
    uint64_t base = read_msr(MSR_APIC_BASE);
    if (!(base & APIC_BASE_ENABLE))
        write_msr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
    write_register(REG_SPURIOUS, SPURIOUS_APIC_ENABLE | LAPIC_VECTOR_SPURIOUS);
}

BOOT_ONLY bool lapic_init(uint64_t phys)
{
    uint32_t eax, ebx, ecx, edx;
    cpuid(1, &eax, &ebx, &ecx, &edx);
    if (!(edx & CPUID_APIC)) {
        log_warn("lapic: this CPU has no local APIC: one CPU only");
        return false;
    }
    uint64_t msr_phys = read_msr(MSR_APIC_BASE) & 0x000FFFFFFFFFF000ull;
    if (phys != 0 && phys != msr_phys)
        log_warn("lapic: ACPI says %#lx, the APIC base MSR %#lx: using the MSR's", phys, msr_phys);
    phys = msr_phys;
    if (!paging_map_device(phys, 0x1000)) {
        log_warn("lapic: cannot map its registers at %#lx", phys);
        return false;
    }
    registers = phys_to_virt(phys);
    registers_phys = phys;
    lapic_enable_this_cpu();
    return true;
}

uint32_t lapic_id(void)
{
    return read_register(REG_ID) >> 24;
}

void lapic_end_of_interrupt(void)
{
    write_register(REG_EOI, 0);
}

/* Sends one IPI and waits until the APIC has delivered it. */
static bool send(uint32_t apic_id, uint32_t command)
{
    if (!registers || apic_id > 0xFF)
        return false;
    uint64_t saved = cpu_save_interrupts_and_disable();
    write_register(REG_ICR_HIGH, apic_id << 24);
    write_register(REG_ICR_LOW, command); /* this write sends it */
    uint64_t deadline = delay_deadline_us(ICR_TIMEOUT_US);
    bool delivered;
    while (!(delivered = !(read_register(REG_ICR_LOW) & ICR_SEND_PENDING)) &&
           !delay_passed(deadline))
        cpu_relax();
    cpu_restore_interrupts(saved);
    return delivered;
}

bool lapic_send_init(uint32_t apic_id)
{
    return send(apic_id, ICR_DELIVERY_INIT | ICR_LEVEL_ASSERT);
}

bool lapic_send_startup(uint32_t apic_id, uint64_t trampoline_phys)
{
    /* The vector is the page number: the AP starts at CS:IP = vector << 8 : 0. */
    return send(apic_id,
                ICR_DELIVERY_STARTUP | ICR_LEVEL_ASSERT | (uint32_t)(trampoline_phys >> 12));
}

bool lapic_send_ipi(uint32_t apic_id, uint8_t vector)
{
    return send(apic_id, ICR_DELIVERY_FIXED | ICR_LEVEL_ASSERT | vector);
}

bool lapic_send_nmi(uint32_t apic_id)
{
    return send(apic_id, ICR_DELIVERY_NMI | ICR_LEVEL_ASSERT);
}
