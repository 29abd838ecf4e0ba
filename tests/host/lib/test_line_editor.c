/*
 * tests/host/lib/test_line_editor.c - the shell's line editor, driven byte by byte.
 *
 * Each test feeds a byte sequence and checks the events, the finished line and the exact echo.
 * The garbage tests rely on ASan: any write outside the editor's buffers aborts the program.
 */
#define _POSIX_C_SOURCE 200809L /* for the host's strnlen */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/line_editor.h"
#include "lib/random.h"
#include "tests/host/lib/test_report.h"

#define UP "\x1b[A"
#define DOWN "\x1b[B"
#define UP_SS3 "\x1bOA"
#define DOWN_SS3 "\x1bOB"
#define ERASE1 "\b \b"

/* Everything the editor echoed since the last reset. Invariant: text[len] == '\0'. */
struct echo_log {
    char text[1 << 16];
    size_t len;
};

static void record_echo(void *ctx, const char *text, size_t len)
{
    struct echo_log *log = ctx;
    assert_true(len > 0);
    assert_true(log->len + len < sizeof(log->text)); /* a test echoing this much is broken */
    memcpy(log->text + log->len, text, len);
    log->len += len;
    log->text[log->len] = '\0';
}

static void discard_echo(void *ctx, const char *text, size_t len)
{
    (void)text;
    *(size_t *)ctx += len;
}

/* Static: the editor and the log are too big to be comfortable on the stack. */
static struct line_editor editor;
static struct echo_log echo;

static int setup_editor(void **state)
{
    (void)state;
    echo.len = 0;
    echo.text[0] = '\0';
    line_editor_init(&editor, record_echo, &echo);
    return 0;
}

static void clear_echo(void)
{
    echo.len = 0;
    echo.text[0] = '\0';
}

/* Feeds len bytes and returns the event of the last one. */
static enum line_editor_event feed_bytes(const char *bytes, size_t len)
{
    enum line_editor_event event = LINE_EDITOR_CONTINUE;
    for (size_t i = 0; i < len; i++) {
        event = line_editor_feed(&editor, (unsigned char)bytes[i]);
    }
    return event;
}

static enum line_editor_event feed(const char *text)
{
    return feed_bytes(text, strlen(text));
}

/* Types a whole line plus Enter and checks that it came back unchanged. */
static void enter_line(const char *text)
{
    feed(text);
    assert_int_equal(feed("\r"), LINE_EDITOR_LINE_READY);
    assert_string_equal(line_editor_line(&editor), text);
}

/* The invariants documented in lib/line_editor.h. */
static void check_invariants(const struct line_editor *ed)
{
    assert_true(ed->length < LINE_EDITOR_MAX_LINE);
    assert_int_equal(ed->line[ed->length], '\0');
    assert_int_equal(strlen(line_editor_line(ed)), ed->length);
    for (size_t i = 0; i < ed->length; i++) {
        assert_true(ed->line[i] >= 0x20 && ed->line[i] <= 0x7e);
    }
    assert_true(ed->escape_length <= LINE_EDITOR_MAX_ESCAPE);
    assert_int_equal(ed->escape_length == 0, ed->escape_state == LINE_EDITOR_ESCAPE_NONE);
    assert_true(ed->history_count <= LINE_EDITOR_HISTORY);
    assert_true(ed->history_next < LINE_EDITOR_HISTORY);
    assert_true(ed->browse_depth <= ed->history_count);
    for (size_t k = 1; k <= ed->history_count; k++) {
        size_t slot = (ed->history_next + LINE_EDITOR_HISTORY - k) % LINE_EDITOR_HISTORY;
        size_t entry_len = strnlen(ed->history[slot], LINE_EDITOR_MAX_LINE);
        assert_true(entry_len > 0 && entry_len < LINE_EDITOR_MAX_LINE);
    }
}

/* ---- basic editing --------------------------------------------------------------------------- */

