/* test_traps.c: the IDT and the exception reports. */
#include "kernel/gdt.h"
#include "kernel/ktest.h"
#include "kernel/trap.h"
#include "lib/string.h"

struct __attribute__((packed)) idt_register {
    uint16_t limit;
    uint64_t base;
};

struct __attribute__((packed)) gate {
    uint16_t offset_low, selector;
    uint8_t ist, type_attributes;
    uint16_t offset_middle;
    uint32_t offset_high, reserved;
};

KTEST(traps_idt_has_every_exception)
{
    struct idt_register idtr;
    __asm__ volatile("sidt %0" : "=m"(idtr));
    KTEST_EXPECT_EQ(idtr.limit, 256 * 16 - 1);
    const struct gate *gates = (const struct gate *)idtr.base;
    for (unsigned vector = 0; vector < TRAP_EXCEPTION_COUNT + 16; vector++) {
        KTEST_EXPECT_EQ(gates[vector].type_attributes, 0x8E);
        KTEST_EXPECT_EQ(gates[vector].selector, GDT_KERNEL_CODE);
    }
    KTEST_EXPECT_EQ(gates[TRAP_DOUBLE_FAULT].ist, IST_DOUBLE_FAULT);
    KTEST_EXPECT_EQ(gates[TRAP_PAGE_FAULT].ist, 0);
}

KTEST(traps_breakpoint_reports_and_returns)
{
    unsigned before = trap_breakpoint_count();
    __asm__ volatile("int3");
    __asm__ volatile("int3");
    KTEST_EXPECT_EQ(trap_breakpoint_count(), before + 2);
}

KTEST(traps_exception_names)
{
    KTEST_EXPECT(strcmp(trap_exception_mnemonic(TRAP_PAGE_FAULT), "#PF") == 0);
    KTEST_EXPECT(strcmp(trap_exception_name(TRAP_GENERAL_PROTECTION), "general protection fault") ==
                 0);
    KTEST_EXPECT(strcmp(trap_exception_name(TRAP_DOUBLE_FAULT), "double fault") == 0);
    for (unsigned vector = 0; vector < TRAP_EXCEPTION_COUNT; vector++)
        KTEST_EXPECT(strlen(trap_exception_name(vector)) > 3);
}

KTEST(traps_page_fault_error_code_decoding)
{
    char words[160];
    trap_describe_page_fault(0, words, sizeof(words));
    KTEST_EXPECT(strcmp(words, "not-present page, read, kernel mode, data access") == 0);
    trap_describe_page_fault(0x1F, words, sizeof(words));
    KTEST_EXPECT(strcmp(words, "protection violation, write, user mode, instruction fetch, "
                               "reserved bit set in a page-table entry") == 0);
}
