/*
 * efi_memmap.h: the UEFI memory map's vocabulary (types and attributes, as
 * the UEFI specification names them) and the check that the multiboot2
 * memory map (tag 6, what the kernel uses) agrees with the EFI map (tag 17,
 * what the firmware said). lib/multiboot2.h reads the descriptors.
 *
 * Which EFI memory is free once the OS has called ExitBootServices (which
 * GRUB does before it jumps to the kernel): ConventionalMemory, and the code
 * and data of the boot loader (LoaderCode/Data) and of boot services
 * (BootServicesCode/Data). Runtime services code and data stay the firmware's
 * for as long as the machine runs, like ACPI NVS; ACPI reclaim memory holds
 * tables until the OS has read them. GRUB builds tag 6 from the same map with
 * that rule (its own and boot services' memory as "available", runtime
 * services code as its type 20), so every usable byte of tag 6 should lie in
 * a descriptor of a usable type, and every such descriptor in tag 6's usable
 * memory. efi_reconcile finds the bytes where that does not hold.
 */
#ifndef LIB_EFI_MEMMAP_H
#define LIB_EFI_MEMMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum efi_memory_type {
    EFI_RESERVED = 0,
    EFI_LOADER_CODE = 1,
    EFI_LOADER_DATA = 2,
    EFI_BOOT_SERVICES_CODE = 3,
    EFI_BOOT_SERVICES_DATA = 4,
    EFI_RUNTIME_SERVICES_CODE = 5,
    EFI_RUNTIME_SERVICES_DATA = 6,
    EFI_CONVENTIONAL_MEMORY = 7,
    EFI_UNUSABLE_MEMORY = 8,
    EFI_ACPI_RECLAIM_MEMORY = 9,
    EFI_ACPI_MEMORY_NVS = 10,
    EFI_MEMORY_MAPPED_IO = 11,
    EFI_MEMORY_MAPPED_IO_PORT_SPACE = 12,
    EFI_PAL_CODE = 13,
    EFI_PERSISTENT_MEMORY = 14,
    EFI_UNACCEPTED_MEMORY = 15,
};

#define EFI_PAGE_BYTES 4096u
#define EFI_MEMORY_RUNTIME                                                                         \
    (1ull << 63) /* the attribute bit: the OS must map it for runtime calls */

/* The specification's name of a type ("ConventionalMemory"), or NULL for a
 * value it does not define (OEM and OS-defined ones included). */
const char *efi_memory_type_name(uint32_t type);

/* True for the types the OS may use once boot services have ended. */
bool efi_usable_after_boot_services(uint32_t type);

/* The attribute bits as the specification's short names, space-separated
 * ("UC WC WT WB RUNTIME"); unknown bits as one hexadecimal number at the end.
 * Writes at most size bytes, NUL included; returns out. */
char *efi_attribute_names(uint64_t attribute, char *out, size_t size);

/* A range of physical memory and its type, from either map. end is
 * exclusive; a descriptor whose pages run past 2^64 ends at UINT64_MAX. */
struct efi_range {
    uint64_t start, end;
    uint32_t type;
};

/* The end of a descriptor of pages 4 KiB pages from start, saturated. */
uint64_t efi_range_end(uint64_t start, uint64_t pages);

enum efi_difference_kind {
    EFI_USABLE_BUT_NOT_IN_EFI, /* tag 6 says usable; no usable-type EFI descriptor covers it */
    EFI_FREE_BUT_NOT_USABLE,   /* a usable-type EFI descriptor; tag 6 does not say usable */
};

struct efi_difference {
    enum efi_difference_kind kind;
    uint64_t start, end;
    /* What the other map says at start: for EFI_USABLE_BUT_NOT_IN_EFI the EFI
     * type (or -1: no descriptor there); for EFI_FREE_BUT_NOT_USABLE the tag-6
     * type (or -1: no entry there). */
    int64_t other_type;
};

typedef void (*efi_difference_report)(const struct efi_difference *difference, void *context);

/* Compares the two maps (tag 6 entries with multiboot2 types, EFI descriptors
 * as ranges; neither needs to be sorted) and reports every difference, each
 * range once per entry it lies in. Returns how many were reported. */
unsigned efi_reconcile(const struct efi_range *map, size_t map_count, const struct efi_range *efi,
                       size_t efi_count, efi_difference_report report, void *context);

#endif
