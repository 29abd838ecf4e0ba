/*
 * text_screen.h: what a screen of character cells does with the console's
 * bytes, once for the VGA text mirror (vga.c) and the framebuffer console
 * (fbcon.c): newline, carriage return, backspace, tab stops every 8 columns,
 * a bell that does nothing, '?' for other control bytes, wrapping at the last
 * column and scrolling at the last row. Each screen supplies how to draw a
 * cell and how to scroll.
 */
#ifndef KERNEL_TEXT_SCREEN_H
#define KERNEL_TEXT_SCREEN_H

struct text_screen {
    unsigned columns, rows;
    unsigned column, row; /* the cursor */
    void (*draw)(unsigned column, unsigned row, unsigned char c);
    void (*scroll_up)(void); /* every row up by one, the last one cleared */
};

void text_screen_put(struct text_screen *screen, char c);

#endif
