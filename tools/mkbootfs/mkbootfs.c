/*
 * mkbootfs: writes a folder as a POSIX tar archive (pax) in which every
 * regular file's data starts on a 4 KiB boundary of the archive.
 *
 *     mkbootfs [-v] [--mtime SECONDS] -o ARCHIVE.tar FOLDER
 *
 * Why: GRUB loads the archive page-aligned (a multiboot2 module), and the
 * kernel serves each file straight from the module's memory (fs/bootfs.h).
 * With each file's data on its own page boundary, a file can later be mapped
 * page by page, and `stat` in the shell shows it page-aligned.
 *
 * How, and still a tar any reader accepts: before a file whose data would
 * not land on a 4 KiB boundary, a pax extended header ('x') is written whose
 * body is sized to fill the gap: a "comment" record of padding (pax keeps
 * comments and every reader ignores them), together with the file's "path"
 * record when its name does not fit the 100-byte ustar field. The archive
 * ends with two zero blocks.
 *
 * Entries are written in byte order of their paths, directories before
 * their contents; files with several links are written once and then as
 * hard links; symbolic links are kept; other file types are skipped with a
 * warning. Owner root:root (uid 0, gid 0); mode and mtime from the file,
 * or the mtime given (for reproducible archives).
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK 512
#define PAGE 4096
#define PADDING_TEXT "mkbootfs padding: the next file's data starts on a 4 KiB page. "

static FILE *out;
static uint64_t offset; /* bytes written so far */
static bool verbose;
static long long fixed_mtime = -1;

struct seen_inode {
    dev_t dev;
    ino_t ino;
    char *path;
};
static struct seen_inode *seen;
static size_t seen_count;

static void die(const char *fmt, const char *what)
{
    fprintf(stderr, "mkbootfs: ");
    fprintf(stderr, fmt, what);
    fprintf(stderr, "\n");
    exit(1);
}

static void write_bytes(const void *bytes, size_t length)
{
    if (fwrite(bytes, 1, length, out) != length)
        die("write failed: %s", strerror(errno));
    offset += length;
}

static void write_padding_to_block(void)
{
    static const uint8_t zeros[BLOCK];
    if (offset % BLOCK)
        write_bytes(zeros, BLOCK - offset % BLOCK);
}

static void octal(char *field, size_t width, unsigned long long value)
{
    char text[32];
    snprintf(text, sizeof(text), "%0*llo", (int)(width - 1), value);
    if (strlen(text) > width - 1)
        die("a number does not fit its field (%s)", text);
    memcpy(field, text, width - 1);
    field[width - 1] = 0;
}

/* A ustar header; name and link are cut to their fields (the caller has put
 * the whole of a longer one in a pax record first). */
static void write_header(const char *name, char type, unsigned mode, unsigned long long size,
                         long long mtime, const char *link)
{
    char header[BLOCK];
    memset(header, 0, sizeof(header));
    strncpy(header, name, 100);
    octal(header + 100, 8, mode & 07777);
    octal(header + 108, 8, 0);
    octal(header + 116, 8, 0);
    octal(header + 124, 12, size);
    octal(header + 136, 12, mtime < 0 ? 0 : (unsigned long long)mtime);
    header[156] = type;
    if (link)
        strncpy(header + 157, link, 100);
    memcpy(header + 257,
           "ustar\0"
           "00",
           8);
    strcpy(header + 265, "root");
    strcpy(header + 297, "root");
    memset(header + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < BLOCK; i++)
        sum += (unsigned char)header[i];
    snprintf(header + 148, 8, "%06o", sum); /* six digits, NUL; the space stays */
    write_bytes(header, BLOCK);
}

/* "LEN KEY=VALUE\n", LEN counting the whole record, its own digits included. */
static size_t pax_record(char *buffer, size_t capacity, const char *key, const char *value)
{
    size_t body = 1 + strlen(key) + 1 + strlen(value) + 1;
    size_t length = body + 1;
    while (length != body + (size_t)snprintf(NULL, 0, "%zu", length))
        length = body + (size_t)snprintf(NULL, 0, "%zu", length);
    if (length >= capacity)
        die("a pax record is too long (%s)", key);
    snprintf(buffer, capacity, "%zu %s=%s\n", length, key, value);
    return length;
}

/* A comment record of exactly `length` bytes (length >= 12). */
static void padding_record(char *buffer, size_t length)
{
    size_t digits = (size_t)snprintf(NULL, 0, "%zu", length);
    size_t fill = length - digits - strlen(" comment=\n");
    int at = sprintf(buffer, "%zu comment=", length);
    for (size_t i = 0; i < fill; i++)
        buffer[at + i] = i + 1 == fill ? '.' : PADDING_TEXT[i % strlen(PADDING_TEXT)];
    buffer[at + fill] = '\n';
}

/* The pax header before an entry: its records, plus padding when `align`
 * says the entry's data must start on a page. Nothing if neither is needed. */
static void write_pax_header(const char *path, const char *link, bool align)
{
    char records[8192];
    size_t used = 0;
    if (strlen(path) > 100)
        used += pax_record(records + used, sizeof(records) - used, "path", path);
    if (link && strlen(link) > 100)
        used += pax_record(records + used, sizeof(records) - used, "linkpath", link);
    /* Without a pax header, the data would start at offset + 512. */
    if (used == 0 && (!align || (offset + BLOCK) % PAGE == 0))
        return;
    size_t body = used;
    if (align) { /* pax header + body blocks + entry header, then the data on a page */
        uint64_t blocks = (used + BLOCK - 1) / BLOCK;
        if (blocks == 0)
            blocks = 1;
        while ((offset + BLOCK + blocks * BLOCK + BLOCK) % PAGE != 0 ||
               blocks * BLOCK - used < 16) /* room for a padding record */
            blocks++;
        body = blocks * BLOCK;
        padding_record(records + used, body - used);
    }
    char name[101];
    const char *base = strrchr(path, '/');
    snprintf(name, sizeof(name), "PaxHeaders/%s", base ? base + 1 : path);
    write_header(name, 'x', 0644, body, fixed_mtime < 0 ? 0 : fixed_mtime, NULL);
    write_bytes(records, body);
    write_padding_to_block();
}

