/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Response decisions and response heads: conditional requests (RFC 7232),
 * ranges (RFC 7233), errors, redirects, and the access-log line.
 *
 * Everything is written into the caller's buffer through struct out_buf, which
 * never writes past its end and remembers that something did not fit.
 */
#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "http_chars.h"

struct out_buf {
    char *p;
    size_t size, len;
    bool overflow;
};

static void out_bytes(struct out_buf *b, const char *s, size_t n)
{
    if (b->overflow || b->size - b->len < n + 1) {
        b->overflow = true;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void out_str(struct out_buf *b, const char *s)
{
    out_bytes(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void out_fmt(struct out_buf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        b->overflow = true;
        return;
    }
    out_bytes(b, tmp, (size_t)n);
}

const char *http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 416:
        return "Range Not Satisfiable";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

/* Status line, Date and Server. */
static void out_head_start(struct out_buf *b, int status, int64_t now)
{
    char date[HTTP_DATE_LEN + 1];
    out_fmt(b, "HTTP/1.1 %d %s\r\n", status, http_reason(status));
    if (now != HTTP_NO_CLOCK && http_date_format(now, date))
        out_fmt(b, "Date: %s\r\n", date);
    out_str(b, "Server: Miura\r\n");
}

/* Connection and the empty line. HTTP/1.1 keeps alive by default; HTTP/1.0
 * must be told. */
static void out_head_end(struct out_buf *b, const struct http_request *req, bool keep_alive)
{
    if (!keep_alive)
        out_str(b, "Connection: close\r\n");
    else if (req && req->version_minor == 0)
        out_str(b, "Connection: keep-alive\r\n");
    out_str(b, "\r\n");
}

static bool is_head(const struct http_request *req)
{
    return req && req->method == HTTP_METHOD_HEAD;
}

static void fill_resp(struct http_response *resp, int status, bool keep_alive, size_t out_len)
{
    memset(resp, 0, sizeof(*resp));
    resp->status = status;
    resp->keep_alive = keep_alive;
    resp->out_len = out_len;
}

/* The last resort when a head did not fit: a bodiless 500, then nothing. */
static void respond_overflow(int64_t now, char *out, size_t out_size, struct http_response *resp)
{
    struct out_buf b = {out, out_size, 0, false};
    out_head_start(&b, 500, now);
    out_str(&b, "Content-Length: 0\r\nConnection: close\r\n\r\n");
    fill_resp(resp, 500, false, b.overflow ? 0 : b.len);
}

/* The short HTML page of an error or redirect: its length, 0 if it did not fit. */
static int status_page(char *body, size_t size, int status)
{
    int n = snprintf(body, size,
                     "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>"
                     "<body><h1>%d %s</h1></body></html>\n",
                     status, http_reason(status), status, http_reason(status));
    return n < 0 || (size_t)n >= size ? 0 : n;
}

/* An error page; content_range_size >= 0 adds "Content-Range: bytes * /size". */
static void respond_error_page(const struct http_request *req, int status, bool keep_alive,
                               const uint64_t *range_size, int64_t now, char *out, size_t out_size,
                               struct http_response *resp)
{
    struct out_buf b = {out, out_size, 0, false};
    char body[192];
    int body_len;

    body_len = status_page(body, sizeof(body), status);
    out_head_start(&b, status, now);
    if (status == 405)
        out_str(&b, "Allow: GET, HEAD\r\n");
    if (range_size)
        out_fmt(&b, "Content-Range: bytes */%llu\r\n", (unsigned long long)*range_size);
    out_fmt(&b, "Content-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n", body_len);
    out_head_end(&b, req, keep_alive);
    if (!is_head(req))
        out_bytes(&b, body, (size_t)body_len);
    if (b.overflow) {
        respond_overflow(now, out, out_size, resp);
        return;
    }
    fill_resp(resp, status, keep_alive, b.len);
    resp->body_bytes = is_head(req) ? 0 : (uint64_t)body_len;
}

void http_respond_error(const struct http_request *req, int status, int64_t now, char *out,
                        size_t out_size, struct http_response *resp)
{
    bool keep_alive;
    switch (status) {
    case 400:
    case 403:
    case 404:
    case 405:
    case 408:
    case 412:
    case 413:
    case 414:
    case 416:
    case 431:
    case 500:
    case 501:
    case 503:
    case 505:
        break;
    default:
        status = 500;
    }
    keep_alive = req && req->keep_alive && (status == 403 || status == 404);
    respond_error_page(req, status, keep_alive, NULL, now, out, out_size, resp);
}

/* ---- conditional requests ---- */

/*
 * Does the entity-tag list s[0, len) (1#entity-tag, or "*") contain etag? With
 * weak comparison the W/ prefix is ignored; with strong comparison a weak tag
 * never matches (RFC 7232 §2.3.2). A malformed list matches nothing from the
 * point where it goes wrong.
 */
static bool etag_list_matches(const char *s, size_t len, const char *etag, bool weak)
{
    size_t i = 0, etag_len = strlen(etag);
    while (i < len) {
        size_t start;
        bool is_weak = false;
        while (i < len && (s[i] == ',' || http_is_ows((unsigned char)s[i])))
            i++;
        if (i == len)
            break;
        if (s[i] == '*')
            return true;
        if (len - i >= 2 && s[i] == 'W' && s[i + 1] == '/') {
            is_weak = true;
            i += 2;
        }
        if (i == len || s[i] != '"')
            return false;
        start = i++;
        while (i < len && s[i] != '"') {
            unsigned char c = (unsigned char)s[i];
            if (c < 0x21 || c == 0x7f)
                return false; /* etagc = %x21 / %x23-7E / obs-text */
            i++;
        }
        if (i == len)
            return false;
        i++;
        if ((weak || !is_weak) && i - start == etag_len && memcmp(s + start, etag, etag_len) == 0)
            return true;
    }
    return false;
}

static bool if_none_match_matches(const struct http_request *req, const char *etag)
{
    if (req->if_none_match_count > HTTP_MAX_LIST_FIELDS)
        return false; /* not all kept: answer in full, which is always correct */
    for (unsigned k = 0; k < req->if_none_match_count; k++) {
        if (etag_list_matches(req->if_none_match[k].ptr, req->if_none_match[k].len, etag, true))
            return true;
    }
    return false;
}

/* RFC 7232 §6 steps 1 and 2: true means 412. */
static bool precondition_failed(const struct http_request *req, const char *etag,
                                int64_t last_modified)
{
    int64_t since;
    if (req->if_match_count > 0) {
        if (req->if_match_count > HTTP_MAX_LIST_FIELDS)
            return false; /* not all kept: ignore the condition */
        for (unsigned k = 0; k < req->if_match_count; k++) {
            if (etag_list_matches(req->if_match[k].ptr, req->if_match[k].len, etag, false))
                return false;
        }
        return true;
    }
    if (req->has_if_unmodified_since &&
        http_date_parse(req->if_unmodified_since.ptr, req->if_unmodified_since.len, &since))
        return last_modified > since;
    return false;
}

/* RFC 7232 §6 steps 3 and 4, for GET and HEAD: true means 304. */
static bool not_modified(const struct http_request *req, const char *etag, int64_t last_modified,
                         int64_t now)
{
    int64_t since;
    if (req->if_none_match_count > 0)
        return if_none_match_matches(req, etag);
    if (!req->has_if_modified_since ||
        !http_date_parse(req->if_modified_since.ptr, req->if_modified_since.len, &since))
        return false;
    if (now != HTTP_NO_CLOCK && since > now)
        return false; /* a date in the future is invalid (§3.3) */
    return last_modified <= since;
}

/* If-Range (RFC 7233 §3.2): an entity-tag must match strongly, a date exactly. */
static bool if_range_holds(const struct http_request *req, const char *etag, int64_t last_modified)
{
    const char *s = req->if_range.ptr;
    size_t len = req->if_range.len;
    int64_t date;
    if (!req->has_if_range)
        return true;
    /* an entity-tag starts with '"' or "W/"; a date may start with 'W' (Wed) */
    if ((len > 0 && s[0] == '"') || (len > 1 && s[0] == 'W' && s[1] == '/'))
        return len == strlen(etag) && memcmp(s, etag, len) == 0;
    return http_date_parse(s, len, &date) && date == last_modified;
}

/* ---- redirects ---- */

/* Percent-encodes what may not stand literally in a Location path or query. */
static void out_uri_part(struct out_buf *b, const char *s, size_t len, bool query)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool plain = c > 0x20 && c < 0x7f && !memchr("\"%<>\\^`{|}#", c, 11) && (query || c != '?');
        if (plain || (query && c == '%'))
            out_bytes(b, (const char *)&c, 1);
        else
            out_fmt(b, "%%%02X", c);
    }
}

static void respond_redirect(const struct http_request *req, const struct http_path *path,
                             int64_t now, char *out, size_t out_size, struct http_response *resp)
{
    struct out_buf b = {out, out_size, 0, false};
    char body[192];
    size_t body_len = (size_t)status_page(body, sizeof(body), 301);
    out_head_start(&b, 301, now);
    out_str(&b, "Location: ");
    out_uri_part(&b, path->path, path->len, false);
    out_str(&b, "/");
    if (path->query.len > 0) {
        out_str(&b, "?");
        out_uri_part(&b, path->query.ptr, path->query.len, true);
    }
    out_fmt(&b, "\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n", body_len);
    out_head_end(&b, req, req->keep_alive);
    if (!is_head(req))
        out_bytes(&b, body, body_len);
    if (b.overflow) {
        respond_overflow(now, out, out_size, resp);
        return;
    }
    fill_resp(resp, 301, req->keep_alive, b.len);
    resp->body_bytes = is_head(req) ? 0 : body_len;
}

/* ---- directory listings ---- */

static void out_html(struct out_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            out_str(b, "&amp;");
            break;
        case '<':
            out_str(b, "&lt;");
            break;
        case '>':
            out_str(b, "&gt;");
            break;
        case '"':
            out_str(b, "&quot;");
            break;
        case '\'':
            out_str(b, "&#39;");
            break;
        default:
            out_bytes(b, s, 1);
        }
    }
}

