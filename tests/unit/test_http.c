/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the web server's HTTP module (apps/webserver/). */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "../../apps/webserver/http.h"

/* ---- helpers ---- */

static enum http_parse_status parse(const char *s, struct http_request *req)
{
    return http_parse_request(s, strlen(s), NULL, req);
}

/* Parses s and returns its status: 0 for DONE, -1 for INCOMPLETE, else the error. */
static int parse_status(const char *s)
{
    struct http_request req;
    switch (parse(s, &req)) {
    case HTTP_PARSE_DONE:
        return 0;
    case HTTP_PARSE_INCOMPLETE:
        return -1;
    default:
        return req.error_status;
    }
}

static bool slice_is(struct http_slice s, const char *text)
{
    return s.len == strlen(text) && memcmp(s.ptr, text, s.len) == 0;
}

/* A served root of fake files, stat'ed by path. */
#define NOW    800000000LL
#define MTIME  784111777LL /* Sun, 06 Nov 1994 08:49:37 GMT */
#define A_ETAG "\"2ebc98a1-a\""
static const struct {
    const char *path;
    struct http_file_info info;
} fake_files[] = {
    {"/index.html", {HTTP_FILE_REGULAR, 100, MTIME}},
    {"/a.txt", {HTTP_FILE_REGULAR, 10, MTIME}},
    {"/dir", {HTTP_FILE_DIRECTORY, 0, MTIME}},
    {"/dir/index.html", {HTTP_FILE_REGULAR, 50, MTIME}},
    {"/a b", {HTTP_FILE_DIRECTORY, 0, MTIME}},
    {"/sub", {HTTP_FILE_DIRECTORY, 0, MTIME}},
    {"/sub/index.html", {HTTP_FILE_DIRECTORY, 0, MTIME}},
    {"/secret", {HTTP_FILE_FORBIDDEN, 0, 0}},
    {"/empty.bin", {HTTP_FILE_REGULAR, 0, MTIME}},
    {"/future.css", {HTTP_FILE_REGULAR, 5, NOW + 1000}},
    {"/wed.txt", {HTTP_FILE_REGULAR, 5, 783766177}}, /* Wed, 02 Nov 1994 08:49:37 GMT */
};

static char out[4096];
static struct http_response resp;
static char path_buf[HTTP_DEFAULT_MAX_REQUEST_LINE + 16];

/* What the appliance's main loop does for one request: returns the status and
 * leaves the response in `out` (NUL-terminated) and `resp`. */
static int serve(const char *request)
{
    struct http_request req;
    struct http_path path;
    struct http_file_info info = {HTTP_FILE_MISSING, 0, 0};
    int status;

    memset(out, 0, sizeof(out));
    if (parse(request, &req) != HTTP_PARSE_DONE) {
        if (req.error_status == 0)
            return -1;
        http_respond_error(&req, req.error_status, NOW, out, sizeof(out), &resp);
        return resp.status;
    }
    if (!(HTTP_ALLOW_GET & HTTP_ALLOW(req.method))) { /* as the connection loop does */
        http_respond_405(&req, HTTP_ALLOW_GET, NOW, out, sizeof(out), &resp);
        return resp.status;
    }
    status = http_path_normalize(req.target.ptr, req.target.len, path_buf, sizeof(path_buf), &path);
    if (status) {
        http_respond_error(&req, status, NOW, out, sizeof(out), &resp);
        return resp.status;
    }
    for (size_t i = 0; i < sizeof(fake_files) / sizeof(fake_files[0]); i++) {
        if (strcmp(fake_files[i].path, path.path) == 0)
            info = fake_files[i].info;
    }
    http_respond_file(&req, &path, &info, NOW, out, sizeof(out), &resp);
    return resp.status;
}

/* Does the response head contain this exact header line? */
static bool has_line(const char *line)
{
    char want[512];
    const char *end = strstr(out, "\r\n\r\n");
    const char *hit;
    snprintf(want, sizeof(want), "\r\n%s\r\n", line);
    hit = strstr(out, want);
    return hit && end && hit <= end;
}

static bool has_field(const char *name)
{
    char want[128];
    const char *end = strstr(out, "\r\n\r\n");
    const char *hit;
    snprintf(want, sizeof(want), "\r\n%s:", name);
    hit = strstr(out, want);
    return hit && end && hit < end;
}

