/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target for the web server's HTTP module: arbitrary bytes go to the
 * request parser (with default and with tiny limits), and what it accepts goes
 * on through the path normalizer and the response builder, as the appliance
 * would. The same bytes are also given to the range and date parsers directly.
 * Besides the sanitizers, each step checks its own promises and traps if one is
 * broken: slices inside the buffer, prefixes agreeing with the whole, paths
 * that cannot leave the root, ranges inside the file, dates that round-trip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../apps/webserver/http.h"

#define REQUIRE(cond)         \
    do {                      \
        if (!(cond))          \
            __builtin_trap(); \
    } while (0)

static void check_slice(struct http_slice s, const uint8_t *buf, size_t len)
{
    if (s.len == 0)
        return;
    REQUIRE((const uint8_t *)s.ptr >= buf && (const uint8_t *)s.ptr + s.len <= buf + len);
}

static void check_path(const struct http_path *p)
{
    REQUIRE(p->path[0] == '/');
    REQUIRE(strlen(p->path) == p->len);
    REQUIRE(strstr(p->path, "//") == NULL);
    REQUIRE(strstr(p->path, "/./") == NULL && strstr(p->path, "/../") == NULL);
    REQUIRE(!(p->len >= 2 && memcmp(p->path + p->len - 2, "/.", 2) == 0));
    REQUIRE(!(p->len >= 3 && memcmp(p->path + p->len - 3, "/..", 3) == 0));
    REQUIRE(strchr(p->path, '\\') == NULL);
    for (size_t i = 0; i < p->len; i++)
        REQUIRE((unsigned char)p->path[i] >= 0x20 && p->path[i] != 0x7f);
}

static void check_response(const char *out, size_t size, const struct http_response *resp)
{
    REQUIRE(resp->out_len < size);
    if (resp->out_len > 0) {
        REQUIRE(memcmp(out, "HTTP/1.1 ", 9) == 0);
        REQUIRE(strstr(out, "\r\n\r\n") != NULL);
    }
}

static void serve(const uint8_t *data, size_t size, const struct http_request *req,
                  uint64_t file_size, int64_t mtime)
{
    static char path_buf[HTTP_DEFAULT_MAX_REQUEST_LINE + 16];
    static char out[4096];
    struct http_path path;
    struct http_response resp;
    struct http_file_info info = {(enum http_file_kind)(file_size % 4), file_size, mtime};
    char log[256];
    int status;

    check_slice(req->target, data, size);
    check_slice(req->host, data, size);
    check_slice(req->range, data, size);
    check_slice(req->if_range, data, size);
    check_slice(req->if_modified_since, data, size);
    status =
        http_path_normalize(req->target.ptr, req->target.len, path_buf, sizeof(path_buf), &path);
    if (status) {
        REQUIRE(status == 400 || status == 414);
        http_respond_error(req, status, mtime, out, sizeof(out), &resp);
    } else {
        check_path(&path);
        http_respond_file(req, &path, &info, (int64_t)(file_size * 7), out, sizeof(out), &resp);
        if (resp.send_file)
            REQUIRE(resp.file_offset + resp.file_length <= file_size);
    }
    check_response(out, sizeof(out), &resp);
    REQUIRE(http_log_format(log, sizeof(log), req, resp.status, resp.body_bytes) < sizeof(log));
}

static void parse_one(const uint8_t *data, size_t size, const struct http_limits *limits,
                      uint64_t file_size, int64_t mtime)
{
    struct http_request req, part;
    enum http_parse_status r = http_parse_request((const char *)data, size, limits, &req);
    enum http_parse_status rp;
    size_t cut = size / 2;

    /* a prefix gives INCOMPLETE or the same answer */
    rp = http_parse_request((const char *)data, cut, limits, &part);
    if (rp != HTTP_PARSE_INCOMPLETE) {
        REQUIRE(rp == r);
        REQUIRE(part.error_status == req.error_status);
        REQUIRE(part.head_length == req.head_length);
    }
    if (r == HTTP_PARSE_DONE) {
        REQUIRE(req.head_length > 0 && req.head_length <= size);
        REQUIRE(req.method != HTTP_METHOD_NONE && req.content_length <= limits->max_body);
        REQUIRE(req.head_length <= http_limits_buffer_size(limits));
        if (HTTP_ALLOW_GET & HTTP_ALLOW(req.method)) {
            serve(data, size, &req, file_size, mtime);
        } else { /* as the connection loop answers for the web server */
            static char out[4096];
            struct http_response resp;
            http_respond_405(&req, HTTP_ALLOW_GET, mtime, out, sizeof(out), &resp);
            check_response(out, sizeof(out), &resp);
            REQUIRE(resp.status == 405 && !resp.keep_alive &&
                    strstr(out, "\r\nAllow: GET, HEAD\r\n"));
        }
    } else if (r == HTTP_PARSE_ERROR) {
        static char out[4096];
        struct http_response resp;
        REQUIRE(req.error_status >= 400 && req.error_status < 600);
        http_respond_error(&req, req.error_status, mtime, out, sizeof(out), &resp);
        check_response(out, sizeof(out), &resp);
        REQUIRE(!resp.keep_alive);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct http_limits tiny = {32, 64, 3, 0};
    uint64_t file_size = 0, start, length;
    int64_t t;
    char date[HTTP_DATE_LEN + 1];

    /* a file size and a time from the first bytes, for the range and response */
    for (size_t i = 0; i < size && i < 8; i++)
        file_size = file_size << 8 | data[i];
    file_size %= 1000003;

    parse_one(data, size, &http_default_limits, file_size, (int64_t)file_size * 3000);
    parse_one(data, size, &tiny, file_size, -(int64_t)file_size);

    switch (http_range_parse((const char *)data, size, file_size, &start, &length)) {
    case HTTP_RANGE_SATISFIABLE:
        REQUIRE(length > 0 && start < file_size && start + length <= file_size);
        break;
    case HTTP_RANGE_UNSATISFIABLE:
    case HTTP_RANGE_IGNORE:
        break;
    }

    if (http_date_parse((const char *)data, size, &t) && http_date_format(t, date)) {
        int64_t back;
        REQUIRE(http_date_parse(date, HTTP_DATE_LEN, &back) && back == t);
    }
    http_mime_type((const char *)data, size);
    return 0;
}
