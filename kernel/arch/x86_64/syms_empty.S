/* SPDX-License-Identifier: BSD-2-Clause */
/* The empty symbol table the first link sees (tools/gensyms.sh makes the real one). */
    .section .miura_syms, "a"
    .weak __miura_syms
__miura_syms:
    .long 0
    .byte 0
