/* SPDX-License-Identifier: BSD-2-Clause */
/* Crash report symboliser; see symbolize.h. Field layouts from the ELF-64 object file format. */
#include "common/symbolize.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/pvh_image.h"

#define ELF_FILE_MAX (256u << 20) /* far above any image */

enum { OUTSIDE, HOLDING, BACKTRACE };

uint32_t symbolize_fnv1a(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* Address order; at one address a function before a plain label, global before local. */
static int rank(const Elf64_Sym *s)
{
    return (ELF64_ST_TYPE(s->st_info) == STT_FUNC ? 0 : 2) +
           (ELF64_ST_BIND(s->st_info) == STB_LOCAL ? 1 : 0);
}

struct ranked {
    struct elf_symbol s;
    int rank;
};

static int by_addr(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->s.addr != y->s.addr)
        return x->s.addr < y->s.addr ? -1 : 1;
    return x->rank - y->rank;
}

/* The text segment (the executable PT_LOAD): its range and hash. */
static int find_text(const unsigned char *buf, size_t len, const Elf64_Ehdr *eh,
                     struct elf_symbols *out, const char **why)
{
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, buf + eh->e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
            continue;
        if (!elf_in_bounds(ph.p_offset, ph.p_filesz, len) ||
            ph.p_vaddr > UINT64_MAX - ph.p_filesz) {
            *why = "its code segment lies outside the file";
            return -1;
        }
        out->text_lo = ph.p_vaddr;
        out->text_hi = ph.p_vaddr + ph.p_filesz;
        out->text_hash = symbolize_fnv1a(buf + ph.p_offset, ph.p_filesz);
        return 0;
    }
    *why = "no code segment (no executable PT_LOAD)";
    return -1;
}

int elf_symbols_parse(const unsigned char *buf, size_t len, struct elf_symbols *out,
                      const char **why)
{
    Elf64_Ehdr eh;
    Elf64_Shdr sh, strsh;
    memset(out, 0, sizeof(*out));
    if (elf64_exec_header(buf, len, &eh, why) < 0 || find_text(buf, len, &eh, out, why) < 0)
        return -1;
    if (eh.e_shnum == 0) {
        *why = "no symbol table (a stripped image: give the APP.elf the build keeps next to it)";
        return -1;
    }
    if (eh.e_shentsize != sizeof(Elf64_Shdr) ||
        !elf_in_bounds(eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr), len)) {
        *why = "its ELF section headers are malformed";
        return -1;
    }
    unsigned i;
    for (i = 0; i < eh.e_shnum; i++) {
        memcpy(&sh, buf + eh.e_shoff + (uint64_t)i * sizeof(sh), sizeof(sh));
        if (sh.sh_type == SHT_SYMTAB)
            break;
    }
    if (i == eh.e_shnum) {
        *why = "no symbol table (a stripped image: give the APP.elf the build keeps next to it)";
        return -1;
    }
    if (sh.sh_entsize != sizeof(Elf64_Sym) || !elf_in_bounds(sh.sh_offset, sh.sh_size, len) ||
        sh.sh_link >= eh.e_shnum) {
        *why = "its symbol table is malformed";
        return -1;
    }
    memcpy(&strsh, buf + eh.e_shoff + (uint64_t)sh.sh_link * sizeof(strsh), sizeof(strsh));
    if (strsh.sh_type != SHT_STRTAB || !elf_in_bounds(strsh.sh_offset, strsh.sh_size, len) ||
        strsh.sh_size == 0 || buf[strsh.sh_offset + strsh.sh_size - 1] != '\0') {
        *why = "its symbol names are malformed";
        return -1;
    }
    const char *names = (const char *)buf + strsh.sh_offset;
    size_t count = sh.sh_size / sizeof(Elf64_Sym);
    struct ranked *r = malloc((count ? count : 1) * sizeof(*r));
    if (!r) {
        *why = "out of memory";
        return -1;
    }
    size_t n = 0;
    for (size_t k = 0; k < count; k++) {
        Elf64_Sym s;
        memcpy(&s, buf + sh.sh_offset + k * sizeof(s), sizeof(s));
        unsigned type = ELF64_ST_TYPE(s.st_info);
        if ((type != STT_FUNC && type != STT_NOTYPE) || s.st_shndx == SHN_UNDEF ||
            s.st_shndx == SHN_ABS || s.st_name == 0 || s.st_name >= strsh.sh_size ||
            s.st_value < out->text_lo || s.st_value >= out->text_hi)
            continue;
        r[n].s.addr = s.st_value;
        r[n].s.name = names + s.st_name;
        r[n].rank = rank(&s);
        n++;
    }
    qsort(r, n, sizeof(*r), by_addr);
    out->sym = malloc((n ? n : 1) * sizeof(*out->sym));
    if (!out->sym) {
        free(r);
        *why = "out of memory";
        return -1;
    }
    for (size_t k = 0; k < n; k++)
        if (out->n == 0 || out->sym[out->n - 1].addr != r[k].s.addr)
            out->sym[out->n++] = r[k].s;
    free(r);
    if (out->n == 0) {
        elf_symbols_free(out);
        *why = "no function symbols in its code";
        return -1;
    }
    return 0;
}

