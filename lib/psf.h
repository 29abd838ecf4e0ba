/*
 * psf.h: a bounds-checked reader of PSF1 console fonts, the format of
 * Debian's console fonts (/usr/share/consolefonts, package console-setup-linux)
 * and of the Linux console. The kernel's framebuffer console draws its text
 * with one, read from the boot filesystem.
 *
 * Layout: u8 magic 0x36, u8 magic 0x04, u8 mode, u8 glyph height (bytes:
 * glyphs are 8 pixels wide, one byte a row, the top bit leftmost); then 256
 * glyphs (512 if mode bit 0); then, if mode bit 1 or 2, a Unicode table: for
 * each glyph in order, u16 code points (little-endian) ending with 0xFFFF,
 * where 0xFFFE starts combining sequences that run to that 0xFFFF.
 */
#ifndef LIB_PSF_H
#define LIB_PSF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PSF1_HEADER_BYTES 4
#define PSF_GLYPH_WIDTH 8

struct psf_font {
    const uint8_t *glyphs; /* glyph_count * height bytes, inside the data given */
    unsigned glyph_count;  /* 256 or 512 */
    unsigned height;       /* rows of a glyph, 1 to 32 */
    bool has_unicode_table;
    uint16_t ascii[128]; /* the glyph of each ASCII character; '?''s (or 0) if none */
};

/* Checks data (size bytes) and fills *font; false with a message in error
 * (naming the byte offset where it matters) if the data is not a PSF1 font
 * this reader accepts. The font points into data: data must outlive it. */
bool psf_parse(const void *data, size_t size, struct psf_font *font, char *error,
               size_t error_size);

/* The rows of character c's glyph (height bytes); a character outside ASCII
 * gets '?''s glyph. */
const uint8_t *psf_glyph(const struct psf_font *font, unsigned char c);

#endif
