/*
 * tar.h: a bounded, zero-copy reader of tar archives held in memory.
 *
 * The reader walks the archive header by header and hands out one entry at a
 * time. It never copies: an entry's name, link target and data are pointers
 * into the archive itself (a GRUB module, in the kernel). It never reads a
 * byte outside [archive, archive + length): every offset is checked against
 * the length with overflow-safe 64-bit arithmetic before it is used.
 *
 * Formats: V7, POSIX ustar (with the 155-byte name prefix), pax (`x` records
 * for one entry, `g` records checked and otherwise ignored), GNU (`L` long
 * names, `K` long link targets, `S` sparse files, `D` dump directories,
 * `V` volume labels) and Solaris `X` extended headers (pax records).
 * The rules it follows, with the corpus cases behind each, are in
 * docs/bootfs.md; in short:
 *   - a header passes with the unsigned or the signed byte sum (the checksum
 *     field counted as spaces), and the field itself must be octal;
 *   - numbers are octal (NUL- or space-terminated, or the full field), or
 *     GNU base-256 when non-negative and below 2^63;
 *   - types 1-6 never carry data, whatever their size field says, and a V7
 *     regular file whose name ends in '/' is a directory;
 *   - pax records must be exactly "LEN KEY=VALUE\n"; path, linkpath and size
 *     override the header; a NUL in a key, or in a path, is an error;
 *   - a zero block, or the physical end on a block boundary, ends the archive.
 */
#ifndef FS_TAR_H
#define FS_TAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAR_BLOCK_BYTES 512
/* Largest body of a pax, L or K header accepted (Go's limit too). */
#define TAR_MAX_SPECIAL_BYTES (1024 * 1024)

enum tar_type {
    TAR_REGULAR,   /* '0', '\0', '7' (contiguous) */
    TAR_HARDLINK,  /* '1' */
    TAR_SYMLINK,   /* '2' */
    TAR_CHARDEV,   /* '3' */
    TAR_BLOCKDEV,  /* '4' */
    TAR_DIRECTORY, /* '5', 'D', or V7 '\0'/'0' with a trailing '/' */
    TAR_FIFO,      /* '6' */
    TAR_SPARSE,    /* GNU 'S', or any entry with GNU.sparse.* pax records */
};

/* A byte string inside the archive (names are bytes, not necessarily UTF-8,
 * and not NUL-terminated here). */
struct tar_bytes {
    const uint8_t *bytes;
    size_t length;
};

/* An entry's path is prefix + "/" + name when the ustar prefix is in use,
 * else just name (prefix.length == 0). Both point into the archive. */
struct tar_entry {
    uint64_t header_offset; /* the entry's first header (its x/L/K headers included) */
    uint64_t data_offset;   /* where its data starts (meaningful when stored_bytes > 0) */
    uint64_t stored_bytes;  /* bytes of data in the archive (0 for types without data) */
    uint64_t size;          /* the file's size: stored_bytes, or a sparse file's real size */
    enum tar_type type;
    char typeflag; /* the header's own byte */
    struct tar_bytes prefix, name, link;
    uint32_t mode; /* permission bits (07777) */
    uint64_t uid, gid;
    int64_t mtime; /* seconds (a pax mtime's fraction is dropped) */
    uint32_t devmajor, devminor;
};

struct tar_error {
    uint64_t offset; /* byte offset in the archive of the header or record at fault */
    char reason[112];
};

struct tar_reader {
    const uint8_t *archive;
    uint64_t length;
    uint64_t offset; /* of the next header */
    bool done;       /* end reached, or an error: tar_next returns the same again */
    bool failed;
    struct tar_error error; /* the error, when failed */
    uint64_t entries;       /* entries returned so far */
};

void tar_reader_init(struct tar_reader *reader, const void *archive, uint64_t length);

/* The next entry: 1 with *entry filled, 0 at the end of the archive, -1 on a
 * malformed archive (with *error saying where and why; no entry past it). */
int tar_next(struct tar_reader *reader, struct tar_entry *entry, struct tar_error *error);

/* "regular", "hard link", "symlink", "char device", ... */
const char *tar_type_name(enum tar_type type);

#endif