static const char *hard_link_source(const struct stat *info, const char *path)
{
    if (info->st_nlink < 2)
        return NULL;
    for (size_t i = 0; i < seen_count; i++)
        if (seen[i].dev == info->st_dev && seen[i].ino == info->st_ino)
            return seen[i].path;
    seen = realloc(seen, (seen_count + 1) * sizeof(*seen));
    seen[seen_count++] = (struct seen_inode){info->st_dev, info->st_ino, strdup(path)};
    return NULL;
}

static void add_file(const char *disk_path, const char *path, const struct stat *info)
{
    long long mtime = fixed_mtime >= 0 ? fixed_mtime : (long long)info->st_mtime;
    const char *source = hard_link_source(info, path);
    if (source) {
        write_pax_header(path, source, false);
        write_header(path, '1', info->st_mode, 0, mtime, source);
        return;
    }
    int fd = open(disk_path, O_RDONLY);
    if (fd < 0)
        die("cannot open %s", disk_path);
    write_pax_header(path, NULL, info->st_size > 0);
    write_header(path, '0', info->st_mode, (unsigned long long)info->st_size, mtime, NULL);
    if (info->st_size > 0 && offset % PAGE != 0)
        die("internal error: %s's data is not on a page", path);
    char buffer[65536];
    ssize_t got;
    uint64_t total = 0;
    while ((got = read(fd, buffer, sizeof(buffer))) > 0) {
        write_bytes(buffer, (size_t)got);
        total += (uint64_t)got;
    }
    close(fd);
    if (got < 0 || total != (uint64_t)info->st_size)
        die("%s changed size while being read", disk_path);
    write_padding_to_block();
    if (verbose)
        fprintf(stderr, "  %-40s %10lld bytes, data at %#llx\n", path, (long long)info->st_size,
                (unsigned long long)(offset - ((total + BLOCK - 1) / BLOCK) * BLOCK));
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Writes the entries of disk_dir (archive path prefix: path, "" at the top). */
static void add_directory(const char *disk_dir, const char *path)
{
    DIR *dir = opendir(disk_dir);
    if (!dir)
        die("cannot read the folder %s", disk_dir);
    char **names = NULL;
    size_t count = 0;
    struct dirent *item;
    while ((item = readdir(dir))) {
        if (strcmp(item->d_name, ".") == 0 || strcmp(item->d_name, "..") == 0)
            continue;
        names = realloc(names, (count + 1) * sizeof(*names));
        names[count++] = strdup(item->d_name);
    }
    closedir(dir);
    qsort(names, count, sizeof(*names), compare_names);
    for (size_t i = 0; i < count; i++) {
        char disk_path[4096], entry_path[4096];
        snprintf(disk_path, sizeof(disk_path), "%s/%s", disk_dir, names[i]);
        snprintf(entry_path, sizeof(entry_path), "%s%s", path, names[i]);
        struct stat info;
        if (lstat(disk_path, &info) != 0)
            die("cannot stat %s", disk_path);
        long long mtime = fixed_mtime >= 0 ? fixed_mtime : (long long)info.st_mtime;
        if (S_ISDIR(info.st_mode)) {
            char dir_path[4097];
            snprintf(dir_path, sizeof(dir_path), "%s/", entry_path);
            write_pax_header(dir_path, NULL, false);
            write_header(dir_path, '5', info.st_mode, 0, mtime, NULL);
            add_directory(disk_path, dir_path);
        } else if (S_ISREG(info.st_mode)) {
            add_file(disk_path, entry_path, &info);
        } else if (S_ISLNK(info.st_mode)) {
            char target[4096];
            ssize_t length = readlink(disk_path, target, sizeof(target) - 1);
            if (length < 0)
                die("cannot read the link %s", disk_path);
            target[length] = 0;
            write_pax_header(entry_path, target, false);
            write_header(entry_path, '2', 0777, 0, mtime, target);
        } else {
            fprintf(stderr, "mkbootfs: %s: not a file, folder or link: skipped\n", disk_path);
        }
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    const char *output = NULL, *folder = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            output = argv[++i];
        else if (strcmp(argv[i], "--mtime") == 0 && i + 1 < argc)
            fixed_mtime = atoll(argv[++i]);
        else if (strcmp(argv[i], "-v") == 0)
            verbose = true;
        else if (argv[i][0] != '-' && !folder)
            folder = argv[i];
        else
            folder = NULL, output = NULL, i = argc;
    }
    if (!output || !folder) {
        fprintf(stderr, "usage: mkbootfs [-v] [--mtime SECONDS] -o ARCHIVE.tar FOLDER\n");
        return 2;
    }
    out = fopen(output, "wb");
    if (!out)
        die("cannot write %s", output);
    add_directory(folder, "");
    static const uint8_t end[2 * BLOCK];
    write_bytes(end, sizeof(end));
    if (fclose(out) != 0)
        die("cannot finish %s", output);
    if (verbose)
        fprintf(stderr, "mkbootfs: %s: %llu bytes\n", output, (unsigned long long)offset);
    return 0;
}
