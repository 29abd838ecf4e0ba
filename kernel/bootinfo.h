/* bootinfo.h: what the kernel keeps from GRUB's boot information (MBI). */
#ifndef KERNEL_BOOTINFO_H
#define KERNEL_BOOTINFO_H

#include "kernel/memlayout.h"

struct boot_info {
    phys_addr_t mbi_phys;
    uint32_t mbi_total_size;
    const char *cmdline;          /* inside the MBI; "" if none */
    const char *boot_loader_name; /* inside the MBI; "unknown" if none */
    unsigned tag_count;
};

/* Read the MBI at mbi_phys. A malformed MBI gets a warning naming the tag's
 * offset; what was read before the problem is kept. */
void bootinfo_read(phys_addr_t mbi_phys, struct boot_info *info);

#endif