/* Body after the head in out. */
static const char *body(void)
{
    const char *end = strstr(out, "\r\n\r\n");
    return end ? end + 4 : "";
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- request line and methods ---- */

TEST(parse_simple_get)
{
    const char *r = "GET /a.txt?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n";
    struct http_request req;
    CHECK_EQ(parse(r, &req), HTTP_PARSE_DONE);
    CHECK_EQ(req.head_length, strlen(r));
    CHECK_EQ(req.method, HTTP_METHOD_GET);
    CHECK(slice_is(req.method_name, "GET"));
    CHECK(slice_is(req.target, "/a.txt?x=1"));
    CHECK_EQ(req.version_minor, 1);
    CHECK(req.keep_alive);
    CHECK(req.has_host);
    CHECK(slice_is(req.host, "example.com"));
    CHECK_EQ(req.field_count, 2);
}

TEST(parse_head_method)
{
    struct http_request req;
    CHECK_EQ(parse("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", &req), HTTP_PARSE_DONE);
    CHECK_EQ(req.method, HTTP_METHOD_HEAD);
}

TEST(other_methods_get_405_with_allow)
{
    static const char *const methods[] = {"POST",    "PUT",   "DELETE", "OPTIONS", "PATCH",
                                          "CONNECT", "TRACE", "get",    "Head",    "BREW"};
    char r[128];
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        snprintf(r, sizeof(r), "%s / HTTP/1.1\r\nHost: h\r\n\r\n", methods[i]);
        CHECK_EQ(parse_status(r), 0); /* the parser takes any method token */
        CHECK_EQ(serve(r), 405);
        CHECK(has_line("Allow: GET, HEAD"));
        CHECK(has_line("Connection: close"));
        CHECK(!resp.keep_alive);
    }
    CHECK_EQ(serve("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), 405);
}

TEST(named_methods)
{
    static const char *const names[] = {"GET", "HEAD", "POST", "PUT", "DELETE"};
    struct http_request req;
    char r[128];
    for (unsigned m = HTTP_METHOD_GET; m < HTTP_METHOD_OTHER; m++) {
        snprintf(r, sizeof(r), "%s / HTTP/1.1\r\nHost: h\r\n\r\n", names[m - HTTP_METHOD_GET]);
        CHECK_EQ(parse(r, &req), HTTP_PARSE_DONE);
        CHECK_EQ(req.method, m);
        CHECK(strcmp(http_method_name(req.method), names[m - HTTP_METHOD_GET]) == 0);
    }
    CHECK_EQ(parse("PATCH / HTTP/1.1\r\nHost: h\r\n\r\n", &req), HTTP_PARSE_DONE);
    CHECK_EQ(req.method, HTTP_METHOD_OTHER);
    CHECK(strcmp(http_method_name(req.method), "") == 0);
    http_respond_405(&req, HTTP_ALLOW(HTTP_METHOD_PUT) | HTTP_ALLOW(HTTP_METHOD_DELETE), NOW, out,
                     sizeof(out), &resp);
    CHECK_EQ(resp.status, 405);
    CHECK(has_line("Allow: PUT, DELETE"));
}

TEST(versions)
{
    struct http_request req;
    CHECK_EQ(parse("GET / HTTP/1.0\r\n\r\n", &req), HTTP_PARSE_DONE);
    CHECK_EQ(req.version_minor, 0);
    CHECK(!req.keep_alive);
    CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n", &req), HTTP_PARSE_DONE);
    CHECK(req.keep_alive);
    CHECK_EQ(parse_status("GET / HTTP/2.0\r\n\r\n"), 505);
    CHECK_EQ(parse_status("GET / HTTP/0.9\r\n\r\n"), 505);
    CHECK_EQ(parse_status("GET / HTTP/1.2\r\n\r\n"), 505);
    CHECK_EQ(parse_status("GET / HTTP/3.1\r\n\r\n"), 505);
    CHECK_EQ(serve("GET / HTTP/2.0\r\n\r\n"), 505);
    CHECK(starts_with(out, "HTTP/1.1 505 HTTP Version Not Supported\r\n"));
    CHECK_EQ(parse_status("GET / HTTP/1.10\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET / http/1.1\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET / HTTP/1\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET / HTTP/a.b\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET /\r\n\r\n"), 400); /* HTTP/0.9 simple request */
}

TEST(malformed_request_lines)
{
    CHECK_EQ(parse_status("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET /  HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    CHECK_EQ(parse_status(" GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    CHECK_EQ(parse_status("G(T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET / HTTP/1.1\rHost: h\r\n\r\n"), 400);
    CHECK_EQ(parse_status("\r\r\n"), 400);
    static const char nul[] = "GET /\0 HTTP/1.1\r\nHost: h\r\n\r\n";
    struct http_request req;
    CHECK_EQ(http_parse_request(nul, sizeof(nul) - 1, NULL, &req), HTTP_PARSE_ERROR);
    CHECK_EQ(req.error_status, 400);
}

/* A method that cannot be one is answered at its first wrong byte: a TLS
 * ClientHello to the HTTP port gets 400 at once, not 408 after the request
 * timeout. */
TEST(method_judged_at_first_wrong_byte)
{
    struct http_request req;
    static const char hello[] = "\x16\x03\x01";
    CHECK_EQ(http_parse_request(hello, 1, NULL, &req), HTTP_PARSE_ERROR);
    CHECK_EQ(req.error_status, 400);
    CHECK_EQ(http_parse_request("G\x01", 2, NULL, &req), HTTP_PARSE_ERROR);
    CHECK_EQ(req.error_status, 400);
    CHECK_EQ(http_parse_request("GET\r", 4, NULL, &req), HTTP_PARSE_ERROR);
    CHECK_EQ(http_parse_request("\r\n\x80", 3, NULL, &req), HTTP_PARSE_ERROR);
    /* a token so far, or a space after one: the line decides */
    CHECK_EQ(http_parse_request("GE", 2, NULL, &req), HTTP_PARSE_INCOMPLETE);
    CHECK_EQ(http_parse_request("GET ", 4, NULL, &req), HTTP_PARSE_INCOMPLETE);
    CHECK_EQ(http_parse_request("GET /\x01", 6, NULL, &req), HTTP_PARSE_INCOMPLETE);
    CHECK_EQ(http_parse_request(" ", 1, NULL, &req), HTTP_PARSE_INCOMPLETE);
    /* beyond the request line's limit a long token is still 414 */
    const struct http_limits small = {24, 40, 3, 0};
    char longer[30];
    memset(longer, 'A', sizeof(longer));
    longer[29] = '\x01';
    CHECK_EQ(http_parse_request(longer, sizeof(longer), &small, &req), HTTP_PARSE_ERROR);
    CHECK_EQ(req.error_status, 414);
}

TEST(leading_empty_lines)
{
    struct http_request req;
    const char *r = "\r\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
    CHECK_EQ(parse(r, &req), HTTP_PARSE_DONE);
    CHECK_EQ(req.head_length, strlen(r));
    /* 16 bytes of empty lines are skipped, 17 or more are an error */
    CHECK_EQ(parse_status("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.0\r\n\r\n"), 0);
    CHECK_EQ(parse_status("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\nGET / HTTP/1.0\r\n\r\n"), 400);
    CHECK_EQ(parse_status("\r\n"), -1);
    CHECK_EQ(parse_status(""), -1);
}

TEST(bare_lf_line_endings)
{
    struct http_request req;
    const char *r = "GET /x HTTP/1.1\nHost: h\nConnection: close\n\n";
    CHECK_EQ(parse(r, &req), HTTP_PARSE_DONE);
    CHECK_EQ(req.head_length, strlen(r));
    CHECK(!req.keep_alive);
}

/* ---- header fields ---- */

TEST(header_names_case_insensitive)
{
    struct http_request req;
    CHECK_EQ(parse("GET / HTTP/1.1\r\nhOsT: h\r\nCONNECTION: CLOSE\r\nrAnGe: bytes=0-1\r\n"
                   "IF-NONE-MATCH: \"x\"\r\nif-modified-since: y\r\nIf-range: z\r\n\r\n",
                   &req),
             HTTP_PARSE_DONE);
    CHECK(req.has_host);
    CHECK(!req.keep_alive);
    CHECK_EQ(req.range_count, 1);
    CHECK(slice_is(req.range, "bytes=0-1"));
    CHECK_EQ(req.if_none_match_count, 1);
    CHECK(slice_is(req.if_none_match[0], "\"x\""));
    CHECK(slice_is(req.if_modified_since, "y"));
    CHECK(slice_is(req.if_range, "z"));
}

TEST(header_whitespace_rules)
{
    struct http_request req;
    CHECK_EQ(parse("GET / HTTP/1.1\r\nHost:  \t example.com \t \r\nX-Empty:\r\n\r\n", &req),
             HTTP_PARSE_DONE);
    CHECK(slice_is(req.host, "example.com"));
    /* obsolete line folding */
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  continued\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\tcontinued\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\n Host: h\r\n\r\n"), 400);
    /* whitespace between field name and colon */
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n"), 400);
    /* no colon, empty name, bad name characters */
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost h\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\n: h\r\nHost: h\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nX(y): 1\r\nHost: h\r\n\r\n"), 400);
    /* control bytes in values: bare CR, DEL, ESC */
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost: h\r\nX: a\x1b\r\n\r\n"), 400);
    /* obs-text and tabs inside a value are fine */
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost: h\r\nX: a\tb \xe9\r\n\r\n"), 0);
    static const char nul[] = "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n";
    CHECK_EQ(http_parse_request(nul, sizeof(nul) - 1, NULL, &req), HTTP_PARSE_ERROR);
    CHECK_EQ(req.error_status, 400);
}

TEST(host_rules)
{
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHostname: x\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET / HTTP/1.0\r\n\r\n"), 0);
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), 0);
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost:\r\n\r\n"), 0); /* empty is allowed */
    CHECK_EQ(serve("GET / HTTP/1.1\r\n\r\n"), 400);
    CHECK(has_line("Connection: close"));
}

TEST(connection_header)
{
    struct http_request req;
    CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", &req),
             HTTP_PARSE_DONE);
    CHECK(!req.keep_alive);
    CHECK_EQ(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &req), HTTP_PARSE_DONE);
    CHECK(req.keep_alive);
    CHECK_EQ(parse("GET / HTTP/1.0\r\nConnection: foo, keep-alive \r\n\r\n", &req),
             HTTP_PARSE_DONE);
    CHECK(req.keep_alive);
    CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nConnection: "
                   "upgrade,CLOSE\r\n\r\n",
                   &req),
             HTTP_PARSE_DONE);
    CHECK(!req.keep_alive);
    CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: closed\r\n\r\n", &req),
             HTTP_PARSE_DONE);
    CHECK(req.keep_alive);
    /* responses say what happens */
    CHECK_EQ(serve("GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 200);
    CHECK(resp.keep_alive);
    CHECK(has_line("Connection: keep-alive"));
    CHECK_EQ(serve("GET /a.txt HTTP/1.0\r\n\r\n"), 200);
    CHECK(!resp.keep_alive);
    CHECK(has_line("Connection: close"));
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\n"), 200);
    CHECK(resp.keep_alive);
    CHECK(!has_field("Connection"));
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"), 200);
    CHECK(!resp.keep_alive);
    CHECK(has_line("Connection: close"));
}

TEST(request_bodies_rejected)
{
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"), 0);
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 000\r\n\r\n"), 0);
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"), 413);
    CHECK_EQ(parse_status("HEAD / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx"), 413);
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: "
                          "99999999999999999999999999\r\n\r\n"),
             413);
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n"
                          "Content-Length: 0\r\n\r\n"),
             400);
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x1\r\n\r\n"), 400);
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n"), 400);
    /* no chunked bodies (411: send a Content-Length); with a Content-Length
     * as well, a smuggling attempt (400) */
    CHECK_EQ(parse_status("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"), 411);
    CHECK_EQ(parse_status("GET / HTTP/1.0\r\ntransfer-encoding: identity\r\n\r\n"), 411);
    CHECK_EQ(parse_status("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n"),
             400);
    CHECK_EQ(serve("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"), 413);
    CHECK(!resp.keep_alive);
    CHECK(has_line("Connection: close"));
}

/* ---- limits ---- */

