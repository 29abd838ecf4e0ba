/*
 * test_bootfs.c: the tree and the file API (fs/bootfs.c) on archives built
 * here: lookup with ".", ".." and symlinks, hard links sharing data, names
 * that escape the root, duplicates, the read-only refusals, zero copy by
 * address, and a tree too deep for any recursion.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "fs/bootfs.h"
#include "tests/host/fs/tar_builder.h"
#include "tests/host/lib/test_report.h"

static struct bootfs fs;
static struct tar_builder tb;

static void mount_built(void)
{
    struct tar_error error;
    int status = bootfs_mount(&fs, tb.bytes, tb.length, 0x200000, true, &error);
    if (status != FS_OK)
        fail_msg("mount refused: offset %lu: %s", (unsigned long)error.offset, error.reason);
}

static int teardown(void **state)
{
    (void)state;
    bootfs_unmount(&fs);
    tb_free(&tb);
    return 0;
}

static const struct bootfs_node *must_find(const char *path, bool follow)
{
    const struct bootfs_node *node = NULL;
    int status = bootfs_lookup(&fs, path, follow, &node);
    if (status != FS_OK)
        fail_msg("lookup %s: %s", path, fs_error_text(status));
    return node;
}

static void files_are_served_in_place(void **state)
{
    (void)state;
    tb_file(&tb, "docs/readme.txt", "read me\n");
    tb_file(&tb, "a/b/c/deep.txt", "deep");
    tb_end(&tb);
    mount_built();
    struct bootfs_file file;
    assert_int_equal(bootfs_open(&fs, "/docs/readme.txt", BOOTFS_READ, &file), FS_OK);
    const void *data;
    uint64_t bytes;
    assert_int_equal(bootfs_map(&file, &data, &bytes), FS_OK);
    assert_ptr_equal(data, tb.bytes + 512); /* the archive's own bytes, after the header */
    assert_int_equal(bytes, 8);
    char buffer[16] = {0};
    assert_int_equal(bootfs_read(&file, buffer, 3), 3);
    assert_int_equal(bootfs_read(&file, buffer + 3, 100), 5);
    assert_int_equal(bootfs_read(&file, buffer, 100), 0);
    assert_string_equal(buffer, "read me\n");
    assert_int_equal(bootfs_pread(&file, buffer, 4, 5), 3);
    assert_memory_equal(buffer, "me\n", 3);
    assert_int_equal(bootfs_close(&file), FS_OK);
    assert_int_equal(bootfs_close(&file), FS_EBADF);

    struct bootfs_stat stat;
    assert_int_equal(bootfs_stat(&fs, "a/b/c/deep.txt", &stat), FS_OK);
    assert_int_equal(stat.archive_offset, 1536);
    assert_int_equal(stat.data_phys, 0x200000 + 1536);
    assert_false(stat.page_aligned);
    assert_int_equal(bootfs_stat(&fs, "/a/b", &stat), FS_OK);
    assert_int_equal(stat.type, TAR_DIRECTORY);
    assert_int_equal(stat.children, 1);

    struct bootfs_stats stats;
    bootfs_stats(&fs, &stats);
    assert_int_equal(stats.files, 2);
    assert_int_equal(stats.directories, 5); /* /, docs, a, a/b, a/b/c */
    assert_int_equal(stats.data_bytes_in_place, 12);
    assert_int_equal(stats.data_bytes_copied, 0);
    assert_int_equal(stats.unaligned_files, 2);
    assert_true(sizeof(struct bootfs_node) <= 128);
}

static void dots_slashes_and_errors(void **state)
{
    (void)state;
    tb_file(&tb, "./dir/file", "x");
    tb_header(&tb, "dir/sub/", '5', 0, NULL);
    tb_end(&tb);
    mount_built();
    const struct bootfs_node *file = must_find("/dir/file", true);
    assert_ptr_equal(must_find("//dir///./sub/../file", true), file);
    assert_ptr_equal(must_find("dir/file", true), file);
    assert_ptr_equal(must_find("/../../dir/file", true), file); /* .. at the root stays there */
    assert_ptr_equal(must_find("/", true), fs.root);
    const struct bootfs_node *node;
    assert_int_equal(bootfs_lookup(&fs, "/dir/nothing", true, &node), FS_ENOENT);
    assert_int_equal(bootfs_lookup(&fs, "/dir/file/more", true, &node), FS_ENOTDIR);
    struct bootfs_file handle;
    assert_int_equal(bootfs_open(&fs, "/dir", BOOTFS_READ, &handle), FS_OK);
    char byte;
    assert_int_equal(bootfs_read(&handle, &byte, 1), FS_EISDIR);
    struct bootfs_dirent entry;
    int names = 0;
    while (bootfs_readdir(&handle, &entry) == 1)
        names++;
    assert_int_equal(names, 2);
    bootfs_close(&handle);
    assert_int_equal(bootfs_open(&fs, "/dir/file", BOOTFS_READ, &handle), FS_OK);
    assert_int_equal(bootfs_readdir(&handle, &entry), FS_ENOTDIR);
    bootfs_close(&handle);
}

