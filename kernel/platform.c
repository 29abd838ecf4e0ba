/*
 * platform.c: lib/platform.h on the real machine, for the portable code in
 * lib/, mm/ and fs/. One CPU for now (SMP comes with issue 5: cpu_id will read
 * the per-CPU area through GS).
 */
#include "lib/platform.h"

#include <stdarg.h>

#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/memlayout.h"
#include "kernel/panic.h"
#include "lib/format.h"

_Noreturn void platform_panic(const char *fmt, ...)
{
    char message[256];
    va_list args;
    va_start(args, fmt);
    kvsnprintf(message, sizeof(message), fmt, args);
    va_end(args);
    panic("%s", message);
}

void platform_print(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    kvprintf(fmt, args);
    va_end(args);
}

unsigned platform_cpu_id(void)
{
    return 0;
}

unsigned platform_cpu_count(void)
{
    return 1;
}

void *platform_phys_to_virt(uint64_t phys)
{
    return phys_to_virt(phys);
}

void platform_lock_acquire(struct platform_lock *lock)
{
    uint64_t saved = cpu_save_interrupts_and_disable();
    while (__atomic_exchange_n(&lock->locked, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&lock->locked, __ATOMIC_RELAXED))
            __asm__ volatile("pause");
    }
    lock->owner_cpu = platform_cpu_id();
    lock->saved_interrupts = saved;
}

void platform_lock_release(struct platform_lock *lock)
{
    uint64_t saved = lock->saved_interrupts;
    __atomic_store_n(&lock->locked, 0, __ATOMIC_RELEASE);
    cpu_restore_interrupts(saved);
}

uint64_t platform_interrupts_save_disable(void)
{
    return cpu_save_interrupts_and_disable();
}

void platform_interrupts_restore(uint64_t saved)
{
    cpu_restore_interrupts(saved);
}
