/*
 * tar.c: the bounded tar reader (see tar.h for what it accepts).
 *
 * Reading guide: the field parsers first (numbers, checksum, magic), then
 * the pax record parser, then tar_next(), which loops over headers: the
 * "extension" headers (x, g, X, L, K, V and unknown types) only update the
 * pending overrides and go round again; the first real entry header takes
 * those overrides and is returned.
 *
 * The one bounds rule: an offset is only turned into a pointer after
 * `fits(reader, offset, bytes)` said so, and fits() cannot overflow (it
 * compares against what is left, never adds past the length).
 */
#include "fs/tar.h"

#include "lib/format.h"
#include "lib/string.h"
#include "lib/boot_only.h"

/* Header fields: offset and width. */
#define F_NAME 0, 100
#define F_MODE 100, 8
#define F_UID 108, 8
#define F_GID 116, 8
#define F_SIZE 124, 12
#define F_MTIME 136, 12
#define F_CHECKSUM 148, 8
#define OFF_TYPEFLAG 156
#define F_LINKNAME 157, 100
#define OFF_MAGIC 257
#define F_DEVMAJOR 329, 8
#define F_DEVMINOR 337, 8
#define F_PREFIX 345, 155
#define OFF_GNU_ISEXTENDED 482
#define F_GNU_REALSIZE 483, 12
#define OFF_GNU_EXT_ISEXTENDED 504 /* in a sparse extension block */

#define INT63_MAX ((uint64_t)INT64_MAX)

enum tar_format { FORMAT_V7, FORMAT_USTAR, FORMAT_GNU };

/* What one x (or X) header said. A later x header replaces an earlier one
 * as a whole (Go's pax-multi-hdrs: the last header wins, not each record). */
struct pax_overrides {
    bool has_path, has_link, has_size, has_mtime, has_uid, has_gid;
    struct tar_bytes path, link;
    uint64_t size, uid, gid;
    int64_t mtime;
    bool sparse; /* GNU.sparse.* records */
    bool has_sparse_name, has_real_size;
    struct tar_bytes sparse_name;
    uint64_t real_size;
    uint64_t sparse_major;
};

/* What the extension headers before an entry said about it. */
struct pending {
    bool started;          /* an extension header was seen */
    uint64_t first_offset; /* of the first one */
    struct pax_overrides pax;
    bool has_gnu_path, has_gnu_link; /* L and K (the last of each wins) */
    struct tar_bytes gnu_path, gnu_link;
};

BOOT_ONLY void tar_reader_init(struct tar_reader *reader, const void *archive, uint64_t length)
{
    memset(reader, 0, sizeof(*reader));
    reader->archive = archive;
    reader->length = archive ? length : 0;
}

const char *tar_type_name(enum tar_type type)
{
    switch (type) {
    case TAR_REGULAR:
        return "regular";
    case TAR_HARDLINK:
        return "hard link";
    case TAR_SYMLINK:
        return "symlink";
    case TAR_CHARDEV:
        return "char device";
    case TAR_BLOCKDEV:
        return "block device";
    case TAR_DIRECTORY:
        return "directory";
    case TAR_FIFO:
        return "fifo";
    case TAR_SPARSE:
        return "sparse";
    }
    return "?";
}

static bool fits(const struct tar_reader *reader, uint64_t offset, uint64_t bytes)
{
    return offset <= reader->length && bytes <= reader->length - offset;
}

static uint64_t round_up_block(uint64_t bytes) /* bytes < 2^63: cannot overflow */
{
    return (bytes + TAR_BLOCK_BYTES - 1) & ~(uint64_t)(TAR_BLOCK_BYTES - 1);
}

