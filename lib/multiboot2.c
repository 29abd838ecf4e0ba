/* multiboot2.c: see multiboot2.h. All offsets are checked against total_size
 * in 64-bit arithmetic, so no sum can wrap. */
#include "lib/multiboot2.h"

#include "lib/format.h"

#define MB2_HEADER_BYTES 8
#define MB2_TAG_HEADER_BYTES 8
#define MB2_TAG_ALIGN 8

static uint32_t read_u32(const uint8_t *at) {
    return (uint32_t)at[0] | (uint32_t)at[1] << 8 | (uint32_t)at[2] << 16 | (uint32_t)at[3] << 24;
}

static bool fail(struct mb2_error *error, uint32_t offset, const char *message) {
    if (error) {
        error->offset = offset;
        ksnprintf(error->message, sizeof(error->message), "%s", message);
    }
    return false;
}

bool mb2_reader_init(struct mb2_reader *reader, const void *mbi, size_t available_bytes,
                     struct mb2_error *error) {
    reader->base = mbi;
    reader->total_size = 0;
    reader->next_offset = MB2_HEADER_BYTES;
    reader->finished = true;
    if (!mbi || (uintptr_t)mbi % MB2_TAG_ALIGN != 0)
        return fail(error, 0, "boot information not 8-byte aligned");
    if (available_bytes < MB2_HEADER_BYTES + MB2_TAG_HEADER_BYTES)
        return fail(error, 0, "boot information truncated before its first tag");
    uint32_t total_size = read_u32(mbi);
    if (total_size < MB2_HEADER_BYTES + MB2_TAG_HEADER_BYTES)
        return fail(error, 0, "total_size too small to hold the end tag");
    if (total_size > available_bytes || total_size > MB2_MAX_TOTAL_SIZE)
        return fail(error, 0, "total_size larger than the memory it may occupy");
    reader->total_size = total_size;
    reader->finished = false;
    return true;
}

int mb2_reader_next(struct mb2_reader *reader, struct mb2_tag *tag, struct mb2_error *error) {
    if (reader->finished)
        return 0;
    uint64_t offset = reader->next_offset;
    reader->finished = true; /* until this tag proves well-formed */
    if (offset + MB2_TAG_HEADER_BYTES > reader->total_size) {
        fail(error, (uint32_t)offset, "tag list runs past total_size without an end tag");
        return -1;
    }
    const uint8_t *at = reader->base + offset;
    uint32_t type = read_u32(at);
    uint32_t size = read_u32(at + 4);
    if (size < MB2_TAG_HEADER_BYTES) {
        fail(error, (uint32_t)offset, "tag size smaller than the tag header (8)");
        return -1;
    }
    if (offset + size > reader->total_size) {
        fail(error, (uint32_t)offset, "tag extends past total_size");
        return -1;
    }
    if (type == MB2_TAG_END)
        return 0; /* finished stays true */
    *tag = (struct mb2_tag){
        .type = type,
        .size = size,
        .offset = (uint32_t)offset,
        .payload = at + MB2_TAG_HEADER_BYTES,
        .payload_size = size - MB2_TAG_HEADER_BYTES,
    };
    uint64_t next = (offset + size + MB2_TAG_ALIGN - 1) & ~(uint64_t)(MB2_TAG_ALIGN - 1);
    reader->next_offset = (uint32_t)(next < reader->total_size ? next : reader->total_size);
    reader->finished = false;
    return 1;
}

const char *mb2_tag_string(const struct mb2_tag *tag) {
    for (uint32_t i = 0; i < tag->payload_size; i++) {
        if (tag->payload[i] == '\0')
            return (const char *)tag->payload;
    }
    return NULL;
}
