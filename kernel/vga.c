/*
 * vga.c: text-mode screen. Each cell is 16 bits: the character in the low
 * byte, the colour attribute (background << 4 | foreground) in the high byte.
 * The buffer is reached through the direct map, like any physical address.
 */
#include "kernel/vga.h"

#include "kernel/cpu.h"
#include "kernel/memlayout.h"
#include "lib/boot_only.h"

#define CRTC_INDEX 0x3D4
#define CRTC_DATA 0x3D5
#define CRTC_CURSOR_HIGH 0x0E
#define CRTC_CURSOR_LOW 0x0F
#define TAB_WIDTH 8

static volatile uint16_t *screen;
static unsigned cursor_row, cursor_column;
static uint8_t attribute = VGA_LIGHT_GREY;

static void move_hardware_cursor(void)
{
    unsigned position = cursor_row * VGA_COLUMNS + cursor_column;
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
    cursor_row = cursor_column = 0;
    move_hardware_cursor();
}

void vga_set_color(enum vga_color foreground, enum vga_color background)
{
    attribute = (uint8_t)(background << 4 | foreground);
}

static void scroll_up_one_row(void)
{
    for (unsigned i = 0; i < (VGA_ROWS - 1) * VGA_COLUMNS; i++)
        screen[i] = screen[i + VGA_COLUMNS];
    clear_row(VGA_ROWS - 1);
    cursor_row = VGA_ROWS - 1;
}

static void new_line(void)
{
    cursor_column = 0;
    if (++cursor_row == VGA_ROWS)
        scroll_up_one_row();
}

static void put_char(char c)
{
    switch (c) {
    case '\n':
        new_line();
        return;
    case '\r':
        cursor_column = 0;
        return;
    case '\b':
        if (cursor_column > 0)
            cursor_column--;
        return;
    case '\t':
        do
            put_char(' ');
        while (cursor_column % TAB_WIDTH != 0);
        return;
    case '\a':
        return;
    default:
        break;
    }
    unsigned char printable = (unsigned char)c;
    if (printable < 0x20)
        printable = '?';
    screen[cursor_row * VGA_COLUMNS + cursor_column] = (uint16_t)(printable | attribute << 8);
    if (++cursor_column == VGA_COLUMNS)
        new_line();
}

void vga_write(const char *text, size_t len)
{
    if (!screen)
        return;
    for (size_t i = 0; i < len; i++)
        put_char(text[i]);
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
    return cursor_row;
}