static void symlinks_resolve_with_a_limit(void **state)
{
    (void)state;
    tb_file(&tb, "etc/real", "real");
    tb_header(&tb, "etc/rel", '2', 0, "real");
    tb_header(&tb, "abs", '2', 0, "/etc/real");
    tb_header(&tb, "up", '2', 0, "etc/../etc/rel"); /* a chain: up -> etc/rel -> real */
    tb_header(&tb, "dirlink", '2', 0, "etc");
    tb_header(&tb, "loop1", '2', 0, "loop2");
    tb_header(&tb, "loop2", '2', 0, "loop1");
    tb_header(&tb, "dangling", '2', 0, "missing");
    tb_end(&tb);
    mount_built();
    const struct bootfs_node *real = must_find("/etc/real", true);
    assert_ptr_equal(must_find("/etc/rel", true), real);
    assert_ptr_equal(must_find("/abs", true), real);
    assert_ptr_equal(must_find("/up", true), real);
    assert_ptr_equal(must_find("/dirlink/real", true), real);
    assert_int_equal(must_find("/abs", false)->type, TAR_SYMLINK);
    const struct bootfs_node *node;
    assert_int_equal(bootfs_lookup(&fs, "/loop1", true, &node), FS_ELOOP);
    assert_int_equal(bootfs_lookup(&fs, "/loop1", false, &node), FS_OK);
    assert_int_equal(bootfs_lookup(&fs, "/dangling", true, &node), FS_ENOENT);
    struct bootfs_stat stat;
    assert_int_equal(bootfs_lstat(&fs, "/abs", &stat), FS_OK);
    assert_int_equal(stat.link_length, 9);
    assert_memory_equal(stat.link, "/etc/real", 9);
}

static void hard_links_share_data(void **state)
{
    (void)state;
    tb_file(&tb, "file.txt", "Slartibartfast\n");
    tb_header(&tb, "hard.txt", '1', 15, "file.txt"); /* size ignored: no data */
    tb_header(&tb, "early", '1', 0, "later");        /* target not there yet */
    tb_end(&tb);
    mount_built();
    struct bootfs_stat file, hard;
    assert_int_equal(bootfs_stat(&fs, "/file.txt", &file), FS_OK);
    assert_int_equal(bootfs_stat(&fs, "/hard.txt", &hard), FS_OK);
    assert_ptr_equal(file.data, hard.data);
    assert_int_equal(hard.size, 15);
    assert_true(hard.hard_link);
    assert_int_equal(fs.skipped, 1);
    struct bootfs_stats stats;
    bootfs_stats(&fs, &stats);
    assert_int_equal(stats.files, 1);
    assert_int_equal(stats.hard_links, 1);
    assert_int_equal(stats.data_bytes_in_place, 15);
}

/* A hard link that replaces the very directory its source lives in. */
static void a_hard_link_replacing_its_sources_directory(void **state)
{
    (void)state;
    tb_file(&tb, "d/f", "inside d");
    tb_header(&tb, "d", '1', 0, "d/f");
    tb_end(&tb);
    mount_built();
    struct bootfs_stat stat;
    assert_int_equal(bootfs_stat(&fs, "/d", &stat), FS_OK);
    assert_int_equal(stat.type, TAR_REGULAR);
    assert_int_equal(stat.size, 8);
    assert_memory_equal(stat.data, "inside d", 8);
    assert_int_equal(fs.replaced, 1);
    assert_int_equal(fs.nodes, 2);
}

