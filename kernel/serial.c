/*
 * serial.c: COM1, 115200 baud, 8 data bits, no parity, 1 stop bit.
 *
 * Output is polled (wait for the transmit register to empty). Input arrives by
 * interrupt (IRQ 4) and goes to the input ring (kernel/input.c).
 */
#include "kernel/serial.h"

#include "kernel/cpu.h"
#include "kernel/input.h"
#include "lib/boot_only.h"

#define COM1 0x3F8
#define UART_DATA 0 /* receive/transmit holding register */
#define UART_INTERRUPT_ENABLE 1
#define UART_FIFO_CONTROL 2
#define UART_LINE_CONTROL 3
#define UART_MODEM_CONTROL 4
#define UART_LINE_STATUS 5
#define UART_SCRATCH 7

#define LINE_STATUS_DATA_READY 0x01
#define LINE_STATUS_TX_EMPTY 0x20
#define MODEM_CONTROL_DTR_RTS_OUT2 0x0B /* OUT2 gates the IRQ line to the PIC */
#define MODEM_CONTROL_LOOPBACK 0x10

/* A UART that never empties its transmit register (none there, or broken)
 * must not hang the kernel: give up on a byte after this many polls. */
#define TX_SPIN_LIMIT 100000

static bool uart_present;

BOOT_ONLY bool serial_init(void)
{
    outb(COM1 + UART_INTERRUPT_ENABLE, 0x00);
    outb(COM1 + UART_LINE_CONTROL, 0x80); /* DLAB: next two are the divisor */
    outb(COM1 + UART_DATA, 1);            /* 115200 / 1 */
    outb(COM1 + UART_INTERRUPT_ENABLE, 0);
    outb(COM1 + UART_LINE_CONTROL, 0x03); /* 8N1 */
    outb(COM1 + UART_FIFO_CONTROL, 0xC7); /* FIFOs on, cleared, 14-byte trigger */

    /* Presence check: in loopback mode a written byte comes back. */
    outb(COM1 + UART_MODEM_CONTROL, MODEM_CONTROL_LOOPBACK | 0x0F);
    outb(COM1 + UART_DATA, 0xA5);
    uart_present = inb(COM1 + UART_DATA) == 0xA5;
    outb(COM1 + UART_MODEM_CONTROL, MODEM_CONTROL_DTR_RTS_OUT2);
    return uart_present;
}

bool serial_present(void)
{
    return uart_present;
}

static void serial_put_byte(char byte)
{
    for (int spins = 0; spins < TX_SPIN_LIMIT; spins++) {
        if (inb(COM1 + UART_LINE_STATUS) & LINE_STATUS_TX_EMPTY)
            break;
    }
    outb(COM1 + UART_DATA, (uint8_t)byte);
}

void serial_write(const char *text, size_t len)
{
    static char last_byte;
    if (!uart_present)
        return;
    for (size_t i = 0; i < len; i++) {
        /* Terminals need "\r\n"; don't double the \r of one already there. */
        if (text[i] == '\n' && last_byte != '\r')
            serial_put_byte('\r');
        serial_put_byte(text[i]);
        last_byte = text[i];
    }
}

void serial_enable_receive_interrupt(void)
{
    if (uart_present)
        outb(COM1 + UART_INTERRUPT_ENABLE, 0x01); /* data available */
}

void serial_handle_interrupt(void)
{
    /* Drain the FIFO: one interrupt may stand for up to 14 bytes. The loop
     * is bounded so that a stuck "data ready" bit cannot hang the kernel. */
    for (int i = 0; i < 64; i++) {
        if (!(inb(COM1 + UART_LINE_STATUS) & LINE_STATUS_DATA_READY))
            break;
        input_push_byte(inb(COM1 + UART_DATA));
    }
}