/* "GET /aaa...a HTTP/1.1" of exactly line_len bytes, then the given rest. */
static char *request_with_line(size_t line_len, const char *rest)
{
    const size_t fixed = strlen("GET / HTTP/1.1");
    char *r = malloc(line_len + strlen(rest) + 1);
    memcpy(r, "GET /", 5);
    memset(r + 5, 'a', line_len - fixed);
    memcpy(r + 5 + line_len - fixed, " HTTP/1.1", 9);
    strcpy(r + line_len, rest);
    return r;
}

TEST(limit_request_line)
{
    const size_t max = HTTP_DEFAULT_MAX_REQUEST_LINE;
    char *at = request_with_line(max, "\r\nHost: h\r\n\r\n");
    char *over = request_with_line(max + 1, "\r\nHost: h\r\n\r\n");
    char *over_lf = request_with_line(max + 1, "\nHost: h\r\n\r\n");
    struct http_request req;
    int s_at = parse_status(at), s_over = parse_status(over), s_over_lf = parse_status(over_lf);
    int s_prefix, s_prefix_over;
    /* the line at the limit plus its CR, without the LF: still waiting */
    at[max + 1] = '\0';
    s_prefix = parse_status(at);
    /* max + 2 bytes and no LF: decided */
    over[max + 2] = '\0';
    over[max + 1] = 'a';
    s_prefix_over = parse_status(over);
    CHECK_EQ(http_parse_request(over, max + 2, NULL, &req), HTTP_PARSE_ERROR);
    free(at);
    free(over);
    free(over_lf);
    CHECK_EQ(s_at, 0);
    CHECK_EQ(s_over, 414);
    CHECK_EQ(s_over_lf, 414);
    CHECK_EQ(s_prefix, -1);
    CHECK_EQ(s_prefix_over, 414);
    CHECK_EQ(serve("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 200); /* sanity */
}

TEST(limit_request_line_custom)
{
    const struct http_limits lim = {20, 100, 4, 0};
    struct http_request req;
    const char *at = "GET /123456 HTTP/1.1\r\nHost: h\r\n\r\n"; /* line of 20 */
    const char *over = "GET /1234567 HTTP/1.1\r\nHost: h\r\n\r\n";
    CHECK_EQ(http_parse_request(at, strlen(at), &lim, &req), HTTP_PARSE_DONE);
    CHECK_EQ(http_parse_request(over, strlen(over), &lim, &req), HTTP_PARSE_ERROR);
    CHECK_EQ(req.error_status, 414);
}

/* A request with `fields` header lines totalling exactly `bytes` bytes
 * (each line with its CRLF). */
static char *request_with_headers(unsigned fields, size_t bytes)
{
    const char *line0 = "GET / HTTP/1.1\r\n";
    char *r = malloc(strlen(line0) + bytes + 3);
    size_t pos = strlen(line0), left = bytes;
    strcpy(r, line0);
    for (unsigned i = 0; i < fields; i++) {
        /* "Hnnn: v...v\r\n"; the last line takes what is left */
        size_t len = i + 1 < fields ? bytes / fields : left;
        int n = i == 0 ? snprintf(r + pos, 8, "Host: ") : snprintf(r + pos, 8, "X%04u: ", i);
        memset(r + pos + n, 'v', len - (size_t)n - 2);
        memcpy(r + pos + len - 2, "\r\n", 2);
        pos += len;
        left -= len;
    }
    strcpy(r + pos, "\r\n");
    return r;
}

TEST(limit_header_bytes)
{
    const size_t max = HTTP_DEFAULT_MAX_HEADER_BYTES;
    char *at = request_with_headers(8, max);
    char *over = request_with_headers(8, max + 1);
    char *one_at = request_with_headers(1, max);
    char *one_over = request_with_headers(1, max + 1);
    int s_at = parse_status(at), s_over = parse_status(over);
    int s_one_at = parse_status(one_at), s_one_over = parse_status(one_over);
    struct http_request req;
    enum http_parse_status r = http_parse_request(at, strlen(at), NULL, &req);
    size_t head = req.head_length, len = strlen(at);
    free(at);
    free(over);
    free(one_at);
    free(one_over);
    CHECK_EQ(r, HTTP_PARSE_DONE);
    CHECK_EQ(head, len);
    CHECK_EQ(s_at, 0);
    CHECK_EQ(s_over, 431);
    CHECK_EQ(s_one_at, 0);
    CHECK_EQ(s_one_over, 431);
    /* the buffer size the header promises holds the largest accepted head */
    CHECK(len <= http_limits_buffer_size(&http_default_limits));
}

TEST(limit_header_bytes_unterminated)
{
    /* a field line that has already passed the limit without its LF */
    const struct http_limits lim = {100, 20, 10, 0};
    struct http_request req;
    const char *fits = "GET / HTTP/1.1\r\nHost: 123456789012\r\n\r\n"; /* 20 bytes */
    const char *over = "GET / HTTP/1.1\r\nHost: 1234567890123\r\n\r\n";
    /* 20 bytes of a line without LF: the line will be at least 21 */
    const char *partial = "GET / HTTP/1.1\r\nHost: 12345678901234";
    CHECK_EQ(http_parse_request(fits, strlen(fits), &lim, &req), HTTP_PARSE_DONE);
    CHECK_EQ(http_parse_request(over, strlen(over), &lim, &req), HTTP_PARSE_ERROR);
    CHECK_EQ(req.error_status, 431);
    CHECK_EQ(http_parse_request(partial, strlen(partial), &lim, &req), HTTP_PARSE_ERROR);
    CHECK_EQ(req.error_status, 431);
    CHECK_EQ(http_parse_request(partial, strlen(partial) - 1, &lim, &req), HTTP_PARSE_INCOMPLETE);
}

TEST(limit_header_fields)
{
    const unsigned max = HTTP_DEFAULT_MAX_HEADER_FIELDS;
    char *at = request_with_headers(max, max * 20);
    char *over = request_with_headers(max + 1, (max + 1) * 20);
    int s_at = parse_status(at), s_over = parse_status(over);
    free(at);
    free(over);
    CHECK_EQ(s_at, 0);
    CHECK_EQ(s_over, 431);
    CHECK_EQ(serve("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 200);
}

/* ---- pipelining ---- */

TEST(pipelined_three_requests)
{
    const char *buf = "GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\n"
                      "HEAD /dir/ HTTP/1.1\r\nHost: h\r\n\r\n"
                      "GET /index.html HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    static const char *const targets[] = {"/a.txt", "/dir/", "/index.html"};
    size_t pos = 0, len = strlen(buf);
    struct http_request req;
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(http_parse_request(buf + pos, len - pos, NULL, &req), HTTP_PARSE_DONE);
        CHECK(slice_is(req.target, targets[i]));
        CHECK_EQ(req.keep_alive, i < 2);
        pos += req.head_length;
    }
    CHECK_EQ(pos, len);
    CHECK_EQ(http_parse_request(buf + pos, len - pos, NULL, &req), HTTP_PARSE_INCOMPLETE);
    /* a fourth request that has only begun */
    CHECK_EQ(http_parse_request("GET / HT", 8, NULL, &req), HTTP_PARSE_INCOMPLETE);
}

static bool same_request(const struct http_request *a, const struct http_request *b)
{
    return a->head_length == b->head_length && a->error_status == b->error_status &&
           a->method == b->method && a->keep_alive == b->keep_alive &&
           a->target.len == b->target.len && a->host.len == b->host.len &&
           a->range_count == b->range_count && a->field_count == b->field_count;
}

/* Every prefix of a request gives INCOMPLETE or the whole request's answer. */
TEST(split_at_every_byte)
{
    static const char *const requests[] = {
        "GET /a.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\n\r\n",
        "\r\nHEAD / HTTP/1.0\nConnection: keep-alive\n\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: 1\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
        "POST /form HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : h\r\n\r\n",
        "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
        "G(T / HTTP/1.1\r\n\r\n",
        "\r\nGET\r\n\r\n",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefgh\x01 / HTTP/1.1\r\n\r\n",
    };
    const struct http_limits small = {24, 40, 3, 0};
    const struct http_limits *limits[] = {NULL, &small};
    for (size_t l = 0; l < 2; l++) {
        for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
            size_t len = strlen(requests[i]);
            struct http_request whole, part;
            enum http_parse_status rw, rp;
            /* a copy of exactly the prefix length, so ASan catches reads past it */
            rw = http_parse_request(requests[i], len, limits[l], &whole);
            CHECK(rw != HTTP_PARSE_INCOMPLETE);
            for (size_t n = 0; n < len; n++) {
                char *prefix = malloc(n + 1);
                memcpy(prefix, requests[i], n);
                rp = http_parse_request(prefix, n, limits[l], &part);
                if (rp != HTTP_PARSE_INCOMPLETE) {
                    CHECK_EQ(rp, rw);
                    CHECK_EQ(part.error_status, whole.error_status);
                }
                if (rw == HTTP_PARSE_DONE && n < whole.head_length)
                    CHECK_EQ(rp, HTTP_PARSE_INCOMPLETE);
                free(prefix);
            }
        }
    }
    /* and a request fed in two pieces at every split point */
    const char *r = "GET /x HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"a\", W/\"b\"\r\n\r\n";
    struct http_request whole, part;
    CHECK_EQ(parse(r, &whole), HTTP_PARSE_DONE);
    for (size_t n = 1; n < strlen(r); n++) {
        char buf[128];
        memcpy(buf, r, n);
        CHECK_EQ(http_parse_request(buf, n, NULL, &part), HTTP_PARSE_INCOMPLETE);
        memcpy(buf + n, r + n, strlen(r) - n);
        CHECK_EQ(http_parse_request(buf, strlen(r), NULL, &part), HTTP_PARSE_DONE);
        CHECK(same_request(&part, &whole));
    }
}

/* ---- paths ---- */

static int normalize(const char *target, char *buf, size_t size, struct http_path *p)
{
    return http_path_normalize(target, strlen(target), buf, size, p);
}

TEST(path_normalization)
{
    static const struct {
        const char *target, *path;
    } cases[] = {
        {"/", "/index.html"},
        {"/a/b.html", "/a/b.html"},
        {"/dir/", "/dir/index.html"},
        {"/dir", "/dir"},
        {"//a//b", "/a/b"},
        {"//", "/index.html"},
        {"//evil.example/x", "/evil.example/x"}, /* never a protocol-relative path */
        {"/./a/./b", "/a/b"},
        {"/a/.", "/a/index.html"},
        {"/a/b/../c", "/a/c"},
        {"/a/b/..", "/a/index.html"},
        {"/a/..", "/index.html"},
        {"/a/%2e/b", "/a/b"},
        {"/a/%2e%2E/b", "/b"},
        {"/...", "/..."},
        {"/..a/a..", "/..a/a.."},
        {"/.well-known/x", "/.well-known/x"},
        {"/a%20b", "/a b"},
        {"/caf%C3%A9.html", "/caf\xc3\xa9.html"},
        {"/%F0%9F%98%80", "/\xf0\x9f\x98\x80"},
        {"/a.html?x=1/../../..#frag", "/a.html"},
        {"/a.html#frag", "/a.html"},
        {"/?q", "/index.html"},
        {"http://example.com/a/b", "/a/b"},
        {"HTTP://example.com", "/index.html"},
        {"https://example.com:8080/x/?q=1", "/x/index.html"},
    };
    char buf[256];
    struct http_path p;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int status = normalize(cases[i].target, buf, sizeof(buf), &p);
        if (status != 0)
            test_fail(__FILE__, __LINE__, "%s: status %d", cases[i].target, status);
        CHECK_EQ(status, 0);
        CHECK_STR(p.path, cases[i].path);
        CHECK_EQ(p.len, strlen(cases[i].path));
        CHECK_EQ(p.index_appended, strstr(cases[i].path, "index.html") != NULL);
    }
    CHECK_EQ(normalize("/a.html?x=1&y#f", buf, sizeof(buf), &p), 0);
    CHECK(slice_is(p.query, "x=1&y"));
    CHECK_EQ(normalize("/a.html", buf, sizeof(buf), &p), 0);
    CHECK_EQ(p.query.len, 0);
}

TEST(path_traversal_and_bad_bytes)
{
    static const char *const bad[] = {
        "/..",
        "/../",
        "/../etc/passwd",
        "/a/../../b",
        "/a/b/../../..",
        "/./..",
        "/%2e%2e/",
        "/.%2e/",
        "/%2e./x",
        "/%2E%2e%2f",
        "/%2e%2e",
        "/..%2f",
        "/..%2fetc",
        "/%2f",
        "/a%2Fb",
        "/%2F..%2F..",
        "/a%00b",
        "/%00",
        "/%0a",
        "/%0d%0aSet-Cookie:x",
        "/%1f",
        "/%7f",
        "/%7F",
        "/%c0%ae%c0%ae/",
        "/%c0%ae",
        "/%c0%af",
        "/%e0%80%ae",
        "/%f0%80%80%ae",
        "/%c1%bf",
        "/%ed%a0%80",
        "/%f4%90%80%80",
        "/%f5%80%80%80",
        "/%ff",
        "/%80",
        "/%c3",
        "/%e2%82",
        "/a\\b",
        "/..\\..\\x",
        "/%5c",
        "/%5C..%5C",
        "/%",
        "/%4",
        "/%g1",
        "/%%32%65",
        "*",
        "a/b",
        "",
        "example.com:80",
        "http://",
        "http:///a",
        "/a b",
        "/a\x01",
        "/\x80",
    };
    char buf[256];
    struct http_path p;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int status = normalize(bad[i], buf, sizeof(buf), &p);
        if (status != 400)
            test_fail(__FILE__, __LINE__, "\"%s\" gave %d, not 400", bad[i], status);
        CHECK_EQ(status, 400);
    }
    /* through the whole server: never a path outside, always an answer */
    CHECK_EQ(serve("GET /../etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    CHECK_EQ(serve("GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    CHECK_EQ(serve("GET http://h/../x HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

TEST(path_output_limit)
{
    struct http_path p;
    char buf[16];
    /* "/abcdefghij" + NUL = 12 bytes; with index.html it needs more */
    CHECK_EQ(normalize("/abcdefghij", buf, 12, &p), 0);
    CHECK_STR(p.path, "/abcdefghij");
    CHECK_EQ(normalize("/abcdefghijk", buf, 12, &p), 414);
    CHECK_EQ(normalize("/abcdef/", buf, sizeof(buf), &p), 414);
    CHECK_EQ(normalize("/a/", buf, sizeof(buf), &p), 0);
    CHECK_STR(p.path, "/a/index.html");
    CHECK_EQ(normalize("/", buf, 1, &p), 414);
    /* a buffer of the request-line limit always suffices */
    char *r = request_with_line(HTTP_DEFAULT_MAX_REQUEST_LINE, "\r\nHost: h\r\n\r\n");
    struct http_request req;
    int status = -1;
    if (parse(r, &req) == HTTP_PARSE_DONE)
        status =
            http_path_normalize(req.target.ptr, req.target.len, path_buf, sizeof(path_buf), &p);
    free(r);
    CHECK_EQ(status, 0);
}

/* Every accepted path is clean, whatever it was made from. */
TEST(path_results_are_clean)
{
    static const char alphabet[] = {'/', '.', 'a', '%', '2', 'e', 'f', 'E', 'c', '0'};
    char target[8], buf[64];
    struct http_path p;
    unsigned accepted = 0;
    /* all strings of up to 6 characters from the alphabet after a leading '/' */
    for (unsigned len = 1; len <= 6; len++) {
        unsigned long total = 1;
        for (unsigned k = 0; k < len; k++)
            total *= sizeof(alphabet);
        for (unsigned long n = 0; n < total; n++) {
            unsigned long v = n;
            target[0] = '/';
            for (unsigned k = 0; k < len; k++) {
                target[1 + k] = alphabet[v % sizeof(alphabet)];
                v /= sizeof(alphabet);
            }
            target[1 + len] = '\0';
            if (normalize(target, buf, sizeof(buf), &p) != 0)
                continue;
            accepted++;
            CHECK(p.path[0] == '/');
            CHECK(strstr(p.path, "//") == NULL);
            CHECK(strstr(p.path, "/./") == NULL && strstr(p.path, "/../") == NULL);
            CHECK(strcmp(p.path + p.len - 2, "/.") != 0);
            CHECK(p.len < 3 || strcmp(p.path + p.len - 3, "/..") != 0);
            CHECK(strlen(p.path) == p.len);
        }
    }
    CHECK(accepted > 1000);
}

/* ---- ranges ---- */

TEST(range_parsing)
{
    static const struct {
        const char *value;
        uint64_t size;
        enum http_range_result result;
        uint64_t start, length;
    } cases[] = {
        {"bytes=0-0", 10, HTTP_RANGE_SATISFIABLE, 0, 1},
        {"bytes=2-5", 10, HTTP_RANGE_SATISFIABLE, 2, 4},
        {"bytes=5-", 10, HTTP_RANGE_SATISFIABLE, 5, 5},
        {"bytes=9-9", 10, HTTP_RANGE_SATISFIABLE, 9, 1},
        {"bytes=-3", 10, HTTP_RANGE_SATISFIABLE, 7, 3},
        {"bytes=-10", 10, HTTP_RANGE_SATISFIABLE, 0, 10},
        {"bytes=-20", 10, HTTP_RANGE_SATISFIABLE, 0, 10},
        {"bytes=0-100", 10, HTTP_RANGE_SATISFIABLE, 0, 10},
        {"bytes=0-99999999999999999999999", 10, HTTP_RANGE_SATISFIABLE, 0, 10},
        {"Bytes=1-2", 10, HTTP_RANGE_SATISFIABLE, 1, 2},
        {"bytes= 1-2 ", 10, HTTP_RANGE_SATISFIABLE, 1, 2},
        {"bytes=10-", 10, HTTP_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=10-20", 10, HTTP_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=-0", 10, HTTP_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=0-", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=-5", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=99999999999999999999999-", 10, HTTP_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=5-2", 10, HTTP_RANGE_IGNORE, 0, 0},
        {"bytes=0-1,3-4", 10, HTTP_RANGE_IGNORE, 0, 0},
        {"bytes=0-1, 3-4", 10, HTTP_RANGE_IGNORE, 0, 0},
        {"bytes=-", 10, HTTP_RANGE_IGNORE, 0, 0},
        {"bytes=", 10, HTTP_RANGE_IGNORE, 0, 0},
        {"bytes", 10, HTTP_RANGE_IGNORE, 0, 0},
        {"bytes=a-b", 10, HTTP_RANGE_IGNORE, 0, 0},
        {"bytes=1-2x", 10, HTTP_RANGE_IGNORE, 0, 0},
        {"bytes=--1", 10, HTTP_RANGE_IGNORE, 0, 0},
        {"bytes=1", 10, HTTP_RANGE_IGNORE, 0, 0},
        {"bytes 0-1", 10, HTTP_RANGE_IGNORE, 0, 0},
        {"items=0-1", 10, HTTP_RANGE_IGNORE, 0, 0},
        {"", 10, HTTP_RANGE_IGNORE, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t start = 12345, length = 12345;
        enum http_range_result r = http_range_parse(cases[i].value, strlen(cases[i].value),
                                                    cases[i].size, &start, &length);
        if (r != cases[i].result)
            test_fail(__FILE__, __LINE__, "\"%s\": %d", cases[i].value, (int)r);
        CHECK_EQ(r, cases[i].result);
        if (r == HTTP_RANGE_SATISFIABLE) {
            CHECK_EQ(start, cases[i].start);
            CHECK_EQ(length, cases[i].length);
        }
    }
}

TEST(range_responses)
{
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=2-5\r\n\r\n"), 206);
    CHECK(has_line("Content-Range: bytes 2-5/10"));
    CHECK(has_line("Content-Length: 4"));
    CHECK(resp.send_file);
    CHECK_EQ(resp.file_offset, 2);
    CHECK_EQ(resp.file_length, 4);
    CHECK(resp.keep_alive);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=-4\r\n\r\n"), 206);
    CHECK(has_line("Content-Range: bytes 6-9/10"));
    CHECK_EQ(resp.file_offset, 6);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=7-\r\n\r\n"), 206);
    CHECK(has_line("Content-Range: bytes 7-9/10"));
    /* unsatisfiable */
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=10-\r\n\r\n"), 416);
    CHECK(has_line("Content-Range: bytes */10"));
    CHECK(!resp.send_file);
    CHECK(resp.keep_alive);
    CHECK_EQ(serve("GET /empty.bin HTTP/1.1\r\nHost: h\r\nRange: bytes=0-\r\n\r\n"), 416);
    CHECK(has_line("Content-Range: bytes */0"));
    /* multi-range, malformed, two Range fields, HEAD: the whole file */
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1,4-5\r\n\r\n"), 200);
    CHECK(has_line("Content-Length: 10"));
    CHECK(!has_field("Content-Range"));
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=x\r\n\r\n"), 200);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\nRange: bytes=0-1\r\n"
                   "\r\n"),
             200);
    CHECK_EQ(serve("HEAD /a.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\n\r\n"), 200);
    CHECK(has_line("Content-Length: 10"));
}

TEST(if_range)
{
    CHECK_EQ(
        serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\nIf-Range: " A_ETAG "\r\n\r\n"),
        206);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\nIf-Range: \"other\""
                   "\r\n\r\n"),
             200);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\nIf-Range: W/" A_ETAG
                   "\r\n\r\n"),
             200);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\n"
                   "If-Range: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"),
             206);
    CHECK_EQ(serve("GET /wed.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\n"
                   "If-Range: Wed, 02 Nov 1994 08:49:37 GMT\r\n\r\n"),
             206);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\n"
                   "If-Range: Sun, 06 Nov 1994 08:49:38 GMT\r\n\r\n"),
             200);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\nIf-Range: junk\r\n"
                   "\r\n"),
             200);
}

