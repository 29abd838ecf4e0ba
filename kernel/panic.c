/* panic.c: stop everything, say why, and end the run so no test hangs. */
#include "kernel/panic.h"

#include <stdarg.h>
#include <stdbool.h>

#include "kernel/backtrace.h"
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/exit.h"
#include "kernel/percpu.h"

#define NOBODY 0xFFFFFFFFu
static unsigned panicking_cpu = NOBODY; /* the one CPU that reports the panic */
static void (*stop_other_cpus)(void);

void panic_set_stop_others(void (*stop_others)(void))
{
    stop_other_cpus = stop_others;
}

static _Noreturn void vpanic(bool print_backtrace, const char *fmt, va_list args)
{
    cpu_disable_interrupts();
    unsigned me = this_cpu_index(), expected = NOBODY;
    if (!__atomic_compare_exchange_n(&panicking_cpu, &expected, me, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        if (expected == me) { /* a panic inside the panic path: stop at once */
            kprintf("\nKERNEL PANIC (again, while panicking)\n");
            machine_exit(EXIT_STATUS_PANIC);
        }
        cpu_halt_forever(); /* another CPU is reporting its panic: one report, not two */
    }
    console_set_quiet(false);
    kprintf("\nKERNEL PANIC: ");
    kvprintf(fmt, args);
    kprintf("\n");
    if (print_backtrace)
        backtrace_print_here();
    if (stop_other_cpus)
        stop_other_cpus();
    machine_exit(EXIT_STATUS_PANIC);
}

_Noreturn void panic(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vpanic(true, fmt, args);
}

_Noreturn void panic_after_report(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vpanic(false, fmt, args);
}
