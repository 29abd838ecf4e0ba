/*
 * rootfs_commands.c: the shell's file commands over the root filesystem:
 * mount (what the mount holds), ls, cat, stat, sha256, hexdump, and the
 * writes a read-only filesystem refuses (write, touch, truncate, rm, mkdir,
 * mv).
 *
 * `ls -l` prints a line in the shape of `tar --numeric-owner -tv`
 * (type and mode, uid/gid, size, date and time in UTC, name, link), so that
 * the tests can hold it against GNU tar's own listing of the archive.
 */
#include "kernel/console.h"
#include "kernel/memlayout.h"
#include "kernel/rootfs.h"
#include "kernel/shell.h"
#include "lib/alloc.h"
#include "lib/args.h"
#include "lib/format.h"
#include "lib/sha256.h"
#include "lib/string.h"

#define HEXDUMP_DEFAULT_BYTES 4096

/* ---- printing names, modes and times ---------------------------------------- */

/* Names are bytes: control bytes are shown as \xHH, the rest as they are
 * (UTF-8 names then show as text on the terminal). */
static void print_bytes(const uint8_t *bytes, size_t length)
{
    size_t start = 0;
    for (size_t i = 0; i < length; i++) {
        if (bytes[i] >= 0x20 && bytes[i] != 0x7f && bytes[i] != '\\')
            continue;
        console_write((const char *)bytes + start, i - start);
        kprintf("\\x%02x", bytes[i]);
        start = i + 1;
    }
    console_write((const char *)bytes + start, length - start);
}

static char type_letter(enum tar_type type)
{
    switch (type) {
    case TAR_DIRECTORY:
        return 'd';
    case TAR_SYMLINK:
        return 'l';
    case TAR_CHARDEV:
        return 'c';
    case TAR_BLOCKDEV:
        return 'b';
    case TAR_FIFO:
        return 'p';
    case TAR_SPARSE:
        return 'S';
    default:
        return '-';
    }
}

static void mode_string(enum tar_type type, unsigned mode, char text[11])
{
    static const char letters[] = "rwxrwxrwx";
    text[0] = type_letter(type);
    for (unsigned i = 0; i < 9; i++)
        text[1 + i] = (mode >> (8 - i)) & 1 ? letters[i] : '-';
    if (mode & 04000)
        text[3] = text[3] == 'x' ? 's' : 'S';
    if (mode & 02000)
        text[6] = text[6] == 'x' ? 's' : 'S';
    if (mode & 01000)
        text[9] = text[9] == 'x' ? 't' : 'T';
    text[10] = 0;
}

/* Seconds since 1970 to "YYYY-MM-DD HH:MM" in UTC (days to a civil date:
 * the proleptic Gregorian calendar in 400-year eras of 146097 days). */
static void utc_time(int64_t seconds, char *text, size_t bytes, bool with_seconds)
{
    int64_t days = seconds / 86400, rest = seconds % 86400;
    if (rest < 0) {
        rest += 86400;
        days--;
    }
    days += 719468; /* from 1970-01-01 to 0000-03-01 */
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t day_of_era = days - era * 146097;
    int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t month_index = (5 * day_of_year + 2) / 153; /* March = 0 */
    int64_t day = day_of_year - (153 * month_index + 2) / 5 + 1;
    int64_t month = month_index < 10 ? month_index + 3 : month_index - 9;
    int64_t year = year_of_era + era * 400 + (month <= 2);
    if (with_seconds)
        ksnprintf(text, bytes, "%04ld-%02ld-%02ld %02ld:%02ld:%02ld UTC", year, month, day,
                  rest / 3600, rest / 60 % 60, rest % 60);
    else
        ksnprintf(text, bytes, "%04ld-%02ld-%02ld %02ld:%02ld", year, month, day, rest / 3600,
                  rest / 60 % 60);
}

static void print_error(const char *command, const char *path, int error)
{
    kprintf("%s: %s: %s\n", command, path, fs_error_text(error));
}

