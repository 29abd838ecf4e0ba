/*
 * input.c: a ring buffer between the interrupt handlers (producers) and the
 * shell (consumer). When it is full, new bytes are dropped and counted: a
 * flood of garbage on the serial line costs bytes, never memory.
 * Invariant: head - tail <= INPUT_RING_BYTES (both only grow; unsigned wrap).
 */
#include "kernel/input.h"

#include "kernel/cpu.h"
#include "kernel/smp.h"

static uint8_t ring[INPUT_RING_BYTES];
static unsigned head, tail; /* written at head, read at tail */
static unsigned long dropped;

void input_push_byte(uint8_t byte)
{
    if (head - tail == INPUT_RING_BYTES) {
        dropped++;
        return;
    }
    ring[head++ % INPUT_RING_BYTES] = byte;
}

bool input_try_read_byte(uint8_t *byte)
{
    uint64_t saved = cpu_save_interrupts_and_disable();
    bool have_byte = head != tail;
    if (have_byte)
        *byte = ring[tail++ % INPUT_RING_BYTES];
    cpu_restore_interrupts(saved);
    return have_byte;
}

uint8_t input_read_byte(void)
{
    for (;;) {
        smp_service_mailbox(); /* a job posted to this CPU (`on 1 on 0 ...`) */
        cpu_disable_interrupts();
        if (head != tail) {
            uint8_t byte = ring[tail++ % INPUT_RING_BYTES];
            cpu_enable_interrupts();
            return byte;
        }
        /* Checked with interrupts off, then "sti; hlt" as one step: a byte
         * that arrives in between wakes the hlt instead of being missed. */
        cpu_enable_interrupts_and_halt();
    }
}

unsigned long input_dropped_bytes(void)
{
    return dropped;
}