static void test_typed_line_is_returned_and_echoed(void **state)
{
    (void)state;
    const char *text = "hello world";
    for (size_t i = 0; i < strlen(text); i++) {
        assert_int_equal(line_editor_feed(&editor, (unsigned char)text[i]), LINE_EDITOR_CONTINUE);
    }
    assert_string_equal(line_editor_line(&editor), "hello world"); /* the partial line */
    assert_int_equal(feed("\r"), LINE_EDITOR_LINE_READY);
    assert_string_equal(line_editor_line(&editor), "hello world");
    assert_string_equal(echo.text, "hello world\r\n");
}

static void test_crlf_counts_as_one_enter(void **state)
{
    (void)state;
    assert_int_equal(feed("ab\r"), LINE_EDITOR_LINE_READY);
    assert_int_equal(feed("\n"), LINE_EDITOR_CONTINUE);   /* the second half of "\r\n" */
    assert_int_equal(feed("\n"), LINE_EDITOR_LINE_READY); /* a lone '\n' is an Enter */
    assert_string_equal(line_editor_line(&editor), "");
    assert_int_equal(feed("\r"), LINE_EDITOR_LINE_READY);
    assert_int_equal(feed("\r"), LINE_EDITOR_LINE_READY); /* "\r\r" is two Enters */
    assert_int_equal(feed("cd\n"), LINE_EDITOR_LINE_READY);
    assert_string_equal(line_editor_line(&editor), "cd");
    assert_int_equal(feed("\r"), LINE_EDITOR_LINE_READY); /* "\n\r" is two Enters too */
    assert_string_equal(echo.text, "ab\r\n\r\n\r\n\r\ncd\r\n\r\n");
}

static void test_finished_line_lasts_until_next_feed(void **state)
{
    (void)state;
    enter_line("first");
    assert_string_equal(line_editor_line(&editor), "first");
    assert_int_equal(feed("x"), LINE_EDITOR_CONTINUE);
    assert_string_equal(line_editor_line(&editor), "x");
}

static void test_backspace_and_delete_remove_last_char(void **state)
{
    (void)state;
    feed("abc\b");
    assert_string_equal(line_editor_line(&editor), "ab");
    feed("\x7f");
    assert_string_equal(line_editor_line(&editor), "a");
    feed("\b\b\x7f"); /* extra presses on an empty line echo nothing */
    assert_string_equal(line_editor_line(&editor), "");
    assert_string_equal(echo.text, "abc" ERASE1 ERASE1 ERASE1);
    enter_line("z");
}

static void test_ctrl_u_erases_the_whole_line(void **state)
{
    (void)state;
    feed("abcd\x15");
    assert_string_equal(line_editor_line(&editor), "");
    assert_string_equal(echo.text, "abcd" ERASE1 ERASE1 ERASE1 ERASE1);

    /* A long line needs many erase steps; they must all arrive. */
    char long_line[201];
    memset(long_line, 'q', 200);
    long_line[200] = '\0';
    clear_echo();
    feed(long_line);
    feed("\x15");
    assert_int_equal(echo.len, 200 + 200 * 3);
    for (size_t i = 0; i < 200; i++) {
        assert_memory_equal(echo.text + 200 + i * 3, ERASE1, 3);
    }
    clear_echo();
    feed("\x15"); /* on an empty line: nothing to erase */
    assert_int_equal(echo.len, 0);
    enter_line("after");
}

static void test_ctrl_c_cancels_the_line(void **state)
{
    (void)state;
    feed("abc");
    assert_int_equal(feed("\x03"), LINE_EDITOR_CANCELLED);
    assert_string_equal(line_editor_line(&editor), "");
    assert_string_equal(echo.text, "abc^C\r\n");
    assert_int_equal(editor.history_count, 0); /* cancelled lines are not remembered */
    enter_line("next");
}

static void test_full_line_drops_bytes_with_a_bell(void **state)
{
    (void)state;
    char too_long[301];
    memset(too_long, 'a', 300);
    too_long[300] = '\0';
    feed(too_long);
    size_t capacity = LINE_EDITOR_MAX_LINE - 1;
    assert_int_equal(strlen(line_editor_line(&editor)), capacity);
    assert_int_equal(echo.len, 300);
    for (size_t i = capacity; i < 300; i++) {
        assert_int_equal(echo.text[i], '\a'); /* one bell per dropped byte */
    }
    feed("\b");
    feed("Z"); /* room again after a backspace */
    assert_int_equal(feed("\r"), LINE_EDITOR_LINE_READY);
    assert_int_equal(strlen(line_editor_line(&editor)), capacity);
    assert_int_equal(line_editor_line(&editor)[capacity - 1], 'Z');
}