static void escaping_names_are_skipped_and_duplicates_replace(void **state)
{
    (void)state;
    tb_file(&tb, "../evil", "no");
    tb_file(&tb, "a/../../evil", "no");
    tb_file(&tb, "a/../fine", "yes");
    tb_file(&tb, "/abs", "leading slash dropped");
    tb_file(&tb, "dup", "first");
    tb_file(&tb, "dup", "second");
    tb_file(&tb, "tree/leaf", "x");
    tb_file(&tb, "tree", "now a file");
    tb_end(&tb);
    mount_built();
    const struct bootfs_node *node;
    assert_int_equal(bootfs_lookup(&fs, "/evil", true, &node), FS_ENOENT);
    assert_int_equal(fs.skipped, 2);
    must_find("/fine", true);
    must_find("/abs", true);
    assert_int_equal(fs.replaced, 2);
    struct bootfs_file file;
    char buffer[16] = {0};
    assert_int_equal(bootfs_open(&fs, "/dup", BOOTFS_READ, &file), FS_OK);
    assert_int_equal(bootfs_read(&file, buffer, sizeof(buffer)), 6);
    assert_string_equal(buffer, "second");
    assert_int_equal(must_find("/tree", true)->type, TAR_REGULAR);
    assert_int_equal(bootfs_lookup(&fs, "/tree/leaf", true, &node), FS_ENOTDIR);
}

static void every_write_path_is_refused(void **state)
{
    (void)state;
    tb_file(&tb, "f", "data");
    tb_end(&tb);
    mount_built();
    struct bootfs_file file;
    assert_int_equal(bootfs_open(&fs, "/f", BOOTFS_WRITE, &file), FS_EROFS);
    assert_int_equal(bootfs_open(&fs, "/new", BOOTFS_CREATE, &file), FS_EROFS);
    assert_int_equal(bootfs_open(&fs, "/f", BOOTFS_TRUNCATE, &file), FS_EROFS);
    assert_int_equal(bootfs_open(&fs, "/f", BOOTFS_READ, &file), FS_OK);
    assert_int_equal(bootfs_write(&file, "x", 1), FS_EROFS);
    assert_int_equal(bootfs_create(&fs, "/g"), FS_EROFS);
    assert_int_equal(bootfs_truncate(&fs, "/f", 0), FS_EROFS);
    assert_int_equal(bootfs_unlink(&fs, "/f"), FS_EROFS);
    assert_int_equal(bootfs_mkdir(&fs, "/d"), FS_EROFS);
    assert_int_equal(bootfs_rename(&fs, "/f", "/g"), FS_EROFS);
    char buffer[8];
    assert_int_equal(bootfs_read(&file, buffer, 8), 4); /* and the data is unchanged */
    assert_memory_equal(buffer, "data", 4);
    assert_string_equal(fs_error_text(FS_EROFS), "EROFS: read-only file system");
}

static void special_files_are_listed_but_not_read(void **state)
{
    (void)state;
    tb_header(&tb, "dev/null", '3', 0, NULL);
    tb_header(&tb, "dev/sda", '4', 0, NULL);
    tb_header(&tb, "fifo", '6', 0, NULL);
    tb_end(&tb);
    mount_built();
    struct bootfs_file file;
    char byte;
    const char *paths[] = {"/dev/null", "/dev/sda", "/fifo"};
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(bootfs_open(&fs, paths[i], BOOTFS_READ, &file), FS_OK);
        assert_int_equal(bootfs_read(&file, &byte, 1), FS_ENOTSUP);
        const void *data;
        uint64_t bytes;
        assert_int_equal(bootfs_map(&file, &data, &bytes), FS_ENOTSUP);
        bootfs_close(&file);
    }
    struct bootfs_stats stats;
    bootfs_stats(&fs, &stats);
    assert_int_equal(stats.others, 3);
}

static void a_malformed_archive_is_refused_whole(void **state)
{
    (void)state;
    tb_file(&tb, "good", "fine");
    uint8_t *header = tb_header(&tb, "bad", '0', 0, NULL);
    header[148] = 'z'; /* checksum field not octal */
    tb_end(&tb);
    struct tar_error error;
    assert_int_equal(bootfs_mount(&fs, tb.bytes, tb.length, 0, true, &error), FS_EINVAL);
    assert_int_equal(error.offset, 1024);
    assert_null(fs.root); /* nothing kept (and ASan's leak check sees nothing lost) */
}

