/* panic.c: stop everything, say why, and end the run so no test hangs. */
#include "kernel/panic.h"

#include <stdarg.h>
#include <stdbool.h>

#include "kernel/backtrace.h"
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/exit.h"

static bool panicking;

static _Noreturn void vpanic(bool print_backtrace, const char *fmt, va_list args)
{
    cpu_disable_interrupts();
    if (panicking) { /* a panic inside the panic path: stop at once */
        kprintf("\nKERNEL PANIC (again, while panicking)\n");
        machine_exit(EXIT_STATUS_PANIC);
    }
    panicking = true;
    console_set_quiet(false);
    kprintf("\nKERNEL PANIC: ");
    kvprintf(fmt, args);
    kprintf("\n");
    if (print_backtrace)
        backtrace_print_here();
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
