/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * strtol family, atoi, abs. Semantics as in C11 7.22.1.4: leading white
 * space, an optional sign, base 0 picks 16 ("0x"), 8 ("0") or 10; out of
 * range results saturate with errno = ERANGE; a bad base gives errno = EINVAL.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>

#include "lib/libc_name.h"

_Static_assert(sizeof(long) == sizeof(long long), "x86-64: long is 64 bits");

struct parsed {
    unsigned long long magnitude;
    int negative;
    int overflow; /* magnitude did not fit in 64 bits */
};

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

static int is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Returns 0, or -1 for a bad base. *end is set in every case. */
static int parse(const char *s, char **end, int base, struct parsed *out)
{
    const char *p = s, *digits;

    out->magnitude = 0;
    out->negative = 0;
    out->overflow = 0;
    if (base < 0 || base == 1 || base > 36) {
        if (end != NULL)
            *end = (char *)s;
        return -1;
    }
    while (is_space(*p))
        p++;
    if (*p == '+' || *p == '-')
        out->negative = *p++ == '-';
    if ((base == 0 || base == 16) && p[0] == '0' && (p[1] | 0x20) == 'x' &&
        digit_value(p[2]) < 16) {
        p += 2;
        base = 16;
    } else if (base == 0) {
        base = p[0] == '0' ? 8 : 10;
    }

    digits = p;
    for (int d; (d = digit_value(*p)) < base; p++) {
        unsigned long long m = out->magnitude;
        if (m > (ULLONG_MAX - (unsigned)d) / (unsigned)base)
            out->overflow = 1;
        else
            out->magnitude = m * (unsigned)base + (unsigned)d;
    }
    if (end != NULL)
        *end = (char *)(p == digits ? s : p);
    return 0;
}

unsigned long long LIBC_NAME(strtoull)(const char *s, char **end, int base)
{
    struct parsed v;

    if (parse(s, end, base, &v) < 0) {
        errno = EINVAL;
        return 0;
    }
    if (v.overflow) {
        errno = ERANGE;
        return ULLONG_MAX;
    }
    return v.negative ? 0ULL - v.magnitude : v.magnitude;
}

long long LIBC_NAME(strtoll)(const char *s, char **end, int base)
{
    struct parsed v;

    if (parse(s, end, base, &v) < 0) {
        errno = EINVAL;
        return 0;
    }
    if (v.negative) {
        if (v.overflow || v.magnitude > (unsigned long long)LLONG_MAX + 1) {
            errno = ERANGE;
            return LLONG_MIN;
        }
        return v.magnitude == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN
                                                                : -(long long)v.magnitude;
    }
    if (v.overflow || v.magnitude > (unsigned long long)LLONG_MAX) {
        errno = ERANGE;
        return LLONG_MAX;
    }
    return (long long)v.magnitude;
}

long LIBC_NAME(strtol)(const char *s, char **end, int base)
{
    return LIBC_NAME(strtoll)(s, end, base);
}

unsigned long LIBC_NAME(strtoul)(const char *s, char **end, int base)
{
    return LIBC_NAME(strtoull)(s, end, base);
}

int LIBC_NAME(atoi)(const char *s)
{
    return (int)LIBC_NAME(strtol)(s, NULL, 10);
}

int LIBC_NAME(abs)(int x)
{
    return x < 0 ? -x : x;
}
