/* exit.c: exit, halt and reboot. */
#include "kernel/exit.h"

#include "kernel/console.h"
#include "kernel/cpu.h"

#define ISA_DEBUG_EXIT_PORT 0xF4
#define KEYBOARD_CONTROLLER_COMMAND 0x64
#define KEYBOARD_CONTROLLER_PULSE_RESET 0xFE

_Noreturn void machine_exit(int status)
{
    /* tools/qemu-run looks for this line to tell guest status 0 (QEMU exits
     * with 1) from QEMU failing on its own (also 1). */
    kprintf("ferrite: exit status %d\n", status);
    outl(ISA_DEBUG_EXIT_PORT, (uint32_t)status);
    /* Still here: there is no exit device (not QEMU, or started without
     * -device isa-debug-exit,iobase=0xf4). */
    kprintf("ferrite: no isa-debug-exit device at port 0xf4, so the machine halts here\n");
    machine_halt();
}

_Noreturn void machine_halt(void)
{
    kprintf("ferrite: halted (interrupts off; close QEMU with Ctrl-A X)\n");
    cpu_halt_forever();
}

_Noreturn void machine_reboot(void)
{
    kprintf("ferrite: rebooting\n");
    /* The keyboard controller can pulse the CPU's reset line. */
    for (int tries = 0; tries < 1000; tries++) {
        if ((inb(KEYBOARD_CONTROLLER_COMMAND) & 0x02) == 0)
            break;
    }
    outb(KEYBOARD_CONTROLLER_COMMAND, KEYBOARD_CONTROLLER_PULSE_RESET);
    /* Failing that, a triple fault: an empty IDT, then an exception. */
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } empty_idt = {0, 0};
    __asm__ volatile("lidt %0; int3" : : "m"(empty_idt));
    cpu_halt_forever();
}
