/*
 * bootfs.c: the tree over a tar archive, and the read-only file API (see
 * bootfs.h for the rules).
 *
 * Reading guide: path components first (a cursor over the one or two byte
 * strings a tar path is made of), then the mount (add_entry puts one archive
 * entry in the tree), then lookup (with symlinks), then the file API.
 *
 * Costs: a directory's children are a singly linked list, so finding a name
 * is linear in the directory's size and a mount is O(entries x siblings):
 * right for a boot filesystem of some hundreds of files, and it keeps a node
 * at 104 bytes with no hash table to size.
 */
#include "fs/bootfs.h"

#include "lib/alloc.h"
#include "lib/platform.h"
#include "lib/string.h"
#include "lib/boot_only.h"

const char *fs_error_text(int error)
{
    switch (error) {
    case FS_OK:
        return "no error";
    case FS_ENOENT:
        return "ENOENT: no such file or directory";
    case FS_EBADF:
        return "EBADF: not an open file";
    case FS_ENOMEM:
        return "ENOMEM: out of memory";
    case FS_ENOTDIR:
        return "ENOTDIR: not a directory";
    case FS_EISDIR:
        return "EISDIR: is a directory";
    case FS_EINVAL:
        return "EINVAL: invalid argument";
    case FS_EROFS:
        return "EROFS: read-only file system";
    case FS_ENAMETOOLONG:
        return "ENAMETOOLONG: name too long";
    case FS_ELOOP:
        return "ELOOP: too many levels of symbolic links";
    case FS_ENOTSUP:
        return "ENOTSUP: not supported";
    }
    return "unknown error";
}

/* strlcpy, which the host's C library may lack. */
static void copy_text(char *buffer, const char *text, size_t bytes)
{
    size_t length = strlen(text);
    if (length >= bytes)
        length = bytes - 1;
    memcpy(buffer, text, length);
    buffer[length] = 0;
}

/* ---- path components ------------------------------------------------------ */

/* A path made of up to two byte strings (a tar entry's prefix and name, which
 * always meet at a '/'), walked one component at a time. */
struct path_cursor {
    struct tar_bytes parts[2];
    unsigned part;
    size_t position;
};

static struct path_cursor cursor_of(struct tar_bytes first, struct tar_bytes second)
{
    return (struct path_cursor){{first, second}, 0, 0};
}

/* The next component (possibly "" between two slashes); false at the end. */
static bool next_component(struct path_cursor *cursor, struct tar_bytes *component)
{
    while (cursor->part < 2) {
        struct tar_bytes part = cursor->parts[cursor->part];
        if (cursor->position > part.length || part.length == 0) {
            cursor->part++;
            cursor->position = 0;
            continue;
        }
        size_t start = cursor->position, end = start;
        while (end < part.length && part.bytes[end] != '/')
            end++;
        *component = (struct tar_bytes){part.bytes + start, end - start};
        cursor->position = end + 1; /* past the slash, or past the end */
        return true;
    }
    return false;
}

static bool is_dot(struct tar_bytes c)
{
    return c.length == 0 || (c.length == 1 && c.bytes[0] == '.');
}

static bool is_dot_dot(struct tar_bytes c)
{
    return c.length == 2 && c.bytes[0] == '.' && c.bytes[1] == '.';
}

/* ---- nodes --------------------------------------------------------------- */

static struct bootfs_node *find_child(const struct bootfs_node *directory, struct tar_bytes name)
{
    for (struct bootfs_node *child = directory->first_child; child; child = child->next_sibling)
        if (child->name_length == name.length && memcmp(child->name, name.bytes, name.length) == 0)
            return child;
    return NULL;
}

