; entry.asm: from GRUB's 32-bit protected mode to the 64-bit C kernel.
;
; GRUB enters _start with paging off, EAX = multiboot2 magic, EBX = physical
; address of the boot information (MBI), interrupts off, no stack, and a GDT
; we must not rely on. This file:
;   1. checks the magic and that the CPU has long mode (else: message, halt);
;   2. builds the early page tables (see below);
;   3. turns on PAE, long mode and paging, loads a 64-bit GDT;
;   4. jumps to the higher half and calls kernel_main(mbi_phys).
;
; The code here runs before paging, at its physical address: it lives in the
; .boot section, linked at its load address. Everything else in the kernel is
; linked in the top 2 GiB, so symbols from there are used as
; (symbol - KERNEL_VIRT_BASE) to get their physical address.

%include "memlayout.inc"

MB2_BOOT_MAGIC  equ 0x36D76289
PAGE_SIZE       equ 4096
PTE_PRESENT     equ 1 << 0
PTE_WRITABLE    equ 1 << 1
PTE_HUGE        equ 1 << 7              ; in a PD entry: a 2 MiB page
CR0_PE          equ 1 << 0
CR0_WP          equ 1 << 16             ; supervisor writes honour read-only pages
CR0_PG          equ 1 << 31
CR4_PAE         equ 1 << 5
MSR_EFER        equ 0xC0000080
EFER_LME        equ 1 << 8
EFER_NXE        equ 1 << 11
COM1            equ 0x3F8

extern kernel_main
extern __kernel_phys_end
global _start
global long_mode_high:function
global boot_stack_guard, boot_stack_bottom, boot_stack_top
global early_page_tables_start, early_page_tables_end
global early_pml4

%define PHYS(sym) ((sym) - KERNEL_VIRT_BASE)

section .boot.text progbits alloc exec nowrite align=16
bits 32
_start:
    cli
    cld
    mov esp, PHYS(boot_stack_top)
    mov edi, eax                        ; keep the magic and the MBI address
    mov esi, ebx

    call early_serial_init
    cmp edi, MB2_BOOT_MAGIC
    jne .not_multiboot2
    call cpu_has_long_mode
    test eax, eax
    jz .no_long_mode

    call build_early_page_tables

    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, PHYS(early_pml4)
    mov cr3, eax

    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_LME
    or eax, ebp                         ; EFER_NXE when the CPU has NX (see below)
    wrmsr

    mov eax, cr0
    or eax, CR0_PG | CR0_WP | CR0_PE
    mov cr0, eax                        ; paging on: now in 32-bit compatibility mode

    lgdt [boot_gdt_pointer]
    jmp BOOT_GDT_CODE64:long_mode_low   ; load a 64-bit CS: now in long mode

.not_multiboot2:
    mov ebx, msg_not_multiboot2
    jmp early_fatal
.no_long_mode:
    mov ebx, msg_no_long_mode
    jmp early_fatal

; eax = 1 if the CPU supports long mode, else 0. Also sets ebp = EFER_NXE if
; the CPU supports no-execute pages, else 0.
cpu_has_long_mode:
    xor ebp, ebp
    pushfd                              ; CPUID exists if EFLAGS.ID can be flipped
    pop eax
    mov ecx, eax
    xor eax, 1 << 21
    push eax
    popfd
    pushfd
    pop eax
    push ecx
    popfd
    xor eax, ecx
    jz .no
    mov eax, 0x80000000                 ; highest extended function
    cpuid
    cmp eax, 0x80000001
    jb .no
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 29                   ; LM
    jz .no
    test edx, 1 << 20                   ; NX
    jz .yes
    mov ebp, EFER_NXE
.yes:
    mov eax, 1
    ret
.no:
    xor eax, eax
    ret

; The early page tables (all in .bss, zeroed by GRUB):
;   PML4[0]   -> pdpt_low : identity map of 0-4 GiB (2 MiB pages), only so that
;                           the instructions after "paging on" can run; removed
;                           by long_mode_high before any C runs.
;   PML4[256] -> pdpt_low : the same 4 GiB at DIRECT_MAP_BASE: the early
;                           direct map, through which C reads the MBI, VGA...
;   PML4[511] -> pdpt_high, whose entry 510 -> pd_high -> pt_kernel: the kernel
;                           image at KERNEL_VIRT_BASE + phys, in 4 KiB pages, so
;                           that the page under the boot stack can stay unmapped
;                           (a stack overflow faults instead of corrupting .bss).
build_early_page_tables:
    mov eax, PHYS(early_pdpt_low) + PTE_PRESENT + PTE_WRITABLE
    mov [PHYS(early_pml4)], eax
    mov [PHYS(early_pml4) + 256 * 8], eax
    mov eax, PHYS(early_pdpt_high) + PTE_PRESENT + PTE_WRITABLE
    mov [PHYS(early_pml4) + 511 * 8], eax

    mov ecx, 0                          ; pdpt_low[0..3] -> the four PDs
