/* input.h: bytes typed on the serial line or the PS/2 keyboard, in order. */
#ifndef KERNEL_INPUT_H
#define KERNEL_INPUT_H

#include <stdbool.h>
#include <stdint.h>

#define INPUT_RING_BYTES 256

void input_push_byte(uint8_t byte); /* from interrupt handlers */
bool input_try_read_byte(uint8_t *byte);
uint8_t input_read_byte(void); /* waits (halted) for a byte */
unsigned long input_dropped_bytes(void);

#endif
