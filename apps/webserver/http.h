/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The static web server's HTTP: files, conditional requests, ranges, content
 * types and directory listings, on top of the HTTP component
 * (include/miura/http.h: parsing, paths, response heads, the connection
 * loop). A pure module without I/O, like the component.
 *
 * For each request the component's loop hands over (GET and HEAD only):
 *   1. http_path_normalize(req.target, ...) turns the request-target into a
 *      safe path below the served root ("/a/b.html"; "/dir/" becomes
 *      "/dir/index.html"). A non-zero result is the status to answer with
 *      (http_respond_error).
 *   2. The caller stats root + path and fills struct http_file_info.
 *   3. http_respond_file() decides the status (200, 206, 301, 304, 403, 404,
 *      412, 416) and writes the response head into a caller buffer. The
 *      caller sends out[0, resp.out_len), then, if resp.send_file, the file
 *      bytes [resp.file_offset, resp.file_offset + resp.file_length).
 *
 * See docs/webserver-http.md for the rules and status codes.
 */
#ifndef MIURA_WEBSERVER_HTTP_H
#define MIURA_WEBSERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "miura/http.h"

#define HTTP_INDEX_FILE "index.html"

/* The component's target-to-path with "index.html" for a directory. */
static inline int http_path_normalize(const char *target, size_t len, char *out, size_t out_size,
                                      struct http_path *result)
{
    return http_target_path(target, len, out, out_size, HTTP_INDEX_FILE, result);
}

/* ---- ranges (http_range.c) ---- */

enum http_range_result {
    HTTP_RANGE_IGNORE,        /* no usable single range: send the whole file (200) */
    HTTP_RANGE_SATISFIABLE,   /* send [*start, *start + *length) with 206 */
    HTTP_RANGE_UNSATISFIABLE, /* 416 with "Content-Range: bytes * /size" */
};

/*
 * Interprets a Range field value for a representation of `size` bytes. Only a
 * single "bytes=" range is served: "a-b", "a-" and "-n" (whitespace allowed
 * around the range). Several ranges, another unit or any syntax error give
 * IGNORE (RFC 7233 §3.1 lets a server ignore Range). a > b is a syntax error.
 * a >= size, "-0" and any range of an empty file give UNSATISFIABLE; b is
 * clamped to size - 1. Numbers saturate instead of overflowing.
 */
enum http_range_result http_range_parse(const char *value, size_t len, uint64_t size,
                                        uint64_t *start, uint64_t *length);

/* ---- content types (mime.c) ---- */

/* The Content-Type for a path, chosen by its extension (case-insensitive);
 * "application/octet-stream" if unknown. Text types carry "; charset=utf-8". */
const char *http_mime_type(const char *path, size_t len);

/* ---- file responses (http_file.c) ---- */

enum http_file_kind {
    HTTP_FILE_MISSING,   /* ENOENT, ENOTDIR, ENAMETOOLONG: 404 */
    HTTP_FILE_FORBIDDEN, /* EACCES, or not a regular file or directory: 403 */
    HTTP_FILE_REGULAR,
    HTTP_FILE_DIRECTORY,
};

struct http_file_info {
    enum http_file_kind kind;
    uint64_t size;
    int64_t mtime; /* unix seconds */
};

/*
 * Answers a parsed request for a file. Decides, in this order: 404 (missing),
 * 403 (forbidden), 301 to path + "/" (a directory whose target had no trailing
 * '/'; 404 if index.html itself is a directory), 412 (If-Match, or else
 * If-Unmodified-Since, fails), 304 (If-None-Match, which takes precedence, or
 * If-Modified-Since), 206/416 (Range on GET, subject to If-Range), else 200.
 * This is the order of RFC 7232 §6. HEAD gets the same head as GET, no body.
 * Header fields: Date, Server: Miura, Content-Type, Content-Length,
 * Last-Modified, ETag ("<hex mtime>-<hex size>"), Accept-Ranges, Content-Range,
 * Location, Connection.
 */
void http_respond_file(const struct http_request *req, const struct http_path *path,
                       const struct http_file_info *file, int64_t now, char *out, size_t out_size,
                       struct http_response *resp);

/* ---- directory listings (listing=1) ---- */

struct http_dirent {
    const char *name; /* one path segment, as readdir gave it */
    bool dir;
};

/*
 * The HTML body of a listing of the directory dir (a decoded path ending in
 * '/'): entries sorted by name (sorted in place), "." and ".." left out, a
 * link to the parent unless dir is "/", each name HTML-escaped and its link
 * percent-encoded (all but A-Z a-z 0-9 - . _ ~). Written into buf[0, cap);
 * entries that do not fit are left out and counted in a closing line.
 * Returns the body length, or 0 when not even the page's head fits (dir is
 * escaped twice in it: give at least 12 * strlen(dir) + 256 bytes).
 */
size_t http_listing_body(char *buf, size_t cap, const char *dir, struct http_dirent *ents,
                         size_t n);

/* The head of a 200 listing response of body_len bytes (text/html, no
 * validators: a listing is made anew on every request). */
void http_respond_listing(const struct http_request *req, size_t body_len, int64_t now, char *out,
                          size_t out_size, struct http_response *resp);

#endif