.fill_pdpt:
    mov eax, ecx
    shl eax, 12
    add eax, PHYS(early_pd_low) + PTE_PRESENT + PTE_WRITABLE
    mov [PHYS(early_pdpt_low) + ecx * 8], eax
    inc ecx
    cmp ecx, EARLY_DIRECT_MAP_BYTES >> 30
    jne .fill_pdpt

    mov ecx, 0                          ; 2048 PD entries of 2 MiB = 4 GiB
.fill_pd:
    mov eax, ecx
    shl eax, 21
    or eax, PTE_PRESENT + PTE_WRITABLE + PTE_HUGE
    mov [PHYS(early_pd_low) + ecx * 8], eax
    inc ecx
    cmp ecx, (EARLY_DIRECT_MAP_BYTES >> 21)
    jne .fill_pd

    mov eax, PHYS(early_pd_high) + PTE_PRESENT + PTE_WRITABLE
    mov [PHYS(early_pdpt_high) + 510 * 8], eax
    mov eax, PHYS(early_pt_kernel) + PTE_PRESENT + PTE_WRITABLE
    mov [PHYS(early_pd_high)], eax

    ; pt_kernel covers physical 0-2 MiB (the linker script checks that the
    ; image ends below 2 MiB). Map each page of the image but the guard page.
    mov ecx, KERNEL_PHYS_BASE
.fill_pt:
    cmp ecx, PHYS(boot_stack_guard)
    je .skip_guard
    mov eax, ecx
    or eax, PTE_PRESENT + PTE_WRITABLE
    mov edx, ecx
    shr edx, 12
    mov [PHYS(early_pt_kernel) + edx * 8], eax
.skip_guard:
    add ecx, PAGE_SIZE
    cmp ecx, __kernel_phys_end
    jb .fill_pt
    ret

; Minimal COM1 set-up (115200 8N1) so that early errors can be read in a
; terminal; the C console driver sets the port up again properly.
early_serial_init:
    mov dx, COM1 + 1
    xor al, al
    out dx, al                          ; no interrupts
    mov dx, COM1 + 3
    mov al, 0x80
    out dx, al                          ; DLAB on
    mov dx, COM1
    mov al, 1
    out dx, al                          ; divisor 1 = 115200 baud
    mov dx, COM1 + 1
    xor al, al
    out dx, al
    mov dx, COM1 + 3
    mov al, 0x03
    out dx, al                          ; 8N1, DLAB off
    ret

; Print the NUL-terminated message at ebx on COM1 and on the VGA text screen
; (white on red), then halt for good.
early_fatal:
    mov esi, ebx
    mov edi, VGA_TEXT_PHYS
.next_char:
    lodsb
    test al, al
    jz .halt
    mov ah, 0x4F
    mov [edi], ax
    add edi, 2
    mov bl, al
    mov dx, COM1 + 5
.wait_tx:
    in al, dx
    test al, 0x20
    jz .wait_tx
    mov dx, COM1
    mov al, bl
    out dx, al
    jmp .next_char
.halt:
    cli
    hlt
    jmp .halt

bits 64
long_mode_low:
    mov ax, BOOT_GDT_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rax, long_mode_high             ; leave the identity map
    jmp rax

section .boot.rodata progbits alloc noexec nowrite align=16
msg_not_multiboot2:
    db "Ferrite: not started by a multiboot2 boot loader (bad magic in EAX); halting.", 13, 10, 0
msg_no_long_mode:
    db "Ferrite: this CPU has no 64-bit long mode; Ferrite needs an x86-64 CPU. Halting.", 13, 10, 0

; A temporary GDT for the switch: null, 64-bit code, data. kernel/gdt.c loads
; the real one (with a TSS) from C.
BOOT_GDT_CODE64 equ 0x08
BOOT_GDT_DATA   equ 0x10
align 8
boot_gdt:
    dq 0
    dq 0x00AF9A000000FFFF               ; code: present, DPL 0, L (64-bit)
    dq 0x00CF92000000FFFF               ; data: present, writable
boot_gdt_pointer:
    dw boot_gdt_pointer - boot_gdt - 1
    dd boot_gdt

section .text
bits 64
long_mode_high:
    mov rsp, boot_stack_top
    ; Now running in the higher half: drop the identity map (PML4[0]), so that
    ; a NULL pointer faults; flush the TLB by reloading CR3.
    mov qword [early_pml4], 0
    mov rax, cr3
    mov cr3, rax
    xor ebp, ebp                        ; the end of every backtrace
    mov edi, esi                        ; kernel_main(mbi_phys)
    call kernel_main
.hang:
    cli
    hlt
    jmp .hang

section .bss.early_page_tables nobits alloc noexec write align=4096
early_page_tables_start:
early_pml4:      resb PAGE_SIZE
early_pdpt_low:  resb PAGE_SIZE
early_pd_low:    resb PAGE_SIZE * (EARLY_DIRECT_MAP_BYTES >> 30)
early_pdpt_high: resb PAGE_SIZE
early_pd_high:   resb PAGE_SIZE
early_pt_kernel: resb PAGE_SIZE
early_page_tables_end:

section .bss.boot_stack nobits alloc noexec write align=4096
boot_stack_guard:  resb PAGE_SIZE       ; left unmapped: see build_early_page_tables
boot_stack_bottom: resb BOOT_STACK_BYTES
boot_stack_top:
