/* SPDX-License-Identifier: BSD-2-Clause */
/* Kernel command line: splitting into words, key lookup, numbers. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/cmdline.h"

static int is_separator(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int cmdline_split(char *buf, char **words, int max_words)
{
    char *r = buf; /* next byte to read */
    int n = 0;

    if (buf == NULL || words == NULL || max_words <= 0)
        return 0;
    for (;;) {
        char *w;
        int quoted = 0, at_end;

        while (is_separator(*r))
            r++;
        if (*r == '\0' || n == max_words)
            break;
        /* Copy the word down over its own quotes: w never passes r. */
        words[n++] = w = r;
        while (*r != '\0' && (quoted || !is_separator(*r))) {
            if (*r == '"')
                quoted = !quoted;
            else
                *w++ = *r;
            r++;
        }
        at_end = *r == '\0';
        if (!at_end)
            r++; /* the separator is consumed before w can overwrite it */
        *w = '\0';
        if (at_end)
            break;
    }
    return n;
}

/* If word's key (text before its first '=') is key, returns its value ("" for
 * a bare key); otherwise NULL. */
static const char *match_key(const char *word, const char *key)
{
    while (*key != '\0' && *key != '=' && *word == *key) {
        word++;
        key++;
    }
    if (*key != '\0')
        return NULL;
    if (*word == '=')
        return word + 1;
    return *word == '\0' ? word : NULL;
}

const char *cmdline_value(char *const *words, int n, const char *key)
{
    if (words == NULL || key == NULL)
        return NULL;
    for (int i = n - 1; i >= 0; i--) {
        const char *v;
        if (words[i] == NULL)
            continue;
        v = match_key(words[i], key);
        if (v != NULL)
            return v;
    }
    return NULL;
}

static unsigned hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return (unsigned)(c - '0');
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (unsigned)((c | 0x20) - 'a' + 10);
    return 99;
}

static unsigned suffix_shift(char c)
{
    switch (c | 0x20) {
    case 'k':
        return 10;
    case 'm':
        return 20;
    case 'g':
        return 30;
    case 't':
        return 40;
    default:
        return 0;
    }
}

int cmdline_u64(const char *s, uint64_t *out)
{
    const char *p = s, *digits;
    unsigned base = 10, shift;
    uint64_t v = 0;

    if (s == NULL || out == NULL)
        return -EINVAL;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    digits = p;
    for (unsigned d; (d = hex_value(*p)) < base; p++) {
        if (v > (UINT64_MAX - d) / base)
            return -ERANGE;
        v = v * base + d;
    }
    if (p == digits)
        return -EINVAL;
    shift = suffix_shift(*p);
    if (shift != 0) {
        if (v > (UINT64_MAX >> shift))
            return -ERANGE;
        v <<= shift;
        p++;
    }
    if (p - s > INT_MAX)
        return -ERANGE;
    *out = v;
    return (int)(p - s);
}
