/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Symbol lookup for backtraces, from the table tools/gensyms.sh builds at the
 * second link (format described there). The weak empty table of syms_empty.S
 * is what the first link sees. The table is a front-coded, byte-pair encoded
 * stream, read from the start on every lookup: a crash report makes a few
 * dozen lookups over a few hundred entries, and the image saves about two
 * thirds of a plain table.
 */
#include <stddef.h>
#include <stdint.h>

#include "arch/x86_64/arch.h"

#define SYMS_BASE 0x100000u

/* Weak empty definition in syms_empty.S, where the compiler cannot fold its
 * value into this code. */
extern const uint8_t __miura_syms[];
extern char __text_end[];

/* Token t's characters (after its length byte) in the table's token list. */
static const uint8_t *token(const uint8_t *tokens, unsigned t)
{
    while (t--)
        tokens += 1 + tokens[0];
    return tokens;
}

const char *symbol_lookup(uint64_t addr, uint64_t *offset, char *buf, size_t size)
{
    const uint8_t *tokens = __miura_syms + 5, *p = tokens;
    uint32_t count;
    uint64_t at = SYMS_BASE, found_at = 0;
    bool found = false;
    size_t len = 0;

    __builtin_memcpy(&count, __miura_syms, 4);
    *offset = 0;
    if (size == 0 || addr < SYMS_BASE || addr >= (uint64_t)__text_end)
        return NULL;
    for (unsigned t = __miura_syms[4]; t--;) /* skip the token list */
        p += 1 + p[0];
    for (uint32_t i = 0; i < count; i++) {
        uint64_t delta = 0;
        unsigned shift = 0;
        uint8_t b;
        do {
            b = *p++;
            delta |= (uint64_t)(b & 0x7f) << shift;
            shift += 7;
        } while ((b & 0x80) && shift < 64);
        at += delta;
        if (at > addr)
            break;
        size_t shared = *p++;
        if (shared > len) /* cannot happen with gensyms output; stay in bounds */
            shared = len;
        len = shared;
        for (; *p; p++) {
            const uint8_t *piece = p, *tok;
            unsigned n = 1;
            if (*p >= 0x80 && *p - 0x80u < __miura_syms[4]) {
                tok = token(tokens, *p - 0x80u);
                n = tok[0];
                piece = tok + 1;
            }
            for (unsigned k = 0; k < n && len + 1 < size; k++)
                buf[len++] = (char)piece[k];
        }
        p++;
        buf[len] = '\0';
        found = true;
        found_at = at;
    }
    if (!found)
        return NULL;
    *offset = addr - found_at;
    return buf;
}
