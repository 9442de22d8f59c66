/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Character classes of RFC 7230 and small ASCII helpers that the HTTP
 * component (miura/http.h) uses and that parsers of field values need.
 * Locale-free and safe for any byte value (ctype.h takes int and is
 * undefined for negative char).
 */
#ifndef MIURA_HTTP_CHARS_H
#define MIURA_HTTP_CHARS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline bool http_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static inline int http_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static inline unsigned char http_to_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* tchar of RFC 7230 §3.2.6. */
static inline bool http_is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || http_is_digit(c))
        return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

static inline bool http_is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* ASCII case-insensitive equality of a slice and a lower-case C string. */
static inline bool http_slice_ieq(const char *s, size_t len, const char *lower)
{
    size_t i;
    for (i = 0; i < len; i++) {
        if (lower[i] == '\0' || http_to_lower((unsigned char)s[i]) != (unsigned char)lower[i])
            return false;
    }
    return lower[i] == '\0';
}

#endif
