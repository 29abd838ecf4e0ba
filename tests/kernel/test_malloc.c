/* test_malloc.c: the kernel's malloc on the real page allocator. */
#include "kernel/ktest.h"
#include "kernel/memlayout.h"
#include "lib/string.h"
#include "mm/malloc.h"

void *malloc(size_t size);
void free(void *ptr);
void *calloc(size_t count, size_t size);
void *realloc(void *ptr, size_t size);
void *aligned_alloc(size_t align, size_t size);
size_t malloc_usable_size(void *ptr);

KTEST(malloc_hundred_tiny_objects_share_one_page)
{
    static void *objects[100];
    km_flush_cpu();
    size_t before = km_pages_held();
    for (int i = 0; i < 100; i++) {
        objects[i] = malloc(1);
        KTEST_EXPECT(objects[i] != NULL);
    }
    /* 100 16-byte objects: one slab page (plus, at most, a descriptor page) */
    KTEST_EXPECT(km_pages_held() - before <= 2);
    for (int i = 0; i < 100; i++)
        free(objects[i]);
}

KTEST(malloc_two_2048_objects_per_page)
{
    km_flush_cpu();
    size_t before = km_pages_held();
    void *a = malloc(2048), *b = malloc(2000);
    KTEST_EXPECT(a && b);
    KTEST_EXPECT_EQ(((uintptr_t)a & ~0xFFFul), ((uintptr_t)b & ~0xFFFul)); /* the same page */
    KTEST_EXPECT_EQ((uintptr_t)a % 2048, 0);
    KTEST_EXPECT(km_pages_held() - before <= 2);
    free(a);
    free(b);
}

KTEST(malloc_large_requests_take_exact_pages)
{
    km_flush_cpu();
    size_t before = km_pages_held();
    void *big = malloc(20 * 1024);
    KTEST_EXPECT(big != NULL);
    KTEST_EXPECT_EQ(km_pages_held() - before, 5);
    KTEST_EXPECT_EQ((uintptr_t)big % 4096, 0);
    memset(big, 0x5A, 20 * 1024);
    free(big);
    KTEST_EXPECT_EQ(km_pages_held(), before);
}

KTEST(malloc_standard_calls_behave_as_c_says)
{
    uint8_t *zeroed = calloc(100, 3);
    KTEST_EXPECT(zeroed != NULL);
    bool all_zero = true;
    for (int i = 0; i < 300; i++)
        all_zero &= zeroed[i] == 0;
    KTEST_EXPECT(all_zero);
    KTEST_EXPECT(calloc(SIZE_MAX / 2, 3) == NULL); /* overflow */
    KTEST_EXPECT(malloc_usable_size(zeroed) >= 300);
    uint8_t *grown = realloc(zeroed, 5000);
    KTEST_EXPECT(grown != NULL && grown[299] == 0);
    free(grown);
    void *aligned = aligned_alloc(4096, 100);
    KTEST_EXPECT(aligned != NULL && (uintptr_t)aligned % 4096 == 0);
    free(aligned);
    KTEST_EXPECT(aligned_alloc(3, 10) == NULL); /* not a power of two */
    char error[160];
    KTEST_EXPECT(km_check(error, sizeof(error)));
}
