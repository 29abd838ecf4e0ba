/* bootinfo.c: read GRUB's boot information with lib/multiboot2. */
#include "kernel/bootinfo.h"

#include "kernel/console.h"
#include "lib/boot_only.h"

BOOT_ONLY void bootinfo_read(phys_addr_t mbi_phys, struct boot_info *info)
{
    *info = (struct boot_info){.mbi_phys = mbi_phys, .cmdline = "", .boot_loader_name = "unknown"};
    /* The early direct map covers [0, EARLY_DIRECT_MAP_BYTES): nothing past
     * it may be read. GRUB puts the MBI below 4 GiB. */
    if (mbi_phys == 0 || mbi_phys >= EARLY_DIRECT_MAP_BYTES) {
        log_error("boot information at %#lx is outside the first 4 GiB; ignored", mbi_phys);
        return;
    }
    struct mb2_error error;
    if (!mb2_summarize(phys_to_virt(mbi_phys), EARLY_DIRECT_MAP_BYTES - mbi_phys, &info->summary,
                       &error)) {
        log_error("boot information at %#lx: %s; ignored", mbi_phys, error.message);
        return;
    }
    info->valid = true;
    const struct mb2_summary *summary = &info->summary;
    if (summary->cmdline)
        info->cmdline = summary->cmdline;
    if (summary->boot_loader_name)
        info->boot_loader_name = summary->boot_loader_name;
    if (summary->warning_count)
        log_warn("boot information: %u malformed tag(s) skipped; the first: %s",
                 summary->warning_count, summary->first_warning.message);
    if (summary->list_broken)
        log_warn("boot information: %s; the tags after it were ignored",
                 summary->list_error.message);
    if (summary->modules_truncated)
        log_warn("boot information: more than %d modules; the rest are ignored", MB2_MAX_MODULES);
}

BOOT_ONLY void bootinfo_log_framebuffer(const struct boot_info *info)
{
    const struct mb2_framebuffer *fb = &info->summary.framebuffer;
    if (!info->summary.has_framebuffer)
        log_info("boot: no framebuffer from the boot loader");
    else if (fb->type == MB2_FRAMEBUFFER_EGA_TEXT)
        log_info("boot: framebuffer: VGA text, %ux%u characters at %#lx (the console's VGA mirror)",
                 fb->width, fb->height, fb->address);
    else if (fb->type == MB2_FRAMEBUFFER_RGB)
        log_info("boot: framebuffer: %ux%u pixels, %u bits (red, green, blue at bits %u, %u, %u), "
                 "pitch %u bytes, at physical %#lx; the console does not draw on it yet (serial "
                 "only)",
                 fb->width, fb->height, fb->bpp, fb->red_position, fb->green_position,
                 fb->blue_position, fb->pitch, fb->address);
    else
        log_info("boot: framebuffer: %ux%u pixels, %u bits, a palette of %u colours, at physical "
                 "%#lx; the console does not draw on it",
                 fb->width, fb->height, fb->bpp, fb->palette_colors, fb->address);
}
