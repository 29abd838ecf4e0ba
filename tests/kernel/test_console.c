/* test_console.c: formatted output, the VGA mirror, symbols, the shell table. */
#include "kernel/console.h"
#include "kernel/input.h"
#include "kernel/ksyms.h"
#include "kernel/ktest.h"
#include "kernel/memlayout.h"
#include "kernel/shell.h"
#include "kernel/vga.h"
#include "lib/format.h"
#include "lib/string.h"
#include "mm/malloc.h"

void kernel_main(uint64_t mbi_phys);

KTEST(format_in_the_freestanding_build)
{
    char buf[64];
    KTEST_EXPECT_EQ(ksnprintf(buf, sizeof(buf), "%d|%5s|%-3c|%#lx", -42, "ab", 'z', 0xbeefUL), 20);
    KTEST_EXPECT(strcmp(buf, "-42|   ab|z  |0xbeef") == 0);
    KTEST_EXPECT_EQ(ksnprintf(buf, 4, "%llu", 123456ULL), 6);
    KTEST_EXPECT(strcmp(buf, "123") == 0);
    KTEST_EXPECT_EQ(ksnprintf(buf, sizeof(buf), "%08zx|%%|%i", (size_t)0xabc, 7), 12);
    KTEST_EXPECT(strcmp(buf, "00000abc|%|7") == 0);
}

KTEST(console_output_mirrors_to_vga)
{
    kprintf("vga-mirror-check\n");
    unsigned row = vga_cursor_row() - 1;
    const char *expected = "vga-mirror-check";
    for (unsigned column = 0; expected[column]; column++)
        KTEST_EXPECT_EQ(vga_cell(row, column) & 0xFF, (uint8_t)expected[column]);
}

/* What a C name is made of, and the "." of gcc's ".cold" and ".part.0". */
static bool is_name_character(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.';
}

KTEST(ksyms_find_functions_by_address_and_name)
{
    uint64_t main_address = (uint64_t)kernel_main;
    struct ksym symbol;
    KTEST_EXPECT(ksyms_lookup(main_address + 3, &symbol));
    KTEST_EXPECT(strcmp(symbol.name, "kernel_main") == 0);
    KTEST_EXPECT_EQ(symbol.address, main_address);
    KTEST_EXPECT_EQ(ksyms_address_of("kernel_main"), main_address);
    KTEST_EXPECT(!ksyms_lookup(0x1000, &symbol));
    KTEST_EXPECT(ksyms_count > 50);
    /* Names the compiler's addresses must get back (their pieces are tokens
     * of the compressed table: "_command", "malloc", "ksyms_"...). */
    static const struct {
        const void *address;
        const char *name;
    } known[] = {
        {(const void *)malloc, "malloc"},
        {(const void *)free, "free"},
        {(const void *)kprintf, "kprintf"},
        {(const void *)ksyms_lookup, "ksyms_lookup"},
        {(const void *)ksyms_format_address, "ksyms_format_address"},
        {(const void *)shell_find_command, "shell_find_command"},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        KTEST_EXPECT(ksyms_lookup((uint64_t)known[i].address, &symbol) &&
                     strcmp(symbol.name, known[i].name) == 0 &&
                     symbol.address == (uint64_t)known[i].address);
        KTEST_EXPECT_EQ(ksyms_address_of(known[i].name), (uint64_t)known[i].address);
    }
    /* Sorted by address, and every compressed name decodes to a C name (gcc
     * adds ".cold", ".part.0", ... to the pieces it splits off). */
    bool sorted = true, names_ok = true;
    uint64_t offset = ksyms_first_offset;
    for (size_t i = 0; i < ksyms_count; i++) {
        sorted = sorted && (i == 0 || ksyms_gaps[i] > 0);
        offset += i == 0 ? 0 : ksyms_gaps[i];
        names_ok = names_ok && ksyms_lookup(KERNEL_VIRT_BASE + offset, &symbol) &&
                   symbol.address == KERNEL_VIRT_BASE + offset;
        names_ok = names_ok && symbol.name[0] && !(symbol.name[0] >= '0' && symbol.name[0] <= '9');
        for (const char *c = symbol.name; *c; c++)
            names_ok = names_ok && is_name_character(*c);
    }
    KTEST_EXPECT(sorted);
    KTEST_EXPECT(names_ok);
    /* A boot-only function (lib/boot_only.h) keeps its name after the free. */
    uint64_t memory_init_address = ksyms_address_of("memory_init");
    KTEST_EXPECT(memory_init_address != 0);
    KTEST_EXPECT(ksyms_lookup(memory_init_address + 1, &symbol) &&
                 strcmp(symbol.name, "memory_init") == 0);
    char where[64];
    ksyms_format_address(main_address + 0x10, where, sizeof(where));
    KTEST_EXPECT(strcmp(where, "kernel_main+0x10") == 0);
}

KTEST(shell_finds_commands_and_rejects_unknown)
{
    KTEST_EXPECT(shell_find_command("help") != NULL);
    KTEST_EXPECT(shell_find_command("ktest") != NULL);
    KTEST_EXPECT(shell_find_command("nonesuch") == NULL);
    char line[] = "nonesuch arg";
    KTEST_EXPECT_EQ(shell_execute_line(line), 1);
    char echo_line[] = "echo   shell-check";
    KTEST_EXPECT_EQ(shell_execute_line(echo_line), 0);
    char empty_line[] = "   ";
    KTEST_EXPECT_EQ(shell_execute_line(empty_line), 0);
}

KTEST(input_ring_keeps_order_and_drops_when_full)
{
    uint8_t byte;
    while (input_try_read_byte(&byte)) /* start empty */
        ;
    unsigned long dropped_before = input_dropped_bytes();
    for (unsigned i = 0; i < INPUT_RING_BYTES + 10; i++)
        input_push_byte((uint8_t)i);
    KTEST_EXPECT_EQ(input_dropped_bytes(), dropped_before + 10);
    unsigned count = 0;
    while (input_try_read_byte(&byte)) {
        KTEST_EXPECT_EQ(byte, (uint8_t)count);
        count++;
    }
    KTEST_EXPECT_EQ(count, INPUT_RING_BYTES);
}