static void out_link(struct out_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            memchr("-._~", c, 4))
            out_bytes(b, s, 1);
        else
            out_fmt(b, "%%%02X", c);
    }
}

size_t http_listing_body(char *buf, size_t cap, const char *dir, struct http_dirent *ents, size_t n)
{
    for (size_t i = 1; i < n; i++) /* insertion sort: listings are short */
        for (size_t j = i; j > 0 && strcmp(ents[j - 1].name, ents[j].name) > 0; j--) {
            struct http_dirent t = ents[j];
            ents[j] = ents[j - 1];
            ents[j - 1] = t;
        }
    const size_t tail = 96; /* room kept for the closing lines */
    struct out_buf b = {buf, cap > tail ? cap - tail : 1, 0, false};
    out_str(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of ");
    out_html(&b, dir);
    out_str(&b, "</title></head><body><h1>Index of ");
    out_html(&b, dir);
    out_str(&b, "</h1><ul>\n");
    if (strcmp(dir, "/") != 0)
        out_str(&b, "<li><a href=\"../\">../</a></li>\n");
    if (b.overflow)
        return 0; /* not even the page's head fits */
    size_t left = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = ents[i].name;
        if (!strcmp(name, ".") || !strcmp(name, ".."))
            continue;
        if (left) { /* full: the rest are only counted */
            left++;
            continue;
        }
        size_t mark = b.len;
        out_str(&b, "<li><a href=\"");
        out_link(&b, name);
        out_str(&b, ents[i].dir ? "/\">" : "\">");
        out_html(&b, name);
        out_str(&b, ents[i].dir ? "/</a></li>\n" : "</a></li>\n");
        if (b.overflow) { /* take the partial line back */
            b.len = mark;
            b.p[mark] = '\0';
            b.overflow = false;
            left++;
        }
    }
    b.size = cap; /* the closing lines use the room kept for them */
    if (left)
        out_fmt(&b, "</ul><p>%zu more entries not shown</p>\n", left);
    else
        out_str(&b, "</ul>\n");
    out_str(&b, "</body></html>\n");
    return b.overflow ? 0 : b.len;
}

void http_respond_listing(const struct http_request *req, size_t body_len, int64_t now, char *out,
                          size_t out_size, struct http_response *resp)
{
    struct out_buf b = {out, out_size, 0, false};
    out_head_start(&b, 200, now);
    out_fmt(&b, "Content-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n", body_len);
    out_head_end(&b, req, req->keep_alive);
    if (b.overflow) {
        respond_overflow(now, out, out_size, resp);
        return;
    }
    fill_resp(resp, 200, req->keep_alive, b.len);
    resp->body_bytes = is_head(req) ? 0 : body_len;
}

/* ---- files ---- */

void http_respond_file(const struct http_request *req, const struct http_path *path,
                       const struct http_file_info *file, int64_t now, char *out, size_t out_size,
                       struct http_response *resp)
{
    struct out_buf b = {out, out_size, 0, false};
    char etag[40], date[HTTP_DATE_LEN + 1];
    int64_t last_modified = file->mtime;
    uint64_t start = 0, length = file->size;
    int status = 200;
    bool unchanged;

    if (file->kind == HTTP_FILE_MISSING ||
        (file->kind == HTTP_FILE_DIRECTORY && path->index_appended)) {
        respond_error_page(req, 404, req->keep_alive, NULL, now, out, out_size, resp);
        return;
    }
    if (file->kind == HTTP_FILE_FORBIDDEN) {
        respond_error_page(req, 403, req->keep_alive, NULL, now, out, out_size, resp);
        return;
    }
    if (file->kind == HTTP_FILE_DIRECTORY) {
        respond_redirect(req, path, now, out, out_size, resp);
        return;
    }

