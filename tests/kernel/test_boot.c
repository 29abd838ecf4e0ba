/* test_boot.c: what boot/entry.asm and kernel_main set up. */
#include "kernel/cpu.h"
#include "kernel/gdt.h"
#include "kernel/ktest.h"
#include "kernel/memlayout.h"
#include "kernel/percpu.h"
#include "kernel/pic.h"

extern const char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern const char __data_start[], __bss_start[], __bss_end[], __kernel_end[];
extern const char boot_stack_guard[], boot_stack_bottom[], boot_stack_top[];

#define PTE_PRESENT 1ull
#define PTE_HUGE (1ull << 7)
#define PTE_ADDRESS_MASK 0x000FFFFFFFFFF000ull

/* Walk the live page tables: true if virt is mapped. */
static bool is_mapped(uint64_t virt)
{
    uint64_t table_phys = read_cr3() & PTE_ADDRESS_MASK;
    for (int level = 3; level >= 0; level--) {
        const uint64_t *table = phys_to_virt(table_phys);
        uint64_t entry = table[(virt >> (12 + 9 * level)) & 511];
        if (!(entry & PTE_PRESENT))
            return false;
        if (level > 0 && (entry & PTE_HUGE))
            return true;
        table_phys = entry & PTE_ADDRESS_MASK;
    }
    return true;
}

KTEST(boot_sections_in_order_and_page_aligned)
{
    KTEST_EXPECT((uint64_t)__text_start == KERNEL_VIRT_BASE + KERNEL_PHYS_BASE + 0x1000);
    KTEST_EXPECT((uint64_t)__text_start < (uint64_t)__text_end);
    KTEST_EXPECT((uint64_t)__text_end <= (uint64_t)__rodata_start);
    KTEST_EXPECT((uint64_t)__rodata_end <= (uint64_t)__data_start);
    KTEST_EXPECT((uint64_t)__bss_start <= (uint64_t)__bss_end);
    KTEST_EXPECT_EQ((uint64_t)__rodata_start % 4096, 0);
    KTEST_EXPECT_EQ((uint64_t)__data_start % 4096, 0);
    KTEST_EXPECT_EQ((uint64_t)__kernel_end % 4096, 0);
}

KTEST(boot_stack_guard_page_is_unmapped)
{
    KTEST_EXPECT(!is_mapped((uint64_t)boot_stack_guard));
    KTEST_EXPECT(is_mapped((uint64_t)boot_stack_bottom));
    KTEST_EXPECT(is_mapped((uint64_t)boot_stack_top - 8));
    uint64_t frame = read_frame_pointer(); /* RBP: a frame on the boot stack */
    KTEST_EXPECT(frame > (uint64_t)boot_stack_bottom && frame < (uint64_t)boot_stack_top);
}

KTEST(boot_direct_map_reaches_low_memory)
{
    KTEST_EXPECT(is_mapped(DIRECT_MAP_BASE + VGA_TEXT_PHYS));
    /* The kernel's text, read through the direct map, is the same bytes. */
    const uint8_t *through_image = (const uint8_t *)__text_start;
    const uint8_t *through_direct_map = phys_to_virt(kernel_image_virt_to_phys(__text_start));
    KTEST_EXPECT_EQ(through_direct_map[0], through_image[0]);
    KTEST_EXPECT_EQ(through_direct_map[100], through_image[100]);
}

KTEST(boot_identity_map_removed)
{
    KTEST_EXPECT(!is_mapped(0));                /* NULL faults */
    KTEST_EXPECT(!is_mapped(KERNEL_PHYS_BASE)); /* the kernel only in the higher half */
    KTEST_EXPECT(is_mapped(KERNEL_VIRT_BASE + KERNEL_PHYS_BASE + 0x1000));
}

KTEST(boot_long_mode_paging_and_write_protect_on)
{
    KTEST_EXPECT(read_cr0() & (1u << 31)); /* PG */
    KTEST_EXPECT(read_cr0() & (1u << 16)); /* WP */
    KTEST_EXPECT(read_cr4() & (1u << 5));  /* PAE */
}

KTEST(boot_gdt_has_tss_with_double_fault_stack)
{
    KTEST_EXPECT_EQ(gdt_loaded_task_register(), GDT_TSS);
    KTEST_EXPECT(this_cpu()->double_fault_stack_top > this_cpu()->double_fault_stack_bottom);
    KTEST_EXPECT_EQ(this_cpu()->double_fault_stack_top % 16, 0);
}

KTEST(boot_pic_remapped_and_console_irqs_unmasked)
{
    uint16_t mask = pic_mask();
    KTEST_EXPECT(!(mask & (1u << IRQ_COM1)));
    KTEST_EXPECT(!(mask & (1u << IRQ_KEYBOARD)));
    KTEST_EXPECT(mask & (1u << 0));          /* the timer stays off for now */
    KTEST_EXPECT(read_rflags() & (1u << 9)); /* interrupts on */
}
