/* serial.h: the 16550 UART on COM1, the kernel's main console. */
#ifndef KERNEL_SERIAL_H
#define KERNEL_SERIAL_H

#include <stdbool.h>
#include <stddef.h>

bool serial_init(void); /* false if no UART answers at COM1 */
bool serial_present(void);
void serial_write(const char *text, size_t len); /* "\n" goes out as "\r\n" */
void serial_enable_receive_interrupt(void);
void serial_handle_interrupt(void); /* IRQ 4: move received bytes to input */

#endif
