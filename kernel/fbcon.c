/*
 * fbcon.c: see fbcon.h. Light grey on black, as the VGA mirror. At 800x600
 * with an 8x16 font the screen holds 100 columns and 37 rows; scrolling moves
 * the pixel rows up with one memmove (QEMU's framebuffer is ordinary memory to
 * the emulator, so reading it back costs nothing there; on real hardware an
 * uncached read is slow and a shadow copy would be the better choice).
 */
#include "kernel/fbcon.h"

#include "kernel/console.h"
#include "kernel/memlayout.h"
#include "kernel/paging.h"
#include "kernel/rootfs.h"
#include "kernel/text_screen.h"
#include "lib/boot_only.h"
#include "lib/psf.h"
#include "lib/string.h"

static struct {
    bool active;
    uint8_t *pixels;
    uint32_t pitch, width, height, bytes_per_pixel;
    uint32_t foreground, background;
    struct psf_font font;
    struct text_screen cursor;
} fb;

/* An 8-bit-per-channel colour in the framebuffer's own layout. */
static uint32_t pack(const struct mb2_framebuffer *info, uint8_t red, uint8_t green, uint8_t blue)
{
    return (uint32_t)(red >> (8 - info->red_size)) << info->red_position |
           (uint32_t)(green >> (8 - info->green_size)) << info->green_position |
           (uint32_t)(blue >> (8 - info->blue_size)) << info->blue_position;
}

static void put_pixel(uint8_t *at, uint32_t color)
{
    if (fb.bytes_per_pixel == 4)
        *(volatile uint32_t *)at = color;
    else
        for (uint32_t i = 0; i < fb.bytes_per_pixel; i++)
            ((volatile uint8_t *)at)[i] = (uint8_t)(color >> (8 * i));
}

static void draw_cell(unsigned column, unsigned row, unsigned char c)
{
    const uint8_t *glyph = psf_glyph(&fb.font, c);
    uint8_t *line = fb.pixels + (size_t)row * fb.font.height * fb.pitch +
                    (size_t)column * PSF_GLYPH_WIDTH * fb.bytes_per_pixel;
    for (unsigned y = 0; y < fb.font.height; y++, line += fb.pitch)
        for (unsigned x = 0; x < PSF_GLYPH_WIDTH; x++)
            put_pixel(line + x * fb.bytes_per_pixel,
                      glyph[y] & (0x80 >> x) ? fb.foreground : fb.background);
}

static void clear_rows(unsigned first, unsigned count)
{
    for (unsigned y = first * fb.font.height; y < (first + count) * fb.font.height; y++)
        for (uint32_t x = 0; x < fb.width; x++)
            put_pixel(fb.pixels + (size_t)y * fb.pitch + x * fb.bytes_per_pixel, fb.background);
}

static void scroll_up(void)
{
    size_t text_row_bytes = (size_t)fb.font.height * fb.pitch;
    memmove(fb.pixels, fb.pixels + text_row_bytes, text_row_bytes * (fb.cursor.rows - 1));
    clear_rows(fb.cursor.rows - 1, 1);
}

void fbcon_write(const char *text, size_t len)
{
    if (!fb.active)
        return;
    for (size_t i = 0; i < len; i++)
        text_screen_put(&fb.cursor, text[i]);
}

/* The font, in place in the boot filesystem: NULL (and why, in the log) if
 * it is not there or not a font. */
BOOT_ONLY static bool load_font(struct psf_font *font)
{
    const struct bootfs *fs = rootfs();
    struct bootfs_file file;
    const void *data;
    uint64_t bytes;
    if (!fs || bootfs_open(fs, FBCON_FONT_PATH, 0, &file) != FS_OK) {
        log_warn("console: no font %s in the boot filesystem: the framebuffer stays blank",
                 FBCON_FONT_PATH);
        return false;
    }
    bool mapped = bootfs_map(&file, &data, &bytes) == FS_OK;
    bootfs_close(&file);
    char error[96];
    if (!mapped || !psf_parse(data, bytes, font, error, sizeof(error))) {
        log_warn("console: %s is not a PSF1 font: %s", FBCON_FONT_PATH,
                 mapped ? error : "cannot map it");
        return false;
    }
    return true;
}

BOOT_ONLY void fbcon_start(const struct mb2_summary *boot)
{
    const struct mb2_framebuffer *info = &boot->framebuffer;
    if (!boot->has_framebuffer || info->type != MB2_FRAMEBUFFER_RGB)
        return; /* the VGA text mirror, or nothing to draw on */
    if (info->bpp < 16 || info->bpp > 32 || info->bpp % 8 != 0 || info->red_size > 8 ||
        info->green_size > 8 || info->blue_size > 8) {
        log_warn("console: a %u-bit framebuffer is not one this console draws on", info->bpp);
        return;
    }
    if (!load_font(&fb.font))
        return;
    uint64_t offset = info->address & 0xfff;
    uint64_t bytes = (offset + (uint64_t)info->pitch * info->height + 0xfff) & ~0xfffull;
    if (bytes > FRAMEBUFFER_MAX_BYTES) {
        log_warn("console: a framebuffer of %lu bytes does not fit its %u-MiB window "
                 "(kernel/memlayout.h)",
                 bytes, FRAMEBUFFER_MAX_BYTES >> 20);
        return;
    }
    if (!paging_map_write_combining(FRAMEBUFFER_BASE, info->address - offset, bytes)) {
        log_warn("console: no memory for the page tables of the framebuffer");
        return;
    }
    fb.pixels = (uint8_t *)(FRAMEBUFFER_BASE + offset);
    fb.pitch = info->pitch, fb.width = info->width, fb.height = info->height;
    fb.bytes_per_pixel = info->bpp / 8;
    fb.foreground = pack(info, 0xAA, 0xAA, 0xAA);
    fb.background = pack(info, 0, 0, 0);
    fb.cursor = (struct text_screen){
        info->width / PSF_GLYPH_WIDTH, info->height / fb.font.height, 0, 0, draw_cell, scroll_up};
    clear_rows(0, fb.cursor.rows);
    fb.active = true;
    log_info("console: on the framebuffer too, %ux%u characters (font %s, 8x%u); %lu KiB at "
             "%#lx, %s",
             fb.cursor.columns, fb.cursor.rows, FBCON_FONT_PATH, fb.font.height, bytes >> 10,
             (uint64_t)FRAMEBUFFER_BASE,
             paging_stats()->has_pat ? "write-combining" : "uncached (no PAT)");
}