/* ---- ls ------------------------------------------------------------------------ */

static void print_entry(const struct bootfs *fs, const struct bootfs_node *node,
                        const uint8_t *name, size_t name_length, bool long_form)
{
    if (long_form) {
        struct bootfs_stat stat;
        bootfs_stat_node(fs, node, &stat);
        char mode[11], when[32];
        mode_string(stat.type, stat.mode, mode);
        utc_time(stat.mtime, when, sizeof(when), false);
        kprintf("%s %u/%u ", mode, stat.uid, stat.gid);
        if (stat.type == TAR_CHARDEV || stat.type == TAR_BLOCKDEV)
            kprintf("%4u,%4u", stat.devmajor, stat.devminor);
        else
            kprintf("%9lu", stat.size);
        kprintf(" %s ", when);
    }
    print_bytes(name, name_length);
    if (long_form && node->link && node->type == TAR_SYMLINK) {
        kprintf(" -> ");
        print_bytes(node->link, node->link_length);
    } else if (long_form && node->link && (node->flags & BOOTFS_HARD_LINK)) {
        kprintf(" link to ");
        print_bytes(node->link, node->link_length);
    }
    kprintf("\n");
}

static int compare_bytes(const uint8_t *a, size_t a_length, const uint8_t *b, size_t b_length)
{
    size_t common = a_length < b_length ? a_length : b_length;
    int order = memcmp(a, b, common);
    if (order)
        return order;
    return a_length < b_length ? -1 : a_length > b_length;
}

/* A directory's children, sorted by name (insertion sort: directories are small). */
static size_t sorted_children(const struct bootfs_node *directory, const struct bootfs_node **out)
{
    size_t count = 0;
    for (const struct bootfs_node *child = directory->first_child; child;
         child = child->next_sibling) {
        size_t at = count++;
        while (at > 0 && compare_bytes(out[at - 1]->name, out[at - 1]->name_length, child->name,
                                       child->name_length) > 0) {
            out[at] = out[at - 1];
            at--;
        }
        out[at] = child;
    }
    return count;
}

static int list_directories(const struct bootfs *fs, const struct bootfs_node *start,
                            bool long_form, bool recursive)
{
    /* A stack of directories still to list (no recursion: any depth). Each
     * node is on it at most once, so fs->nodes slots are enough; children
     * need as many again. */
    const struct bootfs_node **stack = malloc(fs->nodes * sizeof(*stack));
    const struct bootfs_node **children = malloc(fs->nodes * sizeof(*children));
    if (!stack || !children) {
        free(stack);
        free(children);
        kprintf("ls: out of memory for %lu entries\n", fs->nodes);
        return 1;
    }
    size_t depth = 0;
    stack[depth++] = start;
    bool first = true;
    char path[512];
    while (depth > 0) {
        const struct bootfs_node *directory = stack[--depth];
        if (recursive) {
            kprintf("%s%s:\n", first ? "" : "\n", bootfs_path_of(directory, path, sizeof(path)));
            first = false;
        }
        size_t count = sorted_children(directory, children);
        for (size_t i = 0; i < count; i++)
            print_entry(fs, children[i], children[i]->name, children[i]->name_length, long_form);
        if (!recursive)
            break;
        for (size_t i = count; i-- > 0;) /* the first name comes off the stack first */
            if (children[i]->type == TAR_DIRECTORY)
                stack[depth++] = children[i];
    }
    free(stack);
    free(children);
    return 0;
}

