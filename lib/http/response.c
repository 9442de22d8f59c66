/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Response heads, error pages and the access-log line.
 *
 * Everything is written into the caller's buffer through struct http_out,
 * which never writes past its end and remembers that something did not fit.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "miura/http.h"

/* Not inlined: at its four call sites it costs the image 112 B more. */
__attribute__((noinline)) void http_out_init(struct http_out *b, char *buf, size_t size)
{
    b->p = buf;
    b->size = size;
    b->len = 0;
    b->overflow = size == 0;
    if (size)
        buf[0] = '\0';
}

void http_out_bytes(struct http_out *b, const void *s, size_t n)
{
    if (b->overflow || b->size - b->len < n + 1) {
        b->overflow = true;
        return;
    }
    if (n) /* s may be NULL then */
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void http_out_str(struct http_out *b, const char *s)
{
    http_out_bytes(b, s, strlen(s));
}

void http_out_header(struct http_out *b, const char *name, const char *value)
{
    http_out_str(b, name);
    http_out_str(b, ": ");
    http_out_str(b, value);
    http_out_str(b, "\r\n");
}

void http_out_header_uint(struct http_out *b, const char *name, uint64_t value)
{
    char digits[21], *p = digits + sizeof(digits) - 1;
    *p = '\0';
    do
        *--p = (char)('0' + value % 10);
    while (value /= 10);
    http_out_header(b, name, p);
}

/* Formats straight into the buffer: what does not fit is cut off there and
 * the head marked as overflowed. */
void http_out_fmt(struct http_out *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (b->overflow)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->size - b->len) {
        b->overflow = true;
        b->p[b->len] = '\0';
        return;
    }
    b->len += (size_t)n;
}

/* "CCCReason" entries, each its own literal (a "\0" before a digit would
 * be read as an octal escape), ending with an empty one: one string, no
 * table of pointers (the image is small). */
static const char reasons[] = "100Continue\0"
                              "200OK\0"
                              "201Created\0"
                              "204No Content\0"
                              "206Partial Content\0"
                              "301Moved Permanently\0"
                              "304Not Modified\0"
                              "400Bad Request\0"
                              "403Forbidden\0"
                              "404Not Found\0"
                              "405Method Not Allowed\0"
                              "408Request Timeout\0"
                              "409Conflict\0"
                              "411Length Required\0"
                              "412Precondition Failed\0"
                              "413Content Too Large\0"
                              "414URI Too Long\0"
                              "416Range Not Satisfiable\0"
                              "417Expectation Failed\0"
                              "431Request Header Fields Too Large\0"
                              "500Internal Server Error\0"
                              "501Not Implemented\0"
                              "503Service Unavailable\0"
                              "505HTTP Version Not Supported\0";

const char *http_reason(int status)
{
    for (const char *r = reasons; *r; r += strlen(r) + 1)
        if ((r[0] - '0') * 100 + (r[1] - '0') * 10 + (r[2] - '0') == status)
            return r + 3;
    return "Unknown";
}

void http_out_head_start(struct http_out *b, int status, int64_t now)
{
    char date[HTTP_DATE_LEN + 1], line[] = "HTTP/1.1 000 ";
    line[9] = (char)('0' + status / 100 % 10); /* a status has three digits */
    line[10] = (char)('0' + status / 10 % 10);
    line[11] = (char)('0' + status % 10);
    http_out_str(b, line);
    http_out_str(b, http_reason(status));
    http_out_str(b, "\r\n");
    if (now != HTTP_NO_CLOCK && http_date_format(now, date))
        http_out_header(b, "Date", date);
    http_out_str(b, "Server: Miura\r\n");
}

/* HTTP/1.1 keeps alive by default; HTTP/1.0 must be told. */
void http_out_head_end(struct http_out *b, const struct http_request *req, bool keep_alive)
{
    if (!keep_alive)
        http_out_str(b, "Connection: close\r\n");
    else if (req && req->version_minor == 0)
        http_out_str(b, "Connection: keep-alive\r\n");
    http_out_str(b, "\r\n");
}

void http_out_finish(struct http_out *b, int status, bool keep_alive, uint64_t body_bytes,
                     int64_t now, struct http_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    if (b->overflow) {
        /* the last resort when a head did not fit: a bodiless 500 */
        struct http_out e;
        http_out_init(&e, b->p, b->size);
        http_out_head_start(&e, 500, now);
        http_out_str(&e, "Content-Length: 0\r\nConnection: close\r\n\r\n");
        resp->status = 500;
        resp->out_len = e.overflow ? 0 : e.len;
        return;
    }
    resp->status = status;
    resp->keep_alive = keep_alive;
    resp->out_len = b->len;
    resp->body_bytes = body_bytes;
}

static bool is_head(const struct http_request *req)
{
    return req && req->method == HTTP_METHOD_HEAD;
}

void http_respond(const struct http_request *req, int status, const char *headers,
                  const char *content_type, const void *body, size_t body_len, int64_t now,
                  char *out, size_t out_size, struct http_response *resp)
{
    struct http_out b;
    bool keep_alive = req && req->keep_alive;
    bool no_body = status == 204 || status == 304;

    http_out_init(&b, out, out_size);
    http_out_head_start(&b, status, now);
    if (headers)
        http_out_str(&b, headers);
    if (content_type)
        http_out_header(&b, "Content-Type", content_type);
    if (!no_body)
        http_out_header_uint(&b, "Content-Length", body_len);
    http_out_head_end(&b, req, keep_alive);
    if (no_body || is_head(req))
        body_len = 0;
    bool inline_body = !b.overflow && b.size - b.len > body_len;
    if (inline_body)
        http_out_bytes(&b, body, body_len);
    http_out_finish(&b, status, keep_alive, body_len, now, resp);
    if (!b.overflow && !inline_body)
        resp->body_left = body_len;
}

