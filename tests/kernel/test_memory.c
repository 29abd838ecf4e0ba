/* test_memory.c: the kernel's own page tables and the page allocator, live. */
#include "kernel/ktest.h"
#include "kernel/memlayout.h"
#include "kernel/memory.h"
#include "kernel/paging.h"

#define PTE_WRITABLE (1ull << 1)
#define PTE_NO_EXECUTE (1ull << 63)

extern const char __text_start[], __rodata_start[], __data_start[], __bss_rest_start[];
extern const char __early_page_tables_start[], __kernel_end[];
extern const char __boot_only_start[], __boot_only_end[];

static uint64_t leaf_entry(const void *virt, bool *mapped)
{
    struct paging_walk walk;
    paging_walk((uint64_t)virt, &walk);
    *mapped = walk.mapped;
    return walk.steps[walk.step_count - 1].entry;
}

KTEST(memory_kernel_sections_are_w_xor_x)
{
    bool mapped;
    uint64_t text = leaf_entry(__text_start, &mapped);
    KTEST_EXPECT(mapped && !(text & PTE_WRITABLE) && !(text & PTE_NO_EXECUTE));
    uint64_t rodata = leaf_entry(__rodata_start, &mapped);
    KTEST_EXPECT(mapped && !(rodata & PTE_WRITABLE));
    uint64_t data = leaf_entry(__data_start, &mapped);
    KTEST_EXPECT(mapped && (data & PTE_WRITABLE));
    uint64_t bss = leaf_entry(__bss_rest_start, &mapped);
    KTEST_EXPECT(mapped && (bss & PTE_WRITABLE));
    if (paging_stats()->has_nx) {
        KTEST_EXPECT(rodata & PTE_NO_EXECUTE);
        KTEST_EXPECT(data & PTE_NO_EXECUTE);
        KTEST_EXPECT(bss & PTE_NO_EXECUTE);
    }
}

KTEST(memory_page_zero_and_freed_boot_pieces_are_unmapped)
{
    bool mapped;
    leaf_entry((const void *)DIRECT_MAP_BASE, &mapped);
    KTEST_EXPECT(!mapped); /* page 0, even in the direct map */
    leaf_entry(__early_page_tables_start, &mapped);
    KTEST_EXPECT(!mapped); /* freed to the buddy */
    leaf_entry((const void *)(KERNEL_VIRT_BASE + KERNEL_PHYS_BASE), &mapped);
    KTEST_EXPECT(!mapped); /* .boot: dead after boot */
    leaf_entry((const void *)(DIRECT_MAP_BASE + 0x1000), &mapped);
    KTEST_EXPECT(mapped); /* low RAM is in the direct map */
}

/* lib/boot_only.h: once booted, the boot-only pages are out of the kernel
 * image's mapping, and their frames belong to the page allocator (no longer
 * reserved: free, cached or handed out since). */
KTEST(memory_boot_only_pages_are_unmapped_and_given_to_the_page_allocator)
{
    KTEST_EXPECT((uint64_t)__boot_only_end > (uint64_t)__boot_only_start); /* there are some */
    for (const char *virt = __boot_only_start; virt < __boot_only_end; virt += PAGE_SIZE) {
        bool mapped;
        leaf_entry(virt, &mapped);
        KTEST_EXPECT(!mapped);
        struct page *page = memory_page_of(kernel_image_virt_to_phys(virt));
        KTEST_EXPECT(page && page_state_load(page) != PAGE_RESERVED);
    }
}

KTEST(memory_pages_come_from_the_zone_asked_for)
{
    uint64_t low = memory_alloc_pages(0, BUDDY_BELOW_1M);
    KTEST_EXPECT(low != 0 && low < 0x100000);
    uint64_t dma32 = memory_alloc_pages(2, BUDDY_BELOW_4G);
    KTEST_EXPECT(dma32 != 0 && dma32 < 0x100000000ull && dma32 % (4 * 4096) == 0);
    uint64_t *through_direct_map = phys_to_virt(dma32);
    through_direct_map[0] = 0x1234;
    KTEST_EXPECT_EQ(through_direct_map[0], 0x1234);
    memory_free_pages(low, 0);
    memory_free_pages(dma32, 2);
}

/* `mem`'s accounting can fail: a page taken off the free lists and recorded
 * nowhere (its state left "free head", as a buggy allocator might leave it)
 * is missing from the sum, and the page walk finds the free lists short. The
 * page is put back as it was, and the books balance again. */
KTEST(memory_accounting_catches_a_page_lost_from_the_free_lists)
{
    static struct memory_account account;
    KTEST_EXPECT(memory_account(&account));
    KTEST_EXPECT_EQ(account.accounted, account.usable);
    uint64_t phys = memory_alloc_pages(0, BUDDY_ANY);
    KTEST_EXPECT(phys != 0);
    if (!phys)
        return;
    struct page *page = memory_page_of(phys);
    page->state = PAGE_FREE_HEAD; /* off the free lists, and no longer allocated either */
    bool balanced = memory_account(&account);
    page->state = PAGE_ALLOCATED_HEAD;
    memory_free_pages(phys, 0);
    KTEST_EXPECT(!balanced);
    KTEST_EXPECT_EQ(account.accounted, account.usable - 4096);
    KTEST_EXPECT(account.metadata_error[0] != '\0');
    KTEST_EXPECT(memory_account(&account));
    KTEST_EXPECT_EQ(account.accounted, account.usable);
}