/* Reads path whole; -1 with err set. */
static unsigned char *read_file(const char *path, size_t *len, char *err, size_t err_len)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > (off_t)ELF_FILE_MAX) {
        snprintf(err, err_len, "%s: not a regular file of at most %u MiB", path,
                 ELF_FILE_MAX >> 20);
        close(fd);
        return NULL;
    }
    unsigned char *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);
        if (k <= 0) {
            snprintf(err, err_len, "%s: %s", path, k < 0 ? strerror(errno) : "shorter than it was");
            free(buf);
            close(fd);
            return NULL;
        }
        got += (size_t)k;
    }
    close(fd);
    if (!buf)
        snprintf(err, err_len, "%s: out of memory", path);
    *len = got;
    return buf;
}

static int open_one(const char *path, struct elf_symbols *out, char *err, size_t err_len,
                    const char **why)
{
    size_t len;
    unsigned char *buf = read_file(path, &len, err, err_len);
    *why = NULL;
    if (!buf)
        return -1;
    if (elf_symbols_parse(buf, len, out, why) < 0) {
        snprintf(err, err_len, "%s: %s", path, *why);
        free(buf);
        return -1;
    }
    out->file = buf;
    return 0;
}

int elf_symbols_open(const char *path, struct elf_symbols *out, char *used, size_t used_len,
                     char *err, size_t err_len)
{
    const char *why;
    char twin[4096];
    memset(out, 0, sizeof(*out));
    if (used_len)
        snprintf(used, used_len, "%s", path);
    if (open_one(path, out, err, err_len, &why) == 0)
        return 0;
    if (!why || strncmp(why, "no symbol table", 15) != 0 ||
        snprintf(twin, sizeof(twin), "%s.elf", path) >= (int)sizeof(twin) ||
        access(twin, F_OK) != 0)
        return -1;
    if (used_len)
        snprintf(used, used_len, "%s", twin);
    return open_one(twin, out, err, err_len, &why);
}

void elf_symbols_free(struct elf_symbols *s)
{
    free(s->sym);
    free(s->file);
    memset(s, 0, sizeof(*s));
}

const char *elf_symbols_find(const struct elf_symbols *s, uint64_t addr, uint64_t *offset)
{
    *offset = 0;
    if (!s || s->n == 0 || addr < s->text_lo || addr >= s->text_hi || addr < s->sym[0].addr)
        return NULL;
    size_t lo = 0, hi = s->n; /* the last symbol at or below addr */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->sym[mid].addr <= addr)
            lo = mid;
        else
            hi = mid;
    }
    *offset = addr - s->sym[lo].addr;
    return s->sym[lo].name;
}

/* ---- the console filter */

static bool starts(const char *line, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(line, prefix, n) == 0;
}

static bool is_hex(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return false;
    return true;
}

static uint64_t hex_value(const char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 16 + (uint64_t)(p[i] <= '9' ? p[i] - '0' : p[i] - 'a' + 10);
    return v;
}

