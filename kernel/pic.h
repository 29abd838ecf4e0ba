/* pic.h: the two legacy 8259 interrupt controllers (until the APIC takes over). */
#ifndef KERNEL_PIC_H
#define KERNEL_PIC_H

#include <stdbool.h>
#include <stdint.h>

#define IRQ_KEYBOARD 1
#define IRQ_COM1 4

void pic_init(void);                /* remap to vectors 32-47, all masked */
void pic_unmask(unsigned irq);
uint16_t pic_mask(void);            /* bit n set: IRQ n masked */
bool pic_is_spurious(unsigned irq);
void pic_end_of_interrupt(unsigned irq);

#endif
