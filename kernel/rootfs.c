/*
 * rootfs.c: finds GRUB's "bootfs" module, mounts it (fs/bootfs.c), and the
 * `mount` command that shows what the mount holds.
 *
 * The module's pages were reserved by name before the page allocator started
 * (kernel/memory.c) and are never released: every file's data pointer points
 * into them, through the direct map.
 */
#include "kernel/rootfs.h"

#include "kernel/console.h"
#include "kernel/memlayout.h"
#include "kernel/shell.h"
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
                "log)\n", command);
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

void rootfs_mount(const struct mb2_summary *boot)
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
                "at byte offset %lu: %s\n", found->start, bytes, error.offset, error.reason);
        kprintf("bootfs: going on without a root filesystem\n");
        return;
    }
    mounted = true;
    module = *found;
    struct bootfs_stats stats;
    bootfs_stats(&root_fs, &stats);
    log_info("bootfs: mounted the module at %#x (%lu bytes) read-only on /: %lu files, %lu "
             "directories, %lu bytes served in place, %lu copied", found->start, bytes,
             stats.files + stats.hard_links, stats.directories, stats.data_bytes_in_place,
             stats.data_bytes_copied);
    if (stats.unaligned_files)
        log_warn("bootfs: %lu of %lu files do not start on a page (the archive was not made by "
                 "tools/mkbootfs): they are served in place all the same", stats.unaligned_files,
                 stats.files);
}

static int command_mount(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        kprintf("usage: mount\n");
        return 1;
    }
    const struct bootfs *fs = rootfs_or_complain("mount");
    if (!fs)
        return 1;
    struct bootfs_stats stats;
    bootfs_stats(fs, &stats);
    uint64_t bytes = module.end - module.start;
    kprintf("bootfs on / type tar (read-only), from the GRUB module '%s'\n", module.name);
    kprintf("  module: physical %#x-%#x (%lu bytes, %lu pages), virtual %#lx\n", module.start,
            module.end, bytes, (bytes + 4095) / 4096, (uint64_t)fs->archive);
    kprintf("  archive entries: %lu; nodes: %lu (%lu files, %lu hard links, %lu directories, "
            "%lu symlinks, %lu other)\n", fs->entries, fs->nodes, stats.files, stats.hard_links,
            stats.directories, stats.symlinks, stats.others);
    kprintf("  file data served in place: %lu bytes; bytes copied: %lu\n",
            stats.data_bytes_in_place, stats.data_bytes_copied);
    kprintf("  files not page-aligned: %lu of %lu\n", stats.unaligned_files, stats.files);
    kprintf("  metadata: %lu bytes (%lu nodes x %zu bytes, from malloc); names: %lu bytes, "
            "in the module, not copied\n", stats.node_bytes, fs->nodes,
            sizeof(struct bootfs_node), stats.name_bytes);
    kprintf("  entries skipped: %lu; replaced by a later one: %lu\n", fs->skipped, fs->replaced);
    return 0;
}

SHELL_COMMAND(mount, "mount", "the root filesystem: its module, files, bytes in place and copied",
              command_mount);
