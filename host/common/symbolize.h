/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Names the addresses of a guest's crash report, on the host. The image
 * carries no symbol table: its report (kernel/arch/x86_64/trap.c) gives raw
 * addresses and "backtrace (image HASH):", HASH being FNV-1a (32-bit) over the
 * image's code. The names come from the symbol table of the unstripped ELF
 * the build keeps next to the shipped image (APP.elf), once its text
 * segment's bytes hash to the same HASH.
 *
 * The ELF reader is pure (the caller reads the file; every offset and size is
 * checked against the buffer); fuzz/elf_symbols.c feeds it anything.
 */
#ifndef MIURA_COMMON_SYMBOLIZE_H
#define MIURA_COMMON_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_symbol {
    uint64_t addr;
    const char *name; /* points into the ELF's buffer */
};

struct elf_symbols {
    struct elf_symbol *sym; /* sorted by address, one per address */
    size_t n;
    uint64_t text_lo, text_hi; /* the executable segment's file bytes, as loaded */
    uint32_t text_hash;        /* FNV-1a over them: what the guest prints */
    unsigned char *file;       /* elf_symbols_open's copy of the file (else NULL) */
};

/* FNV-1a, 32-bit: the guest's text_hash (trap.c). */
uint32_t symbolize_fnv1a(const unsigned char *p, size_t n);

/*
 * Reads the functions of an ELF64 x86-64 file held in buf (kept by the
 * caller while *out is used). Returns 0, or -1 with *why a constant phrase
 * ("not an ELF file", "no symbol table (a stripped image) ...", ...).
 */
int elf_symbols_parse(const unsigned char *buf, size_t len, struct elf_symbols *out,
                      const char **why);

/*
 * Reads the ELF at path; for a stripped image (no symbol table) it tries
 * path + ".elf", the build's unstripped twin. Returns 0, or -1 with a
 * one-line cause in err (naming the file). *used: the file read (may be
 * NULL).
 */
int elf_symbols_open(const char *path, struct elf_symbols *out, char *used, size_t used_len,
                     char *err, size_t err_len);
void elf_symbols_free(struct elf_symbols *s);

/* The function holding addr and addr's offset into it; NULL outside the code. */
const char *elf_symbols_find(const struct elf_symbols *s, uint64_t addr, uint64_t *offset);

/*
 * A stream filter over a console: lines pass through, and in a crash report
 * (from "*** CRASH:" or "panic:" to the end of its backtrace) each address
 * line ("RIP 0x...", "called from 0x...", "#N 0x...") gets " NAME+0xOFF"
 * appended when the report's hash matches syms. A report's lines are held
 * back until its "backtrace (image HASH):" line says whether they can be
 * named; a report from another build gets a note line instead of names.
 * syms may be NULL: then the text passes unchanged. Lines longer than the
 * line buffer pass through unnamed.
 */
typedef void symbolize_out_fn(void *ctx, const char *text, size_t len);

#define SYMBOLIZE_LINE_MAX 512
#define SYMBOLIZE_HOLD_MAX 4096

struct crash_filter {
    const struct elf_symbols *syms;
    symbolize_out_fn *out;
    void *ctx;
    char line[SYMBOLIZE_LINE_MAX];
    size_t len;
    bool passing; /* the current line is too long, or already partly out: no naming */
    char hold[SYMBOLIZE_HOLD_MAX];
    size_t held;
    int state;   /* outside a report, holding its lines, in its backtrace */
    bool naming; /* this report's hash matched */
    unsigned reports, named;
    uint64_t site; /* the report's crash site (CRASH: RIP; panic: frame #1), 0 if none */
    bool is_panic;
};

void crash_filter_init(struct crash_filter *f, const struct elf_symbols *syms,
                       symbolize_out_fn *out, void *ctx);
void crash_filter_feed(struct crash_filter *f, const char *buf, size_t len);
/* End of input: what is held goes out unnamed, then a last partial line. */
void crash_filter_end(struct crash_filter *f);

/*
 * The crash site of the last report in text, named: "NAME+0xOFF" in out
 * (CRASH: its RIP; panic: its caller, frame #1). Returns 0, or -1 when there
 * is no report with a matching hash or the site is outside the code.
 */
int crash_report_site(const struct elf_symbols *syms, const char *text, size_t len, char *out,
                      size_t out_len);

#endif