BOOT_ONLY static struct bootfs_node *new_node(struct bootfs *fs, struct bootfs_node *parent,
                                              struct tar_bytes name)
{
    struct bootfs_node *node = malloc(sizeof(*node));
    if (!node)
        return NULL;
    memset(node, 0, sizeof(*node));
    node->parent = parent ? parent : node;
    node->name = name.bytes;
    node->name_length = (uint32_t)name.length;
    node->type = TAR_DIRECTORY;
    node->mode = 0755;
    if (parent) { /* newest first: `ls` sorts anyway */
        node->next_sibling = parent->first_child;
        parent->first_child = node;
    }
    fs->nodes++;
    return node;
}

/* Frees the subtrees below node (not node itself), without recursion. */
BOOT_ONLY static void free_children(struct bootfs *fs, struct bootfs_node *node)
{
    struct bootfs_node *current = node->first_child;
    node->first_child = NULL;
    while (current) {
        if (current->first_child) { /* go down first */
            struct bootfs_node *child = current->first_child;
            current->first_child = NULL;
            child->parent = current; /* already so; kept for the climb below */
            current = child;
            continue;
        }
        struct bootfs_node *next = current->next_sibling;
        struct bootfs_node *parent = current->parent;
        free(current);
        fs->nodes--;
        current = next ? next : (parent != node ? parent : NULL);
        /* A parent reached again has no first_child left: it is freed next. */
    }
}

BOOT_ONLY static void warn(const struct bootfs *fs, const struct tar_entry *entry, const char *what)
{
    if (fs->quiet)
        return;
    platform_print("bootfs: warning: entry at offset %lu '", (unsigned long)entry->header_offset);
    for (unsigned part = 0; part < 2; part++) {
        struct tar_bytes bytes = part == 0 ? entry->prefix : entry->name;
        if (part == 1 && entry->prefix.length)
            platform_print("/");
        for (size_t i = 0; i < bytes.length && i < 200; i++) {
            uint8_t byte = bytes.bytes[i];
            if (byte >= 0x20 && byte < 0x7f)
                platform_print("%c", byte);
            else
                platform_print("\\x%02x", byte);
        }
    }
    platform_print("': %s\n", what);
}

/* Fills node from entry (its name and place in the tree are already set). */
static void set_from_entry(struct bootfs *fs, struct bootfs_node *node,
                           const struct tar_entry *entry)
{
    node->type = (uint8_t)entry->type;
    node->mode = (uint16_t)entry->mode;
    node->uid = (uint32_t)entry->uid;
    node->gid = (uint32_t)entry->gid;
    node->mtime = entry->mtime;
    node->header_offset = entry->header_offset;
    node->flags = 0;
    node->devmajor = entry->devmajor;
    node->devminor = entry->devminor;
    node->size = entry->type == TAR_REGULAR || entry->type == TAR_SPARSE ? entry->size : 0;
    node->data = entry->type == TAR_REGULAR ? fs->archive + entry->data_offset : NULL;
    node->link = entry->type == TAR_SYMLINK ? entry->link.bytes : NULL;
    node->link_length = entry->type == TAR_SYMLINK ? (uint32_t)entry->link.length : 0;
}

/* Where a path of the archive leads, lexically (no symlinks), for hard links:
 * NULL if it does not exist or leaves the root. */
static struct bootfs_node *find_archive_path(struct bootfs *fs, struct tar_bytes path)
{
    struct path_cursor cursor = cursor_of(path, (struct tar_bytes){0});
    struct tar_bytes component;
    struct bootfs_node *node = fs->root;
    while (next_component(&cursor, &component)) {
        if (is_dot(component))
            continue;
        if (is_dot_dot(component)) {
            if (node == fs->root)
                return NULL;
            node = node->parent;
            continue;
        }
        if (node->type != TAR_DIRECTORY || !(node = find_child(node, component)))
            return NULL;
    }
    return node;
}

/* Puts one archive entry in the tree. FS_ENOMEM is the only failure: the
 * rest (escaping names, bad hard links) skips the entry with a warning. */
