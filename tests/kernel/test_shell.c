/* test_shell.c: the shell's one contract: every usage text can be read. */
#include "kernel/ktest.h"
#include "kernel/shell.h"
#include "lib/string.h"

extern const struct shell_command __shell_commands_start[], __shell_commands_end[];

KTEST(shell_usage_texts_state_the_words)
{
    unsigned min, max;
    KTEST_EXPECT(shell_usage_arity("alloc ORDER [low|dma32|normal]", &min, &max));
    KTEST_EXPECT_EQ(min, 1);
    KTEST_EXPECT_EQ(max, 2);
    KTEST_EXPECT(shell_usage_arity("hexdump PATH [OFFSET [LENGTH]]", &min, &max));
    KTEST_EXPECT_EQ(min, 1);
    KTEST_EXPECT_EQ(max, 3);
    KTEST_EXPECT(shell_usage_arity("on CPU COMMAND [ARGS...]", &min, &max));
    KTEST_EXPECT_EQ(min, 2);
    KTEST_EXPECT_EQ(max, SHELL_MAX_ARGS);
    KTEST_EXPECT(shell_usage_arity("version", &min, &max));
    KTEST_EXPECT_EQ(max, 0);
    KTEST_EXPECT(!shell_usage_arity("bad [OPEN", &min, &max));
    KTEST_EXPECT(!shell_usage_arity("bad CLOSE]", &min, &max));
    /* Every command's, and every subcommand's (which starts with its name). */
    for (const struct shell_command *command = __shell_commands_start;
         command < __shell_commands_end; command++) {
        KTEST_EXPECT(str_starts_with(command->usage, command->name));
        KTEST_EXPECT(shell_usage_arity(command->usage, &min, &max));
        for (size_t i = 0; i < command->subcommand_count; i++) {
            const struct shell_subcommand *sub = &command->subcommands[i];
            KTEST_EXPECT(str_starts_with(sub->usage, sub->name));
            KTEST_EXPECT(shell_usage_arity(sub->usage, &min, &max));
        }
    }
}
