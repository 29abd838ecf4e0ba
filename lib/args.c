/*
 * lib/args.c - see lib/args.h.
 */
#include "lib/args.h"

#include <stddef.h>

static bool is_arg_blank(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * Copies one argument starting at *read towards write, dropping quotes. Because quotes are only
 * ever removed, write never overtakes read, so rewriting the line in place is safe.
 * Returns false on an unterminated quote; otherwise leaves *read at the blank or NUL that ended
 * the argument and returns the end of the written text via *write_end.
 */
static bool compact_argument(char **read, char *write, char **write_end)
{
    char *cursor = *read;
    bool in_quotes = false;
    while (*cursor != '\0' && (in_quotes || !is_arg_blank(*cursor))) {
        if (*cursor == '"') {
            in_quotes = !in_quotes;
        } else {
            *write++ = *cursor;
        }
        cursor++;
    }
    *read = cursor;
    *write_end = write;
    return !in_quotes;
}

int args_split(char *line, char **argv, int max_args)
{
    int argc = 0;
    char *read = line;
    for (;;) {
        while (is_arg_blank(*read)) {
            read++;
        }
        if (*read == '\0') {
            return argc;
        }
        if (argc >= max_args) {
            return ARGS_ERROR;
        }
        char *start = read;
        char *end;
        if (!compact_argument(&read, start, &end)) {
            return ARGS_ERROR;
        }
        /* Read the separator before the terminator may overwrite it. */
        bool line_ended = *read == '\0';
        *end = '\0';
        argv[argc++] = start;
        if (line_ended) {
            return argc;
        }
        read++;
    }
}

/* Value of c as a digit in base (10 or 16), or -1 if it is not one. */
static int digit_value(char c, unsigned base)
{
    int value = -1;
    if (c >= '0' && c <= '9') {
        value = c - '0';
    } else if (c >= 'a' && c <= 'f') {
        value = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
        value = c - 'A' + 10;
    }
    return value >= 0 && (unsigned)value < base ? value : -1;
}

bool args_parse_u64(const char *text, uint64_t *value)
{
    unsigned base = 10;
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text += 2;
    }
    if (*text == '\0') {
        return false; /* "" or a bare "0x" */
    }
    uint64_t result = 0;
    for (; *text != '\0'; text++) {
        int digit = digit_value(*text, base);
        if (digit < 0) {
            return false;
        }
        if (result > (UINT64_MAX - (uint64_t)digit) / base) {
            return false; /* result * base + digit would exceed UINT64_MAX */
        }
        result = result * base + (uint64_t)digit;
    }
    *value = result;
    return true;
}
