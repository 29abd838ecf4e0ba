/*
 * rootfs.h: the root filesystem: the boot module named "bootfs" (a tar
 * archive), mounted read-only with fs/bootfs.h and served in place.
 */
#ifndef KERNEL_ROOTFS_H
#define KERNEL_ROOTFS_H

#include "fs/bootfs.h"
#include "lib/multiboot2.h"

#define ROOTFS_MODULE_NAME "bootfs"

/* Finds the module and mounts it. A missing module or a malformed archive is
 * reported (a refusal starts with "bootfs: refused") and the kernel goes on
 * without a root filesystem. */
void rootfs_mount(const struct mb2_summary *boot);

/* The mounted filesystem, or NULL if there is none. */
const struct bootfs *rootfs(void);

/* For commands: the filesystem, or NULL after printing why there is none
 * ("COMMAND: no root filesystem ..."). */
const struct bootfs *rootfs_or_complain(const char *command);

/* The GRUB module the root filesystem was mounted from, or NULL if none. */
const struct mb2_module *rootfs_module(void);

#endif
