/*
 * rootfs.c: finds GRUB's "bootfs" module and mounts it (fs/bootfs.c). The
 * `mount` command that shows what the mount holds is in rootfs_commands.c.
 *
 * The module's pages were reserved by name before the page allocator started
 * (kernel/memory.c) and are never released: every file's data pointer points
 * into them, through the direct map.
 */
#include "kernel/rootfs.h"

#include "kernel/console.h"
#include "kernel/memlayout.h"
#include "lib/boot_only.h"
#include "lib/string.h"

static struct bootfs root_fs;
static bool mounted;
static struct mb2_module module; /* the one mounted */

const struct bootfs *rootfs(void)
{
    return mounted ? &root_fs : NULL;
}

const struct bootfs *rootfs_or_complain(const char *command)
{
    if (!mounted)
        kprintf("%s: no root filesystem (the boot module was missing or refused: see the boot "
                "log)\n",
                command);
    return rootfs();
}

/* The module's string is "bootfs" or starts with "bootfs " (GRUB passes the
 * rest of the module2 line after the path). */
static bool is_bootfs_module(const struct mb2_module *candidate)
{
    size_t length = strlen(ROOTFS_MODULE_NAME);
    return strncmp(candidate->name, ROOTFS_MODULE_NAME, length) == 0 &&
           (candidate->name[length] == 0 || candidate->name[length] == ' ');
}

BOOT_ONLY void rootfs_mount(const struct mb2_summary *boot)
{
    const struct mb2_module *found = NULL;
    for (unsigned i = 0; i < boot->module_count && !found; i++)
        if (is_bootfs_module(&boot->modules[i]))
            found = &boot->modules[i];
    if (!found) {
        log_warn("bootfs: no boot module named '%s' (grub.cfg: module2 /boot/bootfs.tar %s; "
                 "%u module(s) given): going on without a root filesystem",
                 ROOTFS_MODULE_NAME, ROOTFS_MODULE_NAME, boot->module_count);
        return;
    }
    uint64_t bytes = found->end - found->start;
    /* GRUB gives 0, 0 for an empty file: nothing to map, an empty filesystem. */
    const void *archive = bytes ? phys_to_virt(found->start) : NULL;
    struct tar_error error;
    int status = bootfs_mount(&root_fs, archive, bytes, found->start, false, &error);
    if (status != FS_OK) {
        kprintf("bootfs: refused: the module at %#x (%lu bytes) is not a valid tar archive: "
                "at byte offset %lu: %s\n",
                found->start, bytes, error.offset, error.reason);
        kprintf("bootfs: going on without a root filesystem\n");
        return;
    }
    mounted = true;
    module = *found;
    struct bootfs_stats stats;
    bootfs_stats(&root_fs, &stats);
    log_info("bootfs: mounted the module at %#x (%lu bytes) read-only on /: %lu files, %lu "
             "directories, %lu bytes served in place, %lu copied",
             found->start, bytes, stats.files + stats.hard_links, stats.directories,
             stats.data_bytes_in_place, stats.data_bytes_copied);
    if (stats.unaligned_files)
        log_warn("bootfs: %lu of %lu files do not start on a page (the archive was not made by "
                 "tools/mkbootfs): they are served in place all the same",
                 stats.unaligned_files, stats.files);
}

const struct mb2_module *rootfs_module(void)
{
    return mounted ? &module : NULL;
}
