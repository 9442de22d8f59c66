/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target for the HTTP component's router and request helpers: the
 * input, as a request-target, is normalised (http_target_path) and matched
 * against a fixed table of routes with every method; as a query string it
 * goes to http_query_param; as a request head (with bodies allowed) to the
 * parser and http_request_field. Besides the sanitizers, the promises are
 * checked: parameters inside the path and not empty, a match that names a
 * route whose methods allow the request's, the "**" parameter at the end,
 * query values of the length returned with no control bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "miura/http.h"

#define REQUIRE(cond)         \
    do {                      \
        if (!(cond))          \
            __builtin_trap(); \
    } while (0)

static bool nop(struct http_exchange *x)
{
    (void)x;
    return true;
}

static const struct http_route routes[] = {
    {HTTP_ALLOW_GET, "/", nop},
    {HTTP_ALLOW_GET, "/kv", nop},
    {HTTP_ALLOW(HTTP_METHOD_PUT) | HTTP_ALLOW(HTTP_METHOD_DELETE), "/kv/*", nop},
    {HTTP_ALLOW_GET, "/kv/*", nop},
    {HTTP_ALLOW(HTTP_METHOD_POST), "/a/*/b/*", nop},
    {HTTP_ALLOW_GET, "/files/**", nop},
    {HTTP_ALLOW_ALL, "/*/*/*/*/*", nop},
};

static void match_all(const char *path, size_t len)
{
    for (unsigned m = HTTP_METHOD_GET; m <= HTTP_METHOD_OTHER; m++) {
        struct http_match r;
        http_route_match(routes, sizeof(routes) / sizeof(routes[0]), (enum http_method)m, path, len,
                         &r);
        if (r.status) {
            REQUIRE(r.status == 404 || r.status == 405);
            REQUIRE((r.status == 405) == (r.allow != 0));
            continue;
        }
        REQUIRE(r.route < sizeof(routes) / sizeof(routes[0]));
        unsigned methods = routes[r.route].methods;
        if (methods & HTTP_ALLOW(HTTP_METHOD_GET))
            methods |= HTTP_ALLOW(HTTP_METHOD_HEAD);
        REQUIRE(methods & HTTP_ALLOW(m));
        REQUIRE(r.nparams <= HTTP_MAX_PARAMS);
        for (unsigned i = 0; i < r.nparams; i++) {
            REQUIRE(r.params[i].len > 0);
            REQUIRE(r.params[i].ptr > path && r.params[i].ptr + r.params[i].len <= path + len);
            if (r.route != 5)
                REQUIRE(memchr(r.params[i].ptr, '/', r.params[i].len) == NULL);
        }
        if (r.route == 5)
            REQUIRE(r.params[0].ptr + r.params[0].len == path + len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[HTTP_PATH_MAX];
    struct http_path p;
    char *copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';

    /* the raw bytes as a path, and the normalised target */
    match_all(copy, size);
    if (http_target_path(copy, size, path, sizeof(path), NULL, &p) == 0) {
        REQUIRE(p.len == strlen(p.path));
        match_all(p.path, p.len);
    }

    /* a query string */
    char value[64];
    struct http_slice q = {copy, size};
    static const char *const names[] = {"prefix", "a", "", "limit"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        long n = http_query_param(q, names[i], value, sizeof(value));
        REQUIRE(n >= -1 || n == -400);
        if (n >= 0) {
            REQUIRE((size_t)n < sizeof(value) && strlen(value) == (size_t)n);
            for (long k = 0; k < n; k++)
                REQUIRE((unsigned char)value[k] >= 0x20 && value[k] != 0x7f);
        }
    }

    /* a request head with a body allowed */
    struct http_limits lim = http_default_limits;
    struct http_request req;
    struct http_slice v;
    lim.max_body = 1024;
    if (http_parse_request(copy, size, &lim, &req) == HTTP_PARSE_DONE) {
        REQUIRE(req.head_length <= size && req.content_length <= lim.max_body);
        static const char *const fields[] = {"host", "content-type", "x-a", "content-length"};
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
            if (http_request_field(&req, fields[i], &v)) {
                REQUIRE(v.ptr >= copy && v.ptr + v.len <= copy + req.head_length);
            }
        }
    }
    free(copy);
    return 0;
}
