/*
 * console.c: the kernel's output path: format with lib/format, then write to
 * the serial port and the VGA mirror. The boot log uses klog(), whose level
 * picks a prefix and a colour and which `quiet` can mute.
 */
#include "kernel/console.h"

#include "kernel/cpu.h"
#include "kernel/fbcon.h"
#include "kernel/percpu.h"
#include "kernel/serial.h"
#include "kernel/vga.h"
#include "lib/boot_only.h"
#include "lib/platform.h"
#include "lib/format.h"

static bool quiet;

/*
 * One CPU prints at a time, so lines from two CPUs do not mix mid-line. The
 * lock is re-entrant for its holder (klog prints a line in several calls, and
 * a fault report may come while the faulting CPU holds it): the depth is
 * counted in the holder's own per-CPU area, never in a shared variable. It
 * gives up waiting after a second, so that a CPU that panics while another
 * holds the console still gets its report out; the CPU it took the console
 * from then cannot release it by mistake (release is a compare-and-swap of
 * its own number). Nothing prints from an NMI: the NMI handler only captures
 * (kernel/smp.c), and the CPU that asked prints.
 */
#define CONSOLE_NO_OWNER 0xFFFFFFFFu
#define CONSOLE_WAIT_LIMIT_US 1000000

static uint32_t console_owner = CONSOLE_NO_OWNER;

static uint64_t console_lock(void)
{
    uint64_t saved = cpu_save_interrupts_and_disable();
    struct cpu *cpu = this_cpu();
    uint32_t me = cpu->index;
    if (__atomic_load_n(&console_owner, __ATOMIC_RELAXED) == me) {
        cpu->console_depth++;
        return saved;
    }
    uint64_t since = platform_time_us(); /* lib/platform.h: the TSC, however calibrated */
    for (;;) {
        uint32_t expected = CONSOLE_NO_OWNER;
        if (__atomic_compare_exchange_n(&console_owner, &expected, me, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            break;
        if (platform_time_us() - since > CONSOLE_WAIT_LIMIT_US) { /* the holder is stuck */
            __atomic_store_n(&console_owner, me, __ATOMIC_RELAXED);
            break;
        }
        cpu_relax();
    }
    cpu->console_depth = 1;
    return saved;
}

static void console_unlock(uint64_t saved)
{
    struct cpu *cpu = this_cpu();
    if (cpu->console_depth > 0 && --cpu->console_depth == 0) {
        uint32_t me = cpu->index; /* a CPU the console was taken from releases nothing */
        __atomic_compare_exchange_n(&console_owner, &me, CONSOLE_NO_OWNER, false, __ATOMIC_RELEASE,
                                    __ATOMIC_RELAXED);
    }
    cpu_restore_interrupts(saved);
}

BOOT_ONLY void console_init(void)
{
    serial_init();
    vga_init();
}

void console_write(const char *text, size_t len)
{
    serial_write(text, len);
    vga_write(text, len);
    fbcon_write(text, len); /* under UEFI, once started (kernel/fbcon.c) */
}

void console_set_quiet(bool on)
{
    quiet = on;
}

bool console_is_quiet(void)
{
    return quiet;
}

static void console_sink(void *sink_ctx, const char *text, size_t len)
{
    (void)sink_ctx;
    console_write(text, len);
}

int kvprintf(const char *fmt, va_list args)
{
    uint64_t saved = console_lock();
    int written = kvformat(console_sink, NULL, fmt, args);
    console_unlock(saved);
    return written;
}

int kprintf(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int written = kvprintf(fmt, args);
    va_end(args);
    return written;
}

struct level_style {
    const char *prefix;
    enum vga_color color;
};

static const struct level_style level_styles[] = {
    [LOG_DEBUG] = {"debug: ", VGA_DARK_GREY},
    [LOG_INFO] = {"", VGA_LIGHT_GREY},
    [LOG_WARN] = {"warning: ", VGA_YELLOW},
    [LOG_ERROR] = {"error: ", VGA_LIGHT_RED},
};

void klog(enum log_level level, const char *fmt, ...)
{
    if (quiet && level < LOG_WARN)
        return;
    const struct level_style *style = &level_styles[level];
    uint64_t saved = console_lock(); /* the whole line at once */
    vga_set_color(style->color, VGA_BLACK);
    kprintf("%s", style->prefix);
    va_list args;
    va_start(args, fmt);
    kvprintf(fmt, args);
    va_end(args);
    kprintf("\n");
    vga_set_color(VGA_LIGHT_GREY, VGA_BLACK);
    console_unlock(saved);
}
