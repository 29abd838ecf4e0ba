/*
 * boot_options.h: the kernel command line (multiboot2 tag 1), for example
 *     quiet run="echo hi; exit 3"
 * Any file can declare an option it understands:
 *
 *     static void apply_quiet(const char *value, size_t len) { ... }
 *     BOOT_OPTION(quiet, false, "mute the boot log", apply_quiet);
 */
#ifndef KERNEL_BOOT_OPTIONS_H
#define KERNEL_BOOT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

struct boot_option {
    const char *name;
    bool takes_value; /* name=value (true) or a bare flag (false) */
    const char *help;
    void (*apply)(const char *value, size_t value_len); /* value NULL for flags */
};

#define BOOT_OPTION(ident, takes_value_flag, help_text, function)                                  \
    static const struct boot_option boot_option_##ident                                            \
        __attribute__((used, section(".boot_options"), aligned(8))) = {#ident, takes_value_flag,   \
                                                                       help_text, function}

/* For names that are not C identifiers ("malloc.track"). */
#define BOOT_OPTION_NAMED(ident, name_text, takes_value_flag, help_text, function)                 \
    static const struct boot_option boot_option_##ident                                            \
        __attribute__((used, section(".boot_options"), aligned(8))) = {                            \
            name_text, takes_value_flag, help_text, function}

#define BOOT_CMDLINE_MAX 1024

/* Keep a copy of the command line and apply each option; unknown or
 * malformed options get a warning. */
void boot_options_apply(const char *cmdline);
const char *boot_cmdline(void);
bool boot_option_test_mode(void); /* `test`: run ktest, then exit */
/* Run the commands of `run=` in order; returns false if there were none. */
bool boot_options_run_commands(void);
/* The option named key (key_len bytes), or NULL; and the table of them all
 * (for `cmdline`, in kernel/commands.c). */
const struct boot_option *boot_option_find(const char *key, size_t key_len);
const struct boot_option *boot_options_first(void);
const struct boot_option *boot_options_end(void);

#endif