static int add_entry(struct bootfs *fs, const struct tar_entry *entry)
{
    /* Pass 1: count the components that name something, and refuse a path
     * that climbs above the root. */
    struct path_cursor cursor = cursor_of(entry->prefix, entry->name);
    struct tar_bytes component;
    uint64_t meaningful = 0;
    int64_t depth = 0;
    while (next_component(&cursor, &component)) {
        if (is_dot(component))
            continue;
        meaningful++;
        depth += is_dot_dot(component) ? -1 : 1;
        if (depth < 0) {
            warn(fs, entry, "the name leaves the root: skipped");
            fs->skipped++;
            return 0;
        }
    }

    /* Pass 2: walk down, making the directories the path needs. */
    struct bootfs_node *directory = fs->root, *node = NULL;
    cursor = cursor_of(entry->prefix, entry->name);
    uint64_t seen = 0;
    bool names_a_new_or_child_node = false; /* else it names `directory` ("", ".", "a/..") */
    while (next_component(&cursor, &component)) {
        if (is_dot(component))
            continue;
        bool last = ++seen == meaningful;
        if (is_dot_dot(component)) {
            directory = directory->parent;
            continue;
        }
        struct bootfs_node *child = find_child(directory, component);
        if (last) {
            node = child;
            names_a_new_or_child_node = true;
            break;
        }
        if (child && child->type != TAR_DIRECTORY) {
            warn(fs, entry, "a component of the path is not a directory: skipped");
            fs->skipped++;
            return 0;
        }
        if (!child) {
            child = new_node(fs, directory, component);
            if (!child)
                return FS_ENOMEM;
            child->flags = BOOTFS_IMPLICIT;
            child->mtime = entry->mtime;
        }
        directory = child;
    }

    /* A copy, not a pointer: replacing a directory below could free the source
     * (a hard link "d" to "d/f" replaces the directory d). */
    struct bootfs_node source_copy, *source = NULL;
    if (entry->type == TAR_HARDLINK) {
        const struct bootfs_node *found = find_archive_path(fs, entry->link);
        if (!found || found->type == TAR_DIRECTORY) {
            warn(fs, entry,
                 found ? "a hard link to a directory: skipped"
                       : "a hard link to a file not (yet) in the archive: skipped");
            fs->skipped++;
            return 0;
        }
        source_copy = *found;
        source = &source_copy;
    }

    if (!names_a_new_or_child_node) { /* a directory already in the tree */
        if (entry->type != TAR_DIRECTORY) {
            warn(fs, entry,
                 "names the root or a directory above it, and is not a directory: "
                 "skipped");
            fs->skipped++;
            return 0;
        }
        directory->mode = (uint16_t)entry->mode;
        directory->mtime = entry->mtime;
        directory->flags &= (uint8_t)~BOOTFS_IMPLICIT;
        return 0;
    }

    if (node) {
        bool both_directories = node->type == TAR_DIRECTORY && entry->type == TAR_DIRECTORY;
        if (!both_directories) {
            warn(fs, entry, "replaces an earlier entry of the same name");
            fs->replaced++;
            if (node->type == TAR_DIRECTORY)
                free_children(fs, node);
        }
    } else {
        node = new_node(fs, directory, component);
        if (!node)
            return FS_ENOMEM;
    }
    if (source) { /* shares the data, type and metadata of what it links to */
        const uint8_t *name = node->name;
        uint32_t name_length = node->name_length;
        struct bootfs_node *parent = node->parent, *sibling = node->next_sibling;
        *node = *source;
        node->name = name;
        node->name_length = name_length;
        node->parent = parent;
        node->next_sibling = sibling;
        node->first_child = NULL;
        node->flags = BOOTFS_HARD_LINK;
        node->header_offset = entry->header_offset;
        node->link = entry->link.bytes; /* shown as "link to ..." */
        node->link_length = (uint32_t)entry->link.length;
        if (source->type == TAR_SYMLINK) { /* a hard link to a symlink is that symlink */
            node->link = source->link;
            node->link_length = source->link_length;
            node->flags = 0;
        }
        return 0;
    }
    set_from_entry(fs, node, entry);
    return 0;
}

