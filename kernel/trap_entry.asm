; trap_entry.asm: the first instructions of every exception and interrupt.
;
; Each vector has a stub that makes the stack look the same for all of them
; (the CPU pushes an error code only for some exceptions: the others push a 0),
; pushes its vector number, and jumps to trap_common, which saves the general
; registers and calls trap_dispatch(struct trap_frame *). The layout pushed
; here is struct trap_frame in kernel/trap.h: keep the two in step.

extern trap_dispatch
global trap_stub_table
global trap_stub_table_end

TRAP_STUB_COUNT equ 256                 ; 32 exceptions, 16 legacy PIC IRQs, the rest (IPIs...)

section .text
bits 64

%macro TRAP_STUB 1
align 16
trap_stub_%1:
%if (%1 == 8) || (%1 == 10) || (%1 == 11) || (%1 == 12) || (%1 == 13) || (%1 == 14) || (%1 == 17) || (%1 == 21) || (%1 == 29) || (%1 == 30)
    ; the CPU pushed an error code
%else
    push 0
%endif
    push %1
    jmp trap_common
%endmacro

%assign vector 0
%rep TRAP_STUB_COUNT
    TRAP_STUB vector
%assign vector vector + 1
%endrep

trap_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    cld
    mov rdi, rsp                        ; the frame; the stack is 16-byte aligned here
    call trap_dispatch
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16                         ; vector and error code
    iretq

section .rodata
align 8
trap_stub_table:
%assign vector 0
%rep TRAP_STUB_COUNT
    dq trap_stub_ %+ vector
%assign vector vector + 1
%endrep
trap_stub_table_end:
