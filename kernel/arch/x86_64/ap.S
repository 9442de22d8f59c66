/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Where an application processor starts (smp.c sends it INIT, SIPI, SIPI).
 *
 * ap_trampoline is copied to AP_TRAMPOLINE, a page below 1 MiB: the SIPI
 * starts the CPU there in real mode (CS = page number << 8, IP = 0). It
 * loads the boot GDT (pvh.S, whose fourth entry is a 32-bit code segment),
 * turns on protection and jumps to ap_start32 in the image, which does what
 * the PVH entry does (PAE, the kernel's page tables, EFER.LME and NXE,
 * paging) and calls ap_main on the stack smp.c left in ap_boot_stack.
 * Only the trampoline runs from the low page, before paging: the page is
 * mapped never-executable like all RAM.
 */
#include "arch/x86_64/layout.h"

#define GDT_BOOT_CS32 0x18

    .section .rodata.ap_trampoline, "a"
    .code16
    .globl ap_trampoline, ap_trampoline_end
ap_trampoline:
    cli
    cld
    movw %cs, %ax
    movw %ax, %ds
    lgdtl ap_gdt_desc - ap_trampoline
    movl %cr0, %eax
    orl $1, %eax            /* PE */
    movl %eax, %cr0
    ljmpl $GDT_BOOT_CS32, $ap_start32
    .balign 4
ap_gdt_desc:
    .word 4 * 8 - 1         /* pvh.S's boot_gdt: four entries */
    .long boot_gdt
ap_trampoline_end:

    .section .text.boot, "ax"
    .code32
ap_start32:
    movl $GDT_KERNEL_DS, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %cr4, %eax
    orl $(1 << 5), %eax     /* PAE */
    movl %eax, %cr4
    movl $pvh_boot_pml4, %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx  /* EFER */
    rdmsr
    orl $(1 << 8), %eax     /* LME */
    testl $1, cpu_has_nx
    jz 1f
    orl $(1 << 11), %eax    /* NXE: the page tables use NX */
1:  wrmsr
    movl %cr0, %eax
    orl $0x80010001, %eax   /* PG | WP | PE */
    movl %eax, %cr0
    ljmp $GDT_KERNEL_CS, $ap_long_mode

    .code64
ap_long_mode:
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    movq ap_boot_stack(%rip), %rsp
    xorl %ebp, %ebp
    call ap_main
2:  cli
    hlt
    jmp 2b