/* ---- responses ---- */

TEST(response_200)
{
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\n"), 200);
    CHECK(starts_with(out, "HTTP/1.1 200 OK\r\n"));
    CHECK(has_line("Date: Tue, 09 May 1995 06:13:20 GMT"));
    CHECK(has_line("Server: Miura"));
    CHECK(has_line("Content-Type: text/plain; charset=utf-8"));
    CHECK(has_line("Content-Length: 10"));
    CHECK(has_line("Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT"));
    CHECK(has_line("ETag: " A_ETAG));
    CHECK(has_line("Accept-Ranges: bytes"));
    CHECK_EQ(strlen(body()), 0);
    CHECK_EQ(resp.out_len, strlen(out));
    CHECK(resp.send_file);
    CHECK_EQ(resp.file_offset, 0);
    CHECK_EQ(resp.file_length, 10);
    CHECK_EQ(resp.body_bytes, 10);
    CHECK(resp.keep_alive);
    /* index.html for directories with a slash */
    CHECK_EQ(serve("GET /dir/ HTTP/1.1\r\nHost: h\r\n\r\n"), 200);
    CHECK(has_line("Content-Length: 50"));
    CHECK(has_line("Content-Type: text/html; charset=utf-8"));
    /* empty file: 200, nothing to send */
    CHECK_EQ(serve("GET /empty.bin HTTP/1.1\r\nHost: h\r\n\r\n"), 200);
    CHECK(has_line("Content-Length: 0"));
    CHECK(has_line("Content-Type: application/octet-stream"));
    CHECK(!resp.send_file);
}

