/* bootinfo.h: what the kernel keeps from GRUB's boot information (MBI). */
#ifndef KERNEL_BOOTINFO_H
#define KERNEL_BOOTINFO_H

#include "kernel/memlayout.h"
#include "lib/multiboot2.h"

struct boot_info {
    phys_addr_t mbi_phys;
    bool valid;                   /* the MBI header could be read at all */
    struct mb2_summary summary;   /* every tag the kernel uses, checked */
    const char *cmdline;          /* "" if none */
    const char *boot_loader_name; /* "unknown" if none */
};

/* Read the MBI at mbi_phys. Malformed tags get a warning naming the tag and
 * its offset; what could be read safely is kept. */
void bootinfo_read(phys_addr_t mbi_phys, struct boot_info *info);

/* One boot-log line: the framebuffer GRUB set up (tag 8), or that there is none. */
void bootinfo_log_framebuffer(const struct boot_info *info);

#endif
