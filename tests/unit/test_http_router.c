/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the HTTP component's router (lib/http/router.c), request
 * fields and query parameters. */
#include "test.h"

#include <string.h>

#include "miura/http.h"

static bool f_dummy(struct http_exchange *x)
{
    (void)x;
    return true;
}

static const struct http_route routes[] = {
    {HTTP_ALLOW_GET, "/", f_dummy},
    {HTTP_ALLOW_GET, "/kv", f_dummy},
    {HTTP_ALLOW(HTTP_METHOD_PUT) | HTTP_ALLOW(HTTP_METHOD_DELETE), "/kv/*", f_dummy},
    {HTTP_ALLOW_GET, "/kv/*", f_dummy},
    {HTTP_ALLOW(HTTP_METHOD_POST), "/a/*/b/*", f_dummy},
    {HTTP_ALLOW_GET, "/files/**", f_dummy},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static struct http_match m;

static int match(enum http_method method, const char *path)
{
    http_route_match(routes, NROUTES, method, path, strlen(path), &m);
    return m.status ? -m.status : (int)m.route;
}

static bool param_is(unsigned i, const char *s)
{
    return i < m.nparams && m.params[i].len == strlen(s) &&
           memcmp(m.params[i].ptr, s, m.params[i].len) == 0;
}

TEST(literal_routes)
{
    CHECK_EQ(match(HTTP_METHOD_GET, "/"), 0);
    CHECK_EQ(m.nparams, 0);
    CHECK_EQ(match(HTTP_METHOD_HEAD, "/"), 0); /* GET routes take HEAD */
    CHECK_EQ(match(HTTP_METHOD_GET, "/kv"), 1);
    CHECK_EQ(match(HTTP_METHOD_GET, "/kvx"), -404);
    CHECK_EQ(match(HTTP_METHOD_GET, "/k"), -404);
    CHECK_EQ(match(HTTP_METHOD_GET, "/kv/"), -404); /* "*" is not empty */
    CHECK_EQ(match(HTTP_METHOD_GET, ""), -404);
    CHECK_EQ(match(HTTP_METHOD_GET, "kv"), -404);
}

TEST(method_order_and_405)
{
    CHECK_EQ(match(HTTP_METHOD_PUT, "/kv/a"), 2);
    CHECK(param_is(0, "a"));
    CHECK_EQ(match(HTTP_METHOD_DELETE, "/kv/a"), 2);
    CHECK_EQ(match(HTTP_METHOD_GET, "/kv/abc"), 3); /* the first route whose method matches */
    CHECK(param_is(0, "abc"));
    CHECK_EQ(match(HTTP_METHOD_POST, "/kv/a"), -405);
    CHECK_EQ(m.allow,
             HTTP_ALLOW(HTTP_METHOD_PUT) | HTTP_ALLOW(HTTP_METHOD_DELETE) | HTTP_ALLOW_GET);
    CHECK_EQ(match(HTTP_METHOD_OTHER, "/"), -405);
    CHECK_EQ(m.allow, HTTP_ALLOW_GET);
    CHECK_EQ(match(HTTP_METHOD_PUT, "/kv/a/b"), -404); /* "*" is one segment */
}

TEST(several_params_and_rest)
{
    CHECK_EQ(match(HTTP_METHOD_POST, "/a/x/b/y"), 4);
    CHECK_EQ(m.nparams, 2);
    CHECK(param_is(0, "x") && param_is(1, "y"));
    CHECK_EQ(match(HTTP_METHOD_POST, "/a/x/b"), -404);
    CHECK_EQ(match(HTTP_METHOD_POST, "/a/x/c/y"), -404);
    CHECK_EQ(match(HTTP_METHOD_GET, "/files/a"), 5);
    CHECK(param_is(0, "a"));
    CHECK_EQ(match(HTTP_METHOD_GET, "/files/a/b/c.txt"), 5);
    CHECK(param_is(0, "a/b/c.txt"));
    CHECK_EQ(match(HTTP_METHOD_GET, "/files"), -404); /* "**" takes one segment or more */
    CHECK_EQ(match(HTTP_METHOD_GET, "/files/"), -404);
}

TEST(request_fields)
{
    static const char r[] = "PUT /kv/a HTTP/1.1\r\nHost: h\r\nX-Thing:  v 1 \r\n"
                            "content-type: application/json\r\nx-thing: second\r\n\r\n";
    struct http_request req;
    struct http_slice v;
    CHECK_EQ(http_parse_request(r, sizeof(r) - 1, NULL, &req), HTTP_PARSE_DONE);
    CHECK_EQ(req.method, HTTP_METHOD_PUT);
    CHECK(http_request_field(&req, "x-thing", &v));
    CHECK(v.len == 3 && memcmp(v.ptr, "v 1", 3) == 0);
    CHECK(http_request_field(&req, "content-type", &v));
    CHECK(v.len == 16 && memcmp(v.ptr, "application/json", 16) == 0);
    CHECK(!http_request_field(&req, "x-missing", &v));
    CHECK(!http_request_field(&req, "x-thin", &v));
}

TEST(bodies_within_limits)
{
    static const char r[] = "PUT /kv/a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                            "Expect: 100-continue\r\n\r\nhello";
    struct http_limits lim = http_default_limits;
    struct http_request req;
    lim.max_body = 5;
    CHECK_EQ(http_parse_request(r, sizeof(r) - 1, &lim, &req), HTTP_PARSE_DONE);
    CHECK_EQ(req.content_length, 5);
    CHECK(req.expect_continue);
    CHECK_EQ(req.head_length, sizeof(r) - 1 - 5);
    lim.max_body = 4;
    CHECK_EQ(http_parse_request(r, sizeof(r) - 1, &lim, &req), HTTP_PARSE_ERROR);
    CHECK_EQ(req.error_status, 413);
}

TEST(query_params)
{
    char out[16];
    struct http_slice q = {"prefix=a%20b&x&limit=10&p=c+d", 29};
    CHECK_EQ(http_query_param(q, "prefix", out, sizeof(out)), 3);
    CHECK_STR(out, "a b");
    CHECK_EQ(http_query_param(q, "x", out, sizeof(out)), 0);
    CHECK_STR(out, "");
    CHECK_EQ(http_query_param(q, "limit", out, sizeof(out)), 2);
    CHECK_STR(out, "10");
    CHECK_EQ(http_query_param(q, "p", out, sizeof(out)), 3);
    CHECK_STR(out, "c d");
    CHECK_EQ(http_query_param(q, "nope", out, sizeof(out)), -1);
    CHECK_EQ(http_query_param(q, "prefix", out, 3), -400); /* does not fit */
    struct http_slice bad = {"a=%00&b=%zz", 11};
    CHECK_EQ(http_query_param(bad, "a", out, sizeof(out)), -400);
    CHECK_EQ(http_query_param(bad, "b", out, sizeof(out)), -400);
}

TEST(respond_with_body)
{
    static const char r[] = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    char out[512];
    struct http_request req;
    struct http_response resp;
    CHECK_EQ(http_parse_request(r, sizeof(r) - 1, NULL, &req), HTTP_PARSE_DONE);
    http_respond(&req, 201, "X-A: b\r\n", "application/json", "{}", 2, HTTP_NO_CLOCK, out,
                 sizeof(out), &resp);
    CHECK_EQ(resp.status, 201);
    CHECK(resp.keep_alive);
    CHECK_EQ(resp.body_left, 0);
    CHECK(strncmp(out, "HTTP/1.1 201 Created\r\n", 22) == 0);
    CHECK(strstr(out, "\r\nX-A: b\r\n") && strstr(out, "\r\nContent-Length: 2\r\n"));
    CHECK(resp.out_len > 6 && memcmp(out + resp.out_len - 6, "\r\n\r\n{}", 6) == 0);
    CHECK(!strstr(out, "Date:"));
    http_respond(&req, 204, NULL, NULL, NULL, 0, HTTP_NO_CLOCK, out, sizeof(out), &resp);
    CHECK(!strstr(out, "Content-Length"));
    /* a body that does not fit is the caller's to send */
    http_respond(&req, 200, NULL, "text/plain", "x", 400, HTTP_NO_CLOCK, out, 256, &resp);
    CHECK_EQ(resp.body_left, 400);
    CHECK(strstr(out, "\r\nContent-Length: 400\r\n"));
}
