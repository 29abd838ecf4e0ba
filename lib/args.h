/*
 * lib/args.h - turning a shell line into argv, and parsing numeric arguments.
 */
#ifndef FERRITE_LIB_ARGS_H
#define FERRITE_LIB_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#define ARGS_ERROR (-1) /* returned by args_split; see below for the two causes */

/*
 * Splits line in place into at most max_args arguments and returns their count (0 for an empty
 * or blank line). Arguments are separated by spaces and tabs. Double quotes group text with
 * blanks into one argument and are removed; quoted and unquoted pieces that touch join up, so
 * `say "hi there"!` gives "say" and "hi there!", and `""` gives one empty argument. There are no
 * escapes. argv[i] points into line, which gains NUL terminators; argv needs room for max_args
 * pointers and is not NULL-terminated.
 *
 * Returns ARGS_ERROR (-1) if the line holds more than max_args arguments or has an unterminated
 * quote. Then line and argv have been partly rewritten and must not be used.
 */
int args_split(char *line, char **argv, int max_args);

/*
 * Parses a whole string as an unsigned 64-bit number: decimal ("42", leading zeros allowed and
 * NOT octal) or hexadecimal with a 0x/0X prefix ("0x2a", digits in either case). Rejects the
 * empty string, a bare "0x", signs, blanks, any trailing junk and values above UINT64_MAX.
 * Returns true and sets *value on success; leaves *value untouched on failure.
 */
bool args_parse_u64(const char *text, uint64_t *value);

#endif /* FERRITE_LIB_ARGS_H */
