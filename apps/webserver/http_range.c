/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Range: bytes=... (RFC 7233 §2.1, §3.1, §4.4), single range only.
 *
 *   byte-ranges-specifier = "bytes" "=" 1#( byte-range-spec / suffix-byte-range-spec )
 *   byte-range-spec       = first-byte-pos "-" [ last-byte-pos ]
 *   suffix-byte-range-spec = "-" suffix-length
 *
 * A list of several ranges is answered with the whole file (200): the server
 * may ignore Range, and multipart/byteranges is not worth its complexity here.
 */
#include "http.h"

#include "miura/http_chars.h"

/* 1*DIGIT at s[*i]; saturates at UINT64_MAX. Returns false if no digit. */
static bool parse_u64(const char *s, size_t len, size_t *i, uint64_t *value)
{
    uint64_t v = 0;
    size_t start = *i;
    while (*i < len && http_is_digit((unsigned char)s[*i])) {
        unsigned d = (unsigned)(s[*i] - '0');
        v = (v > (UINT64_MAX - d) / 10) ? UINT64_MAX : v * 10 + d;
        (*i)++;
    }
    *value = v;
    return *i > start;
}

enum http_range_result http_range_parse(const char *value, size_t len, uint64_t size,
                                        uint64_t *start, uint64_t *length)
{
    size_t i = 5;
    uint64_t first, last;
    bool suffix = false, has_last = false;

    if (len < 6 || !http_slice_ieq(value, 5, "bytes") || value[5] != '=')
        return HTTP_RANGE_IGNORE;
    i = 6;
    while (i < len && http_is_ows((unsigned char)value[i]))
        i++;
    if (i < len && value[i] == '-') {
        suffix = true;
        i++;
        if (!parse_u64(value, len, &i, &last))
            return HTTP_RANGE_IGNORE;
        first = 0;
    } else {
        if (!parse_u64(value, len, &i, &first) || i == len || value[i] != '-')
            return HTTP_RANGE_IGNORE;
        i++;
        has_last = parse_u64(value, len, &i, &last);
    }
    while (i < len && http_is_ows((unsigned char)value[i]))
        i++;
    if (i != len)
        return HTTP_RANGE_IGNORE; /* several ranges, or trailing garbage */
    if (has_last && last < first)
        return HTTP_RANGE_IGNORE; /* invalid byte-range-spec (§2.1) */

    if (suffix) {
        /* the last `last` bytes; "-0" asks for nothing */
        if (last == 0 || size == 0)
            return HTTP_RANGE_UNSATISFIABLE;
        *length = last < size ? last : size;
        *start = size - *length;
        return HTTP_RANGE_SATISFIABLE;
    }
    if (first >= size)
        return HTTP_RANGE_UNSATISFIABLE;
    if (!has_last || last >= size)
        last = size - 1;
    *start = first;
    *length = last - first + 1;
    return HTTP_RANGE_SATISFIABLE;
}
