; multiboot2_header.asm: the header GRUB looks for in the first 32 KiB of the
; kernel image (multiboot2 spec 3.1). Linked first into the .boot section.

MB2_HEADER_MAGIC equ 0xE85250D6
MB2_ARCH_I386    equ 0              ; 32-bit protected mode entry
MB2_TAG_OPTIONAL equ 1

section .multiboot progbits alloc noexec nowrite align=8
multiboot2_header_start:
    dd MB2_HEADER_MAGIC
    dd MB2_ARCH_I386
    dd multiboot2_header_end - multiboot2_header_start
    dd -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (multiboot2_header_end - multiboot2_header_start))

    ; Information request (type 1). Marked optional: GRUB sends these tags
    ; anyway, and a non-optional request for a tag GRUB does not know (13,
    ; SMBIOS) would make it refuse to boot us.
    align 8
.info_request:
    dw 1, MB2_TAG_OPTIONAL
    dd .info_request_end - .info_request
    dd 1                            ; boot command line
    dd 3                            ; modules (the boot filesystem)
    dd 6                            ; memory map
    dd 14                           ; ACPI 1.0 RSDP
    dd 15                           ; ACPI 2.0+ RSDP
.info_request_end:

    ; Module alignment (type 6): GRUB page-aligns modules anyway; asking makes
    ; the requirement visible to other loaders too.
    align 8
    dw 6, 0
    dd 8

    ; Framebuffer (type 5), optional, 800x600 at 32 bits: under UEFI there is
    ; no VGA text mode, and GRUB sets this mode through the firmware's GOP.
    ; Under BIOS, grub.cfg's gfxpayload=text keeps the VGA text screen (tag 8
    ; then says EGA text, 80x25 at 0xb8000). 800x600 keeps a full redraw cheap
    ; under emulation.
    align 8
    dw 5, MB2_TAG_OPTIONAL
    dd 20
    dd 800, 600, 32

    ; End tag.
    align 8
    dw 0, 0
    dd 8
multiboot2_header_end:
