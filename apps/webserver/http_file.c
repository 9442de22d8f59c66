/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The web server's responses for files: conditional requests (RFC 7232),
 * ranges (RFC 7233), redirects to directories, listings. Heads are written
 * with the HTTP component's struct http_out (miura/http.h), which never
 * writes past the caller's buffer.
 */
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "miura/http_chars.h"

static bool is_head(const struct http_request *req)
{
    return req->method == HTTP_METHOD_HEAD;
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
static void out_uri_part(struct http_out *b, const char *s, size_t len, bool query)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool plain = c > 0x20 && c < 0x7f && !memchr("\"%<>\\^`{|}#", c, 11) && (query || c != '?');
        if (plain || (query && c == '%'))
            http_out_bytes(b, (const char *)&c, 1);
        else
            http_out_fmt(b, "%%%02X", c);
    }
}

static void respond_redirect(const struct http_request *req, const struct http_path *path,
                             int64_t now, char *out, size_t out_size, struct http_response *resp)
{
    struct http_out b;
    http_out_init(&b, out, out_size);
    char body[192];
    size_t body_len = http_status_page(body, sizeof(body), 301);
    http_out_head_start(&b, 301, now);
    http_out_str(&b, "Location: ");
    out_uri_part(&b, path->path, path->len, false);
    http_out_str(&b, "/");
    if (path->query.len > 0) {
        http_out_str(&b, "?");
        out_uri_part(&b, path->query.ptr, path->query.len, true);
    }
    http_out_fmt(&b, "\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n",
                 body_len);
    http_out_head_end(&b, req, req->keep_alive);
    if (is_head(req))
        body_len = 0;
    http_out_bytes(&b, body, body_len);
    http_out_finish(&b, 301, req->keep_alive, body_len, now, resp);
}

/* ---- directory listings ---- */

static void out_html(struct http_out *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            http_out_str(b, "&amp;");
            break;
        case '<':
            http_out_str(b, "&lt;");
            break;
        case '>':
            http_out_str(b, "&gt;");
            break;
        case '"':
            http_out_str(b, "&quot;");
            break;
        case '\'':
            http_out_str(b, "&#39;");
            break;
        default:
            http_out_bytes(b, s, 1);
        }
    }
}

static void out_link(struct http_out *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            memchr("-._~", c, 4))
            http_out_bytes(b, s, 1);
        else
            http_out_fmt(b, "%%%02X", c);
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
    struct http_out b = {buf, cap > tail ? cap - tail : 1, 0, false};
    http_out_str(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of ");
    out_html(&b, dir);
    http_out_str(&b, "</title></head><body><h1>Index of ");
    out_html(&b, dir);
    http_out_str(&b, "</h1><ul>\n");
    if (strcmp(dir, "/") != 0)
        http_out_str(&b, "<li><a href=\"../\">../</a></li>\n");
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
        http_out_str(&b, "<li><a href=\"");
        out_link(&b, name);
        http_out_str(&b, ents[i].dir ? "/\">" : "\">");
        out_html(&b, name);
        http_out_str(&b, ents[i].dir ? "/</a></li>\n" : "</a></li>\n");
        if (b.overflow) { /* take the partial line back */
            b.len = mark;
            b.p[mark] = '\0';
            b.overflow = false;
            left++;
        }
    }
    b.size = cap; /* the closing lines use the room kept for them */
    if (left)
        http_out_fmt(&b, "</ul><p>%zu more entries not shown</p>\n", left);
    else
        http_out_str(&b, "</ul>\n");
    http_out_str(&b, "</body></html>\n");
    return b.overflow ? 0 : b.len;
}

void http_respond_listing(const struct http_request *req, size_t body_len, int64_t now, char *out,
                          size_t out_size, struct http_response *resp)
{
    struct http_out b;
    http_out_init(&b, out, out_size);
    http_out_head_start(&b, 200, now);
    http_out_fmt(&b, "Content-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n", body_len);
    http_out_head_end(&b, req, req->keep_alive);
    http_out_finish(&b, 200, req->keep_alive, is_head(req) ? 0 : body_len, now, resp);
}

/* ---- files ---- */

void http_respond_file(const struct http_request *req, const struct http_path *path,
                       const struct http_file_info *file, int64_t now, char *out, size_t out_size,
                       struct http_response *resp)
{
    struct http_out b;
    http_out_init(&b, out, out_size);
    char etag[40], date[HTTP_DATE_LEN + 1];
    int64_t last_modified = file->mtime;
    uint64_t start = 0, length = file->size;
    int status = 200;
    bool unchanged;

    if (file->kind == HTTP_FILE_MISSING ||
        (file->kind == HTTP_FILE_DIRECTORY && path->index_appended)) {
        status = 404;
        goto page;
    }
    if (file->kind == HTTP_FILE_FORBIDDEN) {
        status = 403;
        goto page;
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
        status = 412;
        goto page;
    }
    unchanged = not_modified(req, etag, last_modified, now);
    if (unchanged) {
        status = 304;
        http_out_head_start(&b, 304, now);
    } else {
        if (req->method == HTTP_METHOD_GET && req->range_count == 1 &&
            if_range_holds(req, etag, last_modified)) {
            switch (http_range_parse(req->range.ptr, req->range.len, file->size, &start, &length)) {
            case HTTP_RANGE_SATISFIABLE:
                status = 206;
                break;
            case HTTP_RANGE_UNSATISFIABLE: {
                char range[48];
                snprintf(range, sizeof(range), "Content-Range: bytes */%llu\r\n",
                         (unsigned long long)file->size);
                http_respond_page(req, 416, req->keep_alive, range, now, out, out_size, resp);
                return;
            }
            case HTTP_RANGE_IGNORE:
                start = 0;
                length = file->size;
                break;
            }
        }
        http_out_head_start(&b, status, now);
        http_out_header(&b, "Content-Type", http_mime_type(path->path, path->len));
        http_out_header_uint(&b, "Content-Length", length);
        if (status == 206)
            http_out_fmt(&b, "Content-Range: bytes %llu-%llu/%llu\r\n", (unsigned long long)start,
                         (unsigned long long)(start + length - 1), (unsigned long long)file->size);
        http_out_str(&b, "Accept-Ranges: bytes\r\n");
    }
    if (http_date_format(last_modified, date))
        http_out_header(&b, "Last-Modified", date);
    http_out_header(&b, "ETag", etag);
    http_out_head_end(&b, req, req->keep_alive);
    http_out_finish(&b, status, req->keep_alive, 0, now, resp);
    if (!b.overflow && !unchanged && req->method == HTTP_METHOD_GET) {
        resp->send_file = length > 0;
        resp->file_offset = start;
        resp->file_length = length;
        resp->body_bytes = length;
    }
    return;

page: /* the answer is a status page */
    http_respond_page(req, status, req->keep_alive, NULL, now, out, out_size, resp);
}
