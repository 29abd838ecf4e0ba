/* percpu.c: installing a CPU's area in GS (see percpu.h). */
#include "kernel/percpu.h"

#include <stddef.h>

#include "kernel/cpu.h"
#include "kernel/gdt.h"
#include "kernel/memlayout.h"
#include "lib/boot_only.h"
#include "lib/platform.h"

#define MSR_GS_BASE 0xC0000101

_Static_assert(offsetof(struct cpu, self) == PERCPU_SELF_OFFSET, "this_cpu() reads %gs:0");
_Static_assert(offsetof(struct cpu, index) == PERCPU_INDEX_OFFSET, "this_cpu_index() reads %gs:8");
_Static_assert(offsetof(struct cpu, malloc_pool) == PLATFORM_MALLOC_POOL_OFFSET,
               "malloc's fast path reads %gs:16 (lib/platform.h)");

extern const char boot_stack_bottom[], boot_stack_top[];

static struct cpu boot_cpu;
/* The boot CPU's double-fault stack: it needs one before there is a page
 * allocator (the other CPUs' come from it, kernel/smp.c). */
static uint8_t boot_double_fault_stack[CPU_DOUBLE_FAULT_STACK_BYTES] __attribute__((aligned(16)));

void percpu_install(struct cpu *cpu)
{
    cpu->self = cpu;
    write_msr(MSR_GS_BASE, (uint64_t)cpu);
}

BOOT_ONLY void percpu_init_boot(void)
{
    boot_cpu.index = 0;
    boot_cpu.state = CPU_ONLINE;
    boot_cpu.stack_bottom = (uint64_t)boot_stack_bottom;
    boot_cpu.stack_top = (uint64_t)boot_stack_top;
    boot_cpu.double_fault_stack_bottom = (uint64_t)boot_double_fault_stack;
    boot_cpu.double_fault_stack_top =
        (uint64_t)boot_double_fault_stack + sizeof(boot_double_fault_stack);
    percpu_install(&boot_cpu);
    gdt_load(&boot_cpu.tables, boot_cpu.double_fault_stack_top);
}

struct cpu *percpu_boot_cpu(void)
{
    return &boot_cpu;
}
