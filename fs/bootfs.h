/*
 * bootfs.h: the read-only boot filesystem: a tree built over a tar archive in
 * memory, whose files are served in place.
 *
 * Zero copy. The tree's nodes (malloc'd, metadata only) point into the
 * archive for everything else: a regular file's data pointer is the archive's
 * own bytes (in the kernel, the GRUB module through the direct map), and
 * names and link targets are the archive's bytes too. Mounting copies no byte
 * of the archive; `bootfs_stats` checks that by address, file by file.
 *
 * The tree, as extraction would build it:
 *   - directories a path needs but the archive does not list are made, 0755;
 *   - an entry whose path would leave the root ("../x", "a/../../x") is
 *     skipped with a warning; a leading '/' is dropped (as tar does);
 *   - a later entry with the same path replaces the earlier one, with a
 *     warning (directories listed twice just take the later metadata);
 *   - a hard link shares its target's data (the target must come first);
 *   - symbolic links are kept as written and resolved during lookup, at most
 *     BOOTFS_MAX_SYMLINKS of them per lookup (more: FS_ELOOP);
 *   - sparse files, devices and FIFOs are listed with their type, and reading
 *     them gives FS_ENOTSUP.
 * Names are bytes, compared as bytes (no UTF-8 assumed).
 *
 * Everything that would write (create, write, truncate, unlink, mkdir,
 * rename, opening for writing) fails with FS_EROFS.
 *
 * Invariants: every node but the root has a parent that is a directory;
 * a directory's children have distinct names; only directories have
 * children; a regular node's [data, data + size) lies inside the archive.
 */
#ifndef FS_BOOTFS_H
#define FS_BOOTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/fs_error.h"
#include "fs/tar.h"

#define BOOTFS_MAX_SYMLINKS 40 /* as Linux's MAXSYMLINKS */
#define BOOTFS_PAGE_BYTES 4096

enum bootfs_node_flags {
    BOOTFS_HARD_LINK = 1, /* made by a tar hard link: shares data with `link` */
    BOOTFS_IMPLICIT = 2,  /* a directory the archive did not list */
};

struct bootfs_node {
    struct bootfs_node *parent; /* the root is its own parent */
    struct bootfs_node *first_child, *next_sibling;
    const uint8_t *name;    /* into the archive; not NUL-terminated */
    const uint8_t *data;    /* regular: the file's bytes, in the archive */
    const uint8_t *link;    /* symlink target, or a hard link's source path */
    uint64_t size;          /* regular and sparse: bytes; others 0 */
    uint64_t header_offset; /* of the entry's first header in the archive */
    int64_t mtime;
    uint32_t name_length, link_length;
    uint32_t uid, gid;
    uint16_t mode; /* permission bits, 07777 */
    uint8_t type;  /* enum tar_type (TAR_HARDLINK is never stored) */
    uint8_t flags; /* enum bootfs_node_flags */
    uint32_t devmajor, devminor;
};

struct bootfs {
    const uint8_t *archive;
    uint64_t archive_bytes;
    uint64_t archive_phys; /* physical address of archive[0] (for stat) */
    struct bootfs_node *root;
    uint64_t nodes;    /* root included */
    uint64_t entries;  /* archive entries read */
    uint64_t skipped;  /* entries skipped (escaping names, bad links) */
    uint64_t replaced; /* entries that replaced an earlier one */
    bool quiet;        /* no warnings printed */
};

/* Reads the archive and builds the tree. 0 on success. On a malformed
 * archive: FS_EINVAL with *error giving the byte offset and the reason, and
 * nothing left allocated. FS_ENOMEM if metadata cannot be allocated. */
int bootfs_mount(struct bootfs *fs, const void *archive, uint64_t archive_bytes,
                 uint64_t archive_phys, bool quiet, struct tar_error *error);
void bootfs_unmount(struct bootfs *fs);

/* Lookup: an absolute path (a relative one starts at the root too), with
 * ".", ".." and repeated slashes. follow_last: resolve a final symlink. */
int bootfs_lookup(const struct bootfs *fs, const char *path, bool follow_last,
                  const struct bootfs_node **out);

