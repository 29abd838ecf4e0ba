/* pic.h: the two legacy 8259 interrupt controllers (until the APIC takes over). */
#ifndef KERNEL_PIC_H
#define KERNEL_PIC_H

#include <stdbool.h>
#include <stdint.h>

#define IRQ_KEYBOARD 1
#define IRQ_COM1 4

void pic_init(uint8_t vector_base); /* IRQ 0-15 to vectors vector_base.. +15, all masked */
void pic_unmask(unsigned irq);
uint16_t pic_mask(void); /* bit n set: IRQ n masked */
bool pic_is_spurious(unsigned irq);
void pic_end_of_interrupt(unsigned irq);

#endif