TEST(response_date_is_now)
{
    char date[HTTP_DATE_LEN + 1], line[64];
    CHECK(http_date_format(NOW, date));
    snprintf(line, sizeof(line), "Date: %s", date);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\n"), 200);
    CHECK(has_line(line));
    /* Last-Modified of a file from the future is clamped to Date */
    CHECK_EQ(serve("GET /future.css HTTP/1.1\r\nHost: h\r\n\r\n"), 200);
    snprintf(line, sizeof(line), "Last-Modified: %s", date);
    CHECK(has_line(line));
    CHECK(has_line("Content-Type: text/css; charset=utf-8"));
}

TEST(response_without_clock)
{
    struct http_request req;
    struct http_path p;
    struct http_file_info f = {HTTP_FILE_REGULAR, 10, MTIME};
    const char *r = "GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\n";
    CHECK_EQ(parse(r, &req), HTTP_PARSE_DONE);
    CHECK_EQ(http_path_normalize(req.target.ptr, req.target.len, path_buf, sizeof(path_buf), &p),
             0);
    http_respond_file(&req, &p, &f, HTTP_NO_CLOCK, out, sizeof(out), &resp);
    CHECK_EQ(resp.status, 200);
    CHECK(!has_field("Date"));
    CHECK(has_line("Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT"));
}

TEST(head_requests)
{
    CHECK_EQ(serve("HEAD /a.txt HTTP/1.1\r\nHost: h\r\n\r\n"), 200);
    CHECK(has_line("Content-Length: 10"));
    CHECK(has_line("ETag: " A_ETAG));
    CHECK(!resp.send_file);
    CHECK_EQ(resp.body_bytes, 0);
    CHECK_EQ(resp.out_len, strlen(out));
    CHECK_EQ(strlen(body()), 0);
    /* errors to HEAD carry the length of the page they do not send */
    CHECK_EQ(serve("HEAD /missing HTTP/1.1\r\nHost: h\r\n\r\n"), 404);
    CHECK_EQ(strlen(body()), 0);
    CHECK(has_field("Content-Length"));
    CHECK(!has_line("Content-Length: 0"));
    CHECK_EQ(serve("HEAD /dir HTTP/1.1\r\nHost: h\r\n\r\n"), 301);
    CHECK_EQ(strlen(body()), 0);
}

