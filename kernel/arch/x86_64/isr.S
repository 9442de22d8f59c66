/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Interrupt and exception entry stubs. Each stub pushes its vector and jumps
 * to the common path: straight to isr_common for the exceptions for which
 * the CPU pushes an error code, through isr_noerr (which slips a 0 error
 * code under the vector) for the others. isr_common saves the general
 * registers as a struct trap_frame (arch.h) and calls trap_dispatch(frame).
 * Stubs exist for the exceptions (0-31), the device IRQ vectors (32-79) and
 * the local vectors (0xf0-0xff), ISR_STUB_BYTES (8) apart, so no table of
 * their addresses is needed: vector v's stub is at isr_stubs_low + 8 * v or
 * isr_stubs_high + 8 * (v - ISR_HIGH_FIRST) (layout.h). A low stub is a
 * 2-byte push and a 5-byte jump; a high one a 5-byte push (its vector does
 * not fit a sign-extended byte) and a 2-byte jump to isr_noerr, which
 * follows them. The .org after each stub fails the build if one grows
 * past its 8 bytes (16 apart cost 768 B of image).
 * Their labels are local, so the crash symbol table carries only these two.
 */
#include "arch/x86_64/layout.h"

    .section .text.isr, "ax"
    .code64

.macro STUB vec
    .Lstub\vec\():
    pushq $\vec
    /* the exceptions for which the CPU pushes an error code */
    .if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
    jmp isr_common
    .else
    jmp isr_noerr
    .endif
    .org .Lstub\vec + ISR_STUB_BYTES, 0xcc
.endm

.altmacro
.macro STUBS from, to
    .set v, \from
    .rept \to - \from + 1
    STUB %v
    .set v, v + 1
    .endr
.endm

    .balign ISR_STUB_BYTES
    .globl isr_stubs_low, isr_stubs_high
isr_stubs_low:
    STUBS 0, ISR_LOW_LAST
isr_stubs_high:
    STUBS ISR_HIGH_FIRST, ISR_HIGH_LAST

/* [vector][rip]... becomes [vector][0][rip]... */
isr_noerr:
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
