/* bootinfo.c: walk GRUB's boot information with lib/multiboot2. */
#include "kernel/bootinfo.h"

#include "kernel/console.h"
#include "lib/multiboot2.h"

void bootinfo_read(phys_addr_t mbi_phys, struct boot_info *info)
{
    *info = (struct boot_info){
        .mbi_phys = mbi_phys, .cmdline = "", .boot_loader_name = "unknown"};
    /* The early direct map covers [0, EARLY_DIRECT_MAP_BYTES): nothing past
     * it may be read. */
    if (mbi_phys == 0 || mbi_phys >= EARLY_DIRECT_MAP_BYTES) {
        log_error("boot information at %#lx is outside the first 4 GiB; ignored", mbi_phys);
        return;
    }
    struct mb2_reader reader;
    struct mb2_error error;
    if (!mb2_reader_init(&reader, phys_to_virt(mbi_phys), EARLY_DIRECT_MAP_BYTES - mbi_phys,
                         &error)) {
        log_error("boot information at %#lx: %s; ignored", mbi_phys, error.message);
        return;
    }
    info->mbi_total_size = reader.total_size;
    struct mb2_tag tag;
    int status;
    while ((status = mb2_reader_next(&reader, &tag, &error)) == 1) {
        info->tag_count++;
        const char *text = NULL;
        if (tag.type == MB2_TAG_CMDLINE || tag.type == MB2_TAG_BOOT_LOADER_NAME) {
            text = mb2_tag_string(&tag);
            if (!text) {
                log_warn("boot information: tag %u at offset %u has no NUL-terminated string; "
                         "ignored",
                         tag.type, tag.offset);
                continue;
            }
        }
        if (tag.type == MB2_TAG_CMDLINE)
            info->cmdline = text;
        else if (tag.type == MB2_TAG_BOOT_LOADER_NAME)
            info->boot_loader_name = text;
    }
    if (status < 0)
        log_warn("boot information: %s (at offset %u); the tags after it were ignored",
                 error.message, error.offset);
}
