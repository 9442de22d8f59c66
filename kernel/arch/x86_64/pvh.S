/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * PVH entry. The VMM enters pvh_start32 in 32-bit protected mode, paging off,
 * interrupts off, flat segments, with %ebx = physical address of the
 * hvm_start_info (Xen's PVH boot ABI, arch-x86/hvm/start_info.h).
 *
 * We take the entry timestamp first, build the boot page tables (identity map
 * of the low 4 GiB with 2 MiB pages; kernel/arch/x86_64/paging.c refines them),
 * enter long mode and call kmain(start_info) on the boot stack.
 */
#include "arch/x86_64/layout.h"

    /* Xen ELF note: XEN_ELFNOTE_PHYS32_ENTRY (18) = 32-bit entry address. */
    .section .note.Xen, "a"
    .balign 4
    .long 4            /* namesz */
    .long 4            /* descsz */
    .long 18           /* type */
    .asciz "Xen"
    .long pvh_start32

    .section .text.boot, "ax"
    .code32
    .globl pvh_start32
pvh_start32:
    /* The very first thing: the boot-time reference point. */
    rdtsc
    movl %eax, boot_tsc
    movl %edx, boot_tsc + 4
    movl %ebx, boot_start_info

    /* The first GiB in 2 MiB pages (present | writable | large): the image,
     * the boot stack and the VMM's start_info all live there. */
    movl $pvh_boot_pd, %edi
    movl $0x83, %eax
    xorl %ecx, %ecx
1:  movl %eax, (%edi, %ecx, 8)
    addl $0x200000, %eax
    incl %ecx
    cmpl $512, %ecx
    jne 1b

    /* PDPT[0] -> that PD; PML4[0] -> PDPT. paging.c fills in the rest. */
    movl $pvh_boot_pd + 0x3, %eax
    movl %eax, pvh_boot_pdpt
    movl $pvh_boot_pdpt + 0x3, %eax
    movl %eax, pvh_boot_pml4

    /* CR4.PAE, CR3, EFER.LME (+NXE when the CPU has NX), CR0.PG|WP. */
    movl %cr4, %eax
    orl $(1 << 5), %eax
    movl %eax, %cr4
    movl $pvh_boot_pml4, %eax
    movl %eax, %cr3

    movl $0x80000000, %eax
    cpuid
    xorl %esi, %esi
    cmpl $0x80000001, %eax
    jb 2f
    movl $0x80000001, %eax
    cpuid
    btl $20, %edx           /* NX */
    jnc 2f
    movl $(1 << 11), %esi   /* EFER.NXE */
    movl $1, cpu_has_nx
2:  movl $0xc0000080, %ecx
    rdmsr
    orl $(1 << 8), %eax     /* EFER.LME */
    orl %esi, %eax
    wrmsr

    movl %cr0, %eax
    orl $0x80010001, %eax   /* PG | WP | PE */
    movl %eax, %cr0

    lgdt boot_gdt_desc
    ljmp $GDT_KERNEL_CS, $long_mode_entry

    .code64
long_mode_entry:
    movl $GDT_KERNEL_DS, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    leaq boot_stack_top(%rip), %rsp
    xorl %ebp, %ebp
    movl boot_start_info(%rip), %edi
    call kmain
3:  cli
    hlt
    jmp 3b

    /* The boot GDT: null, 64-bit code, data. gdt.c installs the full one. */
    .section .rodata.boot_gdt, "a"
    .balign 16
boot_gdt:
    .quad 0
    .quad 0x00af9b000000ffff  /* code: long mode, present, ring 0 */
    .quad 0x00cf93000000ffff  /* data */
    .quad 0x00cf9b000000ffff  /* 32-bit code: application processors (ap.S) */
boot_gdt_end:
boot_gdt_desc:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .section .data.boot_vars, "aw"
    .balign 8
    .globl boot_tsc, boot_start_info, cpu_has_nx, boot_gdt, boot_gdt_end
boot_tsc:        .quad 0
boot_start_info: .long 0
cpu_has_nx:      .long 0

    /* Page-aligned boot structures; the page below the stack stays unmapped. */
    .section .bss.boot_pages, "aw", @nobits
    .balign 4096
    .globl pvh_boot_pml4, pvh_boot_pdpt, pvh_boot_pd
pvh_boot_pml4: .skip 4096
pvh_boot_pdpt: .skip 4096
pvh_boot_pd:   .skip 4 * 4096
    .globl boot_stack_guard, boot_stack_top
boot_stack_guard: .skip 4096
boot_stack:       .skip BOOT_STACK_SIZE
boot_stack_top:
