/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Interrupt and exception entry stubs. Each stub pushes an error code (a 0
 * where the CPU pushes none) and its vector, then the common path saves the
 * general registers as a struct trap_frame (arch.h) and calls
 * trap_dispatch(frame). Stubs exist for the exceptions (0-31), the device IRQ
 * vectors (32-79) and the local vectors (0xf0-0xff), ISR_STUB_BYTES (16)
 * apart (each is at most 2 + 5 + 5 bytes), so no table of their addresses is
 * needed: vector v's stub is at isr_stubs_low + 16 * v or isr_stubs_high +
 * 16 * (v - ISR_HIGH_FIRST) (layout.h).
 * Their labels are local, so the crash symbol table carries only these two.
 */
#include "arch/x86_64/layout.h"

    .section .text.isr, "ax"
    .code64

.macro STUB vec
    .balign ISR_STUB_BYTES
    /* the exceptions for which the CPU pushes an error code */
    .if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
    .else
    pushq $0
    .endif
    pushq $\vec
    jmp isr_common
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
    .balign ISR_STUB_BYTES
isr_stubs_high:
    STUBS ISR_HIGH_FIRST, ISR_HIGH_LAST

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
