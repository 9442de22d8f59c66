/* SPDX-License-Identifier: BSD-2-Clause */
/* An image that exits QEMU (isa-debug-exit, status 0) at its first instruction. */
    .section .note.Xen, "a"
    .balign 4
    .long 4, 4, 18
    .asciz "Xen"
    .long pvh_start32

    .section .text.boot, "ax"
    .code32
    .globl pvh_start32
pvh_start32:
    xorl %eax, %eax
    outl %eax, $0xf4
1:  hlt
    jmp 1b