BOOT_ONLY int bootfs_mount(struct bootfs *fs, const void *archive, uint64_t archive_bytes,
                           uint64_t archive_phys, bool quiet, struct tar_error *error)
{
    memset(fs, 0, sizeof(*fs));
    fs->archive = archive;
    fs->archive_bytes = archive_bytes;
    fs->archive_phys = archive_phys;
    fs->quiet = quiet;
    fs->root = new_node(fs, NULL, (struct tar_bytes){(const uint8_t *)"", 0});
    if (!fs->root)
        return FS_ENOMEM;
    struct tar_reader reader;
    struct tar_entry entry;
    tar_reader_init(&reader, archive, archive_bytes);
    int status;
    while ((status = tar_next(&reader, &entry, error)) == 1) {
        fs->entries++;
        if (add_entry(fs, &entry) != 0) {
            if (error) {
                error->offset = entry.header_offset;
                copy_text(error->reason, "out of memory for the tree's metadata",
                          sizeof(error->reason));
            }
            bootfs_unmount(fs);
            return FS_ENOMEM;
        }
    }
    if (status < 0) {
        bootfs_unmount(fs);
        return FS_EINVAL;
    }
    return FS_OK;
}

BOOT_ONLY void bootfs_unmount(struct bootfs *fs)
{
    if (fs->root) {
        free_children(fs, fs->root);
        free(fs->root);
    }
    memset(fs, 0, sizeof(*fs));
}

/* ---- lookup --------------------------------------------------------------- */

/* Whether anything but "" and "." follows in the cursor. */
static bool more_components(struct path_cursor cursor)
{
    struct tar_bytes component;
    while (next_component(&cursor, &component))
        if (!is_dot(component))
            return true;
    return false;
}

static int resolve(const struct bootfs *fs, const struct bootfs_node *start, struct tar_bytes path,
                   bool follow_last, unsigned *links, const struct bootfs_node **out)
{
    const struct bootfs_node *node = path.length && path.bytes[0] == '/' ? fs->root : start;
    struct path_cursor cursor = cursor_of(path, (struct tar_bytes){0});
    struct tar_bytes component;
    while (next_component(&cursor, &component)) {
        if (is_dot(component))
            continue;
        if (node->type != TAR_DIRECTORY)
            return FS_ENOTDIR;
        if (is_dot_dot(component)) {
            node = node->parent;
            continue;
        }
        const struct bootfs_node *child = find_child(node, component);
        if (!child)
            return FS_ENOENT;
        bool last = !more_components(cursor);
        if (child->type == TAR_SYMLINK && (!last || follow_last)) {
            if (++*links > BOOTFS_MAX_SYMLINKS)
                return FS_ELOOP;
            struct tar_bytes target = {child->link, child->link_length};
            int status = resolve(fs, node, target, true, links, &child);
            if (status != FS_OK)
                return status;
        }
        node = child;
    }
    *out = node;
    return FS_OK;
}

int bootfs_lookup(const struct bootfs *fs, const char *path, bool follow_last,
                  const struct bootfs_node **out)
{
    if (!fs->root)
        return FS_ENOENT;
    unsigned links = 0;
    struct tar_bytes bytes = {(const uint8_t *)path, strlen(path)};
    return resolve(fs, fs->root, bytes, follow_last, &links, out);
}

/* ---- the file API ----------------------------------------------------------- */

int bootfs_open(const struct bootfs *fs, const char *path, unsigned flags, struct bootfs_file *file)
{
    memset(file, 0, sizeof(*file));
    if (flags & (BOOTFS_WRITE | BOOTFS_CREATE | BOOTFS_TRUNCATE))
        return FS_EROFS;
    const struct bootfs_node *node;
    int status = bootfs_lookup(fs, path, true, &node);
    if (status != FS_OK)
        return status;
    *file = (struct bootfs_file){fs, node, 0, node->first_child, true};
    return FS_OK;
}

