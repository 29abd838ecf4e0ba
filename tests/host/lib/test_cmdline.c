/*
 * tests/host/lib/test_cmdline.c - kernel command line options and run= command splitting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cmdline.h"
#include "lib/random.h"
#include "tests/host/lib/test_report.h"

#define MAX_SEEN 256
#define RENDERED_MAX 256

/*
 * What the visitor saw, rendered as "key" or "key=<value>" so tests can compare strings. base and
 * len describe the parsed buffer, so the visitor can check that keys and values point inside it.
 */
struct seen_options {
    char rendered[MAX_SEEN][RENDERED_MAX];
    size_t count;
    const char *base;
    size_t len;
};

static void check_option_invariants(const struct cmdline_option *option, const char *base,
                                    size_t len)
{
    assert_non_null(option->key);
    assert_true(option->key >= base && option->key + option->key_len <= base + len);
    assert_null(memchr(option->key, '=', option->key_len)); /* split at the first '=' */
    assert_int_equal(option->has_value, option->value != NULL);
    if (option->has_value) {
        /* The value follows the key and its '=' in the decoded word. */
        assert_ptr_equal(option->value, option->key + option->key_len + 1);
        assert_int_equal(option->key[option->key_len], '=');
        assert_true(option->value + option->value_len <= base + len);
    } else {
        assert_int_equal(option->value_len, 0);
    }
}

static void record_option(void *ctx, const struct cmdline_option *option)
{
    struct seen_options *seen = ctx;
    assert_true(seen->count < MAX_SEEN);
    check_option_invariants(option, seen->base, seen->len);
    char *out = seen->rendered[seen->count++];
    if (option->has_value) {
        snprintf(out, RENDERED_MAX, "%.*s=<%.*s>", (int)option->key_len, option->key,
                 (int)option->value_len, option->value);
    } else {
        snprintf(out, RENDERED_MAX, "%.*s", (int)option->key_len, option->key);
    }
}

/* Parses buffer[0..len) (writable) while recording what was visited. */
static int parse_recording(char *buffer, size_t len, struct seen_options *seen,
                           size_t *error_offset)
{
    seen->count = 0;
    seen->base = buffer;
    seen->len = len;
    return cmdline_parse(buffer, len, record_option, seen, error_offset);
}

/*
 * Parses text[0..len) from a heap copy of exactly len bytes (no terminator), so ASan reports any
 * read or write past the end, and checks the result, the error offset and the rendered options.
 */
