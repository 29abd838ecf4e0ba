/* commands.c: shell commands that belong to no subsystem. */
#include "kernel/console.h"
#include "kernel/exit.h"
#include "kernel/shell.h"
#include "kernel/version.h"
#include "lib/args.h"

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
    if (argc > 2 || (argc == 2 && !args_parse_u64(argv[1], &status))) {
        kprintf("usage: exit [N]   (N a number from 0 to %d)\n", EXIT_STATUS_MAX);
        return 1;
    }
    if (status > EXIT_STATUS_MAX) {
        kprintf("exit: %lu is too big: QEMU reports 2N+1 in 8 bits, so N must be 0 to %d\n",
                status, EXIT_STATUS_MAX);
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

SHELL_COMMAND(echo, "echo [WORD...]", "print the words", command_echo);
SHELL_COMMAND(version, "version", "show the kernel's version", command_version);
SHELL_COMMAND(exit, "exit [N]", "end QEMU with status N (isa-debug-exit), else halt",
              command_exit);
SHELL_COMMAND(halt, "halt", "stop the CPU", command_halt);
SHELL_COMMAND(reboot, "reboot", "reset the machine", command_reboot);
