/*
 * lib/cmdline.c - see lib/cmdline.h for the grammar.
 */
#include "lib/cmdline.h"

static bool is_cmdline_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Where the text really ends: at text_len or at the first NUL, whichever comes first. */
static size_t effective_length(const char *text, size_t text_len)
{
    size_t len = 0;
    while (len < text_len && text[len] != '\0') {
        len++;
    }
    return len;
}

/* The word being decoded: bytes are appended at text[start + len], never past the read position. */
struct word {
    char *text;
    size_t start;
    size_t len;
    size_t key_len; /* offset of the first '=' in the decoded word, valid when has_equals */
    bool has_equals;
};

static void append(struct word *word, char c)
{
    if (c == '=' && !word->has_equals) {
        word->has_equals = true;
        word->key_len = word->len;
    }
    word->text[word->start + word->len++] = c;
}

/*
 * Decodes the word that starts at word->start (not a blank) in place, leaving *pos just past it.
 * Returns false when a quote is never closed; then *pos is the offset of that opening quote.
 */
static bool decode_word(struct word *word, size_t *pos, size_t end)
{
    const char *text = word->text;
    size_t read = *pos;
    while (read < end && !is_cmdline_space(text[read])) {
        char c = text[read++];
        if (c == '"' || c == '\'') {
            size_t open = read - 1;
            for (;;) {
                if (read == end) {
                    *pos = open;
                    return false;
                }
                char inside = text[read++];
                if (inside == c) {
                    break;
                }
                if (c == '"' && inside == '\\') {
                    if (read == end) {
                        *pos = open;
                        return false;
                    }
                    inside = text[read++];
                }
                append(word, inside);
            }
        } else {
            if (c == '\\' && read < end) {
                c = text[read++]; /* a backslash at the very end stays a literal backslash */
            }
            append(word, c);
        }
    }
    *pos = read;
    return true;
}

int cmdline_parse(char *text, size_t text_len, cmdline_visit_fn visit, void *ctx,
                  size_t *error_offset)
{
    size_t end = effective_length(text, text_len);
    size_t pos = 0;
    for (;;) {
        while (pos < end && is_cmdline_space(text[pos])) {
            pos++;
        }
        if (pos == end) {
            return 0;
        }
        struct word word = {
            .text = text, .start = pos, .len = 0, .key_len = 0, .has_equals = false};
        if (!decode_word(&word, &pos, end)) {
            if (error_offset != NULL) {
                *error_offset = pos;
            }
            return -1;
        }
        struct cmdline_option option = {.key = text + word.start, .key_len = word.len};
        if (word.has_equals) {
            option.key_len = word.key_len;
            option.has_value = true;
            option.value = option.key + word.key_len + 1;
            option.value_len = word.len - word.key_len - 1;
        }
        visit(ctx, &option);
    }
}

static bool is_command_blank(char c)
{
    return c == ' ' || c == '\t';
}

bool cmdline_next_command(const char *text, size_t len, size_t *pos, const char **cmd,
                          size_t *cmd_len)
{
    while (*pos < len) {
        size_t start = *pos;
        size_t stop = start;
        while (stop < len && text[stop] != ';') {
            stop++;
        }
        *pos = stop < len ? stop + 1 : stop; /* step over the ';' */
        while (start < stop && is_command_blank(text[start])) {
            start++;
        }
        while (stop > start && is_command_blank(text[stop - 1])) {
            stop--;
        }
        if (stop > start) {
            *cmd = text + start;
            *cmd_len = stop - start;
            return true;
        }
    }
    return false;
}
