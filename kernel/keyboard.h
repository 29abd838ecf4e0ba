/* keyboard.h: the PS/2 keyboard (US layout), feeding the same input as serial. */
#ifndef KERNEL_KEYBOARD_H
#define KERNEL_KEYBOARD_H

void keyboard_init(void);

#endif
