/* vga.h: the VGA text screen (80x25 at physical 0xB8000), a console mirror. */
#ifndef KERNEL_VGA_H
#define KERNEL_VGA_H

#include <stddef.h>
#include <stdint.h>

enum vga_color {
    VGA_BLACK = 0,
    VGA_BLUE = 1,
    VGA_GREEN = 2,
    VGA_CYAN = 3,
    VGA_RED = 4,
    VGA_MAGENTA = 5,
    VGA_BROWN = 6,
    VGA_LIGHT_GREY = 7,
    VGA_DARK_GREY = 8,
    VGA_LIGHT_BLUE = 9,
    VGA_LIGHT_GREEN = 10,
    VGA_LIGHT_CYAN = 11,
    VGA_LIGHT_RED = 12,
    VGA_PINK = 13,
    VGA_YELLOW = 14,
    VGA_WHITE = 15,
};

#define VGA_COLUMNS 80
#define VGA_ROWS 25

void vga_init(void);
void vga_set_color(enum vga_color foreground, enum vga_color background);
void vga_write(const char *text, size_t len);
uint16_t vga_cell(unsigned row, unsigned column); /* character | attribute << 8 */
unsigned vga_cursor_row(void);

#endif
