/*
 * alloc.h: the standard C allocation functions, for code that is not the
 * allocator. In the kernel they are kernel/heap.c (over mm/malloc.c); on the
 * host they are the C library's, with the same prototypes as <stdlib.h>.
 */
#ifndef LIB_ALLOC_H
#define LIB_ALLOC_H

#include <stddef.h>

void *malloc(size_t size);
void free(void *ptr);
void *calloc(size_t count, size_t size);
void *realloc(void *ptr, size_t size);
void *aligned_alloc(size_t align, size_t size);
int posix_memalign(void **out, size_t align, size_t size);
size_t malloc_usable_size(void *ptr);

#endif
