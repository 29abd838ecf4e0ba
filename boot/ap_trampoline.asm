; ap_trampoline.asm: where every other CPU (an "application processor", AP)
; starts, from real mode to the 64-bit kernel.
;
; An AP wakes up from a Startup IPI in 16-bit real mode at CS:IP = (vector <<
; 8):0, that is at the start of the 4 KiB page number `vector`: the page must
; lie below 1 MiB. kernel/smp.c gets such a page from the buddy allocator (the
; LOW zone, no fixed address), copies this code into it, fills in the
; parameter block at its end, maps the page at its own physical address for
; the few instructions that run with paging on but still at that address,
; and sends INIT-SIPI-SIPI. The code never runs where it is linked (it sits in
; .rodata): it only uses addresses relative to its own start, plus the three
; values kernel/smp.c patches in (the GDT base, the far pointer, and the
; parameter block).
;
; The way up: real mode -> long mode in one step. With PAE on, CR3 loaded and
; EFER.LME set, turning on PE and PG together activates long mode; a far jump
; to a 64-bit code segment then starts 64-bit code. (The BSP went through
; 32-bit protected mode because GRUB left it there; an AP need not.)
;
; Keep struct ap_trampoline_params (kernel/smp.c) in step with the block at
; the end.

global ap_trampoline_start, ap_trampoline_end
global ap_trampoline_gdt, ap_trampoline_gdt_pointer, ap_trampoline_far_jump
global ap_trampoline_long64, ap_trampoline_params

CODE64  equ 0x08
DATA    equ 0x10
MSR_EFER equ 0xC0000080

%define OFFSET(label) ((label) - ap_trampoline_start)

section .rodata
align 16
bits 16
ap_trampoline_start:
    cli
    cld
    mov ax, cs                          ; CS = the page's physical address >> 4
    mov ds, ax
    o32 lgdt [OFFSET(ap_trampoline_gdt_pointer)]

    mov eax, [OFFSET(params.cr4)]       ; the BSP's CR4 (PAE among others)
    mov cr4, eax
    mov eax, [OFFSET(params.cr3)]       ; the kernel's PML4 (below 4 GiB)
    mov cr3, eax
    mov ecx, MSR_EFER
    mov eax, [OFFSET(params.efer)]      ; LME, and NXE if the BSP has it
    xor edx, edx
    wrmsr
    mov eax, [OFFSET(params.cr0)]       ; PE, PG, WP: long mode is active now
    mov cr0, eax
    jmp dword far [OFFSET(ap_trampoline_far_jump)] ; to long64, with a 64-bit CS

bits 64
ap_trampoline_long64:
    mov ax, DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rsp, [rel params.stack_top]     ; this CPU's stack (kernel/smp.c)
    mov rdi, [rel params.cpu]           ; ap_main(struct cpu *)
    mov rax, [rel params.entry]
    xor ebp, ebp                        ; the end of every backtrace
    push rbp                            ; a null return address: stack aligned as after a call
    jmp rax                             ; into the higher half: this page is done

align 8
ap_trampoline_gdt:                      ; null, 64-bit code, data
    dq 0
    dq 0x00AF9A000000FFFF
    dq 0x00CF92000000FFFF
ap_trampoline_gdt_pointer:
    dw 3 * 8 - 1
    dd 0                                ; patched: page + OFFSET(ap_trampoline_gdt)
align 4
ap_trampoline_far_jump:
    dd 0                                ; patched: page + OFFSET(ap_trampoline_long64)
    dw CODE64

align 8
ap_trampoline_params:
params:
.cr3:       dd 0
.cr4:       dd 0
.cr0:       dd 0
.efer:      dd 0
.entry:     dq 0
.stack_top: dq 0
.cpu:       dq 0
ap_trampoline_end:
