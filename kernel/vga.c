/*
 * vga.c: text-mode screen. Each cell is 16 bits: the character in the low
 * byte, the colour attribute (background << 4 | foreground) in the high byte.
 * The buffer is reached through the direct map, like any physical address.
 */
#include "kernel/vga.h"

#include "kernel/cpu.h"
#include "kernel/memlayout.h"
#include "kernel/text_screen.h"
#include "lib/boot_only.h"

#define CRTC_INDEX 0x3D4
#define CRTC_DATA 0x3D5
#define CRTC_CURSOR_HIGH 0x0E
#define CRTC_CURSOR_LOW 0x0F

static volatile uint16_t *screen;
static uint8_t attribute = VGA_LIGHT_GREY;
static struct text_screen cursor; /* defined below, with the functions it calls */

static void move_hardware_cursor(void)
{
    unsigned position = cursor.row * VGA_COLUMNS + cursor.column;
    outb(CRTC_INDEX, CRTC_CURSOR_HIGH);
    outb(CRTC_DATA, (uint8_t)(position >> 8));
    outb(CRTC_INDEX, CRTC_CURSOR_LOW);
    outb(CRTC_DATA, (uint8_t)position);
}

static void clear_row(unsigned row)
{
    for (unsigned column = 0; column < VGA_COLUMNS; column++)
        screen[row * VGA_COLUMNS + column] = (uint16_t)(' ' | attribute << 8);
}

BOOT_ONLY void vga_init(void)
{
    screen = phys_to_virt(VGA_TEXT_PHYS);
    for (unsigned row = 0; row < VGA_ROWS; row++)
        clear_row(row);
    cursor.row = cursor.column = 0;
    move_hardware_cursor();
}

void vga_set_color(enum vga_color foreground, enum vga_color background)
{
    attribute = (uint8_t)(background << 4 | foreground);
}

static void draw_cell(unsigned column, unsigned row, unsigned char c)
{
    screen[row * VGA_COLUMNS + column] = (uint16_t)(c | attribute << 8);
}

static void scroll_up_one_row(void)
{
    for (unsigned i = 0; i < (VGA_ROWS - 1) * VGA_COLUMNS; i++)
        screen[i] = screen[i + VGA_COLUMNS];
    clear_row(VGA_ROWS - 1);
}

static struct text_screen cursor = {VGA_COLUMNS, VGA_ROWS, 0, 0, draw_cell, scroll_up_one_row};

void vga_write(const char *text, size_t len)
{
    if (!screen)
        return;
    for (size_t i = 0; i < len; i++)
        text_screen_put(&cursor, text[i]);
    move_hardware_cursor();
}

uint16_t vga_cell(unsigned row, unsigned column)
{
    if (!screen || row >= VGA_ROWS || column >= VGA_COLUMNS)
        return 0;
    return screen[row * VGA_COLUMNS + column];
}

unsigned vga_cursor_row(void)
{
    return cursor.row;
}