static void test_control_and_high_bytes_are_ignored(void **state)
{
    (void)state;
    feed("a");
    clear_echo();
    for (unsigned byte = 0; byte < 256; byte++) {
        bool handled = byte == '\r' || byte == '\n' || byte == 0x08 || byte == 0x7f ||
                       byte == 0x15 || byte == 0x03 || byte == 0x1b ||
                       (byte >= 0x20 && byte <= 0x7e);
        if (!handled) {
            assert_int_equal(line_editor_feed(&editor, (unsigned char)byte), LINE_EDITOR_CONTINUE);
        }
    }
    assert_int_equal(echo.len, 0);
    assert_string_equal(line_editor_line(&editor), "a");
    assert_int_equal(feed("b\r"), LINE_EDITOR_LINE_READY);
    assert_string_equal(line_editor_line(&editor), "ab");
}

static void test_null_echo_is_allowed(void **state)
{
    (void)state;
    line_editor_init(&editor, NULL, NULL);
    feed("abc\b" UP "\x15xyz\x03");
    enter_line("quiet");
    feed(UP);
    assert_string_equal(line_editor_line(&editor), "quiet");
}

/* ---- history --------------------------------------------------------------------------------- */

static void test_history_up_and_down(void **state)
{
    (void)state;
    enter_line("one");
    enter_line("two");
    enter_line("three");
    clear_echo();

    feed(UP);
    assert_string_equal(line_editor_line(&editor), "three");
    assert_string_equal(echo.text, "three");
    clear_echo();
    feed(UP);
    assert_string_equal(line_editor_line(&editor), "two");
    assert_string_equal(echo.text, ERASE1 ERASE1 ERASE1 ERASE1 ERASE1 "two");
    feed(UP);
    assert_string_equal(line_editor_line(&editor), "one");
    clear_echo();
    feed(UP); /* already at the oldest: nothing happens */
    assert_string_equal(line_editor_line(&editor), "one");
    assert_int_equal(echo.len, 0);

    feed(DOWN);
    assert_string_equal(line_editor_line(&editor), "two");
    feed(DOWN);
    assert_string_equal(line_editor_line(&editor), "three");
    clear_echo();
    feed(DOWN); /* past the newest: back to an empty line */
    assert_string_equal(line_editor_line(&editor), "");
    assert_string_equal(echo.text, ERASE1 ERASE1 ERASE1 ERASE1 ERASE1);
    clear_echo();
    feed(DOWN);
    assert_int_equal(echo.len, 0);

    feed(UP UP);
    assert_int_equal(feed("\r"), LINE_EDITOR_LINE_READY);
    assert_string_equal(line_editor_line(&editor), "two");
}

static void test_history_arrows_in_ss3_form(void **state)
{
    (void)state;
    enter_line("alpha");
    enter_line("beta");
    feed(UP_SS3 UP_SS3);
    assert_string_equal(line_editor_line(&editor), "alpha");
    feed(DOWN_SS3);
    assert_string_equal(line_editor_line(&editor), "beta");
    feed(DOWN_SS3);
    assert_string_equal(line_editor_line(&editor), "");
}

static void test_history_skips_empty_and_repeated_lines(void **state)
{
    (void)state;
    enter_line("ls");
    enter_line("ls");
    enter_line("");
    enter_line("mem");
    enter_line("ls");
    assert_int_equal(editor.history_count, 3); /* ls, mem, ls */
    feed(UP UP UP UP);
    assert_string_equal(line_editor_line(&editor), "ls");
    feed(DOWN);
    assert_string_equal(line_editor_line(&editor), "mem");
}

