# ferrite.gdb: the project's GDB set-up, loaded by `make debug` and tests/gdb.
#
# The kernel ELF is 64-bit, so GDB talks x86-64 to QEMU's stub from the first
# instruction (the CPU starts in 16-bit real mode, but QEMU's x86-64 stub
# always sends the 64-bit register set: no "Remote 'g' packet reply is too
# long"). Breakpoints before the switch to the higher half must be hardware
# ones (hbreak): the code is not yet at the addresses GDB knows.
set confirm off
set pagination off
set architecture i386:x86-64
set disassembly-flavor intel
set print pretty on

# Commands for the boot checklist: `boot-step` stops at the next kernel_main line.
define boot-step
    next
end
document boot-step
Run the next line of kernel_main (the boot checklist in kernel/main.c).
end
