/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The printf family: one formatter (miura_vformat) that hands its output to a
 * callback, and thin front ends for a buffer (vsnprintf) and the console
 * (vprintf). No floating point: the kernel is built without SSE.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/console.h"
#include "lib/format.h"
#include "lib/libc_name.h"

_Static_assert(sizeof(size_t) == sizeof(long), "%z is read as long");
_Static_assert(sizeof(ptrdiff_t) == sizeof(long), "%t is read as long");

enum {
    FLAG_LEFT = 1 << 0,  /* '-': pad on the right */
    FLAG_ZERO = 1 << 1,  /* '0': pad numbers with zeros */
    FLAG_PLUS = 1 << 2,  /* '+': sign on non-negative signed numbers */
    FLAG_SPACE = 1 << 3, /* ' ': space before non-negative signed numbers */
    FLAG_ALT = 1 << 4,   /* '#': 0x prefix for x, leading zero for o */
};

/* The lengths whose arguments come promoted to int first (fetch_bits). */
enum length { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_T, LEN_J };

struct conversion {
    unsigned flags;
    int width;     /* minimum field width, >= 0 */
    int precision; /* -1 when absent */
    enum length length;
};

struct formatter {
    format_out_fn out;
    void *ctx;
    size_t total; /* bytes produced so far */
};

static void emit(struct formatter *f, const char *s, size_t n)
{
    if (n == 0)
        return;
    f->out(f->ctx, s, n);
    f->total += n;
}

/* Padding goes out in chunks from a small stack buffer (two 65-byte tables of
 * spaces and zeros cost the image 130 B of read-only data). */
static void emit_repeat(struct formatter *f, char c, size_t n)
{
    char fill[16];
    const size_t chunk = sizeof(fill);

    if (n == 0) /* most conversions: no padding, no fill to make */
        return;
    __builtin_memset(fill, c, sizeof(fill));
    while (n > 0) {
        size_t k = n < chunk ? n : chunk;
        emit(f, fill, k);
        n -= k;
    }
}

/* Emits s (len bytes) in a field of the conversion's width. */
static void emit_padded(struct formatter *f, const struct conversion *cv, const char *s, size_t len)
{
    size_t pad = (size_t)cv->width > len ? (size_t)cv->width - len : 0;

    if (!(cv->flags & FLAG_LEFT))
        emit_repeat(f, ' ', pad);
    emit(f, s, len);
    if (cv->flags & FLAG_LEFT)
        emit_repeat(f, ' ', pad);
}

static size_t bounded_strlen(const char *s, int precision)
{
    size_t n = 0;

    while ((precision < 0 || n < (size_t)precision) && s[n] != '\0')
        n++;
    return n;
}

/*
 * Emits an integer: magnitude `value`, `negative` for signed conversions,
 * base 8, 10 or 16, `upper` for X, `is_signed` for d/i.
 */
static void emit_integer(struct formatter *f, const struct conversion *cv, unsigned long long value,
                         int negative, int is_signed, unsigned base, int upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char buf[24]; /* 64-bit octal needs 22 digits */
    char prefix[3];
    size_t ndigits = 0, nprefix = 0, nzeros = 0, len, pad;
    char *p = buf + sizeof(buf);

    while (value != 0) {
        *--p = digits[value % base];
        value /= base;
        ndigits++;
    }
    if (ndigits == 0 && cv->precision != 0) {
        *--p = '0';
        ndigits = 1;
    }

    if (is_signed) {
        if (negative)
            prefix[nprefix++] = '-';
        else if (cv->flags & FLAG_PLUS)
            prefix[nprefix++] = '+';
        else if (cv->flags & FLAG_SPACE)
            prefix[nprefix++] = ' ';
    }
    if ((cv->flags & FLAG_ALT) && base == 16 && ndigits > 0 && *p != '0') {
        prefix[nprefix++] = '0';
        prefix[nprefix++] = upper ? 'X' : 'x';
    }

    if (cv->precision >= 0 && (size_t)cv->precision > ndigits)
        nzeros = (size_t)cv->precision - ndigits;
    /* '#' with o: the first digit printed must be a zero. */
    if ((cv->flags & FLAG_ALT) && base == 8 && nzeros == 0 && (ndigits == 0 || *p != '0'))
        nzeros = 1;

    len = nprefix + nzeros + ndigits;
    pad = (size_t)cv->width > len ? (size_t)cv->width - len : 0;
    /* '0' pads with zeros after the sign/prefix, unless '-' or a precision. */
    if ((cv->flags & FLAG_ZERO) && !(cv->flags & FLAG_LEFT) && cv->precision < 0) {
        nzeros += pad;
        pad = 0;
    }

    if (!(cv->flags & FLAG_LEFT))
        emit_repeat(f, ' ', pad);
    emit(f, prefix, nprefix);
    emit_repeat(f, '0', nzeros);
    emit(f, p, ndigits);
    if (cv->flags & FLAG_LEFT)
        emit_repeat(f, ' ', pad);
}

