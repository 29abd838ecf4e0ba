/* commands.c: shell commands that belong to no subsystem. */
#include "kernel/boot_options.h"
#include "kernel/console.h"
#include "kernel/exit.h"
#include "kernel/shell.h"
#include "kernel/version.h"
#include "lib/args.h"
#include "lib/cmdline.h"
#include "lib/string.h"

#ifndef FERRITE_BUILD_ID
#define FERRITE_BUILD_ID "unknown"
#endif

static int command_echo(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        kprintf("%s%s", i > 1 ? " " : "", argv[i]);
    kprintf("\n");
    return 0;
}

static int command_version(int argc, char **argv)
{
    (void)argc, (void)argv;
    kprintf("%s %s, %s (build %s, gcc %s)\n", FERRITE_NAME, FERRITE_VERSION, FERRITE_TAGLINE,
            FERRITE_BUILD_ID, __VERSION__);
    return 0;
}

static int command_exit(int argc, char **argv)
{
    uint64_t status = 0;
    if (argc == 2 && !args_parse_u64(argv[1], &status)) {
        kprintf("exit: N is a number from 0 to %d\n", EXIT_STATUS_MAX);
        return SHELL_USAGE;
    }
    if (status > EXIT_STATUS_MAX) {
        kprintf("exit: %lu is too big: QEMU reports 2N+1 in 8 bits, so N must be 0 to %d\n", status,
                EXIT_STATUS_MAX);
        return 1;
    }
    machine_exit((int)status);
}

static int command_halt(int argc, char **argv)
{
    (void)argc, (void)argv;
    machine_halt();
}

static int command_reboot(int argc, char **argv)
{
    (void)argc, (void)argv;
    machine_reboot();
}

static void print_option(void *ctx, const struct cmdline_option *given)
{
    unsigned *count = ctx;
    const struct boot_option *option = boot_option_find(given->key, given->key_len);
    kprintf("  %u. %.*s", ++*count, (int)given->key_len, given->key);
    if (given->has_value)
        kprintf(" = \"%.*s\"", (int)given->value_len, given->value);
    kprintf("%s\n", option ? "" : "   (unknown: ignored)");
}

static int command_cmdline(int argc, char **argv)
{
    (void)argc, (void)argv; /* no words: the shell checked (shell.h) */
    /* GRUB re-quotes what grub.cfg says (lib/cmdline.h): show both forms. */
    kprintf("kernel command line, as the boot loader passed it: \"%s\"\n", boot_cmdline());
    kprintf("decoded into options:\n");
    char decoded[BOOT_CMDLINE_MAX];
    unsigned count = 0;
    strlcpy(decoded, boot_cmdline(), sizeof(decoded));
    cmdline_parse(decoded, strlen(decoded), print_option, &count, NULL);
    if (count == 0)
        kprintf("  (none)\n");
    kprintf("boot options this kernel understands:\n");
    for (const struct boot_option *option = boot_options_first(); option < boot_options_end();
         option++)
        kprintf("  %-14s %s\n", option->name, option->help);
    return 0;
}

SHELL_COMMAND(echo, "echo [WORD...]", "print the words", command_echo);
SHELL_COMMAND(version, "version", "show the kernel's version", command_version);
SHELL_COMMAND(exit, "exit [N]", "end QEMU with status N (isa-debug-exit), else halt", command_exit);
SHELL_COMMAND(halt, "halt", "stop the CPU", command_halt);
SHELL_COMMAND(reboot, "reboot", "reset the machine", command_reboot);
SHELL_COMMAND(cmdline, "cmdline", "show the kernel command line and the known boot options",
              command_cmdline);
