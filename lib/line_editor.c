/*
 * lib/line_editor.c - see lib/line_editor.h for the keys and the invariants.
 */
#include "lib/line_editor.h"

#include "lib/string.h"

#define KEY_CTRL_C 0x03
#define KEY_BACKSPACE 0x08
#define KEY_CTRL_U 0x15
#define KEY_ESCAPE 0x1b
#define KEY_DELETE 0x7f

/* ---- echo ------------------------------------------------------------------------------------ */

static void echo_text(struct line_editor *ed, const char *text, size_t len)
{
    if (ed->echo != NULL && len > 0) {
        ed->echo(ed->echo_ctx, text, len);
    }
}

/* Erases count characters left of the cursor; "\b \b" steps back, blanks, steps back again. */
static void echo_erase(struct line_editor *ed, size_t count)
{
    static const char erase_run[] = "\b \b\b \b\b \b\b \b\b \b\b \b\b \b\b \b";
    const size_t run_chars = (sizeof(erase_run) - 1) / 3;
    while (count > 0) {
        size_t chunk = count < run_chars ? count : run_chars;
        echo_text(ed, erase_run, chunk * 3);
        count -= chunk;
    }
}

/* ---- line buffer ----------------------------------------------------------------------------- */

static void clear_line(struct line_editor *ed)
{
    ed->length = 0;
    ed->line[0] = '\0';
}

static void insert_char(struct line_editor *ed, char ch)
{
    if (ed->length + 1 >= LINE_EDITOR_MAX_LINE) {
        echo_text(ed, "\a", 1); /* full: drop the byte, but let the user hear it */
        return;
    }
    ed->line[ed->length++] = ch;
    ed->line[ed->length] = '\0';
    echo_text(ed, &ch, 1);
}

static void delete_last_char(struct line_editor *ed)
{
    if (ed->length == 0) {
        return;
    }
    ed->line[--ed->length] = '\0';
    echo_erase(ed, 1);
}

static void erase_whole_line(struct line_editor *ed)
{
    echo_erase(ed, ed->length);
    clear_line(ed);
}

/* ---- history --------------------------------------------------------------------------------- */

/* The k-th newest entry, 1 <= k <= history_count. */
static const char *history_entry(const struct line_editor *ed, size_t k)
{
    size_t slot = (ed->history_next + LINE_EDITOR_HISTORY - k) % LINE_EDITOR_HISTORY;
    return ed->history[slot];
}

static void remember_line(struct line_editor *ed)
{
    if (ed->length == 0) {
        return;
    }
    if (ed->history_count > 0 && strcmp(history_entry(ed, 1), ed->line) == 0) {
        return; /* repeating a command should not fill the history with copies */
    }
    memcpy(ed->history[ed->history_next], ed->line, ed->length + 1);
    ed->history_next = (ed->history_next + 1) % LINE_EDITOR_HISTORY;
    if (ed->history_count < LINE_EDITOR_HISTORY) {
        ed->history_count++; /* otherwise the oldest entry was just overwritten */
    }
}

/* Replaces the displayed line with a copy of the entry at depth (0 = a fresh empty line). */
static void show_history_depth(struct line_editor *ed, size_t depth)
{
    erase_whole_line(ed);
    ed->browse_depth = depth;
    if (depth == 0) {
        return;
    }
    const char *entry = history_entry(ed, depth);
    size_t entry_len = strlen(entry);
    memcpy(ed->line, entry, entry_len + 1);
    ed->length = entry_len;
    echo_text(ed, ed->line, ed->length);
}

static void browse_older(struct line_editor *ed)
{
    if (ed->browse_depth < ed->history_count) {
        show_history_depth(ed, ed->browse_depth + 1);
    }
}

static void browse_newer(struct line_editor *ed)
{
    if (ed->browse_depth > 0) {
        show_history_depth(ed, ed->browse_depth - 1);
    }
}

/* ---- escape sequences ------------------------------------------------------------------------ */

static void end_escape(struct line_editor *ed)
{
    ed->escape_state = LINE_EDITOR_ESCAPE_NONE;
    ed->escape_length = 0;
    ed->escape_has_parameters = false;
}

