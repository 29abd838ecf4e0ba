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
