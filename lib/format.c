/*
 * lib/format.c - printf-style formatting into a sink. See lib/format.h for the contract.
 *
 * Each conversion is handled in three steps: parse the specification without touching the
 * arguments, check that we support it (so an unknown one can be printed literally without
 * consuming anything), then fetch the arguments and render.
 */
#include "lib/format.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/string.h"

/* ---- output ------------------------------------------------------------------------------ */

/* Invariant: produced == total number of bytes handed to sink so far. */
struct format_output {
    format_sink_fn sink;
    void *sink_ctx;
    size_t produced;
};

static void emit(struct format_output *out, const char *text, size_t len)
{
    if (len == 0) {
        return; /* the sink contract promises len > 0 */
    }
    out->sink(out->sink_ctx, text, len);
    out->produced += len;
}

/* Padding is emitted from a fixed run of fill characters so the sink sees chunks, not bytes. */
static void emit_fill(struct format_output *out, char fill, size_t count)
{
    static const char spaces[] = "                                ";
    static const char zeros[] = "00000000000000000000000000000000";
    const char *run = fill == '0' ? zeros : spaces;
    const size_t run_len = sizeof(spaces) - 1;
    while (count > 0) {
        size_t chunk = count < run_len ? count : run_len;
        emit(out, run, chunk);
        count -= chunk;
    }
}

/* ---- conversion specifications ----------------------------------------------------------- */

enum length_modifier {
    LENGTH_DEFAULT,
    LENGTH_CHAR,      /* hh */
    LENGTH_SHORT,     /* h */
    LENGTH_LONG,      /* l */
    LENGTH_LONG_LONG, /* ll */
    LENGTH_SIZE,      /* z */
    LENGTH_PTRDIFF,   /* t */
    LENGTH_INTMAX,    /* j */
};

/*
 * One parsed "%...c" specification.
 * Invariants: 0 <= width <= FORMAT_MAX_FIELD_WIDTH; 0 <= precision <= FORMAT_MAX_FIELD_WIDTH and
 * precision is meaningful only when has_precision. Until the '*' arguments are fetched,
 * width_from_arg / precision_from_arg say the value is still pending.
 */