TEST(not_modified)
{
    /* If-None-Match: exact, in a list, weak, star, across several fields */
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-None-Match: " A_ETAG "\r\n\r\n"), 304);
    CHECK(starts_with(out, "HTTP/1.1 304 Not Modified\r\n"));
    CHECK(has_line("ETag: " A_ETAG));
    CHECK(!has_field("Content-Length"));
    CHECK_EQ(strlen(body()), 0);
    CHECK(!resp.send_file);
    CHECK(resp.keep_alive);
    CHECK_EQ(
        serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"x\", " A_ETAG " ,\"y\"\r\n\r\n"),
        304);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-None-Match: W/" A_ETAG "\r\n\r\n"), 304);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-None-Match: *\r\n\r\n"), 304);
    CHECK_EQ(serve("HEAD /a.txt HTTP/1.1\r\nHost: h\r\nIf-None-Match: *\r\n\r\n"), 304);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"x\"\r\n"
                   "If-None-Match: " A_ETAG "\r\n\r\n"),
             304);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"x\"\r\n\r\n"), 200);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"2ebc98a1-b\"\r\n\r\n"), 200);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-None-Match: 2ebc98a1-a\r\n\r\n"), 200);
    /* If-None-Match takes precedence over If-Modified-Since */
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"x\"\r\n"
                   "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"),
             200);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-None-Match: " A_ETAG "\r\n"
                   "If-Modified-Since: Sat, 01 Jan 1994 00:00:00 GMT\r\n\r\n"),
             304);
    /* If-Modified-Since alone */
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\n"
                   "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"),
             304);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\n"
                   "If-Modified-Since: Sunday, 06-Nov-94 08:49:37 GMT\r\n\r\n"),
             304);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\n"
                   "If-Modified-Since: Sun Nov  6 08:49:37 1994\r\n\r\n"),
             304);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\n"
                   "If-Modified-Since: Sun, 06 Nov 1994 08:49:36 GMT\r\n\r\n"),
             200);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\n"
                   "If-Modified-Since: Thu, 01 Jan 2099 00:00:00 GMT\r\n\r\n"),
             200); /* later than now: invalid */
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-Modified-Since: yesterday\r\n\r\n"), 200);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\n"
                   "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                   "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"),
             200); /* repeated: ignored */
    /* more If-None-Match fields than kept: answered in full */
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"1\"\r\n"
                   "If-None-Match: \"2\"\r\nIf-None-Match: \"3\"\r\nIf-None-Match: \"4\"\r\n"
                   "If-None-Match: " A_ETAG "\r\n\r\n"),
             200);
    /* a 304 wins over a Range */
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-None-Match: " A_ETAG "\r\n"
                   "Range: bytes=0-1\r\n\r\n"),
             304);
}

