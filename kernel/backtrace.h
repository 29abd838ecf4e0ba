/* backtrace.h: walk the frame-pointer chain and print the callers. */
#ifndef KERNEL_BACKTRACE_H
#define KERNEL_BACKTRACE_H

#include <stdint.h>

/* Print "backtrace:" then frame #0 at rip and its callers found from rbp. */
void backtrace_print_from(uint64_t rip, uint64_t rbp);
/* The backtrace of the caller of this function. */
void backtrace_print_here(void);

#endif
