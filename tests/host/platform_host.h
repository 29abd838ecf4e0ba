/*
 * platform_host.h: the host side of lib/platform.h, for tests.
 *
 * platform_panic() on the host prints the message and, if a test armed
 * HOST_EXPECT_PANIC, jumps back to it instead of aborting, so a test can
 * check that a double free really panics:
 *
 *     HOST_EXPECT_PANIC(buddy_free(&buddy, pfn, 0));  // true if it panicked
 */
#ifndef TESTS_HOST_PLATFORM_HOST_H
#define TESTS_HOST_PLATFORM_HOST_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

/* Per thread: a thread standing for a CPU can expect its own panic. */
extern _Thread_local jmp_buf *host_panic_target;
extern _Thread_local char host_last_panic[512];

/* How deep this thread has "interrupts off" (platform_interrupts_save_disable):
 * a panic that jumps out of a slow path skips its restore, so
 * HOST_EXPECT_PANIC puts the depth back as it was. */
unsigned host_interrupts_off_depth(void);
void host_set_interrupts_off_depth(unsigned depth);

/* Evaluates statement; true if it called platform_panic. */
#define HOST_EXPECT_PANIC(statement)                                                               \
    ({                                                                                             \
        jmp_buf host_panic_jump;                                                                   \
        jmp_buf *volatile host_panic_saved = host_panic_target;                                    \
        volatile unsigned host_depth_saved = host_interrupts_off_depth();                          \
        volatile bool host_panicked = false;                                                       \
        host_panic_target = &host_panic_jump;                                                      \
        if (setjmp(host_panic_jump) == 0) {                                                        \
            statement;                                                                             \
        } else {                                                                                   \
            host_panicked = true;                                                                  \
            host_set_interrupts_off_depth(host_depth_saved);                                       \
        }                                                                                          \
        host_panic_target = host_panic_saved;                                                      \
        host_panicked;                                                                             \
    })

/* Tests set these. */
void host_set_cpu(unsigned cpu, unsigned cpu_count); /* per thread */
void host_set_physical_memory(void *base, uint64_t phys_start, uint64_t bytes);
void host_set_quiet(bool quiet); /* mute platform_print */
/* Around a signal handler that plays an interrupt handler: platform_in_interrupt
 * says true in between (malloc's slow path then refuses to run). */
void host_interrupt_enter(void);
void host_interrupt_leave(void);

#endif
