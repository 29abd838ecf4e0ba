/* delay.c: see delay.h. PIT ports and modes: the 8254 datasheet. */
#include "kernel/delay.h"

#include "kernel/console.h"
#include "kernel/cpu.h"
#include "lib/boot_only.h"

#define PIT_HZ 1193182u
#define PIT_CHANNEL2 0x42
#define PIT_COMMAND 0x43
#define PIT_GATE_PORT 0x61 /* bit 0: channel 2 gate; bit 1: speaker; bit 5: channel 2 output */
#define CALIBRATION_MS 10

static uint64_t tsc_per_us = 1000; /* until calibrated: 1 GHz */

BOOT_ONLY void delay_calibrate(void)
{
    uint16_t count = (uint16_t)(PIT_HZ / (1000 / CALIBRATION_MS)); /* 11931 ticks */
    uint64_t saved = cpu_save_interrupts_and_disable();
    uint8_t gate = inb(PIT_GATE_PORT);
    outb(PIT_GATE_PORT, (uint8_t)((gate & ~0x02u) & ~0x01u)); /* speaker off, gate low */
    outb(PIT_COMMAND, 0xB0); /* channel 2, low then high byte, mode 0, binary */
    outb(PIT_CHANNEL2, (uint8_t)count);
    outb(PIT_CHANNEL2, (uint8_t)(count >> 8));
    outb(PIT_GATE_PORT, (uint8_t)((gate & ~0x02u) | 0x01u)); /* gate high: counting starts */
    uint64_t start = read_tsc();
    uint64_t spins = 0;
    while (!(inb(PIT_GATE_PORT) & 0x20) && ++spins < 100000000ull)
        ;
    uint64_t elapsed = read_tsc() - start;
    outb(PIT_GATE_PORT, gate);
    cpu_restore_interrupts(saved);
    if (spins >= 100000000ull || elapsed < CALIBRATION_MS * 1000ull) {
        log_warn("delay: the PIT did not count down (%lu TSC ticks): assuming 1 GHz", elapsed);
        return;
    }
    tsc_per_us = elapsed / (CALIBRATION_MS * 1000ull);
    log_info("delay: TSC at %lu MHz (measured against the PIT over %u ms)", tsc_per_us,
             CALIBRATION_MS);
}

uint64_t delay_tsc_per_us(void)
{
    return tsc_per_us;
}

uint64_t delay_deadline_us(uint64_t microseconds)
{
    return read_tsc() + microseconds * tsc_per_us;
}

bool delay_passed(uint64_t deadline)
{
    return (int64_t)(read_tsc() - deadline) >= 0;
}

void delay_us(uint64_t microseconds)
{
    uint64_t deadline = delay_deadline_us(microseconds);
    while (!delay_passed(deadline))
        cpu_relax();
}

uint64_t delay_us_since(uint64_t tsc_start)
{
    return (read_tsc() - tsc_start) / tsc_per_us;
}