/* Reads an integer argument of the conversion's length as its 64-bit bit
 * pattern: what is narrower than int was promoted to int; every other length
 * is 64 bits wide on x86-64 and read as unsigned long long (the asserts
 * above and below). The caller narrows or sign-extends. */
_Static_assert(sizeof(long) == 8 && sizeof(long long) == 8 && sizeof(intmax_t) == 8,
               "every length but hh, h and none is read as 64 bits");
static unsigned long long fetch_bits(enum length length, va_list *ap)
{
    if (length <= LEN_H) /* LEN_NONE, LEN_HH, LEN_H */
        return va_arg(*ap, unsigned);
    return va_arg(*ap, unsigned long long);
}

static long long fetch_signed(enum length length, va_list *ap)
{
    unsigned long long v = fetch_bits(length, ap);
    switch (length) {
    case LEN_HH:
        return (signed char)v;
    case LEN_H:
        return (short)v;
    case LEN_NONE:
        return (int)v;
    default:
        return (long long)v;
    }
}

static unsigned long long fetch_unsigned(enum length length, va_list *ap)
{
    unsigned long long v = fetch_bits(length, ap);
    switch (length) {
    case LEN_HH:
        return (unsigned char)v;
    case LEN_H:
        return (unsigned short)v;
    default:
        return v;
    }
}

/* Reads decimal digits at *s into a non-negative int, saturating at INT_MAX. */
static int parse_decimal(const char **s)
{
    int v = 0;

    while (**s >= '0' && **s <= '9') {
        int d = **s - '0';
        v = v > (INT_MAX - d) / 10 ? INT_MAX : v * 10 + d;
        (*s)++;
    }
    return v;
}

/* Parses flags, width, precision and length after '%'; *s ends on the
 * conversion character. */
static void parse_conversion(const char **s, struct conversion *cv, va_list *ap)
{
    const char *p = *s;

    cv->flags = 0;
    for (;; p++) {
        if (*p == '-')
            cv->flags |= FLAG_LEFT;
        else if (*p == '0')
            cv->flags |= FLAG_ZERO;
        else if (*p == '+')
            cv->flags |= FLAG_PLUS;
        else if (*p == ' ')
            cv->flags |= FLAG_SPACE;
        else if (*p == '#')
            cv->flags |= FLAG_ALT;
        else
            break;
    }

    cv->width = 0;
    if (*p == '*') {
        int w = va_arg(*ap, int);
        p++;
        if (w < 0) { /* a negative '*' width means '-' and its magnitude */
            cv->flags |= FLAG_LEFT;
            w = w == INT_MIN ? INT_MAX : -w;
        }
        cv->width = w;
    } else {
        cv->width = parse_decimal(&p);
    }

    cv->precision = -1;
    if (*p == '.') {
        p++;
        if (*p == '*') {
            int pr = va_arg(*ap, int);
            p++;
            cv->precision = pr < 0 ? -1 : pr; /* negative: as if absent */
        } else {
            cv->precision = parse_decimal(&p);
        }
    }

    cv->length = LEN_NONE;
    switch (*p) {
    case 'h':
        p++;
        cv->length = LEN_H;
        if (*p == 'h') {
            p++;
            cv->length = LEN_HH;
        }
        break;
    case 'l':
        p++;
        cv->length = LEN_L;
        if (*p == 'l') {
            p++;
            cv->length = LEN_LL;
        }
        break;
    case 'z':
        p++;
        cv->length = LEN_Z;
        break;
    case 't':
        p++;
        cv->length = LEN_T;
        break;
    case 'j':
        p++;
        cv->length = LEN_J;
        break;
    default:
        break;
    }
    *s = p;
}

