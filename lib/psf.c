/* psf.c: see psf.h. */
#include "lib/psf.h"

#include "lib/format.h"
#include "lib/boot_only.h"

#define PSF1_MAGIC0 0x36
#define PSF1_MAGIC1 0x04
#define PSF1_MODE_512 0x01
#define PSF1_MODE_HAS_TABLE 0x06 /* bit 1 (table) or bit 2 (table with sequences) */
#define PSF1_SEPARATOR 0xFFFF
#define PSF1_SEQUENCE 0xFFFE
#define PSF_MAX_HEIGHT 32

static bool fail(char *error, size_t size, const char *message, size_t offset)
{
    if (error && size)
        ksnprintf(error, size, "%s (at byte %zu)", message, offset);
    return false;
}

/* Reads the Unicode table from offset at: for each glyph, code points up to
 * 0xFFFF; the first glyph to list an ASCII code point gets it. */
static bool read_table(const uint8_t *bytes, size_t size, size_t at, struct psf_font *font,
                       char *error, size_t error_size)
{
    bool in_sequence = false;
    for (unsigned glyph = 0; glyph < font->glyph_count;) {
        if (size - at < 2)
            return fail(error, error_size, "the Unicode table stops before its last glyph", at);
        uint16_t code = (uint16_t)(bytes[at] | bytes[at + 1] << 8);
        at += 2;
        if (code == PSF1_SEPARATOR) {
            glyph++;
            in_sequence = false;
        } else if (code == PSF1_SEQUENCE) {
            in_sequence = true; /* combining sequences: not single characters */
        } else if (!in_sequence && code < 128 && font->ascii[code] == UINT16_MAX) {
            font->ascii[code] = (uint16_t)glyph;
        }
    }
    return true;
}

BOOT_ONLY bool psf_parse(const void *data, size_t size, struct psf_font *font, char *error,
                         size_t error_size)
{
    const uint8_t *bytes = data;
    if (!bytes || size < PSF1_HEADER_BYTES)
        return fail(error, error_size, "shorter than the 4-byte PSF1 header", 0);
    if (bytes[0] == 0x72 && bytes[1] == 0xb5)
        return fail(error, error_size, "a PSF2 font: only PSF1 is read", 0);
    if (bytes[0] != PSF1_MAGIC0 || bytes[1] != PSF1_MAGIC1)
        return fail(error, error_size, "no PSF1 magic (36 04)", 0);
    struct psf_font parsed = {
        .glyphs = bytes + PSF1_HEADER_BYTES,
        .glyph_count = bytes[2] & PSF1_MODE_512 ? 512 : 256,
        .height = bytes[3],
        .has_unicode_table = (bytes[2] & PSF1_MODE_HAS_TABLE) != 0,
    };
    if (parsed.height == 0 || parsed.height > PSF_MAX_HEIGHT)
        return fail(error, error_size, "glyph height is not 1 to 32 rows", 3);
    size_t glyph_bytes = (size_t)parsed.glyph_count * parsed.height;
    if (size - PSF1_HEADER_BYTES < glyph_bytes)
        return fail(error, error_size, "the glyphs run past the end of the file", size);
    for (unsigned c = 0; c < 128; c++)
        parsed.ascii[c] = parsed.has_unicode_table ? UINT16_MAX : (uint16_t)c;
    if (parsed.has_unicode_table &&
        !read_table(bytes, size, PSF1_HEADER_BYTES + glyph_bytes, &parsed, error, error_size))
        return false;
    uint16_t unknown = parsed.ascii['?'] == UINT16_MAX ? 0 : parsed.ascii['?'];
    for (unsigned c = 0; c < 128; c++)
        if (parsed.ascii[c] == UINT16_MAX)
            parsed.ascii[c] = unknown;
    *font = parsed;
    return true;
}

const uint8_t *psf_glyph(const struct psf_font *font, unsigned char c)
{
    unsigned glyph = font->ascii[c < 128 ? c : '?'];
    return font->glyphs + (size_t)glyph * font->height;
}
