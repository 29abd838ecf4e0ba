/*
 * shell.h: the kernel's command shell. Any file can add a command:
 *
 *     static int command_hello(int argc, char **argv) { ... return 0; }
 *     SHELL_COMMAND(hello, "hello [name]", "say hello", command_hello);
 *
 * which puts a descriptor in the .shell_commands linker section.
 */
#ifndef KERNEL_SHELL_H
#define KERNEL_SHELL_H

struct shell_command {
    const char *name;
    const char *usage;   /* "alloc ORDER [zone]" */
    const char *help;    /* one line */
    int (*run)(int argc, char **argv); /* 0 = success */
};

#define SHELL_COMMAND(ident, usage_text, help_text, function)                                  \
    static const struct shell_command shell_command_##ident                                    \
        __attribute__((used, section(".shell_commands"), aligned(8))) = {                      \
            #ident, usage_text, help_text, function}

#define SHELL_MAX_ARGS 16
#define SHELL_PROMPT "ferrite> "

/* Run one command line (modified in place). Returns the command's status. */
int shell_execute_line(char *line);
const struct shell_command *shell_find_command(const char *name);
_Noreturn void shell_run(void);

#endif
