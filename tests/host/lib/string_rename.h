/*
 * tests/host/lib/string_rename.h - lets lib/string.c be tested next to the host's libc.
 *
 * lib/string.c defines the standard names (memcpy, strlen, ...), which would clash with libc in
 * a host program. Force-including this header (gcc -include) while compiling lib/string.c, and
 * before lib/string.h in the test, renames every one of them to ferrite_<name>.
 */
#ifndef FERRITE_TESTS_STRING_RENAME_H
#define FERRITE_TESTS_STRING_RENAME_H

#define memcpy ferrite_memcpy
#define memmove ferrite_memmove
#define memset ferrite_memset
#define memcmp ferrite_memcmp
#define strlen ferrite_strlen
#define strnlen ferrite_strnlen
#define strcmp ferrite_strcmp
#define strncmp ferrite_strncmp
#define strchr ferrite_strchr
#define strrchr ferrite_strrchr
#define strstr ferrite_strstr
#define strlcpy ferrite_strlcpy
#define str_starts_with ferrite_str_starts_with

#endif /* FERRITE_TESTS_STRING_RENAME_H */
