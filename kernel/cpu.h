/* cpu.h: thin wrappers around x86-64 instructions that C cannot express. */
#ifndef KERNEL_CPU_H
#define KERNEL_CPU_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t value)
{
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t value)
{
    __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

/* A write to an unused port: a ~1 microsecond delay for slow legacy chips. */
static inline void io_wait(void)
{
    outb(0x80, 0);
}

static inline void cpu_disable_interrupts(void)
{
    __asm__ volatile("cli" ::: "memory");
}

static inline void cpu_enable_interrupts(void)
{
    __asm__ volatile("sti" ::: "memory");
}

/* Enable interrupts and halt until one arrives. STI takes effect after the
 * next instruction, so no interrupt can slip in between the two. */
static inline void cpu_enable_interrupts_and_halt(void)
{
    __asm__ volatile("sti; hlt" ::: "memory");
}

static inline uint64_t cpu_save_interrupts_and_disable(void)
{
    uint64_t rflags;
    __asm__ volatile("pushfq; popq %0; cli" : "=r"(rflags) : : "memory");
    return rflags;
}

static inline void cpu_restore_interrupts(uint64_t rflags)
{
    if (rflags & (1u << 9))
        cpu_enable_interrupts();
}

static inline _Noreturn void cpu_halt_forever(void)
{
    for (;;)
        __asm__ volatile("cli; hlt");
}

static inline uint64_t read_cr2(void)
{
    uint64_t value;
    __asm__ volatile("mov %%cr2, %0" : "=r"(value));
    return value;
}

static inline uint64_t read_cr3(void)
{
    uint64_t value;
    __asm__ volatile("mov %%cr3, %0" : "=r"(value));
    return value;
}

static inline uint64_t read_cr0(void)
{
    uint64_t value;
    __asm__ volatile("mov %%cr0, %0" : "=r"(value));
    return value;
}

static inline uint64_t read_cr4(void)
{
    uint64_t value;
    __asm__ volatile("mov %%cr4, %0" : "=r"(value));
    return value;
}

static inline uint64_t read_rflags(void)
{
    uint64_t value;
    __asm__ volatile("pushfq; popq %0" : "=r"(value));
    return value;
}

static inline void write_cr3(uint64_t value)
{
    __asm__ volatile("mov %0, %%cr3" : : "r"(value) : "memory");
}

static inline uint64_t read_msr(uint32_t msr)
{
    uint32_t low, high;
    __asm__ volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
    return (uint64_t)high << 32 | low;
}

static inline void write_msr(uint32_t msr, uint64_t value)
{
    __asm__ volatile("wrmsr"
                     :
                     : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
                     : "memory");
}

/* The time-stamp counter (kernel/delay.c turns it into time). */
static inline uint64_t read_tsc(void)
{
    uint32_t low, high;
    __asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
    return (uint64_t)high << 32 | low;
}

/* In a spin-wait loop: tells the CPU (and a hypervisor) that we are waiting. */
static inline void cpu_relax(void)
{
    __asm__ volatile("pause" ::: "memory");
}

static inline void write_cr4_value(uint64_t value)
{
    __asm__ volatile("mov %0, %%cr4" : : "r"(value) : "memory");
}

static inline void cpuid(uint32_t leaf, uint32_t *eax, uint32_t *ebx, uint32_t *ecx, uint32_t *edx)
{
    __asm__ volatile("cpuid" : "=a"(*eax), "=b"(*ebx), "=c"(*ecx), "=d"(*edx) : "a"(leaf), "c"(0));
}

static inline uint64_t read_frame_pointer(void)
{
    return (uint64_t)__builtin_frame_address(0);
}

#endif