static void run_arrow_key(struct line_editor *ed, unsigned char final_byte)
{
    if (final_byte == 'A') {
        browse_older(ed);
    } else if (final_byte == 'B') {
        browse_newer(ed);
    }
    /* Other keys (Left, Right, Home, ...) are swallowed: cursor movement is not supported. */
}

/*
 * Offers byte to the pending escape sequence. Returns true if the sequence consumed it, false if
 * the byte ended (abandoned) the sequence and must be handled as ordinary input.
 */
static bool continue_escape(struct line_editor *ed, unsigned char byte)
{
    bool printable = byte >= 0x20 && byte <= 0x7e;
    if (!printable || ed->escape_length >= LINE_EDITOR_MAX_ESCAPE) {
        end_escape(ed);
        return false;
    }
    ed->escape_length++;
    switch (ed->escape_state) {
    case LINE_EDITOR_ESCAPE_ESC:
        if (byte == '[') {
            ed->escape_state = LINE_EDITOR_ESCAPE_CSI;
        } else if (byte == 'O') {
            ed->escape_state = LINE_EDITOR_ESCAPE_SS3;
        } else {
            end_escape(ed); /* ESC x, e.g. Alt+x: swallowed */
        }
        return true;
    case LINE_EDITOR_ESCAPE_CSI:
        if (byte < 0x40) {
            ed->escape_has_parameters = true; /* parameter 0x30-0x3f or intermediate 0x20-0x2f */
            return true;
        }
        if (!ed->escape_has_parameters) {
            run_arrow_key(ed, byte);
        }
        end_escape(ed);
        return true;
    case LINE_EDITOR_ESCAPE_SS3:
        run_arrow_key(ed, byte);
        end_escape(ed);
        return true;
    case LINE_EDITOR_ESCAPE_NONE:
    default:
        end_escape(ed);
        return false;
    }
}

/* ---- feeding --------------------------------------------------------------------------------- */

static enum line_editor_event finish_line(struct line_editor *ed)
{
    echo_text(ed, "\r\n", 2);
    remember_line(ed);
    ed->browse_depth = 0;
    ed->line_finished = true;
    return LINE_EDITOR_LINE_READY;
}

static enum line_editor_event cancel_line(struct line_editor *ed)
{
    echo_text(ed, "^C\r\n", 4);
    clear_line(ed);
    ed->browse_depth = 0;
    return LINE_EDITOR_CANCELLED;
}

void line_editor_init(struct line_editor *ed, format_sink_fn echo, void *echo_ctx)
{
    memset(ed, 0, sizeof(*ed)); /* empty line, empty history, no pending escape */
    ed->echo = echo;
    ed->echo_ctx = echo_ctx;
}

enum line_editor_event line_editor_feed(struct line_editor *ed, unsigned char byte)
{
    if (ed->line_finished) {
        ed->line_finished = false;
        clear_line(ed);
    }
    bool after_cr = ed->previous_was_cr;
    ed->previous_was_cr = false;
    if (ed->escape_state != LINE_EDITOR_ESCAPE_NONE && continue_escape(ed, byte)) {
        return LINE_EDITOR_CONTINUE;
    }

    switch (byte) {
    case '\r':
        ed->previous_was_cr = true;
        return finish_line(ed);
    case '\n':
        return after_cr ? LINE_EDITOR_CONTINUE : finish_line(ed);
    case KEY_BACKSPACE:
    case KEY_DELETE:
        delete_last_char(ed);
        return LINE_EDITOR_CONTINUE;
    case KEY_CTRL_U:
        erase_whole_line(ed);
        return LINE_EDITOR_CONTINUE;
    case KEY_CTRL_C:
        return cancel_line(ed);
    case KEY_ESCAPE:
        ed->escape_state = LINE_EDITOR_ESCAPE_ESC;
        ed->escape_length = 1;
        return LINE_EDITOR_CONTINUE;
    default:
        if (byte >= 0x20 && byte <= 0x7e) {
            insert_char(ed, (char)byte);
        }
        return LINE_EDITOR_CONTINUE; /* other control bytes and bytes >= 0x80 are ignored */
    }
}

const char *line_editor_line(const struct line_editor *ed)
{
    return ed->line;
}
