/*
 * boot_options.c: read the kernel command line and apply each option.
 * The options themselves are declared next to the code they configure, with
 * BOOT_OPTION; the ones that belong to no subsystem are at the end of this file.
 */
#include "kernel/boot_options.h"

#include "kernel/console.h"
#include "kernel/shell.h" /* run=: the commands go to the shell */
#include "lib/boot_only.h"
#include "lib/cmdline.h"
#include "lib/string.h"

extern const struct boot_option __boot_options_start[], __boot_options_end[];

static char cmdline_copy[BOOT_CMDLINE_MAX];    /* as GRUB passed it, for `cmdline` */
static char cmdline_decoded[BOOT_CMDLINE_MAX]; /* decoded in place by cmdline_parse */
static const char *run_commands;
static size_t run_commands_len;
static bool test_mode;

const struct boot_option *boot_option_find(const char *key, size_t key_len)
{
    for (const struct boot_option *option = __boot_options_start; option < __boot_options_end;
         option++) {
        if (strlen(option->name) == key_len && memcmp(option->name, key, key_len) == 0)
            return option;
    }
    return NULL;
}

static void apply_one(void *ctx, const struct cmdline_option *given)
{
    (void)ctx;
    int key_len = (int)given->key_len;
    const struct boot_option *option = boot_option_find(given->key, given->key_len);
    if (!option) {
        log_warn("boot option '%.*s' is unknown and was ignored (see 'cmdline' for the list)",
                 key_len, given->key);
        return;
    }
    if (option->takes_value && !given->has_value) {
        log_warn("boot option '%.*s' needs a value (%.*s=...); ignored", key_len, given->key,
                 key_len, given->key);
        return;
    }
    if (!option->takes_value && given->has_value) {
        log_warn("boot option '%.*s' takes no value; ignored", key_len, given->key);
        return;
    }
    option->apply(given->value, given->value_len);
}

BOOT_ONLY void boot_options_apply(const char *cmdline)
{
    size_t len = strlcpy(cmdline_copy, cmdline ? cmdline : "", sizeof(cmdline_copy));
    if (len >= sizeof(cmdline_copy))
        log_warn("kernel command line is %zu bytes; only the first %zu are used", len,
                 sizeof(cmdline_copy) - 1);
    size_t error_offset = 0;
    strlcpy(cmdline_decoded, cmdline_copy, sizeof(cmdline_decoded));
    if (cmdline_parse(cmdline_decoded, strlen(cmdline_decoded), apply_one, NULL, &error_offset) !=
        0)
        log_warn("kernel command line: the quote at column %zu is never closed; the options "
                 "from there on were ignored",
                 error_offset + 1);
}

const char *boot_cmdline(void)
{
    return cmdline_copy;
}

bool boot_option_test_mode(void)
{
    return test_mode;
}

bool boot_options_run_commands(void)
{
    if (!run_commands)
        return false;
    size_t pos = 0;
    const char *command;
    size_t command_len;
    while (cmdline_next_command(run_commands, run_commands_len, &pos, &command, &command_len)) {
        char line[BOOT_CMDLINE_MAX];
        size_t copy_len = command_len < sizeof(line) - 1 ? command_len : sizeof(line) - 1;
        memcpy(line, command, copy_len);
        line[copy_len] = '\0';
        kprintf("%s%s\n", SHELL_PROMPT, line);
        shell_execute_line(line);
    }
    return true;
}

static void apply_quiet(const char *value, size_t len)
{
    (void)value, (void)len;
    console_set_quiet(true);
}

static void apply_run(const char *value, size_t len)
{
    run_commands = value;
    run_commands_len = len;
}

static void apply_test(const char *value, size_t len)
{
    (void)value, (void)len;
    test_mode = true;
}

BOOT_OPTION(quiet, false, "mute the boot log (warnings and errors still show)", apply_quiet);
BOOT_OPTION(run, true, "run=\"cmd1; cmd2\": shell commands to run at boot", apply_run);
BOOT_OPTION(test, false, "run every in-kernel test (ktest), then exit with 0 if all pass",
            apply_test);

const struct boot_option *boot_options_first(void)
{
    return __boot_options_start;
}

const struct boot_option *boot_options_end(void)
{
    return __boot_options_end;
}
