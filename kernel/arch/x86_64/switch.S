/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Thread context switch. switch_context(&old->rsp, new_rsp) saves the
 * callee-saved registers on the current stack, stores the stack pointer,
 * loads the new one and restores its registers. Interrupts are off across a
 * switch (the scheduler's rule), so RFLAGS needs no saving here.
 */
    .section .text.switch, "ax"
    .code64
    .globl switch_context
switch_context:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret

    /* First code of every thread: switch_context "returns" here with
     * interrupts off; thread_entry() never returns. */
    .globl thread_start
thread_start:
    xorl %ebp, %ebp
    call thread_entry
    ud2
