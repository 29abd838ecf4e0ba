/*
 * lib/cmdline.h - parsing of the kernel command line (the text of multiboot2 tag 1).
 *
 * The command line is a list of shell-like words separated by blanks (space, tab, '\r', '\n'):
 *   "..."   a double-quoted part: blanks are literal, a backslash escapes the next byte
 *   '...'   a single-quoted part: everything up to the next ' is literal (no escapes)
 *   \c      outside quotes, a backslash makes the next byte literal (a final lone \ is kept)
 * Quote characters and escaping backslashes are removed, and parts that touch join into one word:
 * a"b c"d is the word `ab cd`. Each word is an option, split at its first '=':
 *   key            has_value = false
 *   key=value      has_value = true; the value may be empty and may contain '='
 * so run="echo hi; exit 3" and "run=echo hi; exit 3" both give key run, value echo hi; exit 3.
 *
 * Why escapes matter: GRUB 2.06 re-quotes the words of its `multiboot2` line. It joins them with
 * one space, wraps a word that contains a space in "...", and puts a backslash before every
 * ", ' and \ of a word ($ and # are passed as is). The grub.cfg words
 *     a 'run=echo x;  exit 3' 'it'\''s' 'q=\y' '$HOME' '#z'
 * reach the kernel as
 *     a "run=echo x;  exit 3" it\'s q=\\y $HOME #z
 * which this grammar decodes back to the original six words (shown here separated by |):
 *     a | run=echo x;  exit 3 | it's | q=\y | $HOME | #z
 */
#ifndef FERRITE_LIB_CMDLINE_H
#define FERRITE_LIB_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

/* One option. Invariant: key and value point inside the parsed text; value is NULL and
 * value_len is 0 exactly when has_value is false. */
struct cmdline_option {
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
    bool has_value;
};

/* Called once per option, in command-line order. option is only valid during the call. */
typedef void (*cmdline_visit_fn)(void *ctx, const struct cmdline_option *option);

/*
 * Decodes text[0..text_len) IN PLACE (quotes and escaping backslashes removed; the decoded bytes
 * of a word are written at the word's start, which never overtakes the reading position) and calls
 * visit once per word, in order. key and value point into text and are NOT NUL-terminated (use
 * the lengths). The text ends at text_len or at the first NUL; text may be NULL when text_len is
 * 0. Nothing past the end is read or written. Returns 0, or -1 when a quote is never closed: then
 * *error_offset (if error_offset is not NULL) is the offset of the opening quote in the original
 * text, the words before the broken one have been visited, the broken one is not, and the text
 * is left partly decoded (keep a copy of the original if you want to show it).
 */
int cmdline_parse(char *text, size_t text_len, cmdline_visit_fn visit, void *ctx,
                  size_t *error_offset);

/*
 * Iterates over the ';'-separated shell commands of a run= value, e.g. "echo hi; exit 3"
 * yields "echo hi" then "exit 3". Start with *pos = 0 and call until it returns false. Each
 * call skips empty commands (";;", trailing ';', blanks only), trims spaces and tabs from both
 * ends, and on success points *cmd and *cmd_len at the command inside text (not NUL-terminated) and
 * advances *pos past it. A ';' cannot be escaped or quoted.
 */
bool cmdline_next_command(const char *text, size_t len, size_t *pos, const char **cmd,
                          size_t *cmd_len);

#endif /* FERRITE_LIB_CMDLINE_H */
