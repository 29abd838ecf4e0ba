/*
 * lib/string.c - byte-at-a-time implementations of the routines in lib/string.h.
 *
 * Simple loops are deliberate: this is a teaching kernel, and nothing it copies is large enough
 * for word-sized tricks to matter yet.
 */
#include "lib/string.h"

/*
 * Build requirement: compile this file with -ffreestanding or -fno-builtin (the kernel and the
 * host tests both do). Without them gcc may recognise a byte loop below as "this is memset" and
 * replace it with a call to memset - which, inside memset itself, is infinite recursion.
 */

void *memcpy(void *restrict dst, const void *restrict src, size_t count)
{
    unsigned char *out = dst;
    const unsigned char *in = src;
    for (size_t i = 0; i < count; i++) {
        out[i] = in[i];
    }
    return dst;
}

void *memmove(void *dst, const void *src, size_t count)
{
    unsigned char *out = dst;
    const unsigned char *in = src;
    if (out == in || count == 0) {
        return dst;
    }
    /*
     * Copying forwards is safe unless the destination starts inside the source, in which case
     * a forward copy would overwrite source bytes before reading them. Comparing unrelated
     * pointers is not strictly portable C, but the flat address space makes it meaningful here.
     */
    if (out < in || out >= in + count) {
        for (size_t i = 0; i < count; i++) {
            out[i] = in[i];
        }
    } else {
        for (size_t i = count; i > 0; i--) {
            out[i - 1] = in[i - 1];
        }
    }
    return dst;
}

void *memset(void *dst, int byte, size_t count)
{
    unsigned char *out = dst;
    unsigned char fill = (unsigned char)byte;
    for (size_t i = 0; i < count; i++) {
        out[i] = fill;
    }
    return dst;
}

int memcmp(const void *left, const void *right, size_t count)
{
    const unsigned char *a = left;
    const unsigned char *b = right;
    for (size_t i = 0; i < count; i++) {
        if (a[i] != b[i]) {
            return a[i] < b[i] ? -1 : 1;
        }
    }
    return 0;
}

size_t strlen(const char *s)
{
    size_t length = 0;
    while (s[length] != '\0') {
        length++;
    }
    return length;
}

size_t strnlen(const char *s, size_t max_len)
{
    size_t length = 0;
    while (length < max_len && s[length] != '\0') {
        length++;
    }
    return length;
}

int strcmp(const char *left, const char *right)
{
    const unsigned char *a = (const unsigned char *)left;
    const unsigned char *b = (const unsigned char *)right;
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return (*a > *b) - (*a < *b);
}

int strncmp(const char *left, const char *right, size_t max_len)
{
    const unsigned char *a = (const unsigned char *)left;
    const unsigned char *b = (const unsigned char *)right;
    for (size_t i = 0; i < max_len; i++) {
        if (a[i] != b[i]) {
            return a[i] < b[i] ? -1 : 1;
        }
        if (a[i] == '\0') {
            break;
        }
    }
    return 0;
}

char *strchr(const char *s, int c)
{
    char wanted = (char)c;
    for (;; s++) {
        if (*s == wanted) {
            return (char *)s;
        }
        if (*s == '\0') {
            return NULL;
        }
    }
}

char *strrchr(const char *s, int c)
{
    char wanted = (char)c;
    const char *last_match = NULL;
    for (;; s++) {
        if (*s == wanted) {
            last_match = s;
        }
        if (*s == '\0') {
            return (char *)last_match;
        }
    }
}

char *strstr(const char *haystack, const char *needle)
{
    size_t needle_len = strlen(needle);
    /* Quadratic in the worst case; the kernel only searches short strings. */
    for (; *haystack != '\0'; haystack++) {
        if (strncmp(haystack, needle, needle_len) == 0) {
            return (char *)haystack;
        }
    }
    return needle_len == 0 ? (char *)haystack : NULL;
}

size_t strlcpy(char *restrict dst, const char *restrict src, size_t size)
{
    size_t src_len = strlen(src);
    if (size > 0) {
        size_t copy_len = src_len < size - 1 ? src_len : size - 1;
        memcpy(dst, src, copy_len);
        dst[copy_len] = '\0';
    }
    return src_len;
}

bool str_starts_with(const char *s, const char *prefix)
{
    for (; *prefix != '\0'; s++, prefix++) {
        if (*s != *prefix) {
            return false;
        }
    }
    return true;
}
