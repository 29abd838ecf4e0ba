/*
 * console.c: the kernel's output path: format with lib/format, then write to
 * the serial port and the VGA mirror. The boot log uses klog(), whose level
 * picks a prefix and a colour and which `quiet` can mute.
 */
#include "kernel/console.h"

#include "kernel/serial.h"
#include "kernel/vga.h"
#include "lib/format.h"

static bool quiet;

void console_init(void)
{
    serial_init();
    vga_init();
}

void console_write(const char *text, size_t len)
{
    serial_write(text, len);
    vga_write(text, len);
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
    return kvformat(console_sink, NULL, fmt, args);
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
    vga_set_color(style->color, VGA_BLACK);
    kprintf("%s", style->prefix);
    va_list args;
    va_start(args, fmt);
    kvprintf(fmt, args);
    va_end(args);
    kprintf("\n");
    vga_set_color(VGA_LIGHT_GREY, VGA_BLACK);
}