/* ---- the file API ---------------------------------------------------------- */
enum bootfs_open_flags {
    BOOTFS_READ = 0,
    BOOTFS_WRITE = 1,
    BOOTFS_CREATE = 2,
    BOOTFS_TRUNCATE = 4,
};

struct bootfs_file {
    const struct bootfs *fs;
    const struct bootfs_node *node;
    uint64_t position;                /* read offset */
    const struct bootfs_node *cursor; /* readdir: next child */
    bool open;
};

struct bootfs_stat {
    enum tar_type type;
    uint16_t mode;
    uint64_t size;
    uint32_t uid, gid;
    int64_t mtime;
    const uint8_t *link; /* target (symlink) or source (hard link) */
    uint32_t link_length;
    bool hard_link;
    const void *data;        /* regular files: where the bytes are */
    uint64_t archive_offset; /* of the data in the archive */
    uint64_t data_phys;      /* physical address of the data */
    bool page_aligned;       /* data_phys % 4096 == 0 */
    uint64_t header_offset;
    uint32_t devmajor, devminor;
    uint64_t children; /* directories */
};

struct bootfs_dirent {
    const uint8_t *name;
    uint32_t name_length;
    enum tar_type type;
    const struct bootfs_node *node;
};

int bootfs_open(const struct bootfs *fs, const char *path, unsigned flags,
                struct bootfs_file *file);
/* Bytes read (0 at the end), or a negative FS_E* (FS_EISDIR, FS_ENOTSUP). */
int64_t bootfs_read(struct bootfs_file *file, void *buffer, uint64_t bytes);
int64_t bootfs_pread(const struct bootfs_file *file, void *buffer, uint64_t bytes, uint64_t offset);
/* The zero-copy accessor: the file's bytes where they lie. */
int bootfs_map(const struct bootfs_file *file, const void **data, uint64_t *bytes);
/* 1 with *entry filled, 0 after the last, FS_ENOTDIR for a non-directory. */
int bootfs_readdir(struct bootfs_file *directory, struct bootfs_dirent *entry);
int bootfs_close(struct bootfs_file *file);
int bootfs_stat(const struct bootfs *fs, const char *path, struct bootfs_stat *stat);
int bootfs_lstat(const struct bootfs *fs, const char *path, struct bootfs_stat *stat);
void bootfs_stat_node(const struct bootfs *fs, const struct bootfs_node *node,
                      struct bootfs_stat *stat);

/* The refusals: each returns FS_EROFS. */
int64_t bootfs_write(struct bootfs_file *file, const void *buffer, uint64_t bytes);
int bootfs_create(const struct bootfs *fs, const char *path);
int bootfs_truncate(const struct bootfs *fs, const char *path, uint64_t size);
int bootfs_unlink(const struct bootfs *fs, const char *path);
int bootfs_mkdir(const struct bootfs *fs, const char *path);
int bootfs_rename(const struct bootfs *fs, const char *from, const char *to);

/* ---- what the mount holds ------------------------------------------------ */
struct bootfs_stats {
    uint64_t files, directories, symlinks, hard_links, others; /* others: sparse, dev, fifo */
    uint64_t data_bytes_in_place; /* regular files whose data lies inside the archive */
    uint64_t data_bytes_copied;   /* ... outside it (0, or zero copy is broken) */
    uint64_t unaligned_files;     /* regular files (non-empty) not starting on a page */
    uint64_t node_bytes;          /* metadata: nodes * sizeof(struct bootfs_node) */
    uint64_t name_bytes;          /* bytes of names, all in the archive (not copied) */
};
void bootfs_stats(const struct bootfs *fs, struct bootfs_stats *stats);

/* Visits every node once, parents before children (iterative: any depth). */
void bootfs_walk(const struct bootfs *fs,
                 void (*visit)(void *context, const struct bootfs_node *node, unsigned depth),
                 void *context);

/* The node's path from the root into buffer (NUL-terminated; cut with "..."
 * if it does not fit). Returns buffer. */
char *bootfs_path_of(const struct bootfs_node *node, char *buffer, size_t bytes);

#endif
