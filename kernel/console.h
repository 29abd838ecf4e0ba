/*
 * console.h: kernel output. Everything goes to the serial port and is mirrored
 * on the VGA text screen. kprintf takes the formats of lib/format.h.
 */
#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum log_level {
    LOG_DEBUG, /* details for kernel hackers; shown unless quiet */
    LOG_INFO,  /* the boot log; muted by the `quiet` boot option */
    LOG_WARN,  /* something is wrong but the kernel goes on: always shown */
    LOG_ERROR, /* something failed: always shown */
};

void console_init(void);
void console_write(const char *text, size_t len);
void console_set_quiet(bool quiet);
bool console_is_quiet(void);

int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvprintf(const char *fmt, va_list args);

/* One line of log, prefixed with its level ("warn: ..."); adds the newline. */
void klog(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) klog(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) klog(LOG_INFO, __VA_ARGS__)
#define log_warn(...) klog(LOG_WARN, __VA_ARGS__)
#define log_error(...) klog(LOG_ERROR, __VA_ARGS__)

#endif