static void test_history_keeps_the_newest_entries(void **state)
{
    (void)state;
    char text[32];
    for (int i = 0; i < 20; i++) {
        snprintf(text, sizeof(text), "command %d", i);
        enter_line(text);
    }
    assert_int_equal(editor.history_count, LINE_EDITOR_HISTORY);
    for (int i = 0; i < LINE_EDITOR_HISTORY + 3; i++) {
        feed(UP);
    }
    snprintf(text, sizeof(text), "command %d", 20 - LINE_EDITOR_HISTORY);
    assert_string_equal(line_editor_line(&editor), text); /* the oldest survivor */
    check_invariants(&editor);
}

static void test_editing_a_recalled_entry_leaves_history_alone(void **state)
{
    (void)state;
    enter_line("echo hi");
    feed(UP "\b\bbye");
    assert_int_equal(feed("\r"), LINE_EDITOR_LINE_READY);
    assert_string_equal(line_editor_line(&editor), "echo bye");
    feed(UP UP);
    assert_string_equal(line_editor_line(&editor), "echo hi");
}

static void test_up_with_empty_history_does_nothing(void **state)
{
    (void)state;
    feed("abc" UP DOWN);
    assert_string_equal(line_editor_line(&editor), "abc");
    assert_string_equal(echo.text, "abc");
}

static void test_ctrl_c_while_browsing_returns_to_a_fresh_line(void **state)
{
    (void)state;
    enter_line("one");
    enter_line("two");
    feed(UP UP);
    assert_int_equal(feed("\x03"), LINE_EDITOR_CANCELLED);
    feed(UP);
    assert_string_equal(line_editor_line(&editor), "two"); /* browsing starts over */
}

/* ---- escape sequences ------------------------------------------------------------------------ */

static void test_other_escape_sequences_are_swallowed(void **state)
{
    (void)state;
    enter_line("history entry");
    clear_echo();
    /* Ctrl-Right, Delete, Right, Ctrl-Up (parameters: not a plain Up), F1, Alt-x. */
    feed("a\x1b[1;5C\x1b[3~\x1b[C\x1b[1;5A\x1bOP\x1bx"
         "b");
    assert_string_equal(line_editor_line(&editor), "ab");
    assert_string_equal(echo.text, "ab");
    check_invariants(&editor);
}

static void test_escape_is_abandoned_by_a_control_byte(void **state)
{
    (void)state;
    assert_int_equal(feed("a\x1b[1\r"), LINE_EDITOR_LINE_READY); /* the Enter still counts */
    assert_string_equal(line_editor_line(&editor), "a");
    feed("b\x1b\x1b[A");                                 /* a second ESC restarts the sequence */
    assert_string_equal(line_editor_line(&editor), "a"); /* Up recalled "a" */
    feed("\x1b");
    feed("\x7f"); /* DEL ends the sequence and is a backspace */
    assert_string_equal(line_editor_line(&editor), "");
}

static void test_overlong_escape_is_abandoned(void **state)
{
    (void)state;
    enter_line("recall me");
    /* ESC [ plus 14 parameter bytes is 16 bytes: still a sequence. */
    feed("\x1b[11111111111111");
    assert_string_equal(line_editor_line(&editor), "");
    assert_int_equal(editor.escape_length, LINE_EDITOR_MAX_ESCAPE);
    /* The 17th byte ends it and is then ordinary input. */
    feed("2x");
    assert_string_equal(line_editor_line(&editor), "2x");
    assert_int_equal(editor.escape_state, LINE_EDITOR_ESCAPE_NONE);
    feed(UP); /* and the parser is fully usable again */
    assert_string_equal(line_editor_line(&editor), "recall me");
}

/* ---- garbage --------------------------------------------------------------------------------- */

/* Recovers from whatever state garbage left behind and proves the editor still works. */
static void check_still_works(void)
{
    line_editor_feed(&editor, 0x15); /* ends any escape sequence and empties the line */
    line_editor_feed(&editor, 0x15);
    clear_echo();
    assert_int_equal(feed("echo ok\r"), LINE_EDITOR_LINE_READY);
    assert_string_equal(line_editor_line(&editor), "echo ok");
    feed(UP);
    assert_string_equal(line_editor_line(&editor), "echo ok");
    feed("\x15");
}

