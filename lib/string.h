/*
 * lib/string.h - memory and string routines for the kernel.
 *
 * These carry the standard C names on purpose: gcc emits calls to memcpy, memset, memmove and
 * memcmp on its own (struct copies, large initialisers) even in freestanding code, so the kernel
 * must provide exactly those symbols. The prototypes are the standard ones so that this header
 * and a hosted <string.h> can coexist in the same translation unit.
 *
 * All comparisons treat bytes as unsigned char, as the C standard requires.
 */
#ifndef FERRITE_LIB_STRING_H
#define FERRITE_LIB_STRING_H

#include <stdbool.h>
#include <stddef.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t count);
/* Like memcpy, but the two regions may overlap. */
void *memmove(void *dst, const void *src, size_t count);
void *memset(void *dst, int byte, size_t count);
int memcmp(const void *left, const void *right, size_t count);

size_t strlen(const char *s);
/* Length of s, but never reads more than max_len bytes (s need not be NUL-terminated). */
size_t strnlen(const char *s, size_t max_len);
int strcmp(const char *left, const char *right);
int strncmp(const char *left, const char *right, size_t max_len);
/* First occurrence of (char)c in s; searching for '\0' finds the terminator. */
char *strchr(const char *s, int c);
/* Last occurrence of (char)c in s; searching for '\0' finds the terminator. */
char *strrchr(const char *s, int c);
/* First occurrence of needle in haystack (haystack itself when needle is empty), or NULL. */
char *strstr(const char *haystack, const char *needle);

/*
 * BSD strlcpy: copies at most size - 1 bytes of src into dst and always NUL-terminates dst when
 * size > 0. Returns strlen(src), so truncation happened exactly when the result is >= size.
 */
size_t strlcpy(char *restrict dst, const char *restrict src, size_t size);

/* True when s begins with prefix (every string starts with the empty prefix). */
bool str_starts_with(const char *s, const char *prefix);

#endif /* FERRITE_LIB_STRING_H */