static int command_ls(int argc, char **argv)
{
    bool long_form = false, recursive = false;
    const char *path = "/";
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            for (const char *flag = argv[i] + 1; *flag; flag++) {
                if (*flag == 'l')
                    long_form = true;
                else if (*flag == 'R')
                    recursive = true;
                else {
                    kprintf("ls: no option -%c (-l, -R)\n", *flag);
                    return SHELL_USAGE;
                }
            }
        } else {
            path = argv[i];
        }
    }
    const struct bootfs *fs = rootfs_or_complain("ls");
    if (!fs)
        return 1;
    const struct bootfs_node *node;
    int status = bootfs_lookup(fs, path, true, &node);
    if (status != FS_OK) {
        print_error("ls", path, status);
        return 1;
    }
    if (node->type != TAR_DIRECTORY) {
        const struct bootfs_node *unfollowed;
        if (bootfs_lookup(fs, path, false, &unfollowed) == FS_OK)
            node = unfollowed; /* `ls -l link` shows the link */
        print_entry(fs, node, (const uint8_t *)path, strlen(path), long_form);
        return 0;
    }
    return list_directories(fs, node, long_form, recursive);
}

SHELL_COMMAND(ls, "ls [-l] [-R] [PATH]", "list a directory of the boot filesystem", command_ls);

/* ---- cat, sha256, hexdump: reading in place ------------------------------------- */

/* Opens path and maps its bytes (zero copy). Prints why not and returns false. */
static bool map_file(const char *command, const char *path, struct bootfs_file *file,
                     const uint8_t **data, uint64_t *bytes)
{
    const struct bootfs *fs = rootfs_or_complain(command);
    if (!fs)
        return false;
    int status = bootfs_open(fs, path, BOOTFS_READ, file);
    if (status == FS_OK)
        status = bootfs_map(file, (const void **)data, bytes);
    if (status != FS_OK) {
        print_error(command, path, status);
        bootfs_close(file);
        return false;
    }
    return true;
}

/* `COMMAND PATH...`: use() on each file's bytes where they lie; 1 if any
 * path could not be read. */
static int for_each_file(const char *command, int argc, char **argv,
                         void (*use)(const char *path, const uint8_t *data, uint64_t bytes))
{
    (void)command; /* "COMMAND PATH...": at least one path (the shell checked) */
    int failures = 0;
    for (int i = 1; i < argc; i++) {
        struct bootfs_file file;
        const uint8_t *data;
        uint64_t bytes;
        if (!map_file(command, argv[i], &file, &data, &bytes)) {
            failures++;
            continue;
        }
        use(argv[i], data, bytes);
        bootfs_close(&file);
    }
    return failures ? 1 : 0;
}

static void print_file(const char *path, const uint8_t *data, uint64_t bytes)
{
    (void)path;
    console_write((const char *)data, bytes);
}

static int command_cat(int argc, char **argv)
{
    return for_each_file("cat", argc, argv, print_file);
}

SHELL_COMMAND(cat, "cat PATH...", "print files (straight from the boot module's memory)",
              command_cat);

static void print_digest(const char *path, const uint8_t *data, uint64_t bytes)
{
    struct sha256 hash;
    uint8_t digest[SHA256_DIGEST_BYTES];
    char hex[2 * SHA256_DIGEST_BYTES + 1];
    sha256_init(&hash);
    sha256_update(&hash, data, bytes);
    sha256_final(&hash, digest);
    sha256_hex(digest, hex);
    kprintf("%s  %s\n", hex, path); /* as sha256sum prints */
}

static int command_sha256(int argc, char **argv)
{
    return for_each_file("sha256", argc, argv, print_digest);
}

SHELL_COMMAND(sha256, "sha256 PATH...", "SHA-256 of files, as sha256sum prints it", command_sha256);

