/*
 * lib/line_editor.h - the shell's line editing, as a pure state machine.
 *
 * The kernel feeds it one byte at a time (from the serial port or the keyboard) and it answers
 * with an event; everything it wants to show goes through the echo sink. It never touches
 * hardware, so it is unit-tested on the host.
 *
 * Keys understood:
 *   0x20..0x7e     appended to the line and echoed; when the line is full the byte is dropped
 *                  and a bell "\a" is echoed instead.
 *   '\r' or '\n'   Enter: echoes "\r\n", returns LINE_EDITOR_LINE_READY. A '\n' immediately
 *                  after a '\r' is ignored, so "\r\n" is a single Enter. Non-empty lines that
 *                  differ from the newest history entry are added to the history.
 *   0x08, 0x7f     Backspace: removes the last character, echoes "\b \b" (nothing when empty).
 *   0x15 (Ctrl-U)  erases the whole line, echoing "\b \b" per character.
 *   0x03 (Ctrl-C)  echoes "^C\r\n", discards the line, returns LINE_EDITOR_CANCELLED.
 *   ESC [ A, ESC O A   Up: show the previous (older) history entry, if any.
 *   ESC [ B, ESC O B   Down: show the next newer entry; past the newest, an empty line.
 * Every other escape sequence (ESC [ params final, ESC O x, ESC x) is swallowed whole. A byte
 * that cannot continue a sequence (a control byte, a byte >= 0x7f, or the 17th byte of an
 * over-long sequence) abandons it and is then handled as ordinary input. All remaining control
 * bytes and all bytes >= 0x80 are ignored.
 */
#ifndef FERRITE_LIB_LINE_EDITOR_H
#define FERRITE_LIB_LINE_EDITOR_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/format.h"

#define LINE_EDITOR_MAX_LINE 256  /* bytes, including the NUL */
#define LINE_EDITOR_HISTORY 16    /* remembered lines */
#define LINE_EDITOR_MAX_ESCAPE 16 /* bytes, including the ESC, before a sequence is abandoned */

enum line_editor_escape_state {
    LINE_EDITOR_ESCAPE_NONE, /* not inside an escape sequence */
    LINE_EDITOR_ESCAPE_ESC,  /* seen ESC */
    LINE_EDITOR_ESCAPE_CSI,  /* seen ESC [ */
    LINE_EDITOR_ESCAPE_SS3,  /* seen ESC O */
};

/* About 4.4 KiB, mostly history: give it static storage, not a spot on a small kernel stack. */
struct line_editor {
    format_sink_fn echo; /* NULL means "echo nothing" */
    void *echo_ctx;

    /* The line as displayed. Invariant: length < LINE_EDITOR_MAX_LINE, line[length] == '\0',
     * and line[0..length) holds only bytes 0x20..0x7e. */
    char line[LINE_EDITOR_MAX_LINE];
    size_t length;
    /* Set by Enter: line still holds the finished text, and is cleared by the next feed. */
    bool line_finished;
    /* The previous byte was '\r', so a '\n' now is the second half of "\r\n". */
    bool previous_was_cr;

    /* Invariant: escape_length == 0 exactly when escape_state == LINE_EDITOR_ESCAPE_NONE, and
     * escape_length <= LINE_EDITOR_MAX_ESCAPE. */
    enum line_editor_escape_state escape_state;
    size_t escape_length;       /* bytes of the pending sequence so far, including the ESC */
    bool escape_has_parameters; /* a CSI parameter/intermediate byte was seen: not a plain arrow */

    /* History ring. Invariants: history_count <= LINE_EDITOR_HISTORY; history_next <
     * LINE_EDITOR_HISTORY is the slot the next entry goes to; the k-th newest entry (k = 1 is the
     * newest, k <= history_count) is history[(history_next + LINE_EDITOR_HISTORY - k) %
     * LINE_EDITOR_HISTORY]; every entry is non-empty and NUL-terminated. */
    char history[LINE_EDITOR_HISTORY][LINE_EDITOR_MAX_LINE];
    size_t history_count;
    size_t history_next;
    /* 0 while editing a fresh line, k while showing (a copy of) the k-th newest entry.
     * Invariant: browse_depth <= history_count. */
    size_t browse_depth;
};

enum line_editor_event {
    LINE_EDITOR_CONTINUE,   /* keep feeding */
    LINE_EDITOR_LINE_READY, /* Enter was pressed; read the line with line_editor_line() */
    LINE_EDITOR_CANCELLED,  /* Ctrl-C; the line was discarded */
};

/* Starts with an empty line and an empty history. echo may be NULL. */
void line_editor_init(struct line_editor *ed, format_sink_fn echo, void *echo_ctx);

enum line_editor_event line_editor_feed(struct line_editor *ed, unsigned char byte);

/*
 * The NUL-terminated line. After LINE_EDITOR_LINE_READY this is the finished line, valid until
 * the next line_editor_feed(); at other times it is the partial line being edited.
 */
const char *line_editor_line(const struct line_editor *ed);

#endif /* FERRITE_LIB_LINE_EDITOR_H */