    /* Last-Modified may not be later than Date (RFC 7232 §2.2.1). */
    if (now != HTTP_NO_CLOCK && last_modified > now)
        last_modified = now;
    snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)file->mtime,
             (unsigned long long)file->size);

    if (precondition_failed(req, etag, last_modified)) {
        respond_error_page(req, 412, req->keep_alive, NULL, now, out, out_size, resp);
        return;
    }
    unchanged = not_modified(req, etag, last_modified, now);
    if (unchanged) {
        status = 304;
        out_head_start(&b, 304, now);
    } else {
        if (req->method == HTTP_METHOD_GET && req->range_count == 1 &&
            if_range_holds(req, etag, last_modified)) {
            switch (http_range_parse(req->range.ptr, req->range.len, file->size, &start, &length)) {
            case HTTP_RANGE_SATISFIABLE:
                status = 206;
                break;
            case HTTP_RANGE_UNSATISFIABLE:
                respond_error_page(req, 416, req->keep_alive, &file->size, now, out, out_size,
                                   resp);
                return;
            case HTTP_RANGE_IGNORE:
                start = 0;
                length = file->size;
                break;
            }
        }
        out_head_start(&b, status, now);
        out_fmt(&b, "Content-Type: %s\r\n", http_mime_type(path->path, path->len));
        out_fmt(&b, "Content-Length: %llu\r\n", (unsigned long long)length);
        if (status == 206)
            out_fmt(&b, "Content-Range: bytes %llu-%llu/%llu\r\n", (unsigned long long)start,
                    (unsigned long long)(start + length - 1), (unsigned long long)file->size);
        out_str(&b, "Accept-Ranges: bytes\r\n");
    }
    if (http_date_format(last_modified, date))
        out_fmt(&b, "Last-Modified: %s\r\n", date);
    out_fmt(&b, "ETag: %s\r\n", etag);
    out_head_end(&b, req, req->keep_alive);
    if (b.overflow) {
        respond_overflow(now, out, out_size, resp);
        return;
    }
    fill_resp(resp, status, req->keep_alive, b.len);
    if (!unchanged && req->method == HTTP_METHOD_GET) {
        resp->send_file = length > 0;
        resp->file_offset = start;
        resp->file_length = length;
        resp->body_bytes = length;
    }
}

/* ---- access log ---- */

static void out_log_text(struct out_buf *b, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c > 0x20 && c < 0x7f && c != '"' && c != '\\')
            out_bytes(b, (const char *)&c, 1);
        else
            out_fmt(b, "\\x%02x", c);
    }
}

size_t http_log_format(char *out, size_t size, const struct http_request *req, int status,
                       uint64_t body_bytes)
{
    /* the tail "HTTP/1.x 999 18446744073709551615" needs at most 34 bytes */
    char tail[48];
    size_t tail_len, room;
    struct out_buf b = {out, size, 0, false};

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
        out_str(&b, " ");
        /* cut the target where it no longer fits: out_bytes stops at the end */
        for (size_t i = 0; i < req->target.len && !b.overflow; i++)
            out_log_text(&b, req->target.ptr + i, 1);
    } else {
        out_str(&b, "- -");
    }
    b.overflow = false;
    b.size = size;
    out_str(&b, tail);
    return b.len;
}