static int command_hexdump(int argc, char **argv)
{
    uint64_t offset = 0, length = HEXDUMP_DEFAULT_BYTES;
    if ((argc >= 3 && !args_parse_u64(argv[2], &offset)) ||
        (argc == 4 && !args_parse_u64(argv[3], &length))) {
        kprintf("hexdump: OFFSET and LENGTH are numbers (LENGTH: %u bytes unless given)\n",
                HEXDUMP_DEFAULT_BYTES);
        return SHELL_USAGE;
    }
    struct bootfs_file file;
    const uint8_t *data;
    uint64_t bytes;
    if (!map_file("hexdump", argv[1], &file, &data, &bytes))
        return 1;
    uint64_t end = offset > bytes ? bytes : offset;
    end = length > bytes - end ? bytes : end + length;
    /* The shape of hexdump -C: offset, 16 bytes in two groups, the text. */
    for (uint64_t line = offset; line < end; line += 16) {
        kprintf("%08lx  ", line);
        for (uint64_t i = line; i < line + 16; i++) {
            if (i < end)
                kprintf("%02x ", data[i]);
            else
                kprintf("   ");
            if (i == line + 7)
                kprintf(" ");
        }
        kprintf(" |");
        for (uint64_t i = line; i < line + 16 && i < end; i++)
            kprintf("%c", data[i] >= 0x20 && data[i] < 0x7f ? data[i] : '.');
        kprintf("|\n");
    }
    kprintf("%08lx\n", end);
    if (end < bytes)
        kprintf("(%lu more bytes: hexdump %s %lu [LENGTH])\n", bytes - end, argv[1], end);
    bootfs_close(&file);
    return 0;
}

SHELL_COMMAND(hexdump, "hexdump PATH [OFFSET [LENGTH]]", "a file's bytes in hex and text",
              command_hexdump);

/* ---- stat ------------------------------------------------------------------------ */

static int command_stat(int argc, char **argv)
{
    (void)argc; /* "stat PATH" (the shell checked) */
    const struct bootfs *fs = rootfs_or_complain("stat");
    if (!fs)
        return 1;
    struct bootfs_stat stat;
    int status = bootfs_lstat(fs, argv[1], &stat);
    if (status != FS_OK) {
        print_error("stat", argv[1], status);
        return 1;
    }
    char mode[11], when[40];
    mode_string(stat.type, stat.mode, mode);
    utc_time(stat.mtime, when, sizeof(when), true);
    kprintf("  file: %s\n", argv[1]);
    kprintf("  type: %s%s   mode: %04o (%s)   owner: %u/%u\n", tar_type_name(stat.type),
            stat.hard_link ? " (hard link)" : "", stat.mode, mode, stat.uid, stat.gid);
    kprintf("  size: %lu bytes   modified: %s\n", stat.size, when);
    if (stat.type == TAR_SYMLINK || stat.hard_link) {
        kprintf("  %s: ", stat.hard_link ? "hard link to" : "link to");
        print_bytes(stat.link, stat.link_length);
        kprintf("\n");
    }
    if (stat.type == TAR_DIRECTORY)
        kprintf("  entries: %lu\n", stat.children);
    if (stat.type == TAR_CHARDEV || stat.type == TAR_BLOCKDEV)
        kprintf("  device: %u, %u\n", stat.devmajor, stat.devminor);
    kprintf("  archive: header at offset %lu\n", stat.header_offset);
    if (stat.type == TAR_REGULAR) {
        kprintf("  data: archive offset %lu (%#lx), physical %#lx, virtual %#lx\n",
                stat.archive_offset, stat.archive_offset, stat.data_phys, (uint64_t)stat.data);
        if (stat.size == 0)
            kprintf("  page-aligned: n/a (no data)\n");
        else
            kprintf("  page-aligned: %s\n", stat.page_aligned ? "yes"
                                                              : "NO (512-byte aligned "
                                                                "only: not written by "
                                                                "tools/mkbootfs)");
        kprintf("  served in place: the bytes are the boot module's own (0 copied)\n");
    } else if (stat.type != TAR_DIRECTORY && stat.type != TAR_SYMLINK) {
        kprintf("  reading it: %s\n", fs_error_text(FS_ENOTSUP));
    }
    return 0;
}

SHELL_COMMAND(stat, "stat PATH", "a file's metadata, and where its data lies in memory",
              command_stat);

/* ---- what a read-only filesystem refuses ------------------------------------------ */

