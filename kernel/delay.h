/*
 * delay.h: busy-wait delays, from the time-stamp counter calibrated against
 * the PIT (the one clock whose rate every PC has fixed: 1,193,182 Hz). Used
 * for the waits the INIT-SIPI-SIPI sequence asks for and for timeouts.
 */
#ifndef KERNEL_DELAY_H
#define KERNEL_DELAY_H

#include <stdbool.h>
#include <stdint.h>

/* Measures the TSC rate over 10 ms of PIT channel 2 (it keeps interrupts
 * off meanwhile). Before it, delays assume 1 GHz. */
void delay_calibrate(void);
uint64_t delay_tsc_per_us(void);
void delay_us(uint64_t microseconds);
/* A deadline microseconds from now, and whether it has passed. */
uint64_t delay_deadline_us(uint64_t microseconds);
bool delay_passed(uint64_t deadline);
/* Microseconds since an earlier read_tsc(). */
uint64_t delay_us_since(uint64_t tsc_start);

#endif
