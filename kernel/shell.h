/*
 * shell.h: the kernel's command shell. Any file can add a command:
 *
 *     static int command_hello(int argc, char **argv) { ... return 0; }
 *     SHELL_COMMAND(hello, "hello [NAME]", "say hello", command_hello);
 *
 * which puts a descriptor in the .shell_commands linker section.
 *
 * The usage text is the one statement of a command's arguments: `help` lists
 * it, and the shell checks the number of words against it before the command
 * runs (shell_usage_arity): a WORD is required, [WORD] optional (brackets
 * nest: "[OFFSET [LENGTH]]"), WORD... takes any number, a|b|c is one word. A
 * command that finds its arguments wrong in another way returns SHELL_USAGE,
 * and the shell prints "usage: " and the text (after the command's own line
 * saying what was wrong, if it printed one). Either way the status is 1.
 */
#ifndef KERNEL_SHELL_H
#define KERNEL_SHELL_H

#include <stdbool.h>

#include <stddef.h>

/* One subcommand of a command with subcommands (SHELL_COMMAND_TABLE):
 * usage starts with its name ("storm [N]"); name "" is the command given
 * alone. run gets the words from the subcommand's name on (argv[0]). */
struct shell_subcommand {
    const char *name;
    const char *usage;
    const char *help;
    int (*run)(int argc, char **argv);
};

struct shell_command {
    const char *name;
    const char *usage;                          /* "alloc ORDER [zone]" */
    const char *help;                           /* one line */
    int (*run)(int argc, char **argv);          /* 0 = success */
    const struct shell_subcommand *subcommands; /* NULL, or a table of... */
    size_t subcommand_count;                    /* ...this many */
};

#define SHELL_COMMAND(ident, usage_text, help_text, function)                                      \
    static const struct shell_command shell_command_##ident                                        \
        __attribute__((used, section(".shell_commands"), aligned(8))) = {                          \
            #ident, usage_text, help_text, function, NULL, 0}

/*
 * A command made of subcommands, from a table (an array of struct
 * shell_subcommand): the shell finds the subcommand, checks its words against
 * its usage, and runs it; `help NAME` lists the table. The command's usage is
 * "NAME SUBCOMMAND ..." for `help`.
 */
#define SHELL_COMMAND_TABLE(ident, help_text, table)                                               \
    static const struct shell_command shell_command_##ident                                        \
        __attribute__((used, section(".shell_commands"), aligned(8))) = {                          \
            #ident, #ident " SUBCOMMAND ...",          help_text, NULL,                            \
            table,  sizeof(table) / sizeof((table)[0])}

#define SHELL_MAX_ARGS 16
#define SHELL_USAGE 2 /* a command's return: wrong arguments; the shell prints the usage */

/* The words a usage text allows after the command's name: at least *min, at
 * most *max (SHELL_MAX_ARGS for WORD...). false if the text is malformed (a
 * bracket not closed or closed twice): a ktest checks every command's. */
bool shell_usage_arity(const char *usage, unsigned *min, unsigned *max);
#define SHELL_PROMPT "ferrite> "

/* Run one command line (modified in place). Returns the command's status. */
int shell_execute_line(char *line);
const struct shell_command *shell_find_command(const char *name);
_Noreturn void shell_run(void);

#endif
