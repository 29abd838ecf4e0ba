/*
 * boot_only.h: marks for code and data that only the boot needs.
 *
 * BOOT_ONLY on a function puts it in .boot_only.text; BOOT_ONLY_DATA on a
 * static variable puts it in .boot_only.data. Both sections sit at the end of
 * the kernel image (linker.ld), and once the boot checklist is done
 * (kernel/main.c) the kernel unmaps their pages and gives them to the page
 * allocator (memory_free_boot_only): the memory that parsed the firmware's
 * map, built the page tables and started the other CPUs serves malloc after.
 * Linux does the same with __init and __initdata ("Freeing unused kernel
 * image memory").
 *
 * The rule that comes with it: nothing that runs after boot may call a
 * BOOT_ONLY function or touch BOOT_ONLY_DATA. tools/check-boot-only.py reads
 * every kernel object's relocations and fails the build where code or data
 * outside those sections refers to them; and a call that slips through
 * faults on the unmapped page (the page-fault report says so). String
 * literals in a BOOT_ONLY function stay in .rodata, as in Linux, and so do
 * its switches' jump tables (the check lets those through: they hold
 * addresses inside the function, which only the function itself uses).
 *
 * On the host (tests, fuzzers, libkmalloc) the marks are empty: the same
 * functions are ordinary ones there.
 */
#ifndef LIB_BOOT_ONLY_H
#define LIB_BOOT_ONLY_H

/* BOOT_REF: a function that stays but may call boot-only ones, because it
 * runs them before they are freed and never after (kernel_main: the boot
 * checklist ends with memory_free_boot_only). The check lets it through. */
#if defined(PLATFORM_KERNEL)
#define BOOT_ONLY __attribute__((section(".boot_only.text"), noinline))
#define BOOT_ONLY_DATA __attribute__((section(".boot_only.data")))
#define BOOT_REF __attribute__((section(".text.boot_ref")))
#else
#define BOOT_ONLY
#define BOOT_ONLY_DATA
#define BOOT_REF
#endif

#endif