/* One function for the six refusals: each calls its own entry of the file API
 * (which is what the test checks) and prints what it said. */
static int command_refused_write(int argc, char **argv)
{
    /* The words were counted against each one's usage by the shell. */
    static const char *const names[] = {"write", "touch", "truncate", "rm", "mkdir", "mv"};
    (void)argc;
    unsigned which = 0;
    while (which < 5 && strcmp(argv[0], names[which]) != 0)
        which++;
    uint64_t size = 0;
    if (which == 2 && !args_parse_u64(argv[2], &size)) {
        kprintf("truncate: SIZE is a number\n");
        return SHELL_USAGE;
    }
    const struct bootfs *fs = rootfs_or_complain(argv[0]);
    if (!fs)
        return 1;
    struct bootfs_file file;
    int status;
    switch (which) {
    case 0:
        status = bootfs_open(fs, argv[1], BOOTFS_WRITE | BOOTFS_CREATE | BOOTFS_TRUNCATE, &file);
        break;
    case 1:
        status = bootfs_create(fs, argv[1]);
        break;
    case 2:
        status = bootfs_truncate(fs, argv[1], size);
        break;
    case 3:
        status = bootfs_unlink(fs, argv[1]);
        break;
    case 4:
        status = bootfs_mkdir(fs, argv[1]);
        break;
    default:
        status = bootfs_rename(fs, argv[1], argv[2]);
        break;
    }
    print_error(argv[0], argv[1], status);
    return status == FS_OK ? 0 : 1;
}

SHELL_COMMAND(write, "write PATH TEXT...", "write a file (the boot filesystem is read-only: EROFS)",
              command_refused_write);
SHELL_COMMAND(touch, "touch PATH", "create a file (EROFS here)", command_refused_write);
SHELL_COMMAND(truncate, "truncate PATH SIZE", "change a file's size (EROFS here)",
              command_refused_write);
SHELL_COMMAND(rm, "rm PATH", "remove a file (EROFS here)", command_refused_write);
SHELL_COMMAND(mkdir, "mkdir PATH", "make a directory (EROFS here)", command_refused_write);
SHELL_COMMAND(mv, "mv FROM TO", "rename a file (EROFS here)", command_refused_write);

static int command_mount(int argc, char **argv)
{
    (void)argc, (void)argv; /* no words (the shell checked) */
    const struct bootfs *fs = rootfs_or_complain("mount");
    if (!fs)
        return 1;
    const struct mb2_module *module = rootfs_module();
    struct bootfs_stats stats;
    bootfs_stats(fs, &stats);
    uint64_t bytes = module->end - module->start;
    kprintf("bootfs on / type tar (read-only), from the GRUB module '%s'\n", module->name);
    kprintf("  module: physical %#x-%#x (%lu bytes, %lu pages), virtual %#lx\n", module->start,
            module->end, bytes, (bytes + 4095) / 4096, (uint64_t)fs->archive);
    kprintf("  archive entries: %lu; nodes: %lu (%lu files, %lu hard links, %lu directories, "
            "%lu symlinks, %lu other)\n",
            fs->entries, fs->nodes, stats.files, stats.hard_links, stats.directories,
            stats.symlinks, stats.others);
    kprintf("  file data served in place: %lu bytes; bytes copied: %lu\n",
            stats.data_bytes_in_place, stats.data_bytes_copied);
    kprintf("  files not page-aligned: %lu of %lu\n", stats.unaligned_files, stats.files);
    kprintf("  metadata: %lu bytes (%lu nodes x %zu bytes, from malloc); names: %lu bytes, "
            "in the module, not copied\n",
            stats.node_bytes, fs->nodes, sizeof(struct bootfs_node), stats.name_bytes);
    kprintf("  entries skipped: %lu; replaced by a later one: %lu\n", fs->skipped, fs->replaced);
    return 0;
}

SHELL_COMMAND(mount, "mount", "the root filesystem: its module, files, bytes in place and copied",
              command_mount);
