/*
 * keyboard.c: PS/2 scancode set 1 (what the controller hands over by default)
 * to the bytes a serial terminal would send, so the shell reads one stream:
 * letters as ASCII, Ctrl+letter as 1-26, the arrow keys as "ESC [ A" etc.
 */
#include "kernel/keyboard.h"

#include <stdbool.h>

#include "kernel/cpu.h"
#include "kernel/input.h"
#include "kernel/pic.h"
#include "kernel/trap.h"
#include "lib/boot_only.h"

#define KEYBOARD_DATA 0x60
#define KEYBOARD_STATUS 0x64
#define STATUS_OUTPUT_FULL 0x01
#define SCANCODE_RELEASED 0x80
#define SCANCODE_EXTENDED 0xE0
#define SC_LEFT_SHIFT 0x2A
#define SC_RIGHT_SHIFT 0x36
#define SC_CTRL 0x1D
#define SC_ARROW_UP 0x48
#define SC_ARROW_DOWN 0x50
#define SC_ARROW_LEFT 0x4B
#define SC_ARROW_RIGHT 0x4D

static const char unshifted[128] = {
    0,    27,  '1', '2', '3', '4', '5', '6', '7', '8', '9',  '0', '-', '=',  '\b',
    '\t', 'q', 'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p',  '[', ']', '\r', 0,
    'a',  's', 'd', 'f', 'g', 'h', 'j', 'k', 'l', ';', '\'', '`', 0,   '\\', 'z',
    'x',  'c', 'v', 'b', 'n', 'm', ',', '.', '/', 0,   '*',  0,   ' ',
};

static const char shifted[128] = {
    0,    27,  '!', '@', '#', '$', '%', '^', '&', '*', '(', ')', '_', '+',  '\b',
    '\t', 'Q', 'W', 'E', 'R', 'T', 'Y', 'U', 'I', 'O', 'P', '{', '}', '\r', 0,
    'A',  'S', 'D', 'F', 'G', 'H', 'J', 'K', 'L', ':', '"', '~', 0,   '|',  'Z',
    'X',  'C', 'V', 'B', 'N', 'M', '<', '>', '?', 0,   '*', 0,   ' ',
};

static bool shift_down, ctrl_down, extended_prefix;

static void push_escape_sequence(char final_byte)
{
    input_push_byte(27);
    input_push_byte('[');
    input_push_byte((uint8_t)final_byte);
}

static void handle_extended(uint8_t code, bool released)
{
    if (code == SC_CTRL) {
        ctrl_down = !released;
        return;
    }
    if (released)
        return;
    switch (code) {
    case SC_ARROW_UP:
        push_escape_sequence('A');
        break;
    case SC_ARROW_DOWN:
        push_escape_sequence('B');
        break;
    case SC_ARROW_RIGHT:
        push_escape_sequence('C');
        break;
    case SC_ARROW_LEFT:
        push_escape_sequence('D');
        break;
    default:
        break;
    }
}

static void handle_scancode(uint8_t scancode)
{
    if (scancode == SCANCODE_EXTENDED) {
        extended_prefix = true;
        return;
    }
    bool released = scancode & SCANCODE_RELEASED;
    uint8_t code = scancode & (uint8_t)~SCANCODE_RELEASED;
    if (extended_prefix) {
        extended_prefix = false;
        handle_extended(code, released);
        return;
    }
    if (code == SC_LEFT_SHIFT || code == SC_RIGHT_SHIFT) {
        shift_down = !released;
        return;
    }
    if (code == SC_CTRL) {
        ctrl_down = !released;
        return;
    }
    if (released)
        return;
    char c = (shift_down ? shifted : unshifted)[code];
    if (c == 0)
        return;
    if (ctrl_down && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
        c = (char)((c | 0x20) - 'a' + 1); /* Ctrl-A = 1 ... Ctrl-Z = 26 */
    input_push_byte((uint8_t)c);
}

static void keyboard_interrupt(void)
{
    if (inb(KEYBOARD_STATUS) & STATUS_OUTPUT_FULL)
        handle_scancode(inb(KEYBOARD_DATA));
}

BOOT_ONLY void keyboard_init(void)
{
    /* Throw away anything typed before we listened. */
    for (int i = 0; i < 16 && (inb(KEYBOARD_STATUS) & STATUS_OUTPUT_FULL); i++)
        (void)inb(KEYBOARD_DATA);
    trap_set_irq_handler(IRQ_KEYBOARD, keyboard_interrupt);
    pic_unmask(IRQ_KEYBOARD);
}
