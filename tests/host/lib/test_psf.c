/*
 * test_psf.c: lib/psf (PSF1 console fonts): Debian's Lat15-VGA16 font as the
 * kernel reads it, hand-made fonts for each rule of psf.h, and broken ones.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/psf.h"
#include "tests/host/lib/test_report.h"

#define DEBIAN_FONT "/usr/share/consolefonts/Lat15-VGA16.psf.gz"

/* A font of count glyphs of height rows; glyph g's rows all hold g & 0xff. */
static size_t make_font(uint8_t *out, uint8_t mode, uint8_t height, unsigned count)
{
    out[0] = 0x36, out[1] = 0x04, out[2] = mode, out[3] = height;
    for (unsigned g = 0; g < count; g++)
        memset(out + 4 + g * height, (int)(g & 0xff), height);
    return 4 + (size_t)count * height;
}

static size_t put_code(uint8_t *at, uint16_t code)
{
    at[0] = (uint8_t)code, at[1] = (uint8_t)(code >> 8);
    return 2;
}

static void debians_font_maps_ascii_to_its_glyphs(void **state)
{
    (void)state;
    FILE *pipe = popen("gzip -dc " DEBIAN_FONT " 2>/dev/null", "r");
    assert_non_null(pipe);
    static uint8_t data[65536];
    size_t size = fread(data, 1, sizeof(data), pipe);
    if (pclose(pipe) != 0 || size == 0)
        fail_msg("cannot read %s (package console-setup-linux; tools/check-deps.sh test)",
                 DEBIAN_FONT);
    struct psf_font font;
    char error[96];
    assert_true(psf_parse(data, size, &font, error, sizeof(error)));
    assert_int_equal(font.glyph_count, 256);
    assert_int_equal(font.height, 16);
    assert_true(font.has_unicode_table);
    /* In this font printable ASCII sits at its own code (read with the
     * Unicode table by hand, 2026-12-06). */
    for (unsigned c = 0x20; c < 0x7f; c++)
        assert_int_equal(font.ascii[c], c);
    assert_ptr_equal(psf_glyph(&font, 'A'), data + 4 + 'A' * 16);
    assert_ptr_equal(psf_glyph(&font, 0xe9), psf_glyph(&font, '?')); /* not ASCII */
    /* A space is blank; an 'H' has a row with both stems and the bar. */
    const uint8_t *space = psf_glyph(&font, ' '), *h = psf_glyph(&font, 'H');
    for (unsigned row = 0; row < 16; row++)
        assert_int_equal(space[row], 0);
    unsigned widest = 0;
    for (unsigned row = 0; row < 16; row++)
        widest = (unsigned)__builtin_popcount(h[row]) > widest
                     ? (unsigned)__builtin_popcount(h[row])
                     : widest;
    assert_true(widest >= 5);
}

static void without_a_table_ascii_is_the_glyph_number(void **state)
{
    (void)state;
    static uint8_t data[4 + 512 * 8];
    size_t size = make_font(data, 0x01, 8, 512); /* 512 glyphs, no table */
    struct psf_font font;
    assert_true(psf_parse(data, size, &font, NULL, 0));
    assert_int_equal(font.glyph_count, 512);
    assert_false(font.has_unicode_table);
    assert_int_equal(font.ascii['a'], 'a');
    assert_int_equal(psf_glyph(&font, 'a')[0], 'a');
}

static void the_table_maps_codes_sequences_excluded(void **state)
{
    (void)state;
    static uint8_t data[4 + 256 * 4 + 4096];
    size_t at = make_font(data, 0x06, 4, 256);
    for (unsigned g = 0; g < 256; g++) {
        if (g == 1)
            at += put_code(data + at, 'A'); /* glyph 1 is 'A' */
        if (g == 2) {                       /* glyph 2: 'B' only inside a sequence */
            at += put_code(data + at, 0xFFFE);
            at += put_code(data + at, 'B');
        }
        if (g == 3)
            at += put_code(data + at, '?');
        if (g == 4)
            at += put_code(data + at, 'A'); /* a second 'A': the first one wins */
        at += put_code(data + at, 0xFFFF);
    }
    struct psf_font font;
    char error[96];
    assert_true(psf_parse(data, at, &font, error, sizeof(error)));
    assert_int_equal(font.ascii['A'], 1);
    assert_int_equal(font.ascii['B'], 3); /* unmapped: '?''s glyph */
    assert_int_equal(font.ascii['z'], 3);
    assert_int_equal(psf_glyph(&font, 200)[0], 3);
}

static void broken_fonts_are_refused_with_where(void **state)
{
    (void)state;
    static uint8_t data[4 + 256 * 16 + 16];
    size_t size = make_font(data, 0x00, 16, 256);
    struct psf_font font = {.height = 77};
    char error[96];
    assert_false(psf_parse(data, 3, &font, error, sizeof(error)));
    assert_string_equal(error, "shorter than the 4-byte PSF1 header (at byte 0)");
    assert_false(psf_parse(data, size - 1, &font, error, sizeof(error)));
    assert_non_null(strstr(error, "the glyphs run past the end of the file"));
    data[3] = 0;
    assert_false(psf_parse(data, size, &font, error, sizeof(error)));
    assert_non_null(strstr(error, "glyph height is not 1 to 32 rows (at byte 3)"));
    data[3] = 33;
    assert_false(psf_parse(data, size, &font, error, sizeof(error)));
    data[3] = 16;
    data[0] = 0x72, data[1] = 0xb5;
    assert_false(psf_parse(data, size, &font, error, sizeof(error)));
    assert_non_null(strstr(error, "PSF2"));
    data[0] = 0x37, data[1] = 0x04;
    assert_false(psf_parse(data, size, &font, error, sizeof(error)));
    assert_non_null(strstr(error, "no PSF1 magic"));
    data[0] = 0x36, data[2] = 0x02; /* a table is announced, and none follows */
    assert_false(psf_parse(data, size, &font, error, sizeof(error)));
    assert_non_null(strstr(error, "the Unicode table stops before its last glyph"));
    assert_int_equal(font.height, 77); /* untouched by every failure */
    assert_false(psf_parse(NULL, 100, &font, NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(debians_font_maps_ascii_to_its_glyphs),
        cmocka_unit_test(without_a_table_ascii_is_the_glyph_number),
        cmocka_unit_test(the_table_maps_codes_sequences_excluded),
        cmocka_unit_test(broken_fonts_are_refused_with_where),
    };
    return RUN_AND_REPORT(tests);
}