static int readable(const struct bootfs_file *file)
{
    if (!file || !file->open)
        return FS_EBADF;
    if (file->node->type == TAR_DIRECTORY)
        return FS_EISDIR;
    if (file->node->type != TAR_REGULAR)
        return FS_ENOTSUP; /* sparse, devices, FIFOs */
    return FS_OK;
}

int64_t bootfs_pread(const struct bootfs_file *file, void *buffer, uint64_t bytes, uint64_t offset)
{
    int status = readable(file);
    if (status != FS_OK)
        return status;
    uint64_t size = file->node->size;
    if (offset >= size)
        return 0;
    if (bytes > size - offset)
        bytes = size - offset;
    if (bytes > INT64_MAX)
        bytes = INT64_MAX;
    memcpy(buffer, file->node->data + offset, bytes); /* the caller's copy, not ours */
    return (int64_t)bytes;
}

int64_t bootfs_read(struct bootfs_file *file, void *buffer, uint64_t bytes)
{
    int64_t got = bootfs_pread(file, buffer, bytes, file ? file->position : 0);
    if (got > 0)
        file->position += (uint64_t)got;
    return got;
}

int bootfs_map(const struct bootfs_file *file, const void **data, uint64_t *bytes)
{
    int status = readable(file);
    if (status != FS_OK)
        return status;
    *data = file->node->data;
    *bytes = file->node->size;
    return FS_OK;
}

int bootfs_readdir(struct bootfs_file *directory, struct bootfs_dirent *entry)
{
    if (!directory || !directory->open)
        return FS_EBADF;
    if (directory->node->type != TAR_DIRECTORY)
        return FS_ENOTDIR;
    const struct bootfs_node *node = directory->cursor;
    if (!node)
        return 0;
    directory->cursor = node->next_sibling;
    *entry = (struct bootfs_dirent){node->name, node->name_length, (enum tar_type)node->type, node};
    return 1;
}

int bootfs_close(struct bootfs_file *file)
{
    if (!file || !file->open)
        return FS_EBADF;
    memset(file, 0, sizeof(*file));
    return FS_OK;
}

void bootfs_stat_node(const struct bootfs *fs, const struct bootfs_node *node,
                      struct bootfs_stat *stat)
{
    memset(stat, 0, sizeof(*stat));
    stat->type = (enum tar_type)node->type;
    stat->mode = node->mode;
    stat->size = node->size;
    stat->uid = node->uid;
    stat->gid = node->gid;
    stat->mtime = node->mtime;
    stat->link = node->link;
    stat->link_length = node->link_length;
    stat->hard_link = node->flags & BOOTFS_HARD_LINK;
    stat->header_offset = node->header_offset;
    stat->devmajor = node->devmajor;
    stat->devminor = node->devminor;
    if (node->type == TAR_REGULAR) {
        stat->data = node->data;
        stat->archive_offset = (uint64_t)(node->data - fs->archive);
        stat->data_phys = fs->archive_phys + stat->archive_offset;
        stat->page_aligned = stat->data_phys % BOOTFS_PAGE_BYTES == 0;
    }
    for (const struct bootfs_node *child = node->first_child; child; child = child->next_sibling)
        stat->children++;
}

static int stat_path(const struct bootfs *fs, const char *path, bool follow,
                     struct bootfs_stat *stat)
{
    const struct bootfs_node *node;
    int status = bootfs_lookup(fs, path, follow, &node);
    if (status == FS_OK)
        bootfs_stat_node(fs, node, stat);
    return status;
}

int bootfs_stat(const struct bootfs *fs, const char *path, struct bootfs_stat *stat)
{
    return stat_path(fs, path, true, stat);
}

int bootfs_lstat(const struct bootfs *fs, const char *path, struct bootfs_stat *stat)
{
    return stat_path(fs, path, false, stat);
}

/* Read-only: there is nothing to check before saying no. */
int64_t bootfs_write(struct bootfs_file *file, const void *buffer, uint64_t bytes)
{
    (void)file, (void)buffer, (void)bytes;
    return FS_EROFS;
}