static void expect_parse(const char *text, size_t len, int expected_result,
                         size_t expected_error_offset, const char *const *expected,
                         size_t expected_count)
{
    char *copy = malloc(len > 0 ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    struct seen_options *seen = malloc(sizeof(*seen));
    assert_non_null(seen);
    size_t error_offset = 12345;
    int result = parse_recording(copy, len, seen, &error_offset);
    assert_int_equal(result, expected_result);
    if (result == 0) {
        assert_int_equal(error_offset, 12345); /* untouched on success */
    } else {
        assert_int_equal(error_offset, expected_error_offset);
        assert_true(text[error_offset] == '"' || text[error_offset] == '\'');
    }
    assert_int_equal(seen->count, expected_count);
    for (size_t i = 0; i < expected_count; i++) {
        assert_string_equal(seen->rendered[i], expected[i]);
    }
    free(seen);
    free(copy);
}

/* EXPECT_OPTIONS(text, words...) parses successfully; EXPECT_ERROR also gives the quote offset
 * and the words visited before the broken one (possibly none). */
#define EXPECT_OPTIONS(text, ...)                                                                  \
    do {                                                                                           \
        const char *const expected_[] = {NULL, __VA_ARGS__};                                       \
        expect_parse((text), strlen(text), 0, 0, expected_ + 1,                                    \
                     sizeof(expected_) / sizeof(expected_[0]) - 1);                                \
    } while (0)

#define EXPECT_ERROR(text, offset, ...)                                                            \
    do {                                                                                           \
        const char *const expected_[] = {NULL, __VA_ARGS__};                                       \
        expect_parse((text), strlen(text), -1, (offset), expected_ + 1,                            \
                     sizeof(expected_) / sizeof(expected_[0]) - 1);                                \
    } while (0)

static void test_cmdline_grub_requoted_example(void **state)
{
    (void)state;
    /* grub.cfg words: a 'run=echo x;  exit 3' 'it'\''s' 'q=\y' '$HOME' '#z' */
    EXPECT_OPTIONS("a \"run=echo x;  exit 3\" it\\'s q=\\\\y $HOME #z", "a",
                   "run=<echo x;  exit 3>", "it's", "q=<\\y>", "$HOME", "#z");
}

static void test_cmdline_user_typed_example(void **state)
{
    (void)state;
    EXPECT_OPTIONS("quiet run=\"echo hi; exit 3\" test", "quiet", "run=<echo hi; exit 3>", "test");
    EXPECT_OPTIONS("quiet \"run=echo hi; exit 3\" test", "quiet", "run=<echo hi; exit 3>", "test");
    EXPECT_OPTIONS("quiet run='echo hi; exit 3' foo=bar", "quiet", "run=<echo hi; exit 3>",
                   "foo=<bar>");
    EXPECT_OPTIONS("run=\\\"echo hi\\\"", "run=<\"echo>", "hi\"");
}

/* Keeps copies of the option structs (their pointers stay valid: they point into the text). */
struct option_capture {
    struct cmdline_option options[8];
    size_t count;
};

static void capture_option(void *ctx, const struct cmdline_option *option)
{
    struct option_capture *capture = ctx;
    assert_true(capture->count < 8);
    capture->options[capture->count++] = *option;
}

static void test_cmdline_decodes_in_place_at_word_start(void **state)
{
    (void)state;
    char text[] = "a=\"quoted\" b\\ c=x\\\"y plain";
    /* The text is  a="quoted" b\ c=x\"y plain  and its words start at offsets 0, 11 and 21. */
    struct option_capture capture = {.count = 0};
    assert_int_equal(cmdline_parse(text, strlen(text), capture_option, &capture, NULL), 0);
    assert_int_equal(capture.count, 3);

    assert_ptr_equal(capture.options[0].key, text);
    assert_int_equal(capture.options[0].key_len, 1);
    assert_ptr_equal(capture.options[0].value, text + 2);
    assert_int_equal(capture.options[0].value_len, 6);
    assert_memory_equal(text, "a=quoted", 8); /* moved left over the opening quote */

    assert_ptr_equal(capture.options[1].key, text + 11);
    assert_int_equal(capture.options[1].key_len, 3);
    assert_memory_equal(capture.options[1].key, "b c", 3);
    assert_ptr_equal(capture.options[1].value, text + 15);
    assert_int_equal(capture.options[1].value_len, 3);
    assert_memory_equal(capture.options[1].value, "x\"y", 3);

    assert_ptr_equal(capture.options[2].key, text + 21);
    assert_int_equal(capture.options[2].key_len, 5);
    assert_false(capture.options[2].has_value);
    assert_null(capture.options[2].value);
    assert_int_equal(capture.options[2].value_len, 0);
}

static void test_cmdline_empty_and_blank_text(void **state)
{
    (void)state;
    struct seen_options seen;
    char empty[1] = {'\0'};
    assert_int_equal(parse_recording(empty, 0, &seen, NULL), 0);
    assert_int_equal(seen.count, 0);
    char blanks[] = " \t\r\n  ";
    assert_int_equal(parse_recording(blanks, 6, &seen, NULL), 0);
    assert_int_equal(seen.count, 0);
    assert_int_equal(cmdline_parse(NULL, 0, record_option, &seen, NULL), 0);
    assert_int_equal(seen.count, 0);
    char leading_nul[] = "\0abc";
    assert_int_equal(parse_recording(leading_nul, 4, &seen, NULL), 0);
    assert_int_equal(seen.count, 0);
    EXPECT_OPTIONS("   ");
}

static void test_cmdline_blank_kinds_and_runs(void **state)
{
    (void)state;
    EXPECT_OPTIONS("  one\ttwo\n\nthree\r\nfour   ", "one", "two", "three", "four");
    /* Quoted or escaped blanks of every kind belong to the word. */
    EXPECT_OPTIONS("\"a\tb\" 'c\nd' e\\\tf g\\\rh \"i j\"", "a\tb", "c\nd", "e\tf", "g\rh", "i j");
}

static void test_cmdline_single_quotes(void **state)
{
    (void)state;
    EXPECT_OPTIONS("'a b' 'x\\y' k='v \"w\"' 'it'\\''s' \"it's\" 'say \"hi\"'", "a b", "x\\y",
                   "k=<v \"w\">", "it's", "it's", "say \"hi\"");
    /* No escapes inside single quotes: '\' is a complete quoted backslash. */
    EXPECT_OPTIONS("'\\' 'a\\'b", "\\", "a\\b");
}

static void test_cmdline_escapes_outside_and_inside_quotes(void **state)
{
    (void)state;
    /* Outside quotes a backslash makes any next byte literal; an escaped '=' still splits. */
    EXPECT_OPTIONS("a\\ b c\\\"d e\\\\f \\=g h\\x \\'", "a b", "c\"d", "e\\f", "=<g>", "hx", "'");
    /* Inside double quotes too: \" is a quote, \\ a backslash, \' a quote, \n just n. */
    EXPECT_OPTIONS("\"a\\\"b\" \"c\\\\d\" \"e\\'f\" \"g\\nh\" \"\\\"\"", "a\"b", "c\\d", "e'f",
                   "gnh", "\"");
}

static void test_cmdline_quoted_and_unquoted_parts_join(void **state)
{
    (void)state;
    EXPECT_OPTIONS("a\"b c\"d x'1 2'\"3 4\"\\ 5 k=\"v\"tail \"k\"=v k\"=\"v ''x\"\"", "ab cd",
                   "x1 23 4 5", "k=<vtail>", "k=<v>", "k=<v>", "x");
}

static void test_cmdline_empty_values_and_keys(void **state)
{
    (void)state;
    EXPECT_OPTIONS("k= k=\"\" k='' \"\" '' =v = \"=\" \"\"\"\"", "k=<>", "k=<>", "k=<>", "", "",
                   "=<v>", "=<>", "=<>", "");
    /* The empty word has key_len 0 and no value, and its key still points into the text. */
    char text[] = "\"\"";
    struct option_capture capture = {.count = 0};
    assert_int_equal(cmdline_parse(text, 2, capture_option, &capture, NULL), 0);
    assert_int_equal(capture.count, 1);
    assert_ptr_equal(capture.options[0].key, text);
    assert_int_equal(capture.options[0].key_len, 0);
    assert_false(capture.options[0].has_value);
    assert_null(capture.options[0].value);
}

static void test_cmdline_value_may_contain_equals(void **state)
{
    (void)state;
    EXPECT_OPTIONS("a=b=c q=\"in=side\" \"x=y=z\" u=\\= w=='='", "a=<b=c>", "q=<in=side>",
                   "x=<y=z>", "u=<=>", "w=<==>");
}

static void test_cmdline_stops_at_length_or_nul(void **state)
{
    (void)state;
    struct seen_options seen;

    /* The length cuts the text; the bytes after it (the guard) are neither read nor written. */
    char cut[] = "foo=bar baz";
    assert_int_equal(parse_recording(cut, 5, &seen, NULL), 0);
    assert_int_equal(seen.count, 1);
    assert_string_equal(seen.rendered[0], "foo=<b>");
    assert_string_equal(cut + 5, "ar baz");

    /* A guard byte glued to the last word: reading it would change the word. */
    char guarded[] = "one \"t w\"oZ";
    size_t len = strlen(guarded) - 1;
    assert_int_equal(parse_recording(guarded, len, &seen, NULL), 0);
    assert_int_equal(seen.count, 2);
    assert_string_equal(seen.rendered[1], "t wo");
    assert_int_equal(guarded[len], 'Z');
    assert_int_equal(guarded[len + 1], '\0');

    /* A backslash cut off by the length is a trailing backslash; the escaped byte stays put. */
    char escape_cut[] = "a\\b";
    assert_int_equal(parse_recording(escape_cut, 2, &seen, NULL), 0);
    assert_int_equal(seen.count, 1);
    assert_string_equal(seen.rendered[0], "a\\");
    assert_int_equal(escape_cut[2], 'b');

    /* A NUL inside the length ends the text (a multiboot string's terminator). */
    char with_nul[] = "one two\0th\"ree";
    assert_int_equal(parse_recording(with_nul, sizeof(with_nul), &seen, NULL), 0);
    assert_int_equal(seen.count, 2);
    assert_string_equal(seen.rendered[1], "two");
    assert_string_equal(with_nul + 8, "th\"ree");

    /* A quote cut off by the length or by a NUL is unterminated even if the text goes on. */
    size_t error_offset = 0;
    char quote_cut[] = "a=\"bc\"";
    assert_int_equal(parse_recording(quote_cut, 4, &seen, &error_offset), -1);
    assert_int_equal(error_offset, 2);
    assert_int_equal(quote_cut[4], 'c');
    assert_int_equal(quote_cut[5], '"');
    char quote_nul[] = "x \"b\0c\" d";
    assert_int_equal(parse_recording(quote_nul, sizeof(quote_nul), &seen, &error_offset), -1);
    assert_int_equal(error_offset, 2);
    assert_int_equal(seen.count, 1);

    /* Through the exact-size heap copy as well (ASan would report an overrun). */
    expect_parse("foo=bar baz", 5, 0, 0, (const char *const[]){"foo=<b>"}, 1);
    expect_parse("\"x y\"\\", 6, 0, 0, (const char *const[]){"x y\\"}, 1);
}

static void test_cmdline_unterminated_double_quote(void **state)
{
    (void)state;
    EXPECT_ERROR("ok=1 also run=\"echo oops", 14, "ok=<1>", "also");
    EXPECT_ERROR("a b\\\"c \"d", 7, "a", "b\"c");
    EXPECT_ERROR("x=\"a\\\"", 2); /* the escaped quote does not close it */
    EXPECT_ERROR("\"", 0);
    EXPECT_ERROR("ab\"cd\"ef\"gh", 8); /* the second quoted part is the broken one */
    EXPECT_ERROR("w \"a\\", 2, "w");   /* a backslash at the end inside quotes */

    /* A NULL error_offset is allowed. */
    char text[] = "x y=\"";
    struct seen_options seen;
    seen.count = 0;
    seen.base = text;
    seen.len = 5;
    assert_int_equal(cmdline_parse(text, 5, record_option, &seen, NULL), -1);
    assert_int_equal(seen.count, 1);
}

static void test_cmdline_unterminated_single_quote(void **state)
{
    (void)state;
    EXPECT_ERROR("it's fine", 2);
    EXPECT_ERROR("a 'b\\'c'd", 7, "a"); /* 'b\' is complete, so the last quote is open */
    EXPECT_ERROR("one k='v\"", 6, "one");
    EXPECT_ERROR("'", 0);
}

static void test_cmdline_trailing_backslash(void **state)
{
    (void)state;
    EXPECT_OPTIONS("a\\", "a\\");
    EXPECT_OPTIONS("\\", "\\");
    EXPECT_OPTIONS("x=\\", "x=<\\>");
    EXPECT_OPTIONS("a \\", "a", "\\");
    EXPECT_OPTIONS("a\\\\", "a\\"); /* an escaped backslash, not a trailing one */
    EXPECT_OPTIONS("a\\ ", "a ");   /* the escaped blank belongs to the word */
    EXPECT_OPTIONS("'x'\\", "x\\");
}

static void test_cmdline_many_options(void **state)
{
    (void)state;
    enum { COUNT = 200 };
    char *text = malloc(COUNT * 32);
    assert_non_null(text);
    size_t len = 0;
    for (int i = 0; i < COUNT; i++) {
        int written = i % 3 == 0 ? snprintf(text + len, 32, "\"opt%d=v %d\" ", i, i * i)
                                 : snprintf(text + len, 32, "opt%d=%d\t", i, i * i);
        len += (size_t)written;
    }
    struct seen_options *seen = malloc(sizeof(*seen));
    assert_non_null(seen);
    assert_int_equal(parse_recording(text, len, seen, NULL), 0);
    assert_int_equal(seen->count, COUNT);
    assert_string_equal(seen->rendered[0], "opt0=<v 0>");
    assert_string_equal(seen->rendered[1], "opt1=<1>");
    assert_string_equal(seen->rendered[198], "opt198=<v 39204>");
    assert_string_equal(seen->rendered[199], "opt199=<39601>");
    free(seen);
    free(text);
}

/* ---- randomized tests --------------------------------------------------------------------------
 */

static uint64_t rng_state;

static uint32_t rng_next(void)
{
    return (uint32_t)(random_next(&rng_state) >> 32); /* lib/random.h: fixed seeds replay */
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

#define MAX_WORDS 8
#define MAX_WORD_LEN 12

struct word_list {
    char words[MAX_WORDS][MAX_WORD_LEN + 1];
    size_t lens[MAX_WORDS];
    size_t count;
    const char *base;
    size_t len;
};

/* Rebuilds each visited word as key[=value]. */
static void collect_word(void *ctx, const struct cmdline_option *option)
{
    struct word_list *list = ctx;
    check_option_invariants(option, list->base, list->len);
    assert_true(list->count < MAX_WORDS);
    size_t len = option->key_len + (option->has_value ? 1 + option->value_len : 0);
    assert_true(len <= MAX_WORD_LEN);
    char *out = list->words[list->count];
    memcpy(out, option->key, option->key_len);
    if (option->has_value) {
        out[option->key_len] = '=';
        memcpy(out + option->key_len + 1, option->value, option->value_len);
    }
    list->lens[list->count++] = len;
}

/* Appends word the way GRUB 2.06 does: "..." around a word with blanks, \ before " ' and \. */
static size_t grub_encode(char *out, const char *word, size_t len, bool force_quotes)
{
    bool quote = force_quotes;
    for (size_t i = 0; i < len; i++) {
        quote = quote || is_blank(word[i]);
    }
    size_t n = 0;
    if (quote) {
        out[n++] = '"';
    }
    for (size_t i = 0; i < len; i++) {
        if (word[i] == '"' || word[i] == '\'' || word[i] == '\\') {
            out[n++] = '\\';
        }
        out[n++] = word[i];
    }
    if (quote) {
        out[n++] = '"';
    }
    return n;
}

static void test_cmdline_random_grub_round_trip(void **state)
{
    (void)state;
    static const char alphabet[] = "ab=\"'\\ \t\r\n$#;-";
    rng_state = 0x5eedf00dcafe1234ull;
    struct word_list original;
    struct word_list decoded;
    for (int iteration = 0; iteration < 100000; iteration++) {
        original.count = 1 + rng_next() % MAX_WORDS;
        for (size_t w = 0; w < original.count; w++) {
            original.lens[w] = 1 + rng_next() % MAX_WORD_LEN; /* GRUB drops empty words */
            for (size_t i = 0; i < original.lens[w]; i++) {
                uint32_t pick = rng_next();
                char c = pick % 8 == 0 ? (char)(1 + (pick >> 8) % 255) /* any byte but NUL */
                                       : alphabet[(pick >> 8) % (sizeof(alphabet) - 1)];
                original.words[w][i] = c;
            }
        }
        /* Worst case per word: 2 quotes + 2 bytes per byte + 2 separators. */
        char scratch[MAX_WORDS * (2 * MAX_WORD_LEN + 4) + 2];
        size_t len = 0;
        if (rng_next() % 8 == 0) {
            scratch[len++] = '\t'; /* leading blanks are ignored */
        }
        for (size_t w = 0; w < original.count; w++) {
            if (w > 0) {
                scratch[len++] = ' ';
                if (rng_next() % 8 == 0) {
                    scratch[len++] = '\n';
                }
            }
            len += grub_encode(scratch + len, original.words[w], original.lens[w],
                               rng_next() % 8 == 0);
        }
        char *text = malloc(len);
        assert_non_null(text);
        memcpy(text, scratch, len);
        decoded.count = 0;
        decoded.base = text;
        decoded.len = len;
        assert_int_equal(cmdline_parse(text, len, collect_word, &decoded, NULL), 0);
        assert_int_equal(decoded.count, original.count);
        for (size_t w = 0; w < original.count; w++) {
            assert_int_equal(decoded.lens[w], original.lens[w]);
            assert_memory_equal(decoded.words[w], original.words[w], original.lens[w]);
        }
        free(text);
    }
}

/*
 * A reference decoder written differently (a byte-at-a-time state machine writing to a separate
 * buffer); the results of cmdline_parse on random texts must match it exactly.
 */
struct reference_result {
    int result;
    size_t error_offset;
    char words[64][64];
    size_t lens[64];
    size_t count;
};

static void reference_parse(const char *text, size_t len, struct reference_result *out)
{
    enum { BLANK, WORD, ESCAPE, DOUBLE, DOUBLE_ESCAPE, SINGLE } st = BLANK;
    size_t open = 0;
    out->count = 0;
    out->result = 0;
    size_t i = 0;
    for (; i < len && text[i] != '\0'; i++) {
        char c = text[i];
        if (st == BLANK) {
            if (is_blank(c)) {
                continue;
            }
            out->lens[out->count++] = 0;
            st = WORD;
        }
        char *word = out->words[out->count - 1];
        size_t *wlen = &out->lens[out->count - 1];
        switch (st) {
        case WORD:
            if (is_blank(c)) {
                st = BLANK;
            } else if (c == '"' || c == '\'') {
                open = i;
                st = c == '"' ? DOUBLE : SINGLE;
            } else if (c == '\\') {
                st = ESCAPE;
            } else {
                word[(*wlen)++] = c;
            }
            break;
        case ESCAPE:
            word[(*wlen)++] = c;
            st = WORD;
            break;
        case DOUBLE:
            if (c == '"') {
                st = WORD;
            } else if (c == '\\') {
                st = DOUBLE_ESCAPE;
            } else {
                word[(*wlen)++] = c;
            }
            break;
        case DOUBLE_ESCAPE:
            word[(*wlen)++] = c;
            st = DOUBLE;
            break;
        case SINGLE:
            if (c == '\'') {
                st = WORD;
            } else {
                word[(*wlen)++] = c;
            }
            break;
        case BLANK:
            break;
        }
    }
    if (st == ESCAPE) {
        out->words[out->count - 1][out->lens[out->count - 1]++] = '\\';
    } else if (st == DOUBLE || st == DOUBLE_ESCAPE || st == SINGLE) {
        out->result = -1;
        out->error_offset = open;
        out->count--; /* the broken word is not visited */
    }
}

struct random_capture {
    char words[64][64];
    size_t lens[64];
    size_t count;
    const char *base;
    size_t len;
};

static void capture_random_word(void *ctx, const struct cmdline_option *option)
{
    struct random_capture *capture = ctx;
    check_option_invariants(option, capture->base, capture->len);
    assert_true(capture->count < 64);
    char *out = capture->words[capture->count];
    memcpy(out, option->key, option->key_len);
    size_t len = option->key_len;
    if (option->has_value) {
        out[len++] = '=';
        memcpy(out + len, option->value, option->value_len);
        len += option->value_len;
    }
    capture->lens[capture->count++] = len;
}

static void test_cmdline_random_text_matches_reference(void **state)
{
    (void)state;
    static const char alphabet[] = "a=\"'\\ \t\n";
    rng_state = 0x0123456789abcdefull;
    struct reference_result expected;
    struct random_capture actual;
    for (int iteration = 0; iteration < 50000; iteration++) {
        size_t len = rng_next() % 40;
        char original[40];
        for (size_t i = 0; i < len; i++) {
            uint32_t pick = rng_next();
            original[i] = pick % 64 == 0 ? '\0' : alphabet[(pick >> 8) % (sizeof(alphabet) - 1)];
        }
        reference_parse(original, len, &expected);
        char *text = malloc(len > 0 ? len : 1);
        assert_non_null(text);
        memcpy(text, original, len);
        actual.count = 0;
        actual.base = text;
        actual.len = len;
        size_t error_offset = 9999;
        int result = cmdline_parse(text, len, capture_random_word, &actual, &error_offset);
        assert_int_equal(result, expected.result);
        assert_int_equal(error_offset, result == 0 ? 9999 : expected.error_offset);
        assert_int_equal(actual.count, expected.count);
        for (size_t w = 0; w < expected.count; w++) {
            assert_int_equal(actual.lens[w], expected.lens[w]);
            assert_memory_equal(actual.words[w], expected.words[w], expected.lens[w]);
        }
        free(text);
    }
}

/* ---- run= command splitting ------------------------------------------------------------------ */

/* Splits text with cmdline_next_command and joins the commands with '|' for comparison. */
static void expect_commands(const char *text, const char *expected_joined)
{
    char joined[512] = "";
    size_t pos = 0;
    const char *cmd = NULL;
    size_t cmd_len = 0;
    size_t count = 0;
    while (cmdline_next_command(text, strlen(text), &pos, &cmd, &cmd_len)) {
        assert_true(cmd >= text && cmd + cmd_len <= text + strlen(text));
        assert_true(cmd_len > 0);
        char piece[128];
        snprintf(piece, sizeof(piece), "%s%.*s", count++ > 0 ? "|" : "", (int)cmd_len, cmd);
        strcat(joined, piece);
        assert_true(count < 64);
    }
    assert_string_equal(joined, expected_joined);
    /* Exhausted iterators stay exhausted. */
    assert_false(cmdline_next_command(text, strlen(text), &pos, &cmd, &cmd_len));
}

static void test_commands_split_and_trimmed(void **state)
{
    (void)state;
    expect_commands("echo hi; exit 3", "echo hi|exit 3");
    expect_commands("  mem  ;\tls -l\t;  uptime  ", "mem|ls -l|uptime");
    expect_commands("single", "single");
}

static void test_commands_skip_empty_pieces(void **state)
{
    (void)state;
    expect_commands("", "");
    expect_commands(";", "");
    expect_commands(" ; ;\t;  ", "");
    expect_commands(";;a;;b;", "a|b");
    expect_commands("a;", "a");
}

static void test_commands_respect_length(void **state)
{
    (void)state;
    const char *text = "one;two;three";
    size_t pos = 0;
    const char *cmd;
    size_t cmd_len;
    assert_true(cmdline_next_command(text, 6, &pos, &cmd, &cmd_len));
    assert_int_equal(cmd_len, 3);
    assert_true(cmdline_next_command(text, 6, &pos, &cmd, &cmd_len));
    assert_int_equal(cmd_len, 2); /* "tw" */
    assert_memory_equal(cmd, "tw", 2);
    assert_false(cmdline_next_command(text, 6, &pos, &cmd, &cmd_len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmdline_grub_requoted_example),
        cmocka_unit_test(test_cmdline_user_typed_example),
        cmocka_unit_test(test_cmdline_decodes_in_place_at_word_start),
        cmocka_unit_test(test_cmdline_empty_and_blank_text),
        cmocka_unit_test(test_cmdline_blank_kinds_and_runs),
        cmocka_unit_test(test_cmdline_single_quotes),
        cmocka_unit_test(test_cmdline_escapes_outside_and_inside_quotes),
        cmocka_unit_test(test_cmdline_quoted_and_unquoted_parts_join),
        cmocka_unit_test(test_cmdline_empty_values_and_keys),
        cmocka_unit_test(test_cmdline_value_may_contain_equals),
        cmocka_unit_test(test_cmdline_stops_at_length_or_nul),
        cmocka_unit_test(test_cmdline_unterminated_double_quote),
        cmocka_unit_test(test_cmdline_unterminated_single_quote),
        cmocka_unit_test(test_cmdline_trailing_backslash),
        cmocka_unit_test(test_cmdline_many_options),
        cmocka_unit_test(test_cmdline_random_grub_round_trip),
        cmocka_unit_test(test_cmdline_random_text_matches_reference),
        cmocka_unit_test(test_commands_split_and_trimmed),
        cmocka_unit_test(test_commands_skip_empty_pieces),
        cmocka_unit_test(test_commands_respect_length),
    };
    return RUN_AND_REPORT(tests);
}
