/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The router: route patterns matched against a decoded path, and the
 * handler that normalises a request's target, matches it and answers 400,
 * 404, 405 and 414 itself (exchange.c). Pure: unit-tested and fuzzed on
 * the host.
 */
#include <string.h>

#include "miura/http.h"

/* The segment of s[*i, len) up to the next '/' (s[*i] is just past a '/'). */
static struct http_slice next_segment(const char *s, size_t len, size_t *i)
{
    struct http_slice seg = {s + *i, 0};
    while (*i < len && s[*i] != '/')
        (*i)++;
    seg.len = (size_t)(s + *i - seg.ptr);
    return seg;
}

/* Does pattern p match path[0, len)? Fills params on a match. */
static bool pattern_match(const char *p, const char *path, size_t len, struct http_match *m)
{
    size_t plen = strlen(p), pi = 1, i = 1;

    m->nparams = 0;
    if (plen == 0 || p[0] != '/' || len == 0 || path[0] != '/')
        return false;
    if (plen == 1)
        return len == 1; /* "/" is the root only */
    for (;;) {
        struct http_slice want = next_segment(p, plen, &pi);
        bool rest = want.len == 2 && memcmp(want.ptr, "**", 2) == 0 && pi == plen;
        if (i > len)
            return false; /* the path ended before the pattern */
        if (rest) {
            if (i == len || m->nparams == HTTP_MAX_PARAMS)
                return false; /* "**" takes one segment or more */
            m->params[m->nparams].ptr = path + i;
            m->params[m->nparams++].len = len - i;
            return true;
        }
        struct http_slice got = next_segment(path, len, &i);
        if (want.len == 1 && want.ptr[0] == '*') {
            if (got.len == 0 || m->nparams == HTTP_MAX_PARAMS)
                return false;
            m->params[m->nparams++] = got;
        } else if (want.len != got.len || memcmp(want.ptr, got.ptr, got.len) != 0) {
            return false;
        }
        if (pi == plen) /* the pattern ended: so must the path */
            return i == len;
        pi++; /* past the pattern's '/' */
        i++;  /* and the path's, if it has one (else i > len above) */
    }
}

void http_route_match(const struct http_route *routes, size_t n, enum http_method method,
                      const char *path, size_t len, struct http_match *m)
{
    unsigned want = HTTP_ALLOW(method);

    memset(m, 0, sizeof(*m));
    m->status = 404;
    for (size_t r = 0; r < n; r++) {
        struct http_match try;
        unsigned methods = routes[r].methods;
        if (methods & HTTP_ALLOW(HTTP_METHOD_GET))
            methods |= HTTP_ALLOW(HTTP_METHOD_HEAD);
        memset(&try, 0, sizeof(try));
        if (!pattern_match(routes[r].pattern, path, len, &try))
            continue;
        m->allow |= methods;
        if (methods & want) {
            try.status = 0;
            try.route = (unsigned)r;
            try.allow = m->allow;
            *m = try;
            return;
        }
        m->status = 405;
    }
}