TEST(redirects_and_directories)
{
    CHECK_EQ(serve("GET /dir HTTP/1.1\r\nHost: h\r\n\r\n"), 301);
    CHECK(starts_with(out, "HTTP/1.1 301 Moved Permanently\r\n"));
    CHECK(has_line("Location: /dir/"));
    CHECK(resp.keep_alive);
    CHECK(!resp.send_file);
    CHECK(has_line("Content-Length: " /* the page follows */) == false);
    CHECK(has_field("Content-Length"));
    CHECK_EQ(serve("GET /dir?a=1&b=%20 HTTP/1.1\r\nHost: h\r\n\r\n"), 301);
    CHECK(has_line("Location: /dir/?a=1&b=%20"));
    CHECK_EQ(serve("GET /a%20b HTTP/1.1\r\nHost: h\r\n\r\n"), 301);
    CHECK(has_line("Location: /a%20b/"));
    CHECK_EQ(serve("GET /./x/../dir HTTP/1.1\r\nHost: h\r\n\r\n"), 301);
    CHECK(has_line("Location: /dir/"));
    /* index.html that is itself a directory; no listing */
    CHECK_EQ(serve("GET /sub/ HTTP/1.1\r\nHost: h\r\n\r\n"), 404);
    CHECK_EQ(serve("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 200);
}

TEST(error_responses)
{
    /* every status http.h lists for http_respond_error */
    static const int statuses[] = {400, 403, 404, 405, 408, 409, 411, 412, 413,
                                   414, 416, 417, 431, 500, 501, 503, 505};
    struct http_request req;
    char line[64];
    CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n", &req), HTTP_PARSE_DONE);
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        int s = statuses[i];
        http_respond_error(&req, s, NOW, out, sizeof(out), &resp);
        CHECK_EQ(resp.status, s);
        snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", s, http_reason(s));
        CHECK(starts_with(out, line));
        CHECK(strcmp(http_reason(s), "Unknown") != 0);
        CHECK_EQ(resp.out_len, strlen(out));
        snprintf(line, sizeof(line), "Content-Length: %zu", strlen(body()));
        CHECK(has_line(line));
        snprintf(line, sizeof(line), "<h1>%d %s</h1>", s, http_reason(s));
        CHECK(strstr(body(), line) != NULL);
        CHECK(has_line("Content-Type: text/html; charset=utf-8"));
        CHECK_EQ(resp.keep_alive, s == 403 || s == 404 || s == 409);
        CHECK_EQ(has_line("Connection: close"), !resp.keep_alive);
        CHECK_EQ(resp.body_bytes, strlen(body()));
    }
    /* 408 with no request at all */
    http_respond_error(NULL, 408, NOW, out, sizeof(out), &resp);
    CHECK(starts_with(out, "HTTP/1.1 408 Request Timeout\r\n"));
    CHECK(!resp.keep_alive);
    CHECK(has_line("Connection: close"));
    /* a status not in the list */
    http_respond_error(NULL, 299, NOW, out, sizeof(out), &resp);
    CHECK_EQ(resp.status, 500);
    /* nor statuses with a reason that are not errors, nor unknown errors */
    static const int not_listed[] = {0,   -404, 100, 200, 206, 301, 304, 399,  401, 402,
                                     410, 418,  499, 502, 504, 599, 600, 1404, 4040};
    for (size_t i = 0; i < sizeof(not_listed) / sizeof(not_listed[0]); i++) {
        http_respond_error(NULL, not_listed[i], NOW, out, sizeof(out), &resp);
        CHECK_EQ(resp.status, 500);
        CHECK(starts_with(out, "HTTP/1.1 500 Internal Server Error\r\n"));
    }
    /* file errors through the server */
    CHECK_EQ(serve("GET /missing.html HTTP/1.1\r\nHost: h\r\n\r\n"), 404);
    CHECK(resp.keep_alive);
    CHECK_EQ(serve("GET /secret HTTP/1.1\r\nHost: h\r\n\r\n"), 403);
    CHECK(resp.keep_alive);
    CHECK_EQ(serve("GET /missing.html HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"), 404);
    CHECK(!resp.keep_alive);
}

TEST(small_response_buffer)
{
    struct http_request req;
    struct http_path p;
    struct http_file_info dir = {HTTP_FILE_DIRECTORY, 0, MTIME};
    char target[1200];
    char *r;
    memset(target, 'x', sizeof(target));
    target[0] = '/';
    target[sizeof(target) - 1] = '\0';
    r = malloc(sizeof(target) + 64);
    snprintf(r, sizeof(target) + 64, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", target);
    CHECK_EQ(parse(r, &req), HTTP_PARSE_DONE);
    CHECK_EQ(http_path_normalize(req.target.ptr, req.target.len, path_buf, sizeof(path_buf), &p),
             0);
    /* a Location longer than the buffer: 500, still a complete response */
    http_respond_file(&req, &p, &dir, NOW, out, HTTP_RESPONSE_MIN, &resp);
    free(r);
    CHECK_EQ(resp.status, 500);
    CHECK(!resp.keep_alive);
    CHECK(resp.out_len > 0 && resp.out_len < HTTP_RESPONSE_MIN);
    CHECK(strstr(out, "\r\n\r\n") == out + resp.out_len - 4);
    /* error pages fit HTTP_RESPONSE_MIN */
    http_respond_error(&req, 431, NOW, out, HTTP_RESPONSE_MIN, &resp);
    CHECK_EQ(resp.status, 431);
    /* far too small: nothing to send, close */
    http_respond_error(&req, 404, NOW, out, 16, &resp);
    CHECK_EQ(resp.out_len, 0);
    CHECK(!resp.keep_alive);
}

/* struct http_out: a piece that fits goes in whole; one that does not marks
 * the head overflowed and leaves what was there, NUL-terminated. */
TEST(http_out_pieces)
{
    char buf[200], big[150];
    struct http_out b;
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';

    http_out_init(&b, buf, 12);
    http_out_fmt(&b, "%d-%s", 42, "abc");
    CHECK(!b.overflow);
    CHECK_EQ(b.len, 6);
    CHECK_STR(buf, "42-abc");
    http_out_fmt(&b, "%s", "12345"); /* 11 bytes and the NUL: fits exactly */
    CHECK(!b.overflow);
    CHECK_STR(buf, "42-abc12345");
    http_out_fmt(&b, "%c", 'z'); /* no room for it and the NUL */
    CHECK(b.overflow);
    CHECK_EQ(b.len, 11);
    CHECK_STR(buf, "42-abc12345");
    http_out_str(&b, ""); /* nothing more once overflowed */
    CHECK(b.overflow);

    /* a piece longer than 128 bytes (once the limit of a formatted piece) */
    http_out_init(&b, buf, sizeof(buf));
    http_out_str(&b, "X: ");
    http_out_fmt(&b, "%s\r\n", big);
    CHECK(!b.overflow);
    CHECK_EQ(b.len, 3 + strlen(big) + 2);
    CHECK_EQ(strlen(buf), b.len);
    http_out_fmt(&b, "%s", big); /* does not fit */
    CHECK(b.overflow);
    CHECK_EQ(strlen(buf), 3 + strlen(big) + 2);

    /* the status line and number headers, written without the formatter */
    http_out_init(&b, buf, sizeof(buf));
    http_out_head_start(&b, 505, HTTP_NO_CLOCK);
    http_out_header_uint(&b, "Content-Length", 0);
    http_out_header_uint(&b, "X", UINT64_MAX);
    http_out_head_start(&b, 100, HTTP_NO_CLOCK);
    CHECK(!b.overflow);
    CHECK_STR(buf, "HTTP/1.1 505 HTTP Version Not Supported\r\nServer: Miura\r\n"
                   "Content-Length: 0\r\nX: 18446744073709551615\r\n"
                   "HTTP/1.1 100 Continue\r\nServer: Miura\r\n");

    http_out_init(&b, buf, 0); /* no room at all */
    CHECK(b.overflow);
    http_out_fmt(&b, "%d", 1);
    CHECK(b.overflow);
}

/* ---- dates ---- */

TEST(date_known_values)
{
    static const struct {
        int64_t t;
        const char *text;
    } cases[] = {
        {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"},
        {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
        {-1, "Wed, 31 Dec 1969 23:59:59 GMT"},
        {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
        {951868800, "Wed, 01 Mar 2000 00:00:00 GMT"},
        {1709210096, "Thu, 29 Feb 2024 12:34:56 GMT"},
        {2147483647, "Tue, 19 Jan 2038 03:14:07 GMT"},
        {4102444800, "Fri, 01 Jan 2100 00:00:00 GMT"},
        {253402300799, "Fri, 31 Dec 9999 23:59:59 GMT"},
        {-62135596800, "Mon, 01 Jan 0001 00:00:00 GMT"},
    };
    char buf[HTTP_DATE_LEN + 1];
    int64_t t;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK(http_date_format(cases[i].t, buf));
        CHECK_STR(buf, cases[i].text);
        CHECK(http_date_parse(cases[i].text, strlen(cases[i].text), &t));
        CHECK_EQ(t, cases[i].t);
    }
    CHECK(!http_date_format(253402300800, buf));
    CHECK(!http_date_format(-62135596801, buf));
    CHECK(!http_date_format(INT64_MIN, buf));
    CHECK(!http_date_format(INT64_MAX, buf));
}

TEST(date_other_formats)
{
    int64_t t;
    const char *rfc850 = "Sunday, 06-Nov-94 08:49:37 GMT";
    const char *asctime = "Sun Nov  6 08:49:37 1994";
    CHECK(http_date_parse(rfc850, strlen(rfc850), &t));
    CHECK_EQ(t, 784111777);
    CHECK(http_date_parse(asctime, strlen(asctime), &t));
    CHECK_EQ(t, 784111777);
    CHECK(http_date_parse("Sun Nov 06 08:49:37 1994", 24, &t));
    CHECK_EQ(t, 784111777);
    CHECK(http_date_parse("Thursday, 01-Jan-09 00:00:00 GMT", 32, &t));
    CHECK_EQ(t, 1230768000); /* two-digit years below 70 are 20xx */
}

TEST(date_round_trip)
{
    char buf[HTTP_DATE_LEN + 1];
    int64_t t, back;
    /* about every 9.4 days from 1600 to 2400, at varying times of day */
    for (t = -11676096000LL; t < 13569465600LL; t += 811234) {
        CHECK(http_date_format(t, buf));
        CHECK_EQ(strlen(buf), HTTP_DATE_LEN);
        CHECK(http_date_parse(buf, HTTP_DATE_LEN, &back));
        CHECK_EQ(back, t);
    }
}

TEST(date_garbage)
{
    static const char *const bad[] = {
        "",
        "Sun, 06 Nov 1994 08:49:37 GM",
        "Sun, 06 Nov 1994 08:49:37 GMT ",
        " Sun, 06 Nov 1994 08:49:37 GMT",
        "sun, 06 Nov 1994 08:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 29 Feb 1900 08:49:37 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 06 Nov 0000 08:49:37 GMT",
        "Sun, 06 Nov 1994 08-49-37 GMT",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Xyz 1994 08:49:37 GMT",
        "Sun, -6 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sunday, 06 Nov 94 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994",
        "Sun Nov  6 08:49:37 94",
        "Sun Nov   6 08:49:37 1994",
        "Nov  6 08:49:37 1994",
        "1994-11-06T08:49:37Z",
        "784111777",
        "Sun,",
        "Sunday,",
        "Sun ",
    };
    int64_t t;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        /* an exact-size heap copy, so that ASan sees any read past the end */
        size_t len = strlen(bad[i]);
        char *copy = malloc(len ? len : 1);
        bool ok;
        memcpy(copy, bad[i], len);
        ok = http_date_parse(copy, len, &t);
        free(copy);
        if (ok)
            test_fail(__FILE__, __LINE__, "\"%s\" parsed", bad[i]);
        CHECK(!ok);
    }
    /* every proper prefix of a valid date of each form fails */
    static const char *const good[] = {"Sun, 06 Nov 1994 08:49:37 GMT",
                                       "Sunday, 06-Nov-94 08:49:37 GMT",
                                       "Sun Nov  6 08:49:37 1994"};
    for (size_t i = 0; i < 3; i++) {
        for (size_t n = 0; n < strlen(good[i]); n++) {
            char *copy = malloc(n ? n : 1);
            bool ok;
            memcpy(copy, good[i], n);
            ok = http_date_parse(copy, n, &t);
            free(copy);
            CHECK(!ok);
        }
    }
}

/* ---- content types ---- */

TEST(mime_types)
{
    static const struct {
        const char *path, *type;
    } cases[] = {
        {"/a.html", "text/html; charset=utf-8"},
        {"/a.htm", "text/html; charset=utf-8"},
        {"/a.css", "text/css; charset=utf-8"},
        {"/a.js", "text/javascript; charset=utf-8"},
        {"/a.mjs", "text/javascript; charset=utf-8"},
        {"/a.json", "application/json"},
        {"/a.txt", "text/plain; charset=utf-8"},
        {"/a.xml", "text/xml; charset=utf-8"},
        {"/a.svg", "image/svg+xml"},
        {"/a.png", "image/png"},
        {"/a.jpg", "image/jpeg"},
        {"/a.jpeg", "image/jpeg"},
        {"/a.gif", "image/gif"},
        {"/a.webp", "image/webp"},
        {"/favicon.ico", "image/x-icon"},
        {"/a.wasm", "application/wasm"},
        {"/a.pdf", "application/pdf"},
        {"/a.woff2", "font/woff2"},
        {"/a.woff", "font/woff"},
        {"/a.mp4", "video/mp4"},
        {"/A.PNG", "image/png"},
        {"/x/Index.Html", "text/html; charset=utf-8"},
        {"/a.tar.gz", "application/gzip"},
        {"/README", "application/octet-stream"},
        {"/a.unknown", "application/octet-stream"},
        {"/a.", "application/octet-stream"},
        {"/.png", "application/octet-stream"},
        {"/dir.png/file", "application/octet-stream"},
        {"/a.htmlx", "application/octet-stream"},
        {"/a.htm", "text/html; charset=utf-8"},
        {"", "application/octet-stream"},
        {"/a.map", "application/json"},
        {"/a.MD", "text/markdown; charset=utf-8"},
        {"/a.gz", "application/gzip"},
        {"/a.ogg", "audio/ogg"},
        {"/a.html htm", "application/octet-stream"}, /* one extension, not a group */
        {"/a.htm ", "application/octet-stream"},
        {"/a.ht", "application/octet-stream"},
        {"/a.jpeg2", "application/octet-stream"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_STR(http_mime_type(cases[i].path, strlen(cases[i].path)), cases[i].type);
    /* a NUL inside the extension matches nothing (and reads no further) */
    CHECK_STR(http_mime_type("/a.js\0x", 8), "application/octet-stream");
    CHECK_STR(http_mime_type("/a.css\0", 7), "application/octet-stream");
}

/* ---- access log ---- */

TEST(log_lines)
{
    struct http_request req;
    char line[64];
    CHECK_EQ(parse("GET /a.txt?q=\"1\" HTTP/1.1\r\nHost: h\r\n\r\n", &req), HTTP_PARSE_DONE);
    CHECK_EQ(http_log_format(line, sizeof(line), &req, 200, 1234), strlen(line));
    CHECK_STR(line, "GET /a.txt?q=\\x221\\x22 HTTP/1.1 200 1234");
    CHECK_EQ(http_log_format(line, sizeof(line), NULL, 408, 0), strlen(line));
    CHECK_STR(line, "- - - 408 0");
    /* a long target is cut, the status and size stay */
    char *r = request_with_line(200, "\r\nHost: h\r\n\r\n");
    CHECK_EQ(parse(r, &req), HTTP_PARSE_DONE);
    size_t n = http_log_format(line, sizeof(line), &req, 404, 99);
    free(r);
    CHECK_EQ(n, strlen(line));
    CHECK(n < sizeof(line));
    CHECK(starts_with(line, "GET /aaaa"));
    CHECK(strstr(line, " HTTP/1.1 404 99") != NULL);
    CHECK_EQ(http_log_format(line, 8, &req, 404, 99), 0);
    CHECK_EQ(http_log_format(line, 0, &req, 404, 99), 0);
}

TEST(preconditions)
{
    /* If-Match: strong comparison, lists, star, several fields */
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-Match: " A_ETAG "\r\n\r\n"), 200);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-Match: \"x\", " A_ETAG "\r\n\r\n"), 200);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-Match: *\r\n\r\n"), 200);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-Match: \"x\"\r\n"
                   "If-Match: " A_ETAG "\r\n\r\n"),
             200);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-Match: \"x\"\r\n\r\n"), 412);
    CHECK(starts_with(out, "HTTP/1.1 412 Precondition Failed\r\n"));
    CHECK(resp.keep_alive);
    CHECK(!resp.send_file);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-Match: W/" A_ETAG "\r\n\r\n"), 412);
    /* If-Match wins over If-Unmodified-Since */
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-Match: " A_ETAG "\r\n"
                   "If-Unmodified-Since: Sat, 01 Jan 1994 00:00:00 GMT\r\n\r\n"),
             200);
    /* If-Unmodified-Since alone */
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\n"
                   "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"),
             200);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\n"
                   "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:36 GMT\r\n\r\n"),
             412);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-Unmodified-Since: soon\r\n\r\n"), 200);
    /* 412 comes before 304 and 206 */
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-Match: \"x\"\r\n"
                   "If-None-Match: " A_ETAG "\r\nRange: bytes=0-1\r\n\r\n"),
             412);
    CHECK_EQ(serve("GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-Match: " A_ETAG "\r\n"
                   "Range: bytes=0-1\r\n\r\n"),
             206);
}