int miura_vformat(format_out_fn out, void *ctx, const char *fmt, va_list ap_in)
{
    struct formatter f = {.out = out, .ctx = ctx, .total = 0};
    va_list ap;

    va_copy(ap, ap_in);
    while (*fmt != '\0') {
        const char *start = fmt;
        struct conversion cv;

        if (*fmt != '%') {
            while (*fmt != '\0' && *fmt != '%')
                fmt++;
            emit(&f, start, (size_t)(fmt - start));
            continue;
        }
        fmt++;
        parse_conversion(&fmt, &cv, &ap);
        switch (*fmt) {
        case 'd':
        case 'i': {
            long long v = fetch_signed(cv.length, &ap);
            unsigned long long mag = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
            emit_integer(&f, &cv, mag, v < 0, 1, 10, 0);
            break;
        }
        case 'u':
            emit_integer(&f, &cv, fetch_unsigned(cv.length, &ap), 0, 0, 10, 0);
            break;
        case 'x':
        case 'X':
            emit_integer(&f, &cv, fetch_unsigned(cv.length, &ap), 0, 0, 16, *fmt == 'X');
            break;
        case 'o':
            emit_integer(&f, &cv, fetch_unsigned(cv.length, &ap), 0, 0, 8, 0);
            break;
        case 'p': {
            void *ptr = va_arg(ap, void *);
            if (ptr == NULL) {
                emit_padded(&f, &cv, "(nil)", 5);
            } else {
                cv.flags |= FLAG_ALT; /* like %#lx, honouring '+' and ' ' as glibc does */
                emit_integer(&f, &cv, (uintptr_t)ptr, 0, 1, 16, 0);
            }
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            emit_padded(&f, &cv, &c, 1);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (s == NULL) /* glibc: "(null)" unless a precision cuts it */
                s = cv.precision >= 0 && cv.precision < 6 ? "" : "(null)";
            emit_padded(&f, &cv, s, bounded_strlen(s, cv.precision));
            break;
        }
        case '%':
            emit(&f, "%", 1);
            break;
        case '\0': /* '%' at the end: keep what was written */
            emit(&f, start, (size_t)(fmt - start));
            continue;
        default: /* unknown (or %n): copy it as written */
            emit(&f, start, (size_t)(fmt - start) + 1);
            break;
        }
        fmt++;
    }
    va_end(ap);
    if (f.total > INT_MAX) {
        errno = EOVERFLOW;
        return -1;
    }
    return (int)f.total;
}

/* ---- vsnprintf: into a caller's buffer, always NUL-terminated */

struct string_sink {
    char *buf;
    size_t capacity; /* bytes that may be stored before the NUL */
    size_t pos;      /* bytes produced (may exceed capacity) */
};

static void string_out(void *ctx, const char *s, size_t n)
{
    struct string_sink *sink = ctx;

    if (sink->pos < sink->capacity) {
        size_t room = sink->capacity - sink->pos;
        memcpy(sink->buf + sink->pos, s, n < room ? n : room);
    }
    sink->pos += n;
}

int LIBC_NAME(vsnprintf)(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct string_sink sink = {.buf = buf, .capacity = size > 0 ? size - 1 : 0, .pos = 0};
    int r = miura_vformat(string_out, &sink, fmt, ap);

    if (size > 0)
        buf[sink.pos < sink.capacity ? sink.pos : sink.capacity] = '\0';
    return r;
}

int LIBC_NAME(snprintf)(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = LIBC_NAME(vsnprintf)(buf, size, fmt, ap);
    va_end(ap);
    return r;
}

int LIBC_NAME(sprintf)(char *buf, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = LIBC_NAME(vsnprintf)(buf, (size_t)INT_MAX + 1, fmt, ap);
    va_end(ap);
    return r;
}

/* ---- vprintf: to the console, through a small stack buffer */

struct console_sink {
    size_t len;
    char buf[128];
};

static void console_flush(struct console_sink *sink)
{
    if (sink->len > 0)
        console_write(sink->buf, sink->len);
    sink->len = 0;
}

static void console_out(void *ctx, const char *s, size_t n)
{
    struct console_sink *sink = ctx;

    if (n >= sizeof(sink->buf)) { /* a long piece goes out as it is */
        console_flush(sink);
        console_write(s, n);
        return;
    }
    if (n > sizeof(sink->buf) - sink->len)
        console_flush(sink);
    memcpy(sink->buf + sink->len, s, n);
    sink->len += n;
}

int LIBC_NAME(vprintf)(const char *fmt, va_list ap)
{
    struct console_sink sink;
    int r;

    sink.len = 0;
    r = miura_vformat(console_out, &sink, fmt, ap);
    console_flush(&sink);
    return r;
}

int LIBC_NAME(printf)(const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = LIBC_NAME(vprintf)(fmt, ap);
    va_end(ap);
    return r;
}

int LIBC_NAME(puts)(const char *s)
{
    size_t n = 0;

    while (s[n] != '\0')
        n++;
    console_write(s, n);
    console_write("\n", 1);
    return 1;
}

int LIBC_NAME(putchar)(int c)
{
    char ch = (char)c;

    console_write(&ch, 1);
    return (unsigned char)c;
}
