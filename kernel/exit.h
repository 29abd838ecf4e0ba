/*
 * exit.h: ending the machine. Under QEMU with the isa-debug-exit device at
 * port 0xf4 (the Makefile always adds it), writing N ends QEMU with status
 * 2N+1; tools/qemu-run maps it back to N. Without the device, we halt.
 */
#ifndef KERNEL_EXIT_H
#define KERNEL_EXIT_H

#define EXIT_STATUS_MAX 127   /* QEMU's status 2N+1 must fit in 8 bits */
#define EXIT_STATUS_PANIC 127 /* what a panic exits with */

_Noreturn void machine_exit(int status);
_Noreturn void machine_halt(void);
_Noreturn void machine_reboot(void);

#endif
