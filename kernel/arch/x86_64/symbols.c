/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Symbol lookup for backtraces, from the table tools/gensyms.sh builds at the
 * second link. The weak empty table of syms_empty.S is what the first link sees.
 */
#include <stdint.h>

#include "arch/x86_64/arch.h"

/* Addresses are offsets from the load address (1 MiB): the image is far
 * smaller than 4 GiB, and 8-byte entries keep the table small. */
#define SYMS_BASE 0x100000u
struct sym_entry {
    uint32_t addr;
    uint32_t name_offset;
};

/* Weak empty definitions live in syms_empty.S, where the compiler cannot
 * fold their values into this code. */
extern const uint64_t __miura_syms_count;
extern const struct sym_entry __miura_syms_table[];
extern const char __miura_syms_names[];

extern char __text_end[];

const char *symbol_lookup(uint64_t addr, uint64_t *offset)
{
    uint64_t lo = 0, hi = __miura_syms_count;
    *offset = 0;
    if (hi == 0 || addr < SYMS_BASE + (uint64_t)__miura_syms_table[0].addr ||
        addr >= (uint64_t)__text_end)
        return 0;
    addr -= SYMS_BASE;
    while (hi - lo > 1) { /* last entry with addr <= target */
        uint64_t mid = lo + (hi - lo) / 2;
        if (__miura_syms_table[mid].addr <= addr)
            lo = mid;
        else
            hi = mid;
    }
    *offset = addr - __miura_syms_table[lo].addr;
    return &__miura_syms_names[__miura_syms_table[lo].name_offset];
}
