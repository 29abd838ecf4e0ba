/*
 * main.c: kernel_main is the boot checklist, one step a line.
 * boot/entry.asm calls it in 64-bit mode, on the boot stack, with interrupts
 * off and the early page tables (see docs/architecture.md).
 */
#include "kernel/boot_options.h"
#include "kernel/bootinfo.h"
#include "kernel/console.h"
#include "kernel/fbcon.h"
#include "kernel/cpu.h"
#include "kernel/exit.h"
#include "kernel/keyboard.h"
#include "kernel/memory.h"
#include "kernel/ktest.h"
#include "kernel/panic.h"
#include "kernel/percpu.h"
#include "kernel/pic.h"
#include "kernel/rootfs.h"
#include "kernel/serial.h"
#include "kernel/shell.h"
#include "kernel/smp.h"
#include "kernel/trap.h"
#include "kernel/version.h"
#include "lib/boot_only.h"

extern const char __kernel_phys_start[], __kernel_phys_end[];

static struct boot_info boot_info;

static void enable_console_input(void)
{
    trap_set_irq_handler(IRQ_COM1, serial_handle_interrupt);
    serial_enable_receive_interrupt();
    pic_unmask(IRQ_COM1);
    keyboard_init();
    cpu_enable_interrupts();
}

/* BOOT_REF: it calls the boot-only steps (lib/boot_only.h), each before
 * memory_free_boot_only and none after. */
void kernel_main(phys_addr_t mbi_phys);
BOOT_REF void kernel_main(phys_addr_t mbi_phys)
{
    percpu_init_boot(); // GS -> the boot CPU's struct cpu, its GDT and
                        // TSS (with the double-fault stack)
    console_init();     // serial COM1 + VGA text mirror
    idt_init();         // all 32 exceptions (+ legacy IRQs)
    kprintf("%s %s, %s\n", FERRITE_NAME, FERRITE_VERSION, FERRITE_TAGLINE);
    bootinfo_read(mbi_phys, &boot_info);   // GRUB's boot information
    boot_options_apply(boot_info.cmdline); // quiet, run=, test, ...

    log_info("boot: loaded by %s; boot information at %#lx (%u bytes, %u tags)",
             boot_info.boot_loader_name, boot_info.mbi_phys, boot_info.summary.total_size,
             boot_info.summary.tag_count);
    log_info("boot: kernel image at physical %#lx-%#lx (%lu KiB)", (uint64_t)__kernel_phys_start,
             (uint64_t)__kernel_phys_end,
             ((uint64_t)__kernel_phys_end - (uint64_t)__kernel_phys_start) / 1024);
    log_info("boot: command line: %s", boot_info.cmdline);
    bootinfo_log_framebuffer(&boot_info);

    if (!boot_info.valid)
        panic("no usable boot information: cannot find the machine's memory");
    memory_init(&boot_info.summary, boot_info.mbi_phys); // memory map, page tables, buddy
    malloc_init();                                       // per-CPU malloc pools, from here on
    smp_init(&boot_info.summary);                        // ACPI MADT, local APIC, the other CPUs
    rootfs_mount(&boot_info.summary);                    // the "bootfs" module, read-only on /
    fbcon_start(&boot_info.summary);                     // UEFI: the console on the framebuffer
    pic_init(TRAP_IRQ_BASE);                             // legacy PIC moved to vectors 32-47
    enable_console_input();                              // serial and keyboard interrupts on
    memory_free_boot_only(); // the code above that runs once, to the page allocator

    if (boot_option_test_mode()) // `test`: run the in-kernel tests, exit
        machine_exit(ktest_run_matching(NULL) == 0 ? 0 : 1);
    boot_options_run_commands(); // run="cmd1; cmd2"
    shell_run();                 // the prompt
}
