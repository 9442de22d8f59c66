/* SPDX-License-Identifier: BSD-2-Clause */
/* The empty symbol table the first link sees (tools/gensyms.sh makes the real one). */
    .section .miura_syms, "a"
    .balign 8
    .weak __miura_syms_count, __miura_syms_table, __miura_syms_names
__miura_syms_count:
    .quad 0
__miura_syms_table:
__miura_syms_names:
    .quad 0