/* The line's length without its end ('\n', and a '\r' before it). */
static size_t body_len(const char *line, size_t len)
{
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    return len;
}

static bool report_start(const char *line, size_t len)
{
    return starts(line, len, "*** CRASH:") || starts(line, len, "panic:");
}

/* An address line of a report: "    RIP 0x<16>", "    called from 0x<16>",
 * "      #N 0x<16>" (the whole line). *frame: N, or -1 for the others. */
static bool address_line(const char *line, size_t len, uint64_t *addr, int *frame)
{
    size_t n = body_len(line, len), at;
    if (n < 19 || memcmp(line + n - 19, " 0x", 3) != 0 || !is_hex(line + n - 16, 16))
        return false;
    *addr = hex_value(line + n - 16, 16);
    *frame = -1;
    at = n - 19;
    if ((at == 7 && starts(line, len, "    RIP")) ||
        (at == 15 && starts(line, len, "    called from")))
        return true;
    if (at < 8 || !starts(line, len, "      #") || at - 7 > 2)
        return false;
    int v = 0;
    for (size_t i = 7; i < at; i++) {
        if (line[i] < '0' || line[i] > '9')
            return false;
        v = v * 10 + (line[i] - '0');
    }
    *frame = v;
    return true;
}

/* "    backtrace (image XXXXXXXX):" */
static bool backtrace_header(const char *line, size_t len, uint32_t *hash)
{
    static const char head[] = "    backtrace (image ";
    size_t n = body_len(line, len), h = sizeof(head) - 1;
    if (n != h + 10 || memcmp(line, head, h) != 0 || !is_hex(line + h, 8) ||
        memcmp(line + h + 8, "):", 2) != 0)
        return false;
    *hash = (uint32_t)hex_value(line + h, 8);
    return true;
}

/* Writes the line, named when it is an address line of a report being named. */
static void put_line(struct crash_filter *f, const char *line, size_t len)
{
    uint64_t addr, off;
    int frame;
    if (!address_line(line, len, &addr, &frame)) {
        f->out(f->ctx, line, len);
        return;
    }
    if (frame < 0 ? starts(line, len, "    RIP") && !f->is_panic : frame == 1 && f->is_panic)
        f->site = addr;
    if (!f->naming) {
        f->out(f->ctx, line, len);
        return;
    }
    size_t n = body_len(line, len);
    const char *name = elf_symbols_find(f->syms, addr, &off);
    char tail[SYMBOLIZE_LINE_MAX + 64];
    int k = name ? snprintf(tail, sizeof(tail), " %.*s+0x%llx", SYMBOLIZE_LINE_MAX, name,
                            (unsigned long long)off)
                 : snprintf(tail, sizeof(tail), " ?");
    f->out(f->ctx, line, n);
    f->out(f->ctx, tail, (size_t)k < sizeof(tail) ? (size_t)k : sizeof(tail) - 1);
    f->out(f->ctx, line + n, len - n);
}

/* The held lines go out (named if naming) and the report is no longer held. */
static void release(struct crash_filter *f)
{
    size_t at = 0;
    while (at < f->held) {
        const char *nl = memchr(f->hold + at, '\n', f->held - at);
        size_t n = nl ? (size_t)(nl - (f->hold + at)) + 1 : f->held - at;
        put_line(f, f->hold + at, n);
        at += n;
    }
    f->held = 0;
}

static void begin_report(struct crash_filter *f, const char *line, size_t len)
{
    f->state = HOLDING;
    f->naming = false;
    f->site = 0;
    f->is_panic = starts(line, len, "panic:");
    f->reports++;
}

