/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Request-target to file path (RFC 7230 §5.3, RFC 3986 §5.2.4 dot segments).
 *
 * The path is decoded and normalized segment by segment straight into the
 * output buffer, which always holds "/" followed by accepted segments, each
 * ending in '/'. Decoding happens before dot-segment removal, so "%2e%2e" is a
 * ".." like any other; an encoded '/' is refused instead of becoming part of a
 * name, so a decoded segment can never contain '/'. A ".." at the root is an
 * error rather than being dropped: such a request is an attack or a bug.
 */
#include <string.h>

#include "miura/http.h"
#include "miura/http_chars.h"

/* Length of the valid UTF-8 sequence at s[0, len) (Unicode 15 table 3-7), or
 * 0 if the bytes there are not one: overlong forms, surrogates, code points
 * above U+10FFFF and truncated sequences. */
static size_t utf8_sequence(const unsigned char *s, size_t len)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xbf;
    size_t n;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0; /* continuation byte, C0/C1 (overlong), F5..FF */
    if (c == 0xe0)
        lo = 0xa0; /* overlong 3-byte */
    else if (c == 0xed)
        hi = 0x9f; /* surrogates */
    else if (c == 0xf0)
        lo = 0x90; /* overlong 4-byte */
    else if (c == 0xf4)
        hi = 0x8f; /* above U+10FFFF */
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    }
    return n;
}

static bool valid_utf8(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_sequence((const unsigned char *)s + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

/* Decodes raw segment t[0, len) into out[0, room). Returns the decoded length,
 * -400 on bad input, -414 if it does not fit. */
static long decode_segment(const char *t, size_t len, char *out, size_t room)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c <= 0x20 || c >= 0x7f)
            return -400; /* raw bytes: only visible ASCII */
        if (c == '%') {
            int hi, lo;
            if (len - i < 3)
                return -400;
            hi = http_hex_value((unsigned char)t[i + 1]);
            lo = http_hex_value((unsigned char)t[i + 2]);
            if (hi < 0 || lo < 0)
                return -400;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
            if (c < 0x20 || c == 0x7f || c == '/')
                return -400; /* encoded control byte or NUL; encoded slash */
        }
        if (c == '\\')
            return -400;
        if (o == room)
            return -414;
        out[o++] = (char)c;
    }
    if (!valid_utf8(out, o))
        return -400;
    return (long)o;
}

int http_target_path(const char *target, size_t len, char *out, size_t out_size, const char *index,
                     struct http_path *result)
{
    size_t i = 0, path_end, o;
    bool ends_in_slash = true; /* "/" is the root directory */

    memset(result, 0, sizeof(*result));
    result->path = out;
    if (out_size < 2)
        return 414;

    /* absolute-form: http://authority/path (§5.3.2); the authority is not used */
    if (len >= 7 && http_slice_ieq(target, 7, "http://"))
        i = 7;
    else if (len >= 8 && http_slice_ieq(target, 8, "https://"))
        i = 8;
    if (i > 0) {
        size_t host = i;
        while (i < len && target[i] != '/' && target[i] != '?' && target[i] != '#')
            i++;
        if (i == host)
            return 400;
    } else if (len == 0 || target[0] != '/') {
        return 400; /* "*", authority-form, relative paths */
    }

    path_end = i;
    while (path_end < len && target[path_end] != '?' && target[path_end] != '#')
        path_end++;
    if (path_end < len && target[path_end] == '?') {
        size_t q = path_end + 1, qend = q;
        while (qend < len && target[qend] != '#')
            qend++;
        result->query.ptr = target + q;
        result->query.len = qend - q;
    }

    out[0] = '/';
    o = 1;
    while (i < path_end) {
        size_t seg_start, seg_end, room;
        long n;
        if (target[i] == '/')
            i++;
        seg_start = i;
        while (i < path_end && target[i] != '/')
            i++;
        seg_end = i;
        /* out[0, o) is "/" or "/a/b/"; the segment is decoded after it */
        /* room for the segment, keeping one byte for the NUL; o <= out_size */
        room = o < out_size ? out_size - 1 - o : 0;
        n = decode_segment(target + seg_start, seg_end - seg_start, out + o, room);
        if (n < 0)
            return (int)-n;
        if (n == 0 || (n == 1 && out[o] == '.')) {
            ends_in_slash = true;
        } else if (n == 2 && out[o] == '.' && out[o + 1] == '.') {
            if (o == 1)
                return 400; /* would climb above the root */
            o--;            /* drop the last segment, keep its leading '/' */
            while (out[o - 1] != '/')
                o--;
            ends_in_slash = true;
        } else {
            /* o + n <= out_size - 1: the '/' fits, at worst in the NUL's place,
             * and is dropped again at the end if this is the last segment */
            o += (size_t)n;
            out[o++] = '/';
            ends_in_slash = false;
        }
    }
    /* a real last segment with no '/' after it names a file, not a directory */
    if (!ends_in_slash)
        o--;

    if (ends_in_slash && index) {
        size_t n = strlen(index);
        if (o + n + 1 > out_size)
            return 414;
        memcpy(out + o, index, n);
        o += n;
        result->index_appended = true;
    }
    if (o >= out_size)
        return 414; /* a full last segment kept its '/' where the NUL goes */
    out[o] = '\0';
    result->len = o;
    return 0;
}

long http_query_param(struct http_slice query, const char *name, char *out, size_t out_size)
{
    size_t name_len = strlen(name), i = 0;

    while (i <= query.len) {
        size_t start = i, end, eq;
        while (i < query.len && query.ptr[i] != '&')
            i++;
        end = i++;
        eq = start;
        while (eq < end && query.ptr[eq] != '=')
            eq++;
        if (eq - start != name_len || memcmp(query.ptr + start, name, name_len) != 0)
            continue;
        size_t o = 0;
        for (size_t k = eq + 1; k < end; k++) {
            unsigned char c = (unsigned char)query.ptr[k];
            if (c == '+') {
                c = ' ';
            } else if (c == '%') {
                int hi = k + 2 < end ? http_hex_value((unsigned char)query.ptr[k + 1]) : -1;
                int lo = hi >= 0 ? http_hex_value((unsigned char)query.ptr[k + 2]) : -1;
                if (lo < 0)
                    return -400;
                c = (unsigned char)(hi << 4 | lo);
                k += 2;
            }
            if (c < 0x20 || c == 0x7f || o + 1 >= out_size)
                return -400;
            out[o++] = (char)c;
        }
        if (out_size == 0)
            return -400;
        out[o] = '\0';
        return (long)o;
    }
    return -1;
}
