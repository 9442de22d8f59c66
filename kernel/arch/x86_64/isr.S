/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Interrupt and exception entry stubs. Stubs exist for the exceptions
 * (0-31), the device IRQ vectors (32-79) and the local vectors (0xf0-0xff),
 * ISR_STUB_BYTES (4) apart, so no table of their addresses is needed: vector
 * v's stub is at isr_stubs_low + 4 * v or isr_stubs_high + 4 * (v -
 * ISR_HIGH_FIRST) (layout.h). A stub is a 2-byte push of its vector (as a
 * sign-extended byte: the local vectors arrive as -16..-1) and a 2-byte
 * jump, which reaches only 127 bytes: it goes to the jump of the stub
 * ISR_HOP places on, and so on, until one reaches isr_entry right after the
 * stubs (at most four jumps). isr_entry makes the vector a byte again and,
 * for the vectors for which the CPU pushes no error code, slips a 0 under
 * it; isr_common saves the general registers as a struct trap_frame (arch.h)
 * and calls trap_dispatch(frame). The .org after each stub fails the build
 * if one grows past its 4 bytes. (16 bytes apart, each with a 0 error code
 * push, a vector push and a 5-byte jump, they took 1,120 B more image.)
 * Their labels are local, so the symbol table names only these two.
 */
#include "arch/x86_64/layout.h"

#define ISR_STUBS (ISR_LOW_LAST + 1 + ISR_HIGH_LAST - ISR_HIGH_FIRST + 1)
#define ISR_HOP   31 /* the farthest stub a 2-byte jump reaches */

    .section .text.isr, "ax"
    .code64

.macro STUB idx, byte, next
    .Lstub\idx\():
    pushq $\byte
    .Ljmp\idx\():
    .if \next < ISR_STUBS
    jmp .Ljmp\next
    .else
    jmp isr_entry
    .endif
    .org .Lstub\idx + ISR_STUB_BYTES, 0xcc
.endm

.altmacro
.macro STUBS from, to, first_idx
    .set v, \from
    .set i, \first_idx
    .rept \to - \from + 1
    STUB %i, %(v - (v >> 7) * 256), %(i + ISR_HOP)
    .set v, v + 1
    .set i, i + 1
    .endr
.endm

    .balign ISR_STUB_BYTES
    .globl isr_stubs_low, isr_stubs_high
isr_stubs_low:
    STUBS 0, ISR_LOW_LAST, 0
isr_stubs_high:
    STUBS ISR_HIGH_FIRST, ISR_HIGH_LAST, ISR_LOW_LAST + 1

/* [vector as a signed byte][error code, if the CPU pushed one][rip]... */
isr_entry:
    pushq %rax
    movzbl 8(%rsp), %eax
    movq %rax, 8(%rsp)
    cmpl $31, %eax
    ja 1f /* CF clear: no error code */
    btl %eax, .Lisr_error_codes(%rip)
1:  popq %rax
    jc isr_common
/* [vector][rip]... becomes [vector][0][rip]... */
    pushq (%rsp)
    andq $0, 8(%rsp)
isr_common:
    cld
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    /* Keep the C ABI's 16-byte stack alignment, whatever the CPU left. */
    movq %rsp, %rbx
    andq $-16, %rsp
    call trap_dispatch
    movq %rbx, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp
    iretq

/* The exceptions for which the CPU pushes an error code. */
.Lisr_error_codes:
    .long (1 << 8) | (0x1f << 10) | (1 << 17) | (1 << 21) | (1 << 29) | (1 << 30)
