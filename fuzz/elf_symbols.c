/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz: the crash symboliser (host/common/symbolize.c). The input is read as
 * an ELF file (elf_symbols_parse) and as a console (the crash report filter,
 * fed in two pieces). Whatever parses must be a sorted table of names inside
 * the input; the filter with no symbols must give back its input unchanged,
 * and with symbols must not lose a byte of it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/symbolize.h"

struct sink {
    char *buf;
    size_t len, cap;
};

static void collect(void *ctx, const char *text, size_t len)
{
    struct sink *s = ctx;
    if (s->len + len > s->cap) {
        size_t cap = (s->len + len) * 2 + 64;
        char *b = realloc(s->buf, cap);
        if (!b)
            abort();
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, text, len);
    s->len += len;
}

static void filter(const struct elf_symbols *syms, const uint8_t *data, size_t size,
                   struct sink *out)
{
    static struct crash_filter f;
    crash_filter_init(&f, syms, collect, out);
    crash_filter_feed(&f, (const char *)data, size / 2);
    crash_filter_feed(&f, (const char *)data + size / 2, size - size / 2);
    crash_filter_end(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct elf_symbols syms;
    const char *why = NULL;
    struct sink plain = {0}, named = {0};
    bool have = elf_symbols_parse(data, size, &syms, &why) == 0;
    if (!have && (!why || !*why))
        abort();
    if (have) {
        if (syms.n == 0 || syms.text_lo > syms.text_hi)
            abort();
        for (size_t i = 0; i < syms.n; i++) {
            const char *n = syms.sym[i].name;
            if (n < (const char *)data || n >= (const char *)data + size ||
                !memchr(n, '\0', (size_t)((const char *)data + size - n)))
                abort();
            if (i > 0 && syms.sym[i].addr <= syms.sym[i - 1].addr)
                abort();
            /* addr + 1 is in symbol i at offset 1, or is where the next one
             * starts (two symbols may share one name string: compare both) */
            uint64_t off, a1 = syms.sym[i].addr + 1;
            bool next = i + 1 < syms.n && syms.sym[i + 1].addr == a1;
            const char *got = elf_symbols_find(&syms, a1, &off);
            if (a1 < syms.text_hi &&
                (got != (next ? syms.sym[i + 1].name : n) || off != (next ? 0 : 1)))
                abort();
        }
    }
    filter(NULL, data, size, &plain);
    if (plain.len != size || (size && memcmp(plain.buf, data, size) != 0))
        abort();
    if (have) {
        filter(&syms, data, size, &named);
        if (named.len < size)
            abort();
        char site[160];
        crash_report_site(&syms, (const char *)data, size, site, sizeof(site));
        elf_symbols_free(&syms);
    }
    free(plain.buf);
    free(named.buf);
    return 0;
}
