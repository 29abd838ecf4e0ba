/*
 * tar_list.c: lists tar archives with fs/tar.c, in a form that
 * tests/host/fs/check_corpus.py compares with what Python's tarfile and GNU
 * tar said of the same files (ORACLE.txt in each folder of ../shared/testdata/tar).
 *
 *     tar_list ARCHIVE...
 *
 * For each archive: "== PATH", one line per entry
 *     type=T size=N name=BYTES [link=BYTES] [sha256=FIRST16HEX]
 * (BYTES: printable ASCII as is, other bytes and '\' as \xHH; the digest is
 * of the data served in place, regular files only), then "OK end" or
 * "ERROR offset=N reason".
 */
#include <stdio.h>
#include <stdlib.h>

#include "fs/tar.h"
#include "lib/sha256.h"

static void print_bytes(const char *label, struct tar_bytes bytes)
{
    printf(" %s=", label);
    for (size_t i = 0; i < bytes.length; i++) {
        unsigned byte = bytes.bytes[i];
        if (byte >= 0x20 && byte < 0x7f && byte != '\\' && byte != ' ')
            putchar((int)byte);
        else
            printf("\\x%02x", byte);
    }
}

static void print_path(struct tar_entry *entry)
{
    /* prefix + "/" + name, as one string */
    size_t length = entry->prefix.length + (entry->prefix.length ? 1 : 0) + entry->name.length;
    unsigned char *joined = malloc(length + 1);
    size_t at = 0;
    for (size_t i = 0; i < entry->prefix.length; i++)
        joined[at++] = entry->prefix.bytes[i];
    if (entry->prefix.length)
        joined[at++] = '/';
    for (size_t i = 0; i < entry->name.length; i++)
        joined[at++] = entry->name.bytes[i];
    print_bytes("name", (struct tar_bytes){joined, length});
    free(joined);
}

static int list(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        perror(path);
        return 1;
    }
    fseek(file, 0, SEEK_END);
    long length = ftell(file);
    fseek(file, 0, SEEK_SET);
    /* An exact-size heap buffer: ASan catches any read past it. */
    unsigned char *archive = malloc(length ? (size_t)length : 1);
    if (fread(archive, 1, (size_t)length, file) != (size_t)length) {
        perror(path);
        return 1;
    }
    fclose(file);
    printf("== %s\n", path);
    struct tar_reader reader;
    struct tar_entry entry;
    struct tar_error error;
    tar_reader_init(&reader, archive, (uint64_t)length);
    int status;
    while ((status = tar_next(&reader, &entry, &error)) == 1) {
        printf("type=%s size=%llu", tar_type_name(entry.type), (unsigned long long)entry.size);
        print_path(&entry);
        if (entry.type == TAR_HARDLINK || entry.type == TAR_SYMLINK)
            print_bytes("link", entry.link);
        if (entry.type == TAR_REGULAR) {
            struct sha256 hash;
            uint8_t digest[SHA256_DIGEST_BYTES];
            char hex[65];
            sha256_init(&hash);
            sha256_update(&hash, archive + entry.data_offset, entry.stored_bytes);
            sha256_final(&hash, digest);
            sha256_hex(digest, hex);
            printf(" sha256=%.16s", hex);
        }
        printf("\n");
    }
    if (status == 0)
        printf("OK end\n");
    else
        printf("ERROR offset=%llu %s\n", (unsigned long long)error.offset, error.reason);
    free(archive);
    return 0;
}

int main(int argc, char **argv)
{
    int status = 0;
    for (int i = 1; i < argc; i++)
        status |= list(argv[i]);
    return status;
}
