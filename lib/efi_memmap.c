/* efi_memmap.c: see efi_memmap.h. */
#include "lib/efi_memmap.h"

#include "lib/format.h"
#include "lib/multiboot2.h"

const char *efi_memory_type_name(uint32_t type)
{
    static const char *const names[] = {
        [EFI_RESERVED] = "Reserved",
        [EFI_LOADER_CODE] = "LoaderCode",
        [EFI_LOADER_DATA] = "LoaderData",
        [EFI_BOOT_SERVICES_CODE] = "BootServicesCode",
        [EFI_BOOT_SERVICES_DATA] = "BootServicesData",
        [EFI_RUNTIME_SERVICES_CODE] = "RuntimeServicesCode",
        [EFI_RUNTIME_SERVICES_DATA] = "RuntimeServicesData",
        [EFI_CONVENTIONAL_MEMORY] = "ConventionalMemory",
        [EFI_UNUSABLE_MEMORY] = "UnusableMemory",
        [EFI_ACPI_RECLAIM_MEMORY] = "ACPIReclaimMemory",
        [EFI_ACPI_MEMORY_NVS] = "ACPIMemoryNVS",
        [EFI_MEMORY_MAPPED_IO] = "MemoryMappedIO",
        [EFI_MEMORY_MAPPED_IO_PORT_SPACE] = "MemoryMappedIOPortSpace",
        [EFI_PAL_CODE] = "PalCode",
        [EFI_PERSISTENT_MEMORY] = "PersistentMemory",
        [EFI_UNACCEPTED_MEMORY] = "UnacceptedMemory",
    };
    return type < sizeof(names) / sizeof(names[0]) ? names[type] : NULL;
}

bool efi_usable_after_boot_services(uint32_t type)
{
    return type == EFI_LOADER_CODE || type == EFI_LOADER_DATA || type == EFI_BOOT_SERVICES_CODE ||
           type == EFI_BOOT_SERVICES_DATA || type == EFI_CONVENTIONAL_MEMORY;
}

char *efi_attribute_names(uint64_t attribute, char *out, size_t size)
{
    static const struct {
        uint64_t bit;
        const char *name;
    } bits[] = {
        {1ull << 0, "UC"},          {1ull << 1, "WC"},
        {1ull << 2, "WT"},          {1ull << 3, "WB"},
        {1ull << 4, "UCE"},         {1ull << 12, "WP"},
        {1ull << 13, "RP"},         {1ull << 14, "XP"},
        {1ull << 15, "NV"},         {1ull << 16, "MORE_RELIABLE"},
        {1ull << 17, "RO"},         {1ull << 18, "SP"},
        {1ull << 19, "CPU_CRYPTO"}, {EFI_MEMORY_RUNTIME, "RUNTIME"},
    };
    size_t used = 0;
    if (size == 0)
        return out;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        if (!(attribute & bits[i].bit))
            continue;
        attribute &= ~bits[i].bit;
        int wrote = ksnprintf(out + used, size - used, "%s%s", used ? " " : "", bits[i].name);
        if (wrote < 0 || (size_t)wrote >= size - used)
            return out;
        used += (size_t)wrote;
    }
    if (attribute)
        ksnprintf(out + used, size - used, "%s0x%lx", used ? " " : "", (unsigned long)attribute);
    return out;
}

uint64_t efi_range_end(uint64_t start, uint64_t pages)
{
    if (pages > (UINT64_MAX - start) / EFI_PAGE_BYTES)
        return UINT64_MAX;
    return start + pages * EFI_PAGE_BYTES;
}

typedef bool (*range_filter)(uint32_t type);

static bool map_usable(uint32_t type)
{
    return type == MB2_MMAP_AVAILABLE;
}

/* The type of the first range of list (of any type) that holds address, or
 * -1 if none does. */
static int64_t type_at(const struct efi_range *list, size_t count, uint64_t address)
{
    for (size_t i = 0; i < count; i++)
        if (list[i].start <= address && address < list[i].end)
            return list[i].type;
    return -1;
}

/* Reports the parts of the ranges of `outer` that pass outer_filter and that
 * no range of `inner` passing inner_filter covers. Each step moves `at`
 * forward, past a covering range or to the next one's start. */
static unsigned uncovered(const struct efi_range *outer, size_t outer_count,
                          range_filter outer_filter, const struct efi_range *inner,
                          size_t inner_count, range_filter inner_filter,
                          enum efi_difference_kind kind, efi_difference_report report,
                          void *context)
{
    unsigned reported = 0;
    for (size_t o = 0; o < outer_count; o++) {
        if (!outer_filter(outer[o].type))
            continue;
        uint64_t at = outer[o].start;
        while (at < outer[o].end) {
            uint64_t covered_to = at, next = outer[o].end;
            for (size_t i = 0; i < inner_count; i++) {
                if (!inner_filter(inner[i].type))
                    continue;
                if (inner[i].start <= at && at < inner[i].end && inner[i].end > covered_to)
                    covered_to = inner[i].end;
                else if (inner[i].start > at && inner[i].start < next)
                    next = inner[i].start;
            }
            if (covered_to > at) {
                at = covered_to;
                continue;
            }
            struct efi_difference difference = {kind, at, next, type_at(inner, inner_count, at)};
            report(&difference, context);
            reported++;
            at = next;
        }
    }
    return reported;
}

unsigned efi_reconcile(const struct efi_range *map, size_t map_count, const struct efi_range *efi,
                       size_t efi_count, efi_difference_report report, void *context)
{
    return uncovered(map, map_count, map_usable, efi, efi_count, efi_usable_after_boot_services,
                     EFI_USABLE_BUT_NOT_IN_EFI, report, context) +
           uncovered(efi, efi_count, efi_usable_after_boot_services, map, map_count, map_usable,
                     EFI_FREE_BUT_NOT_USABLE, report, context);
}
