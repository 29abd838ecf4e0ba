/*
 * tests/fuzz/fuzz_psf.c - libFuzzer target for lib/psf.c (PSF1 console fonts, read from the
 * boot filesystem, so outside input).
 *
 * The input is a font file, in a heap copy of exactly size bytes (ASan reports any read past
 * it). psf_parse either refuses it with a message, or gives a font whose every glyph (each
 * ASCII character's, and '?''s for the rest) lies inside the input; every byte of every such
 * glyph is read. A broken property prints why and traps: libFuzzer saves the input as a crash.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/psf.h"

#define CHECK(condition)                                                                           \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            fprintf(stderr, "fuzz_psf: %s:%d: check failed: %s\n", __FILE__, __LINE__,             \
                    #condition);                                                                   \
            __builtin_trap();                                                                      \
        }                                                                                          \
    } while (0)

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    struct psf_font font;
    char error[96];
    error[0] = '\0';
    if (!psf_parse(copy, size, &font, error, sizeof(error))) {
        CHECK(error[0] != '\0' && memchr(error, '\0', sizeof(error)) != NULL);
        free(copy);
        return 0;
    }
    CHECK(font.glyph_count == 256 || font.glyph_count == 512);
    CHECK(font.height >= 1 && font.height <= 32);
    for (unsigned c = 0; c < 256; c++) {
        const uint8_t *glyph = psf_glyph(&font, (unsigned char)c);
        CHECK(glyph >= copy + PSF1_HEADER_BYTES && glyph + font.height <= copy + size);
        for (unsigned row = 0; row < font.height; row++)
            sink += glyph[row];
    }
    free(copy);
    return 0;
}
