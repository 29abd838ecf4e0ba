/* panic.h: the end of the road for a kernel bug. */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

/* Print "KERNEL PANIC: <message>" and a backtrace, then end QEMU through the
 * exit device with EXIT_STATUS_PANIC (or halt where there is none). */
_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, for callers that already printed registers and a backtrace. */
_Noreturn void panic_after_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Who stops the other CPUs once the report is out (kernel/smp.c hands it in;
 * until then there are none). */
void panic_set_stop_others(void (*stop_others)(void));

/* Panic with the failed expression and its place when cond is false. */
#define KASSERT(cond)                                                                              \
    do {                                                                                           \
        if (!(cond))                                                                               \
            panic("assertion failed: %s at %s:%d", #cond, __FILE__, __LINE__);                     \
    } while (0)

#endif
