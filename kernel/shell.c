/*
 * shell.c: read a line (lib/line_editor does the editing and history), split
 * it into words, find the command in the table, run it. Commands are
 * registered with SHELL_COMMAND anywhere in the kernel.
 */
#include "kernel/shell.h"

#include "kernel/console.h"
#include "kernel/input.h"
#include "lib/args.h"
#include "lib/line_editor.h"
#include "lib/string.h"

extern const struct shell_command __shell_commands_start[], __shell_commands_end[];

static struct line_editor editor;

const struct shell_command *shell_find_command(const char *name)
{
    for (const struct shell_command *command = __shell_commands_start;
         command < __shell_commands_end; command++) {
        if (strcmp(command->name, name) == 0)
            return command;
    }
    return NULL;
}

int shell_execute_line(char *line)
{
    char *argv[SHELL_MAX_ARGS];
    int argc = args_split(line, argv, SHELL_MAX_ARGS);
    if (argc == ARGS_ERROR) {
        kprintf("shell: cannot split that line: more than %d words, or a \" is never closed\n",
                SHELL_MAX_ARGS);
        return 1;
    }
    if (argc == 0)
        return 0;
    const struct shell_command *command = shell_find_command(argv[0]);
    if (!command) {
        kprintf("%s: unknown command; type 'help' for the list\n", argv[0]);
        return 1;
    }
    return command->run(argc, argv);
}

static void echo_to_console(void *ctx, const char *text, size_t len)
{
    (void)ctx;
    console_write(text, len);
}

_Noreturn void shell_run(void)
{
    line_editor_init(&editor, echo_to_console, NULL);
    kprintf("%s", SHELL_PROMPT);
    for (;;) {
        enum line_editor_event event = line_editor_feed(&editor, input_read_byte());
        if (event == LINE_EDITOR_CONTINUE)
            continue;
        if (event == LINE_EDITOR_LINE_READY) {
            char line[LINE_EDITOR_MAX_LINE];
            strlcpy(line, line_editor_line(&editor), sizeof(line));
            shell_execute_line(line);
        }
        kprintf("%s", SHELL_PROMPT);
    }
}

/* help: the table, sorted by name (the linker section is in link order). */
static int command_help(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        kprintf("usage: help\n");
        return 1;
    }
    int usage_width = 0;
    for (const struct shell_command *command = __shell_commands_start;
         command < __shell_commands_end; command++) {
        int len = (int)strlen(command->usage);
        usage_width = len > usage_width ? len : usage_width;
    }
    const char *last_printed = "";
    for (;;) { /* selection by name: the table is short */
        const struct shell_command *next = NULL;
        for (const struct shell_command *command = __shell_commands_start;
             command < __shell_commands_end; command++) {
            if (strcmp(command->name, last_printed) > 0 &&
                (!next || strcmp(command->name, next->name) < 0))
                next = command;
        }
        if (!next)
            break;
        kprintf("  %-*s  %s\n", usage_width, next->usage, next->help);
        last_printed = next->name;
    }
    return 0;
}

SHELL_COMMAND(help, "help", "list the commands", command_help);
