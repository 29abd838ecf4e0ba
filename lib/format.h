/*
 * lib/format.h - the printf engine behind kprintf, with no dynamic memory and no floating point.
 *
 * Supported: %d %i %u %x %X %o %p %s %c %%, length modifiers hh h l ll z t j, flags - 0 + space #,
 * field width and precision (both also as '*'). For everything the C standard defines, output
 * matches glibc's snprintf byte for byte. Where C leaves the result undefined we still follow
 * glibc:
 *   - %s of NULL prints "(null)", or nothing when the precision is below 6.
 *   - %p of NULL prints "(nil)" (width and '-' honoured); other pointers print as %#lx, also
 *     honouring '+', ' ', '0' and precision the way glibc does.
 *   - the '0' flag is ignored for %c, %s and a NULL %p.
 *   - "%%" prints '%' whatever flags, width or length appear between the two '%'.
 * Our own rules for malformed input:
 *   - an unknown conversion (e.g. "%q", "%5q", "%ls") is printed literally, up to and including
 *     the offending character, and consumes no argument - not even for a '*' inside it.
 *   - a format ending inside a conversion ("abc%", "%5") prints the dangling text literally.
 *   - widths and precisions are clamped to FORMAT_MAX_FIELD_WIDTH so that a corrupt format
 *     string cannot make the kernel print gigabytes of padding.
 */
#ifndef FERRITE_LIB_FORMAT_H
#define FERRITE_LIB_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

#define FORMAT_MAX_FIELD_WIDTH 4096 /* characters, for both width and precision */

/*
 * Receives the formatted output in order, in chunks of len bytes (not NUL-terminated, len > 0).
 * The text pointer is only valid during the call.
 */
typedef void (*format_sink_fn)(void *sink_ctx, const char *text, size_t len);

/* Formats into sink; returns the number of characters produced (saturating at INT_MAX). */
int kvformat(format_sink_fn sink, void *sink_ctx, const char *fmt, va_list args);
int kformat(format_sink_fn sink, void *sink_ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * C99 snprintf semantics: writes at most size - 1 characters plus a NUL into buf (buf may be
 * NULL when size is 0) and returns the length the full output would have had, so the output
 * was truncated exactly when the result is >= size.
 */
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list args);
int ksnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* FERRITE_LIB_FORMAT_H */
