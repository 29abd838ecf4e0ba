/*
 * random.h: the one pseudo-random generator of the kernel and the tests.
 *
 * xorshift64*: three shifts and exclusive ors of a 64-bit state (Marsaglia's
 * xorshift), and a multiplication of the output by an odd constant, which
 * mixes the low bits that plain xorshift leaves weak (Vigna, "An experimental
 * exploration of Marsaglia's xorshift generators, scrambled", 2016). Small,
 * fast, and the same sequence for the same seed on every machine, so that a
 * failing storm or test can be replayed. Not for anything an attacker could
 * guess at.
 *
 *     uint64_t state = 42;            // any seed; 0 is replaced by a fixed one
 *     uint64_t roll = random_next(&state);
 */
#ifndef LIB_RANDOM_H
#define LIB_RANDOM_H

#include <stdint.h>

static inline uint64_t random_next(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull; /* a zero state would stay zero */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

#endif