static void test_every_byte_value_is_survivable(void **state)
{
    (void)state;
    size_t echoed = 0;
    line_editor_init(&editor, discard_echo, &echoed);
    for (int round = 0; round < 8; round++) {
        for (unsigned byte = 0; byte < 256; byte++) {
            unsigned value = round % 2 == 0 ? byte : 255 - byte;
            enum line_editor_event event = line_editor_feed(&editor, (unsigned char)value);
            assert_true(event == LINE_EDITOR_CONTINUE || event == LINE_EDITOR_LINE_READY ||
                        event == LINE_EDITOR_CANCELLED);
            check_invariants(&editor);
        }
    }
    line_editor_init(&editor, record_echo, &echo);
    check_still_works();
}

static void test_random_garbage_never_corrupts(void **state)
{
    (void)state;
    /* Bytes the editor reacts to, weighted in so the random stream reaches deep states. */
    static const char interesting[] = "\x1b[O;1AB~\r\n\b\x7f\x15\x03 a";
    size_t echoed = 0;
    line_editor_init(&editor, discard_echo, &echoed);
    uint64_t seed = 0x5eed1234abcdULL;
    size_t lines_ready = 0;
    for (int i = 0; i < 100000; i++) {
        uint64_t r = random_next(&seed);
        unsigned char byte = (r & 3) == 0
                                 ? (unsigned char)interesting[(r >> 8) % (sizeof(interesting) - 1)]
                                 : (unsigned char)(r >> 16);
        if (line_editor_feed(&editor, byte) == LINE_EDITOR_LINE_READY) {
            lines_ready++;
        }
        check_invariants(&editor);
    }
    assert_true(lines_ready > 0);
    assert_true(editor.history_count > 0);
    /* Keep the garbage history: the editor must work on top of it. */
    editor.echo = record_echo;
    editor.echo_ctx = &echo;
    check_still_works();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_typed_line_is_returned_and_echoed, setup_editor),
        cmocka_unit_test_setup(test_crlf_counts_as_one_enter, setup_editor),
        cmocka_unit_test_setup(test_finished_line_lasts_until_next_feed, setup_editor),
        cmocka_unit_test_setup(test_backspace_and_delete_remove_last_char, setup_editor),
        cmocka_unit_test_setup(test_ctrl_u_erases_the_whole_line, setup_editor),
        cmocka_unit_test_setup(test_ctrl_c_cancels_the_line, setup_editor),
        cmocka_unit_test_setup(test_full_line_drops_bytes_with_a_bell, setup_editor),
        cmocka_unit_test_setup(test_control_and_high_bytes_are_ignored, setup_editor),
        cmocka_unit_test_setup(test_null_echo_is_allowed, setup_editor),
        cmocka_unit_test_setup(test_history_up_and_down, setup_editor),
        cmocka_unit_test_setup(test_history_arrows_in_ss3_form, setup_editor),
        cmocka_unit_test_setup(test_history_skips_empty_and_repeated_lines, setup_editor),
        cmocka_unit_test_setup(test_history_keeps_the_newest_entries, setup_editor),
        cmocka_unit_test_setup(test_editing_a_recalled_entry_leaves_history_alone, setup_editor),
        cmocka_unit_test_setup(test_up_with_empty_history_does_nothing, setup_editor),
        cmocka_unit_test_setup(test_ctrl_c_while_browsing_returns_to_a_fresh_line, setup_editor),
        cmocka_unit_test_setup(test_other_escape_sequences_are_swallowed, setup_editor),
        cmocka_unit_test_setup(test_escape_is_abandoned_by_a_control_byte, setup_editor),
        cmocka_unit_test_setup(test_overlong_escape_is_abandoned, setup_editor),
        cmocka_unit_test_setup(test_every_byte_value_is_survivable, setup_editor),
        cmocka_unit_test_setup(test_random_garbage_never_corrupts, setup_editor),
    };
    return RUN_AND_REPORT(tests);
}
