/*
 * fbcon.h: the console drawn on a linear framebuffer (what UEFI's GOP gives
 * through GRUB: there is no VGA text mode under UEFI), with a PSF1 font read
 * from the boot filesystem (lib/psf.h), in place.
 */
#ifndef KERNEL_FBCON_H
#define KERNEL_FBCON_H

#include <stddef.h>

#include "lib/multiboot2.h"

#define FBCON_FONT_PATH "/fonts/Lat15-VGA16.psf"

/* Starts the framebuffer console when GRUB set up a direct-colour framebuffer
 * (tag 8, type RGB, 16 to 32 bits a pixel) and the root filesystem holds the
 * font: maps the framebuffer uncached, clears it, and from then on draws
 * everything the console prints. Says in the boot log what it did or why not. */
void fbcon_start(const struct mb2_summary *boot);

/* Draws text at the cursor (newline, carriage return, backspace and tab as
 * the VGA mirror does), scrolling up when the last row is full. */
void fbcon_write(const char *text, size_t len);

#endif
