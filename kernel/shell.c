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

bool shell_usage_arity(const char *usage, unsigned *min, unsigned *max)
{
    *min = *max = 0;
    const char *p = usage;
    while (*p && *p != ' ') /* the command's own name */
        p++;
    int depth = 0;
    bool unbounded = false;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        while (*p == '[') {
            depth++;
            p++;
        }
        const char *word = p;
        while (*p && *p != ' ' && *p != '[' && *p != ']')
            p++;
        if (p > word) {
            if (depth == 0)
                ++*min;
            ++*max;
            if (p - word >= 3 && p[-1] == '.' && p[-2] == '.' && p[-3] == '.')
                unbounded = true;
        }
        while (*p == ']') {
            if (--depth < 0)
                return false;
            p++;
        }
    }
    if (unbounded)
        *max = SHELL_MAX_ARGS;
    return depth == 0;
}

static int usage_error(const struct shell_command *command)
{
    kprintf("usage: %s\n", command->usage);
    return 1;
}

static const struct shell_subcommand *find_subcommand(const struct shell_command *command,
                                                      const char *name)
{
    for (size_t i = 0; i < command->subcommand_count; i++)
        if (strcmp(command->subcommands[i].name, name) == 0)
            return &command->subcommands[i];
    return NULL;
}

/* `help NAME` for a command with subcommands, and what a wrong one prints. */
static void print_subcommands(const struct shell_command *command)
{
    int width = 0;
    for (size_t i = 0; i < command->subcommand_count; i++) {
        int len = (int)strlen(command->subcommands[i].usage);
        width = len > width ? len : width;
    }
    for (size_t i = 0; i < command->subcommand_count; i++)
        kprintf("  %s %-*s  %s\n", command->name, width, command->subcommands[i].usage,
                command->subcommands[i].help);
}

static int run_subcommand(const struct shell_command *command, int argc, char **argv)
{
    const struct shell_subcommand *sub = find_subcommand(command, argc > 1 ? argv[1] : "");
    unsigned min, max, words = argc > 1 ? (unsigned)argc - 2 : 0;
    if (!sub) {
        if (argc > 1)
            kprintf("%s: no subcommand \"%s\"; ", command->name, argv[1]);
        kprintf("%s takes one of:\n", command->name);
        print_subcommands(command);
        return 1;
    }
    /* The subcommand's usage starts with its name ("" has none: its words are
     * counted from the command's). */
    if (shell_usage_arity(sub->usage, &min, &max) && sub->name[0] && (words < min || words > max)) {
        kprintf("usage: %s %s\n", command->name, sub->usage);
        return 1;
    }
    int status = sub->name[0] ? sub->run(argc - 1, argv + 1) : sub->run(argc, argv);
    if (status == SHELL_USAGE) {
        kprintf("usage: %s %s\n", command->name, sub->usage);
        return 1;
    }
    return status;
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
    if (command->subcommands)
        return run_subcommand(command, argc, argv);
    unsigned min, max, words = (unsigned)argc - 1;
    if (shell_usage_arity(command->usage, &min, &max) && (words < min || words > max))
        return usage_error(command);
    int status = command->run(argc, argv);
    return status == SHELL_USAGE ? usage_error(command) : status;
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
    if (argc == 2) { /* help NAME: its usage, and its subcommands if it has any */
        const struct shell_command *command = shell_find_command(argv[1]);
        if (!command) {
            kprintf("help: no command \"%s\"; type 'help' for the list\n", argv[1]);
            return 1;
        }
        kprintf("%s: %s\n", command->usage, command->help);
        if (command->subcommands)
            print_subcommands(command);
        return 0;
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

SHELL_COMMAND(help, "help [COMMAND]", "list the commands, or one command's usage and subcommands",
              command_help);