static void a_tree_deeper_than_any_stack(void **state)
{
    (void)state;
    /* A pax path of 200,000 components: mount, look up, walk, unmount. */
    size_t components = 200000;
    size_t path_bytes = components * 2;
    char *record = malloc(path_bytes + 32);
    size_t total = path_bytes + 7; /* " path=" and "\n", then the length's own digits */
    for (size_t digits = 1, limit = 10;; digits++, limit *= 10)
        if (total + digits < limit) {
            total += digits;
            break;
        }
    int prefix = snprintf(record, 32, "%zu path=", total);
    for (size_t i = 0; i < components; i++)
        memcpy(record + prefix + 2 * i, "a/", 2);
    record[prefix + path_bytes - 1] = 'f';
    record[prefix + path_bytes] = '\n';
    record[prefix + path_bytes + 1] = 0;
    tb_pax(&tb, 'x', record);
    tb_header(&tb, "ignored", '0', 0, NULL);
    tb_end(&tb);
    mount_built();
    assert_int_equal(fs.nodes, components + 1);
    struct bootfs_stats stats;
    bootfs_stats(&fs, &stats);
    assert_int_equal(stats.directories, components);
    assert_int_equal(stats.files, 1);
    char path[64];
    bootfs_path_of(fs.root->first_child->first_child, path, sizeof(path));
    assert_string_equal(path, "/a/a");
    free(record);
}

/* Every archive of the shared corpus mounts or is refused, under ASan. */
static void the_corpus_mounts_or_is_refused(void **state)
{
    (void)state;
    const char *root = getenv("TAR_CORPUS");
    if (!root)
        fail_msg("TAR_CORPUS is not set (make -C tests/host test sets it from TESTDATA)");
    const char *folders[] = {"go", "libarchive", "libarchive-inline", "cpython"};
    unsigned mounted = 0, refused = 0;
    for (unsigned f = 0; f < 4; f++) {
        char dir_path[512];
        snprintf(dir_path, sizeof(dir_path), "%s/%s", root, folders[f]);
        DIR *dir = opendir(dir_path);
        assert_non_null(dir);
        struct dirent *item;
        while ((item = readdir(dir))) {
            size_t length = strlen(item->d_name);
            if (length < 4 || strcmp(item->d_name + length - 4, ".tar") != 0)
                continue;
            char path[1024];
            snprintf(path, sizeof(path), "%s/%s", dir_path, item->d_name);
            FILE *file = fopen(path, "rb");
            fseek(file, 0, SEEK_END);
            long bytes = ftell(file);
            fseek(file, 0, SEEK_SET);
            uint8_t *archive = malloc((size_t)bytes + 1);
            assert_int_equal(fread(archive, 1, (size_t)bytes, file), (size_t)bytes);
            fclose(file);
            struct tar_error error;
            int status = bootfs_mount(&fs, archive, (uint64_t)bytes, 0, true, &error);
            if (status == FS_OK) {
                mounted++;
                struct bootfs_stats stats;
                bootfs_stats(&fs, &stats);
                assert_int_equal(stats.data_bytes_copied, 0);
                bootfs_unmount(&fs);
            } else {
                assert_int_equal(status, FS_EINVAL);
                assert_true(error.offset <= (uint64_t)bytes);
                refused++;
            }
            free(archive);
        }
        closedir(dir);
    }
    print_message("corpus: %u mounted, %u refused\n", mounted, refused);
    assert_int_equal(refused, 18); /* the ones check_corpus.py lists as malformed */
    assert_true(mounted >= 90);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(files_are_served_in_place, teardown),
        cmocka_unit_test_teardown(dots_slashes_and_errors, teardown),
        cmocka_unit_test_teardown(symlinks_resolve_with_a_limit, teardown),
        cmocka_unit_test_teardown(hard_links_share_data, teardown),
        cmocka_unit_test_teardown(a_hard_link_replacing_its_sources_directory, teardown),
        cmocka_unit_test_teardown(escaping_names_are_skipped_and_duplicates_replace, teardown),
        cmocka_unit_test_teardown(every_write_path_is_refused, teardown),
        cmocka_unit_test_teardown(special_files_are_listed_but_not_read, teardown),
        cmocka_unit_test_teardown(a_malformed_archive_is_refused_whole, teardown),
        cmocka_unit_test_teardown(a_tree_deeper_than_any_stack, teardown),
        cmocka_unit_test_teardown(the_corpus_mounts_or_is_refused, teardown),
    };
    return RUN_AND_REPORT(tests);
}