struct conversion_spec {
    bool left_justify;   /* '-' */
    bool zero_pad;       /* '0' */
    bool force_sign;     /* '+' */
    bool space_sign;     /* ' ' */
    bool alternate_form; /* '#' */
    bool width_from_arg;
    int width;
    bool has_precision;
    bool precision_from_arg;
    int precision;
    enum length_modifier length;
    char conversion; /* '\0' when the format ended inside the specification */
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads a decimal field, saturating at FORMAT_MAX_FIELD_WIDTH instead of overflowing. */
static const char *parse_field_number(const char *cursor, int *value)
{
    int result = 0;
    for (; is_digit(*cursor); cursor++) {
        result = result * 10 + (*cursor - '0');
        if (result > FORMAT_MAX_FIELD_WIDTH) {
            result = FORMAT_MAX_FIELD_WIDTH;
        }
    }
    *value = result;
    return cursor;
}

static const char *parse_flags(const char *cursor, struct conversion_spec *spec)
{
    for (;; cursor++) {
        switch (*cursor) {
        case '-':
            spec->left_justify = true;
            break;
        case '0':
            spec->zero_pad = true;
            break;
        case '+':
            spec->force_sign = true;
            break;
        case ' ':
            spec->space_sign = true;
            break;
        case '#':
            spec->alternate_form = true;
            break;
        default:
            return cursor;
        }
    }
}

static const char *parse_length(const char *cursor, enum length_modifier *length)
{
    switch (*cursor) {
    case 'h':
        if (cursor[1] == 'h') {
            *length = LENGTH_CHAR;
            return cursor + 2;
        }
        *length = LENGTH_SHORT;
        return cursor + 1;
    case 'l':
        if (cursor[1] == 'l') {
            *length = LENGTH_LONG_LONG;
            return cursor + 2;
        }
        *length = LENGTH_LONG;
        return cursor + 1;
    case 'z':
        *length = LENGTH_SIZE;
        return cursor + 1;
    case 't':
        *length = LENGTH_PTRDIFF;
        return cursor + 1;
    case 'j':
        *length = LENGTH_INTMAX;
        return cursor + 1;
    default:
        *length = LENGTH_DEFAULT;
        return cursor;
    }
}

/* Parses the text after a '%'; returns a pointer to the conversion character (or the NUL). */
static const char *parse_spec(const char *cursor, struct conversion_spec *spec)
{
    *spec = (struct conversion_spec){0};
    cursor = parse_flags(cursor, spec);
    if (*cursor == '*') {
        spec->width_from_arg = true;
        cursor++;
    } else {
        cursor = parse_field_number(cursor, &spec->width);
    }
    if (*cursor == '.') {
        cursor++;
        spec->has_precision = true;
        if (*cursor == '*') {
            spec->precision_from_arg = true;
            cursor++;
        } else {
            cursor = parse_field_number(cursor, &spec->precision); /* "%.d" means precision 0 */
        }
    }
    cursor = parse_length(cursor, &spec->length);
    spec->conversion = *cursor;
    return cursor;
}

static bool is_integer_conversion(char conversion)
{
    switch (conversion) {
    case 'd':
    case 'i':
    case 'u':
    case 'x':
    case 'X':
    case 'o':
        return true;
    default:
        return false;
    }
}

static bool is_supported(const struct conversion_spec *spec)
{
    if (is_integer_conversion(spec->conversion) || spec->conversion == '%') {
        return true;
    }
    /* %lc, %ls and friends mean wide characters, which we do not support. */
    bool takes_no_length =
        spec->conversion == 'c' || spec->conversion == 's' || spec->conversion == 'p';
    return takes_no_length && spec->length == LENGTH_DEFAULT;
}

static int clamp_field(long value)
{
    return value > FORMAT_MAX_FIELD_WIDTH ? FORMAT_MAX_FIELD_WIDTH : (int)value;
}

/* C's rules for '*': a negative width means '-' plus its magnitude; a negative precision means
 * "no precision". */
static void fetch_star_arguments(struct conversion_spec *spec, va_list *args)
{
    if (spec->width_from_arg) {
        long width = va_arg(*args, int); /* long so that -INT_MIN cannot overflow */
        if (width < 0) {
            spec->left_justify = true;
            width = -width;
        }
        spec->width = clamp_field(width);
        spec->width_from_arg = false;
    }
    if (spec->precision_from_arg) {
        int precision = va_arg(*args, int);
        spec->has_precision = precision >= 0;
        spec->precision = precision >= 0 ? clamp_field(precision) : 0;
        spec->precision_from_arg = false;
    }
}

/* ---- integer arguments --------------------------------------------------------------------- */

/*
 * Integers narrower than int arrive promoted to int, so they are fetched as int and then
 * narrowed, which is what C says the conversion must do. The size_t/ptrdiff_t pairs are fetched
 * as the type the caller passed and converted; both are 64 bits on every Ferrite target.
 */
static intmax_t fetch_signed(va_list *args, enum length_modifier length)
{
    switch (length) {
    case LENGTH_CHAR:
        return (signed char)va_arg(*args, int);
    case LENGTH_SHORT:
        return (short)va_arg(*args, int);
    case LENGTH_LONG:
        return va_arg(*args, long);
    case LENGTH_LONG_LONG:
        return va_arg(*args, long long);
    case LENGTH_SIZE:
        return (ptrdiff_t)va_arg(*args, size_t);
    case LENGTH_PTRDIFF:
        return va_arg(*args, ptrdiff_t);
    case LENGTH_INTMAX:
        return va_arg(*args, intmax_t);
    case LENGTH_DEFAULT:
    default:
        return va_arg(*args, int);
    }
}

static uintmax_t fetch_unsigned(va_list *args, enum length_modifier length)
{
    switch (length) {
    case LENGTH_CHAR:
        return (unsigned char)va_arg(*args, int);
    case LENGTH_SHORT:
        return (unsigned short)va_arg(*args, int);
    case LENGTH_LONG:
        return va_arg(*args, unsigned long);
    case LENGTH_LONG_LONG:
        return va_arg(*args, unsigned long long);
    case LENGTH_SIZE:
        return va_arg(*args, size_t);
    case LENGTH_PTRDIFF:
        return (size_t)va_arg(*args, ptrdiff_t);
    case LENGTH_INTMAX:
        return va_arg(*args, uintmax_t);
    case LENGTH_DEFAULT:
    default:
        return va_arg(*args, unsigned int);
    }
}

/* ---- rendering ----------------------------------------------------------------------------- */

#define MAX_DIGITS 22 /* a 64-bit value in octal */

static unsigned number_base(char conversion)
{
    switch (conversion) {
    case 'o':
        return 8;
    case 'x':
    case 'X':
    case 'p':
        return 16;
    default:
        return 10;
    }
}

/* Writes the digits of value ending at digits_end; returns how many were written. */
static size_t render_digits(uintmax_t value, unsigned base, bool uppercase, char *digits_end)
{
    const char *digit_chars = uppercase ? "0123456789ABCDEF" : "0123456789abcdef";
    size_t count = 0;
    do {
        digits_end[-1 - (ptrdiff_t)count] = digit_chars[value % base];
        count++;
        value /= base;
    } while (value != 0);
    return count;
}

/* The sign and radix prefix, e.g. "-", "+0x", "0X" or "". Returns its length (at most 3). */
static size_t build_prefix(const struct conversion_spec *spec, bool negative, bool is_zero,
                           char prefix[3])
{
    size_t len = 0;
    /* glibc applies '+' and ' ' to %p as well as to the signed conversions. */
    bool signed_style =
        spec->conversion == 'd' || spec->conversion == 'i' || spec->conversion == 'p';
    if (negative) {
        prefix[len++] = '-';
    } else if (signed_style && spec->force_sign) {
        prefix[len++] = '+';
    } else if (signed_style && spec->space_sign) {
        prefix[len++] = ' ';
    }
    bool hex_prefix =
        spec->conversion == 'p' ||
        (spec->alternate_form && !is_zero && (spec->conversion == 'x' || spec->conversion == 'X'));
    if (hex_prefix) {
        prefix[len++] = '0';
        prefix[len++] = spec->conversion == 'X' ? 'X' : 'x';
    }
    return len;
}

/* Layout: [spaces] prefix [zeros] digits [spaces], with the zeros coming from the precision,
 * from '#' on %o, or from the '0' flag. */
static void emit_integer(struct format_output *out, const struct conversion_spec *spec,
                         uintmax_t magnitude, bool negative)
{
    char digits[MAX_DIGITS];
    bool is_zero = magnitude == 0;
    size_t digit_count = 0;
    /* C: "The result of converting a zero value with a precision of zero is no characters." */
    if (!(is_zero && spec->has_precision && spec->precision == 0)) {
        digit_count = render_digits(magnitude, number_base(spec->conversion),
                                    spec->conversion == 'X', digits + MAX_DIGITS);
    }
    const char *first_digit = digits + MAX_DIGITS - digit_count;

    char prefix[3];
    size_t prefix_len = build_prefix(spec, negative, is_zero, prefix);

    size_t precision = spec->has_precision ? (size_t)spec->precision : 0;
    size_t zeros = precision > digit_count ? precision - digit_count : 0;
    /* '#' on %o raises the precision just enough for the first digit to be a zero. */
    bool needs_octal_zero = digit_count == 0 || *first_digit != '0';
    if (spec->conversion == 'o' && spec->alternate_form && zeros == 0 && needs_octal_zero) {
        zeros = 1;
    }
    size_t width = (size_t)spec->width;
    size_t body_len = prefix_len + zeros + digit_count;
    if (spec->zero_pad && !spec->left_justify && !spec->has_precision && width > body_len) {
        zeros += width - body_len;
        body_len = width;
    }
    size_t padding = width > body_len ? width - body_len : 0;

    if (!spec->left_justify) {
        emit_fill(out, ' ', padding);
    }
    emit(out, prefix, prefix_len);
    emit_fill(out, '0', zeros);
    emit(out, first_digit, digit_count);
    if (spec->left_justify) {
        emit_fill(out, ' ', padding);
    }
}

/* Text conversions (%c, %s, "(nil)") pad with spaces only; glibc ignores '0' for them. */
static void emit_padded_text(struct format_output *out, const struct conversion_spec *spec,
                             const char *text, size_t len)
{
    size_t width = (size_t)spec->width;
    size_t padding = width > len ? width - len : 0;
    if (!spec->left_justify) {
        emit_fill(out, ' ', padding);
    }
    emit(out, text, len);
    if (spec->left_justify) {
        emit_fill(out, ' ', padding);
    }
}

static void emit_string(struct format_output *out, const struct conversion_spec *spec,
                        const char *text)
{
    if (text == NULL) {
        /* glibc prints "(null)" only when the precision leaves room for all of it. */
        bool fits = !spec->has_precision || spec->precision >= 6;
        text = fits ? "(null)" : "";
    }
    /* With a precision the argument need not be NUL-terminated, so never read past it. */
    size_t len = spec->has_precision ? strnlen(text, (size_t)spec->precision) : strlen(text);
    emit_padded_text(out, spec, text, len);
}

static void emit_pointer(struct format_output *out, const struct conversion_spec *spec,
                         const void *pointer)
{
    if (pointer == NULL) {
        emit_padded_text(out, spec, "(nil)", 5);
        return;
    }
    emit_integer(out, spec, (uintptr_t)pointer, false);
}

static void emit_conversion(struct format_output *out, const struct conversion_spec *spec,
                            va_list *args)
{
    switch (spec->conversion) {
    case 'd':
    case 'i': {
        intmax_t value = fetch_signed(args, spec->length);
        /* Negate in unsigned arithmetic so that INTMAX_MIN has a magnitude too. */
        uintmax_t magnitude = value < 0 ? (uintmax_t)0 - (uintmax_t)value : (uintmax_t)value;
        emit_integer(out, spec, magnitude, value < 0);
        break;
    }
    case 'u':
    case 'x':
    case 'X':
    case 'o':
        emit_integer(out, spec, fetch_unsigned(args, spec->length), false);
        break;
    case 'c': {
        char ch = (char)va_arg(*args, int);
        emit_padded_text(out, spec, &ch, 1);
        break;
    }
    case 's':
        emit_string(out, spec, va_arg(*args, const char *));
        break;
    case 'p':
        emit_pointer(out, spec, va_arg(*args, const void *));
        break;
    case '%':
    default:
        emit(out, "%", 1);
        break;
    }
}

/* Handles one specification starting at the '%'; returns where the literal text resumes. */
static const char *format_one(struct format_output *out, const char *percent, va_list *args)
{
    struct conversion_spec spec;
    const char *conversion = parse_spec(percent + 1, &spec);
    if (!is_supported(&spec)) {
        /* Print the malformed specification as it stands, including the offending character. */
        const char *resume = *conversion == '\0' ? conversion : conversion + 1;
        emit(out, percent, (size_t)(resume - percent));
        return resume;
    }
    fetch_star_arguments(&spec, args);
    emit_conversion(out, &spec, args);
    return conversion + 1;
}

int kvformat(format_sink_fn sink, void *sink_ctx, const char *fmt, va_list args)
{
    struct format_output out = {.sink = sink, .sink_ctx = sink_ctx, .produced = 0};
    /* A local copy can be passed around by address; a va_list parameter cannot portably. */
    va_list args_copy;
    va_copy(args_copy, args);
    const char *cursor = fmt;
    while (*cursor != '\0') {
        const char *literal_end = cursor;
        while (*literal_end != '\0' && *literal_end != '%') {
            literal_end++;
        }
        emit(&out, cursor, (size_t)(literal_end - cursor));
        cursor = literal_end;
        if (*cursor == '%') {
            cursor = format_one(&out, cursor, &args_copy);
        }
    }
    va_end(args_copy);
    return out.produced > INT_MAX ? INT_MAX : (int)out.produced;
}

int kformat(format_sink_fn sink, void *sink_ctx, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int produced = kvformat(sink, sink_ctx, fmt, args);
    va_end(args);
    return produced;
}

/* ---- snprintf ------------------------------------------------------------------------------ */

/* Invariant: used <= capacity, and capacity leaves room for the terminating NUL. */
struct buffer_sink {
    char *buf;
    size_t capacity; /* bytes of text that fit: size - 1, or 0 when size is 0 */
    size_t used;
};

static void buffer_sink_write(void *sink_ctx, const char *text, size_t len)
{
    struct buffer_sink *buffer = sink_ctx;
    size_t room = buffer->capacity - buffer->used;
    size_t copy_len = len < room ? len : room;
    if (copy_len > 0) {
        memcpy(buffer->buf + buffer->used, text, copy_len);
        buffer->used += copy_len;
    }
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list args)
{
    struct buffer_sink buffer = {.buf = buf, .capacity = size > 0 ? size - 1 : 0, .used = 0};
    int full_len = kvformat(buffer_sink_write, &buffer, fmt, args);
    if (size > 0) {
        buf[buffer.used] = '\0';
    }
    return full_len;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int full_len = kvsnprintf(buf, size, fmt, args);
    va_end(args);
    return full_len;
}