/* ---- directory listings */

TEST(listing_sorted_escaped_and_linked)
{
    struct http_dirent e[] = {{"z.txt", false}, {".", true},           {"a&b<c>\"'.txt", false},
                              {"sub", true},    {"with space", false}, {"..", true}};
    static char page[4096];
    size_t n = http_listing_body(page, sizeof(page), "/docs/a<b>/", e, 6);
    CHECK(n > 0 && n == strlen(page));
    CHECK(strstr(page, "<title>Index of /docs/a&lt;b&gt;/</title>") != NULL);
    CHECK(strstr(page, "<li><a href=\"../\">../</a></li>\n") != NULL);
    const char *amp = strstr(
        page, "<li><a href=\"a%26b%3Cc%3E%22%27.txt\">a&amp;b&lt;c&gt;&quot;&#39;.txt</a></li>");
    const char *sub = strstr(page, "<li><a href=\"sub/\">sub/</a></li>");
    const char *sp = strstr(page, "<li><a href=\"with%20space\">with space</a></li>");
    const char *z = strstr(page, "<li><a href=\"z.txt\">z.txt</a></li>");
    CHECK(amp && sub && sp && z && amp < sub && sub < sp && sp < z); /* sorted */
    CHECK(strstr(page, "href=\"./\"") == NULL); /* "." and ".." from readdir left out */
    CHECK(strstr(page, "more entries") == NULL);
    CHECK(strcmp(page + n - 15, "</body></html>\n") == 0);
}

TEST(listing_of_the_root_has_no_parent_link)
{
    struct http_dirent e[] = {{"index.txt", false}};
    static char page[1024];
    CHECK(http_listing_body(page, sizeof(page), "/", e, 1) > 0);
    CHECK(strstr(page, "href=\"../\"") == NULL);
    CHECK(strstr(page, "<li><a href=\"index.txt\">index.txt</a></li>") != NULL);
}

TEST(listing_that_does_not_fit_counts_what_is_left_out)
{
    static struct http_dirent e[200];
    static char names[200][16];
    for (int i = 0; i < 200; i++) {
        snprintf(names[i], sizeof(names[i]), "f%03d", i);
        e[i] = (struct http_dirent){names[i], false};
    }
    static char page[2048];
    size_t n = http_listing_body(page, sizeof(page), "/many/", e, 200);
    CHECK(n > 0 && n < sizeof(page) && n == strlen(page));
    unsigned shown = 0;
    for (const char *p = page; (p = strstr(p, "<li>")) != NULL; p++)
        shown++;
    char want[64];
    snprintf(want, sizeof(want), "<p>%u more entries not shown</p>", 200 - (shown - 1));
    CHECK(shown > 10 && shown < 200);
    CHECK(strstr(page, want) != NULL); /* shown - 1: the parent link is an <li> too */
    CHECK(strcmp(page + n - 15, "</body></html>\n") == 0);
    /* Too small for even the head of the page: 0, and nothing past the end. */
    char tiny[40];
    memset(tiny, 'x', sizeof(tiny));
    CHECK_EQ(http_listing_body(tiny, 32, "/many/", e, 200), 0);
    CHECK(tiny[32] == 'x');
}

TEST(listing_head)
{
    struct http_request req;
    CHECK(parse("GET /d/ HTTP/1.1\r\nHost: x\r\n\r\n", &req) == HTTP_PARSE_DONE);
    memset(out, 0, sizeof(out));
    http_respond_listing(&req, 1234, NOW, out, sizeof(out), &resp);
    CHECK_EQ(resp.status, 200);
    CHECK(starts_with(out, "HTTP/1.1 200 OK\r\n"));
    CHECK(has_line("Content-Type: text/html; charset=utf-8"));
    CHECK(has_line("Content-Length: 1234"));
    CHECK(!has_field("ETag") && !has_field("Last-Modified"));
    CHECK(resp.keep_alive && resp.body_bytes == 1234 && resp.out_len == strlen(out));
    CHECK(parse("HEAD /d/ HTTP/1.0\r\n\r\n", &req) == HTTP_PARSE_DONE);
    http_respond_listing(&req, 1234, NOW, out, sizeof(out), &resp);
    CHECK(has_line("Content-Length: 1234") && resp.body_bytes == 0 && !resp.keep_alive);
}
