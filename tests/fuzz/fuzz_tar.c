/*
 * fuzz_tar.c: libFuzzer target for fs/tar.c and fs/bootfs.c, the readers of
 * the boot module (outside input: any tar a user boots with BOOTFS=).
 *
 * The input is the archive. First the bare reader: every entry must lie
 * inside the input and the walk must end. Then the mount: if it succeeds,
 * every file's data must lie inside the input (zero copy), every node must be
 * reachable from the root, lookups of each node's path must find it, and
 * reads through the file API must return the bytes in place. ASan catches
 * any read outside the input (libFuzzer's buffer is exactly its size).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fs/bootfs.h"
#include "fs/tar.h"

#define CHECK(condition)                                                                           \
    do {                                                                                           \
        if (!(condition))                                                                          \
            __builtin_trap();                                                                      \
    } while (0)

static void check_reader(const uint8_t *data, size_t size)
{
    struct tar_reader reader;
    struct tar_entry entry;
    struct tar_error error;
    tar_reader_init(&reader, data, size);
    uint64_t previous = 0;
    int status;
    while ((status = tar_next(&reader, &entry, &error)) == 1) {
        CHECK(entry.header_offset < size);
        CHECK(entry.header_offset >= previous); /* forward only: the walk ends */
        CHECK(entry.data_offset <= size && entry.stored_bytes <= size - entry.data_offset);
        CHECK(entry.name.length == 0 ||
              (entry.name.bytes >= data && entry.name.bytes + entry.name.length <= data + size));
        CHECK(entry.link.length == 0 ||
              (entry.link.bytes >= data && entry.link.bytes + entry.link.length <= data + size));
        previous = entry.data_offset;
    }
    if (status < 0)
        CHECK(error.offset <= size && error.reason[0] != 0);
}

struct visit_context {
    const struct bootfs *fs;
    const uint8_t *data;
    size_t size;
    uint64_t visited;
};

static void visit(void *context_pointer, const struct bootfs_node *node, unsigned depth)
{
    struct visit_context *context = context_pointer;
    context->visited++;
    CHECK(node->parent->type == TAR_DIRECTORY);
    CHECK(node->first_child == NULL || node->type == TAR_DIRECTORY);
    if (node->type == TAR_REGULAR) {
        CHECK(node->data >= context->data);
        CHECK((uint64_t)(node->data - context->data) <= context->size);
        CHECK(node->size <= context->size - (uint64_t)(node->data - context->data));
    }
    if (depth > 8 || node->type == TAR_DIRECTORY)
        return;
    /* Look the node up by its path (lstat: do not follow a final symlink). */
    char path[512];
    bootfs_path_of(node, path, sizeof(path));
    if (strcmp(path, "...") == 0)
        return;
    const struct bootfs_node *found;
    int status = bootfs_lookup(context->fs, path, false, &found);
    /* A name with a NUL byte cannot be asked for as a C string. */
    if (memchr(node->name, 0, node->name_length) == NULL)
        CHECK(status == FS_OK && found == node);
    struct bootfs_file file;
    if (bootfs_open(context->fs, path, BOOTFS_READ, &file) == FS_OK) {
        uint8_t buffer[64];
        int64_t got = bootfs_pread(&file, buffer, sizeof(buffer), 0);
        if (got > 0 && file.node->type == TAR_REGULAR)
            CHECK(memcmp(buffer, file.node->data, (size_t)got) == 0);
        CHECK(bootfs_write(&file, "x", 1) == FS_EROFS);
        bootfs_close(&file);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_reader(data, size);
    struct bootfs fs;
    struct tar_error error;
    if (bootfs_mount(&fs, data, size, 0x100000, true, &error) != FS_OK)
        return 0;
    struct bootfs_stats stats;
    bootfs_stats(&fs, &stats);
    CHECK(stats.data_bytes_copied == 0);
    struct visit_context context = {&fs, data, size, 0};
    bootfs_walk(&fs, visit, &context);
    CHECK(context.visited == fs.nodes);
    const struct bootfs_node *node;
    (void)bootfs_lookup(&fs, "/a/../b/./c//d", true, &node);
    bootfs_unmount(&fs);
    return 0;
}
