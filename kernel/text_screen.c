/* text_screen.c: see text_screen.h. */
#include "kernel/text_screen.h"

#define TAB_WIDTH 8

static void new_line(struct text_screen *screen)
{
    screen->column = 0;
    if (screen->row + 1 < screen->rows)
        screen->row++;
    else
        screen->scroll_up();
}

void text_screen_put(struct text_screen *screen, char c)
{
    switch (c) {
    case '\n':
        new_line(screen);
        return;
    case '\r':
        screen->column = 0;
        return;
    case '\b':
        if (screen->column > 0)
            screen->column--;
        return;
    case '\t':
        do
            text_screen_put(screen, ' ');
        while (screen->column % TAB_WIDTH != 0);
        return;
    case '\a':
        return;
    default:
        break;
    }
    unsigned char printable = (unsigned char)c;
    screen->draw(screen->column, screen->row, printable < 0x20 ? '?' : printable);
    if (++screen->column == screen->columns)
        new_line(screen);
}
