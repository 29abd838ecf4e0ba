/*
 * pic.c: the 8259 pair. At power-on they deliver IRQs 0-7 on vectors 8-15,
 * on top of the CPU's exceptions, so they are moved to 32-47 first thing.
 */
#include "kernel/pic.h"

#include "kernel/cpu.h"
#include "lib/boot_only.h"

#define PIC1_COMMAND 0x20
#define PIC1_DATA 0x21
#define PIC2_COMMAND 0xA0
#define PIC2_DATA 0xA1
#define PIC_INIT 0x11      /* ICW1: initialise, ICW4 follows */
#define PIC_8086_MODE 0x01 /* ICW4 */
#define PIC_READ_ISR 0x0B
#define PIC_EOI 0x20
#define PIC_CASCADE_IRQ 2

static uint16_t masked = 0xFFFF;

static void write_masks(void)
{
    outb(PIC1_DATA, (uint8_t)masked);
    outb(PIC2_DATA, (uint8_t)(masked >> 8));
}

BOOT_ONLY void pic_init(uint8_t vector_base)
{
    outb(PIC1_COMMAND, PIC_INIT);
    io_wait();
    outb(PIC2_COMMAND, PIC_INIT);
    io_wait();
    outb(PIC1_DATA, vector_base); /* ICW2: vector offsets */
    io_wait();
    outb(PIC2_DATA, (uint8_t)(vector_base + 8));
    io_wait();
    outb(PIC1_DATA, 1 << PIC_CASCADE_IRQ); /* ICW3: the slave sits on IRQ 2 */
    io_wait();
    outb(PIC2_DATA, PIC_CASCADE_IRQ);
    io_wait();
    outb(PIC1_DATA, PIC_8086_MODE);
    io_wait();
    outb(PIC2_DATA, PIC_8086_MODE);
    io_wait();
    masked = 0xFFFF & ~(1u << PIC_CASCADE_IRQ);
    write_masks();
}

void pic_unmask(unsigned irq)
{
    masked &= (uint16_t) ~(1u << irq);
    write_masks();
}

uint16_t pic_mask(void)
{
    return masked;
}

static uint8_t in_service(uint16_t command_port)
{
    outb(command_port, PIC_READ_ISR);
    return inb(command_port);
}

/* IRQ 7 and 15 also fire when a request vanished before the CPU took it; the
 * in-service register tells a real one from such a ghost. A ghost on the
 * slave still needs an EOI on the master, which forwarded it. */
bool pic_is_spurious(unsigned irq)
{
    if (irq == 7)
        return !(in_service(PIC1_COMMAND) & 0x80);
    if (irq == 15 && !(in_service(PIC2_COMMAND) & 0x80)) {
        outb(PIC1_COMMAND, PIC_EOI);
        return true;
    }
    return false;
}

void pic_end_of_interrupt(unsigned irq)
{
    if (irq >= 8)
        outb(PIC2_COMMAND, PIC_EOI);
    outb(PIC1_COMMAND, PIC_EOI);
}