static int fail(struct tar_reader *reader, struct tar_error *error, uint64_t offset,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(struct tar_reader *reader, struct tar_error *error, uint64_t offset,
                const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    reader->error.offset = offset;
    kvsnprintf(reader->error.reason, sizeof(reader->error.reason), fmt, args);
    va_end(args);
    reader->done = reader->failed = true;
    if (error)
        *error = reader->error;
    return -1;
}

/* ---- header fields ------------------------------------------------------- */

/* A string field: up to its first NUL, or all of it. */
BOOT_ONLY static struct tar_bytes string_field(const uint8_t *header, unsigned offset,
                                               unsigned width)
{
    size_t length = 0;
    while (length < width && header[offset + length] != 0)
        length++;
    return (struct tar_bytes){header + offset, length};
}

/* A numeric field: octal digits between optional spaces and NULs (an empty
 * field is 0), or GNU base-256 (first byte 0x80..0xbf, big-endian, the 0x40
 * bit being the sign). Negative or >= 2^63: false. */
static bool number_field(const uint8_t *header, unsigned offset, unsigned width, uint64_t *out)
{
    const uint8_t *field = header + offset;
    uint64_t value = 0;
    if (field[0] & 0x80) {
        if (field[0] & 0x40)
            return false; /* negative */
        value = field[0] & 0x3f;
        for (unsigned i = 1; i < width; i++) {
            if (value >> 55)
                return false;
            value = value << 8 | field[i];
        }
        *out = value;
        return value <= INT63_MAX;
    }
    unsigned start = 0, end = width;
    while (start < end && (field[start] == ' ' || field[start] == 0))
        start++;
    while (end > start && (field[end - 1] == ' ' || field[end - 1] == 0))
        end--;
    for (unsigned i = start; i < end; i++) {
        if (field[i] < '0' || field[i] > '7' || (value >> 60))
            return false;
        value = value << 3 | (uint64_t)(field[i] - '0');
    }
    *out = value;
    return true;
}

/* The mtime field may be before 1970: GNU base-256 with the sign bit (0xff
 * first byte) is a two's complement number; anything else is number_field. */
static bool time_field(const uint8_t *header, unsigned offset, unsigned width, int64_t *out)
{
    const uint8_t *field = header + offset;
    if (field[0] != 0xff) {
        uint64_t value;
        if (!number_field(header, offset, width, &value))
            return false;
        *out = (int64_t)value;
        return true;
    }
    for (unsigned i = 0; i + 8 < width; i++) /* the bytes above 64 bits: sign only */
        if (field[i] != 0xff)
            return false;
    uint64_t value = 0;
    for (unsigned i = width - 8; i < width; i++)
        value = value << 8 | field[i];
    if (!(value >> 63))
        return false;
    *out = (int64_t)value;
    return true;
}

static bool is_zero_block(const uint8_t *block, uint64_t bytes)
{
    for (uint64_t i = 0; i < bytes; i++)
        if (block[i])
            return false;
    return true;
}

/* POSIX sums the bytes as unsigned, with the checksum field as 8 spaces; old
 * writers (SunOS, HP-UX) summed them as signed chars. Either passes. */
static bool checksum_ok(const uint8_t *header, uint64_t stored)
{
    uint64_t unsigned_sum = 0;
    int64_t signed_sum = 0;
    for (unsigned i = 0; i < TAR_BLOCK_BYTES; i++) {
        uint8_t byte = (i >= 148 && i < 156) ? ' ' : header[i];
        unsigned_sum += byte;
        signed_sum += (int8_t)byte;
    }
    return stored == unsigned_sum || (int64_t)stored == signed_sum;
}

static bool magic_format(const uint8_t *header, enum tar_format *format)
{
    const uint8_t *magic = header + OFF_MAGIC;
    if (memcmp(magic, "ustar\0", 6) == 0)
        *format = FORMAT_USTAR;
    else if (memcmp(magic, "ustar  \0", 8) == 0)
        *format = FORMAT_GNU;
    else if (is_zero_block(magic, 6)) /* the version field after it varies */
        *format = FORMAT_V7;
    else
        return false;
    return true;
}

/* Go before 1.8 wrote a ustar prefix into GNU headers, where atime and ctime
 * live. Like Go's reader, take it for a prefix only when those two fields do
 * not hold numbers and the bytes are printable ASCII (go/invalid-go17.tar);
 * a real GNU header (gnu-incremental's atime) keeps its plain name. */
static bool go17_prefix(const uint8_t *header)
{
    uint64_t atime, ctime;
    if (number_field(header, 345, 12, &atime) && number_field(header, 357, 12, &ctime))
        return false;
    struct tar_bytes prefix = string_field(header, F_PREFIX);
    for (size_t i = 0; i < prefix.length; i++)
        if (prefix.bytes[i] < 0x20 || prefix.bytes[i] >= 0x7f)
            return false;
    return prefix.length > 0;
}

/* ---- pax records ------------------------------------------------------- */

static bool bytes_equal(struct tar_bytes bytes, const char *text)
{
    size_t length = strlen(text);
    return bytes.length == length && memcmp(bytes.bytes, text, length) == 0;
}

static bool has_nul(struct tar_bytes bytes)
{
    for (size_t i = 0; i < bytes.length; i++)
        if (bytes.bytes[i] == 0)
            return true;
    return false;
}

/* Decimal digits only, below 2^63. */
BOOT_ONLY static bool parse_decimal(struct tar_bytes text, uint64_t *out)
{
    uint64_t value = 0;
    if (text.length == 0)
        return false;
    for (size_t i = 0; i < text.length; i++) {
        uint8_t digit = text.bytes[i];
        if (digit < '0' || digit > '9' || value > (INT63_MAX - 9) / 10)
            return false;
        value = value * 10 + (digit - '0');
    }
    *out = value;
    return true;
}

/* A pax time: [-]DIGITS[.FRACTION]. The whole seconds go to *seconds and must
 * be digits (Go's pax-bad-mtime-file); the fraction is dropped, and only its
 * first byte is checked, since libarchive's own writer test leaves a stray
 * byte after the nanoseconds (test_read_format_tar_pax_timestamps). */
static bool parse_pax_time(struct tar_bytes text, int64_t *seconds)
{
    size_t i = 0;
    bool negative = text.length > 0 && text.bytes[0] == '-';
    i += negative;
    size_t dot = i;
    while (dot < text.length && text.bytes[dot] != '.')
        dot++;
    uint64_t whole;
    if (!parse_decimal((struct tar_bytes){text.bytes + i, dot - i}, &whole))
        return false;
    if (dot < text.length && dot + 1 < text.length &&
        (text.bytes[dot + 1] < '0' || text.bytes[dot + 1] > '9'))
        return false;
    *seconds = negative ? -(int64_t)whole : (int64_t)whole;
    return true;
}

/* One record's key and value, applied to *pending (NULL for a g header:
 * checked the same way, then dropped). Returns NULL or the reason. */
static const char *apply_pax_record(struct tar_bytes key, struct tar_bytes value,
                                    struct pax_overrides *pending)
{
    struct pax_overrides ignored;
    if (!pending) {
        memset(&ignored, 0, sizeof(ignored));
        pending = &ignored;
    }
    bool empty = value.length == 0; /* an empty value cancels the key */
    uint64_t number;
    int64_t seconds;
    if (bytes_equal(key, "path") || bytes_equal(key, "linkpath")) {
        if (has_nul(value))
            return "a NUL inside a pax path";
        bool is_path = key.length == 4;
        if (is_path) {
            pending->has_path = !empty;
            pending->path = value;
        } else {
            pending->has_link = !empty;
            pending->link = value;
        }
    } else if (bytes_equal(key, "size")) {
        if (!empty && !parse_decimal(value, &number))
            return "pax size is not a decimal number below 2^63";
        pending->has_size = !empty;
        pending->size = empty ? 0 : number;
    } else if (bytes_equal(key, "mtime") || bytes_equal(key, "atime") ||
               bytes_equal(key, "ctime")) {
        if (!empty && !parse_pax_time(value, &seconds))
            return "pax time is not a number";
        if (key.bytes[0] == 'm') {
            pending->has_mtime = !empty;
            pending->mtime = empty ? 0 : seconds;
        }
    } else if (bytes_equal(key, "uid") || bytes_equal(key, "gid")) {
        if (!empty && !parse_decimal(value, &number))
            return "pax uid/gid is not a decimal number";
        if (key.bytes[0] == 'u') {
            pending->has_uid = !empty;
            pending->uid = empty ? 0 : number;
        } else {
            pending->has_gid = !empty;
            pending->gid = empty ? 0 : number;
        }
    } else if (key.length > 11 && memcmp(key.bytes, "GNU.sparse.", 11) == 0) {
        struct tar_bytes what = {key.bytes + 11, key.length - 11};
        pending->sparse = true;
        if (bytes_equal(what, "name")) {
            if (has_nul(value))
                return "a NUL inside GNU.sparse.name";
            pending->has_sparse_name = !empty;
            pending->sparse_name = value;
        } else if (bytes_equal(what, "realsize") || bytes_equal(what, "size")) {
            if (!parse_decimal(value, &pending->real_size))
                return "GNU.sparse size is not a decimal number";
            pending->has_real_size = true;
        } else if (bytes_equal(what, "major")) {
            if (!parse_decimal(value, &pending->sparse_major))
                return "GNU.sparse.major is not a number";
        }
    }
    return NULL; /* other keys (comments, xattrs, ACLs, charsets) are not ours */
}

/* The records "LEN KEY=VALUE\n" filling a pax body of `bytes` at `offset`. */
static int parse_pax_body(struct tar_reader *reader, struct tar_error *error, uint64_t offset,
                          uint64_t bytes, struct pax_overrides *pending)
{
    const uint8_t *body = reader->archive + offset;
    uint64_t position = 0;
    while (position < bytes) {
        uint64_t record_offset = offset + position;
        uint64_t length = 0, i = position;
        while (i < bytes && body[i] >= '0' && body[i] <= '9') {
            length = length * 10 + (body[i] - '0');
            if (length > bytes)
                return fail(reader, error, record_offset, "pax record length is past the header");
            i++;
        }
        if (i == position || i >= bytes || body[i] != ' ')
            return fail(reader, error, record_offset, "pax record does not start with 'LENGTH '");
        if (length == 0 || length > bytes - position || length < i - position + 4)
            return fail(reader, error, record_offset, "pax record length %lu is wrong",
                        (unsigned long)length);
        uint64_t end = position + length; /* one past the record's '\n' */
        if (body[end - 1] != '\n')
            return fail(reader, error, record_offset, "pax record does not end in a newline");
        uint64_t key_start = i + 1, equals = key_start;
        while (equals < end - 1 && body[equals] != '=')
            equals++;
        if (equals == end - 1)
            return fail(reader, error, record_offset, "pax record has no '='");
        struct tar_bytes key = {body + key_start, equals - key_start};
        struct tar_bytes value = {body + equals + 1, end - 1 - (equals + 1)};
        if (key.length == 0)
            return fail(reader, error, record_offset, "pax record has an empty key");
        if (has_nul(key))
            return fail(reader, error, record_offset, "a NUL inside a pax key");
        const char *problem = apply_pax_record(key, value, pending);
        if (problem)
            return fail(reader, error, record_offset, "%s", problem);
        position = end;
    }
    return 0;
}

/* A pax 1.0 sparse map at the start of the data: "N\n" then N pairs of
 * "OFFSET\nBYTES\n", all decimal. Only checked: the data is not served. */
static bool sparse_map_ok(const uint8_t *data, uint64_t bytes)
{
    uint64_t position = 0, numbers = 0, wanted = 1;
    while (numbers < wanted) {
        uint64_t start = position, value = 0;
        while (position < bytes && data[position] >= '0' && data[position] <= '9') {
            if (value > (INT63_MAX - 9) / 10)
                return false;
            value = value * 10 + (data[position++] - '0');
        }
        if (position == start || position >= bytes || data[position] != '\n')
            return false;
        position++;
        if (numbers++ == 0) {
            if (value > bytes) /* each pair needs at least 4 bytes: bounded anyway */
                return false;
            wanted = 1 + 2 * value;
        }
    }
    return true;
}

/* ---- the walk ---------------------------------------------------------- */

static bool type_has_no_data(char typeflag)
{
    return typeflag >= '1' && typeflag <= '6';
}

static bool is_entry_type(char typeflag)
{
    return (typeflag >= '0' && typeflag <= '7') || typeflag == 0 || typeflag == 'S' ||
           typeflag == 'D';
}

static enum tar_type entry_type(char typeflag)
{
    switch (typeflag) {
    case '1':
        return TAR_HARDLINK;
    case '2':
        return TAR_SYMLINK;
    case '3':
        return TAR_CHARDEV;
    case '4':
        return TAR_BLOCKDEV;
    case '5':
    case 'D':
        return TAR_DIRECTORY;
    case '6':
        return TAR_FIFO;
    case 'S':
        return TAR_SPARSE;
    default:
        return TAR_REGULAR;
    }
}

/* The body of an x, g, X, L or K header, bounded and capped. */
BOOT_ONLY static int special_body(struct tar_reader *reader, struct tar_error *error,
                                  uint64_t header_offset, uint64_t size)
{
    if (size > TAR_MAX_SPECIAL_BYTES)
        return fail(reader, error, header_offset,
                    "a '%c' header of %lu bytes (more than the 1 MiB allowed)",
                    reader->archive[header_offset + OFF_TYPEFLAG], (unsigned long)size);
    if (!fits(reader, header_offset + TAR_BLOCK_BYTES, size))
        return fail(reader, error, header_offset, "'%c' header's %lu bytes go past the end",
                    reader->archive[header_offset + OFF_TYPEFLAG], (unsigned long)size);
    return 0;
}

/* GNU 'S': the sparse map may continue in extension blocks after the header. */
static int skip_gnu_sparse_extensions(struct tar_reader *reader, struct tar_error *error,
                                      const uint8_t *header, uint64_t *data_offset)
{
    bool extended = header[OFF_GNU_ISEXTENDED] != 0;
    while (extended) {
        if (!fits(reader, *data_offset, TAR_BLOCK_BYTES))
            return fail(reader, error, *data_offset, "GNU sparse extension block past the end");
        extended = reader->archive[*data_offset + OFF_GNU_EXT_ISEXTENDED] != 0;
        *data_offset += TAR_BLOCK_BYTES;
    }
    return 0;
}

static int end_of_archive(struct tar_reader *reader)
{
    reader->done = true;
    return 0;
}

BOOT_ONLY int tar_next(struct tar_reader *reader, struct tar_entry *entry, struct tar_error *error)
{
    if (reader->done) {
        if (reader->failed && error)
            *error = reader->error;
        return reader->failed ? -1 : 0;
    }
    struct pending pending;
    memset(&pending, 0, sizeof(pending));
    for (;;) {
        uint64_t offset = reader->offset;
        if (offset >= reader->length) /* the physical end (an x header alone is no entry) */
            return end_of_archive(reader);
        uint64_t left = reader->length - offset;
        const uint8_t *header = reader->archive + offset;
        if (left < TAR_BLOCK_BYTES) {
            if (is_zero_block(header, left))
                return end_of_archive(reader);
            return fail(reader, error, offset, "the archive ends inside a header (%lu bytes left)",
                        (unsigned long)left);
        }
        if (is_zero_block(header, TAR_BLOCK_BYTES)) /* bytes after it are ignored */
            return end_of_archive(reader);

        uint64_t stored_checksum, size;
        if (!number_field(header, F_CHECKSUM, &stored_checksum))
            return fail(reader, error, offset, "checksum field is not an octal number");
        if (!checksum_ok(header, stored_checksum))
            return fail(reader, error, offset, "bad header checksum (stored %lu)",
                        (unsigned long)stored_checksum);
        enum tar_format format;
        if (!magic_format(header, &format))
            return fail(reader, error, offset, "unknown magic (not ustar, GNU or V7)");
        if (!number_field(header, F_SIZE, &size))
            return fail(reader, error, offset, "size field is not a number (or is negative)");
        char typeflag = (char)header[OFF_TYPEFLAG];
        if (!pending.started) {
            pending.started = true;
            pending.first_offset = offset;
        }
        uint64_t body = offset + TAR_BLOCK_BYTES;

        if (typeflag == 'x' || typeflag == 'X' || typeflag == 'g') {
            if (special_body(reader, error, offset, size) != 0)
                return -1;
            if (size == 0)
                return fail(reader, error, offset, "an empty pax header");
            if (typeflag != 'g')
                memset(&pending.pax, 0, sizeof(pending.pax));
            if (parse_pax_body(reader, error, body, size, typeflag == 'g' ? NULL : &pending.pax) !=
                0)
                return -1;
            if (typeflag == 'g') { /* not about the next entry: start over after it */
                pending.started = false;
            }
            reader->offset = body + round_up_block(size);
            continue;
        }
        if (typeflag == 'L' || typeflag == 'K') {
            if (special_body(reader, error, offset, size) != 0)
                return -1;
            struct tar_bytes text = {reader->archive + body, 0};
            while (text.length < size && text.bytes[text.length] != 0)
                text.length++; /* cut at the first NUL */
            if (typeflag == 'L') {
                pending.has_gnu_path = true;
                pending.gnu_path = text;
            } else {
                pending.has_gnu_link = true;
                pending.gnu_link = text;
            }
            reader->offset = body + round_up_block(size);
            continue;
        }

        uint64_t stored = type_has_no_data(typeflag) ? 0 : size;
        const struct pax_overrides *pax = &pending.pax;
        if (pax->has_size && !type_has_no_data(typeflag))
            stored = pax->size;
        if (!is_entry_type(typeflag)) { /* V (label), A (ACL), M, ...: not a file */
            if (!fits(reader, body, stored))
                return fail(reader, error, offset, "'%c' header's %lu bytes go past the end",
                            typeflag, (unsigned long)stored);
            reader->offset = body + round_up_block(stored);
            memset(&pending, 0, sizeof(pending));
            continue;
        }

        memset(entry, 0, sizeof(*entry));
        entry->header_offset = pending.first_offset;
        entry->typeflag = typeflag;
        entry->type = entry_type(typeflag);
        if (pax->has_path) {
            entry->name = pax->path;
        } else if (pending.has_gnu_path) {
            entry->name = pending.gnu_path;
        } else {
            entry->name = string_field(header, F_NAME);
            if (format == FORMAT_USTAR || (format == FORMAT_GNU && go17_prefix(header)))
                entry->prefix = string_field(header, F_PREFIX);
        }
        if (pax->has_link)
            entry->link = pax->link;
        else if (pending.has_gnu_link)
            entry->link = pending.gnu_link;
        else
            entry->link = string_field(header, F_LINKNAME);
        uint64_t mode, number;
        int64_t mtime;
        if (!number_field(header, F_MODE, &mode))
            return fail(reader, error, offset, "mode field is not a number");
        if (!time_field(header, F_MTIME, &mtime))
            return fail(reader, error, offset, "mtime field is not a number");
        entry->mode = (uint32_t)(mode & 07777);
        entry->mtime = pax->has_mtime ? pax->mtime : mtime;
        if (!number_field(header, F_UID, &entry->uid) || !number_field(header, F_GID, &entry->gid))
            return fail(reader, error, offset, "uid or gid field is not a number");
        if (pax->has_uid)
            entry->uid = pax->uid;
        if (pax->has_gid)
            entry->gid = pax->gid;
        if (entry->type == TAR_CHARDEV || entry->type == TAR_BLOCKDEV) {
            if (!number_field(header, F_DEVMAJOR, &number) || number > UINT32_MAX)
                return fail(reader, error, offset, "devmajor field is not a number");
            entry->devmajor = (uint32_t)number;
            if (!number_field(header, F_DEVMINOR, &number) || number > UINT32_MAX)
                return fail(reader, error, offset, "devminor field is not a number");
            entry->devminor = (uint32_t)number;
        }
        /* V7 and old GNU wrote directories as regular files named "dir/". */
        if ((typeflag == 0 || typeflag == '0') && entry->name.length > 0 &&
            entry->name.bytes[entry->name.length - 1] == '/') {
            entry->type = TAR_DIRECTORY;
            stored = 0;
        }

        uint64_t data = body;
        if (typeflag == 'S') {
            if (!number_field(header, F_GNU_REALSIZE, &entry->size))
                return fail(reader, error, offset, "GNU sparse real size is not a number");
            if (skip_gnu_sparse_extensions(reader, error, header, &data) != 0)
                return -1;
        }
        if (!fits(reader, data, stored))
            return fail(reader, error, offset, "entry's %lu bytes of data go past the end",
                        (unsigned long)stored);
        if (pax->sparse) {
            entry->type = TAR_SPARSE;
            if (pax->has_sparse_name) {
                entry->name = pax->sparse_name;
                entry->prefix = (struct tar_bytes){0};
            }
            entry->size = pax->has_real_size ? pax->real_size : stored;
            if (pax->sparse_major == 1 && !sparse_map_ok(reader->archive + data, stored))
                return fail(reader, error, data, "malformed pax sparse map");
        }
        entry->data_offset = data;
        /* A directory serves no data ('D' has a dump list, skipped below). */
        entry->stored_bytes = entry->type == TAR_DIRECTORY ? 0 : stored;
        if (entry->type != TAR_SPARSE)
            entry->size = entry->stored_bytes;
        reader->offset = data + round_up_block(stored);
        reader->entries++;
        return 1;
    }
}