size_t http_status_page(char *body, size_t size, int status)
{
    int n = snprintf(body, size,
                     "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>"
                     "<body><h1>%d %s</h1></body></html>\n",
                     status, http_reason(status), status, http_reason(status));
    return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

/* An error page, with a status page as its body. */
static void respond_error_page(const struct http_request *req, int status, bool keep_alive,
                               const char *headers, int64_t now, char *out, size_t out_size,
                               struct http_response *resp)
{
    struct http_out b;
    char body[192];
    size_t body_len = http_status_page(body, sizeof(body), status);

    http_out_init(&b, out, out_size);
    http_out_head_start(&b, status, now);
    if (headers)
        http_out_str(&b, headers);
    http_out_fmt(&b, "Content-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n", body_len);
    http_out_head_end(&b, req, keep_alive);
    if (is_head(req))
        body_len = 0;
    http_out_bytes(&b, body, body_len);
    http_out_finish(&b, status, keep_alive, body_len, now, resp);
}

void http_respond_page(const struct http_request *req, int status, bool keep_alive,
                       const char *headers, int64_t now, char *out, size_t out_size,
                       struct http_response *resp)
{
    respond_error_page(req, status, keep_alive, headers, now, out, out_size, resp);
}

void http_respond_error(const struct http_request *req, int status, int64_t now, char *out,
                        size_t out_size, struct http_response *resp)
{
    switch (status) {
    case 400:
    case 403:
    case 404:
    case 405:
    case 408:
    case 409:
    case 411:
    case 412:
    case 413:
    case 414:
    case 416:
    case 417:
    case 431:
    case 500:
    case 501:
    case 503:
    case 505:
        break;
    default:
        status = 500;
    }
    bool keep_alive = req && req->keep_alive && (status == 403 || status == 404 || status == 409);
    respond_error_page(req, status, keep_alive, NULL, now, out, out_size, resp);
}

void http_allow_field(char *out, unsigned allowed)
{
    struct http_out a;

    http_out_init(&a, out, HTTP_ALLOW_FIELD_MAX);
    http_out_str(&a, "Allow:");
    for (unsigned m = HTTP_METHOD_GET; m < HTTP_METHOD_OTHER; m++) {
        if (allowed & HTTP_ALLOW(m)) {
            http_out_str(&a, a.len > 6 ? ", " : " ");
            http_out_str(&a, http_method_name(m));
        }
    }
    http_out_str(&a, "\r\n");
}

void http_respond_405(const struct http_request *req, unsigned allowed, int64_t now, char *out,
                      size_t out_size, struct http_response *resp)
{
    char allow[HTTP_ALLOW_FIELD_MAX];

    http_allow_field(allow, allowed);
    respond_error_page(req, 405, false, allow, now, out, out_size, resp);
}

/* ---- access log ---- */

static void out_log_text(struct http_out *b, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c > 0x20 && c < 0x7f && c != '"' && c != '\\')
            http_out_bytes(b, (const char *)&c, 1);
        else
            http_out_fmt(b, "\\x%02x", c);
    }
}

size_t http_log_format(char *out, size_t size, const struct http_request *req, int status,
                       uint64_t body_bytes)
{
    /* the tail "HTTP/1.x 999 18446744073709551615" needs at most 34 bytes */
    char tail[48];
    size_t tail_len, room;
    struct http_out b = {out, size, 0, false};

    if (size == 0)
        return 0;
    out[0] = '\0';
    if (req && req->method != HTTP_METHOD_NONE)
        snprintf(tail, sizeof(tail), " HTTP/1.%u %d %llu", req->version_minor, status,
                 (unsigned long long)body_bytes);
    else
        snprintf(tail, sizeof(tail), " - %d %llu", status, (unsigned long long)body_bytes);
    tail_len = strlen(tail);
    if (size <= tail_len + 4)
        return 0;
    room = size - tail_len - 1; /* bytes for method and target */

    b.size = room + 1;
    if (req && req->method != HTTP_METHOD_NONE) {
        out_log_text(&b, req->method_name.ptr, req->method_name.len);
        http_out_str(&b, " ");
        /* cut the target where it no longer fits: http_out_bytes stops at the end */
        for (size_t i = 0; i < req->target.len && !b.overflow; i++)
            out_log_text(&b, req->target.ptr + i, 1);
    } else {
        http_out_str(&b, "- -");
    }
    b.overflow = false;
    b.size = size;
    http_out_str(&b, tail);
    return b.len;
}

void http_log(const struct http_request *req, const struct http_response *resp)
{
    char line[256];
    size_t n = http_log_format(line, sizeof(line) - 1, req, resp->status, resp->body_bytes);
    line[n] = '\n';
    /* One write, one console_write: a line is never split (printf goes out
     * 128 bytes at a time) and lines of other CPUs never land inside it. */
    (void)!write(STDOUT_FILENO, line, n + 1);
}