/* One whole line (with its '\n', unless the input ended). */
static void do_line(struct crash_filter *f, const char *line, size_t len)
{
    uint32_t hash;
    uint64_t addr;
    int frame;
    if (f->state == BACKTRACE) {
        if (address_line(line, len, &addr, &frame) && frame >= 0) {
            put_line(f, line, len);
            return;
        }
        f->state = OUTSIDE;
    }
    if (report_start(line, len)) {
        if (f->state == HOLDING) {
            f->naming = false;
            release(f);
        }
        begin_report(f, line, len);
    }
    if (f->state == OUTSIDE) {
        f->out(f->ctx, line, len);
        return;
    }
    if (backtrace_header(line, len, &hash)) {
        f->naming = f->syms && hash == f->syms->text_hash;
        release(f);
        if (f->naming) {
            f->named++;
        } else if (f->syms) {
            char note[160];
            int k = snprintf(note, sizeof(note),
                             "    (miura: image %08x is another build than the ELF given "
                             "(%08x): addresses not named)\n",
                             hash, f->syms->text_hash);
            f->out(f->ctx, note, (size_t)k);
        }
        f->out(f->ctx, line, len);
        f->state = BACKTRACE;
        return;
    }
    /* A report's lines are indented; anything else, or too much, is not one of ours. */
    if ((!starts(line, len, "    ") && f->held > 0) || len > sizeof(f->hold) - f->held) {
        f->naming = false;
        release(f);
        f->state = OUTSIDE;
        f->out(f->ctx, line, len);
        return;
    }
    memcpy(f->hold + f->held, line, len);
    f->held += len;
}

void crash_filter_init(struct crash_filter *f, const struct elf_symbols *syms,
                       symbolize_out_fn *out, void *ctx)
{
    memset(f, 0, sizeof(*f));
    f->syms = syms;
    f->out = out;
    f->ctx = ctx;
}

/* Whether the partial line could still become a report's first line. */
static bool may_start_report(const char *p, size_t n)
{
    static const char *const heads[] = {"*** CRASH:", "panic:"};
    for (unsigned i = 0; i < 2; i++) {
        size_t h = strlen(heads[i]);
        if (memcmp(p, heads[i], n < h ? n : h) == 0)
            return true;
    }
    return false;
}

void crash_filter_feed(struct crash_filter *f, const char *buf, size_t len)
{
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (buf + i)) + 1 : len - i;
        if (f->passing) { /* the rest of a line already (partly) out */
            if (f->state == HOLDING) {
                f->naming = false;
                release(f);
                f->state = OUTSIDE;
            }
            f->out(f->ctx, buf + i, n);
            f->passing = !nl;
        } else if (f->len + n <= sizeof(f->line)) {
            memcpy(f->line + f->len, buf + i, n);
            f->len += n;
            if (nl) {
                do_line(f, f->line, f->len);
                f->len = 0;
            } else if (f->state == OUTSIDE && !may_start_report(f->line, f->len)) {
                f->out(f->ctx, f->line, f->len); /* a prompt, say: out now */
                f->len = 0;
                f->passing = true;
            }
        } else { /* too long for a report line */
            if (f->state == HOLDING) {
                f->naming = false;
                release(f);
            }
            f->state = OUTSIDE;
            f->out(f->ctx, f->line, f->len);
            f->out(f->ctx, buf + i, n);
            f->len = 0;
            f->passing = !nl;
        }
        i += n;
    }
}

void crash_filter_end(struct crash_filter *f)
{
    if (f->len > 0 && !f->passing) {
        do_line(f, f->line, f->len);
        f->len = 0;
    }
    if (f->state == HOLDING) {
        f->naming = false;
        release(f);
    }
    f->state = OUTSIDE;
}

static void discard(void *ctx, const char *text, size_t len)
{
    (void)ctx;
    (void)text;
    (void)len;
}

int crash_report_site(const struct elf_symbols *syms, const char *text, size_t len, char *out,
                      size_t out_len)
{
    struct crash_filter *f = malloc(sizeof(*f));
    uint64_t site = 0, off;
    bool named = false;
    if (!f)
        return -1;
    crash_filter_init(f, syms, discard, NULL);
    /* Line by line, to see each report's site and whether it was named. */
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) + 1 : len - i;
        crash_filter_feed(f, text + i, n);
        if (f->state == BACKTRACE) {
            site = f->site;
            named = f->naming;
        }
        i += n;
    }
    crash_filter_end(f);
    free(f);
    const char *name = named ? elf_symbols_find(syms, site, &off) : NULL;
    if (!name || out_len == 0)
        return -1;
    snprintf(out, out_len, "%s+0x%llx", name, (unsigned long long)off);
    return 0;
}
