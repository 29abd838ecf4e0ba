/*
 * sha256.h: SHA-256 (FIPS 180-4), for checking files against the host's
 * sha256sum. Streaming: init, update as often as needed, final.
 */
#ifndef LIB_SHA256_H
#define LIB_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_BYTES 32

struct sha256 {
    uint32_t state[8];
    uint64_t total_bytes;
    uint8_t block[64];
    unsigned block_used; /* bytes waiting in block */
};

void sha256_init(struct sha256 *hash);
void sha256_update(struct sha256 *hash, const void *data, size_t bytes);
void sha256_final(struct sha256 *hash, uint8_t digest[SHA256_DIGEST_BYTES]);

/* The digest as 64 lowercase hex digits and a NUL. */
void sha256_hex(const uint8_t digest[SHA256_DIGEST_BYTES], char hex[2 * SHA256_DIGEST_BYTES + 1]);

#endif
