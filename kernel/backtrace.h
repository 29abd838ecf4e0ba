/* backtrace.h: walk the frame-pointer chain and print the callers. */
#ifndef KERNEL_BACKTRACE_H
#define KERNEL_BACKTRACE_H

#include <stdbool.h>
#include <stdint.h>

#define BACKTRACE_MAX_FRAMES 32 /* distinct frames kept */

/* A backtrace taken without printing (safe in an NMI: it only reads this
 * CPU's stacks), to be printed later by any CPU. A frame seen again at once
 * (recursion) is counted, not stored again. */
struct backtrace_capture {
    unsigned count;
    bool truncated; /* more distinct frames than BACKTRACE_MAX_FRAMES */
    uint64_t address[BACKTRACE_MAX_FRAMES];
    uint32_t repeats[BACKTRACE_MAX_FRAMES]; /* the frame again right after itself */
};

void backtrace_capture(uint64_t rip, uint64_t rbp, struct backtrace_capture *capture);
void backtrace_print_capture(const struct backtrace_capture *capture);

/* Print "backtrace:" then frame #0 at rip and its callers found from rbp. */
void backtrace_print_from(uint64_t rip, uint64_t rbp);
/* The backtrace of the caller of this function. */
void backtrace_print_here(void);

#endif