int bootfs_create(const struct bootfs *fs, const char *path)
{
    (void)fs, (void)path;
    return FS_EROFS;
}

int bootfs_truncate(const struct bootfs *fs, const char *path, uint64_t size)
{
    (void)fs, (void)path, (void)size;
    return FS_EROFS;
}

int bootfs_unlink(const struct bootfs *fs, const char *path)
{
    (void)fs, (void)path;
    return FS_EROFS;
}

int bootfs_mkdir(const struct bootfs *fs, const char *path)
{
    (void)fs, (void)path;
    return FS_EROFS;
}

int bootfs_rename(const struct bootfs *fs, const char *from, const char *to)
{
    (void)fs, (void)from, (void)to;
    return FS_EROFS;
}

/* ---- walking and accounting -------------------------------------------------- */

void bootfs_walk(const struct bootfs *fs,
                 void (*visit)(void *context, const struct bootfs_node *node, unsigned depth),
                 void *context)
{
    const struct bootfs_node *node = fs->root;
    unsigned depth = 0;
    while (node) {
        visit(context, node, depth);
        if (node->first_child) {
            node = node->first_child;
            depth++;
            continue;
        }
        while (node != fs->root && !node->next_sibling) { /* climb to the next sibling */
            node = node->parent;
            depth--;
        }
        node = node == fs->root ? NULL : node->next_sibling;
    }
}

struct count_context {
    const struct bootfs *fs;
    struct bootfs_stats *stats;
};

static void count_node(void *context, const struct bootfs_node *node, unsigned depth)
{
    (void)depth;
    struct bootfs_stats *stats = ((struct count_context *)context)->stats;
    const struct bootfs *fs = ((struct count_context *)context)->fs;
    stats->name_bytes += node->name_length;
    switch (node->type) {
    case TAR_DIRECTORY:
        stats->directories++;
        return;
    case TAR_SYMLINK:
        stats->symlinks++;
        return;
    case TAR_REGULAR:
        break;
    default:
        stats->others++;
        return;
    }
    if (node->flags & BOOTFS_HARD_LINK) { /* its bytes are its source's: counted there */
        stats->hard_links++;
        return;
    }
    stats->files++;
    bool inside = node->data >= fs->archive && node->size <= fs->archive_bytes &&
                  (uint64_t)(node->data - fs->archive) <= fs->archive_bytes - node->size;
    if (inside)
        stats->data_bytes_in_place += node->size;
    else
        stats->data_bytes_copied += node->size;
    uint64_t phys = fs->archive_phys + (uint64_t)(node->data - fs->archive);
    if (node->size > 0 && phys % BOOTFS_PAGE_BYTES != 0)
        stats->unaligned_files++;
}

void bootfs_stats(const struct bootfs *fs, struct bootfs_stats *stats)
{
    memset(stats, 0, sizeof(*stats));
    struct count_context context = {fs, stats};
    if (fs->root)
        bootfs_walk(fs, count_node, &context);
    stats->node_bytes = fs->nodes * sizeof(struct bootfs_node);
}

char *bootfs_path_of(const struct bootfs_node *node, char *buffer, size_t bytes)
{
    /* Measure from the node up, then fill from the end of the path backwards. */
    size_t length = 0;
    for (const struct bootfs_node *n = node; n->parent != n; n = n->parent)
        length += 1 + n->name_length;
    if (bytes == 0)
        return buffer;
    if (length == 0) {
        copy_text(buffer, "/", bytes);
        return buffer;
    }
    if (length + 1 > bytes) {
        copy_text(buffer, "...", bytes);
        return buffer;
    }
    buffer[length] = 0;
    size_t end = length;
    for (const struct bootfs_node *n = node; n->parent != n; n = n->parent) {
        end -= n->name_length;
        memcpy(buffer + end, n->name, n->name_length);
        buffer[--end] = '/';
    }
    return buffer;
}
