/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * HTTP/1.1 logic of the static web server: a pure module without I/O.
 *
 * The caller owns sockets, files and clocks. One connection is served like this:
 *
 *   1. Read bytes into a buffer of at least http_limits_buffer_size() bytes.
 *   2. http_parse_request(buf, len, limits, &req):
 *        HTTP_PARSE_INCOMPLETE  read more and call again with the grown buffer
 *                               (the parser keeps no state between calls);
 *        HTTP_PARSE_ERROR       http_respond_error(&req, req.error_status, ...),
 *                               send it, close the connection;
 *        HTTP_PARSE_DONE        the request head is buf[0, req.head_length); the
 *                               next pipelined request starts right after it.
 *   3. http_path_normalize(req.target, ...) turns the request-target into a safe
 *      path below the served root ("/a/b.html"; "/dir/" becomes "/dir/index.html").
 *      A non-zero result is the status to answer with (http_respond_error).
 *   4. The caller stats root + path and fills struct http_file_info.
 *   5. http_respond_file() decides the status (200, 206, 301, 304, 403, 404, 416)
 *      and writes the response head into a caller buffer. The caller sends
 *      out[0, resp.out_len), then, if resp.send_file, the file bytes
 *      [resp.file_offset, resp.file_offset + resp.file_length).
 *   6. If resp.keep_alive, drop the head_length bytes of this request from the
 *      buffer and continue with step 2; otherwise close after sending.
 *   The slices in struct http_request point into the caller's buffer: keep it
 *   unchanged until step 5 is done.
 *
 * Timeouts are the caller's job; on one, send http_respond_error(NULL, 408, ...)
 * and close.
 * Each call walks the buffer from its start. To bound that work, a caller may
 * call again only when the new bytes contain a '\n' or the buffer is full: the
 * answer never depends on that (only how early an error is noticed).
 *
 * Limits (struct http_limits; defaults in brackets):
 *   max_request_line   [8192]  bytes of the request line without its line
 *                              terminator; longer: 414.
 *   max_header_bytes  [16384]  bytes of all header field lines, each counted
 *                              with its line terminator, not counting the
 *                              request line or the final empty line; more: 431.
 *   max_header_fields    [64]  number of header field lines; more: 431.
 *   Up to HTTP_MAX_LEADING_EMPTY bytes of empty lines before the request line
 *   are skipped (RFC 7230 §3.5); more: 400.
 *
 * Accepted: methods GET and HEAD (others: 405 with "Allow: GET, HEAD"), versions
 * HTTP/1.0 and HTTP/1.1 (any other well-formed "HTTP/d.d": 505), origin-form and
 * absolute-form ("http://host/path") targets. Lines end in CRLF or a bare LF.
 * Rejected with 400: malformed request line or header field, obsolete line
 * folding, whitespace before a field's colon, control bytes in a field value,
 * a bare CR, a missing Host on HTTP/1.1, several Host fields, an invalid or
 * duplicated Content-Length, any Transfer-Encoding. A request body is never
 * accepted: Content-Length greater than 0 gives 413. Every parse error means
 * the connection must be closed after the error response (the module cannot know
 * where the next request would start).
 *
 * See docs/webserver-http.md for the full list of rules and status codes.
 */
#ifndef MIURA_WEBSERVER_HTTP_H
#define MIURA_WEBSERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A byte range of the caller's buffer; not NUL-terminated. */
struct http_slice {
    const char *ptr;
    size_t len;
};

struct http_limits {
    size_t max_request_line;
    size_t max_header_bytes;
    unsigned max_header_fields;
};

#define HTTP_DEFAULT_MAX_REQUEST_LINE  8192
#define HTTP_DEFAULT_MAX_HEADER_BYTES  16384
#define HTTP_DEFAULT_MAX_HEADER_FIELDS 64
#define HTTP_MAX_LEADING_EMPTY         16
/* If-Match and If-None-Match may come in several field lines; the first this
 * many are kept. With more, the condition is not evaluated (the full response
 * is sent, which is always correct). */
#define HTTP_MAX_LIST_FIELDS 4

extern const struct http_limits http_default_limits;

/* Smallest receive buffer that holds every request head the parser can accept
 * under these limits: a caller with a buffer this large never sees
 * HTTP_PARSE_INCOMPLETE with a full buffer. */
size_t http_limits_buffer_size(const struct http_limits *limits);

enum http_method {
    HTTP_METHOD_NONE = 0, /* request line not parsed (yet) */
    HTTP_METHOD_GET,
    HTTP_METHOD_HEAD,
    HTTP_METHOD_OTHER, /* a well-formed method we do not serve: 405 */
};

enum http_parse_status {
    HTTP_PARSE_DONE,
    HTTP_PARSE_INCOMPLETE,
    HTTP_PARSE_ERROR,
};

struct http_request {
    size_t head_length; /* DONE: bytes used, including leading empty lines */
    int error_status;   /* ERROR: 400, 405, 413, 414, 431 or 505 */

    /* Set as soon as the request line has been parsed (also on some errors). */
    enum http_method method;
    struct http_slice method_name;
    struct http_slice target; /* raw request-target, 0x21..0x7e only */
    unsigned version_minor;   /* 0 or 1 (HTTP/1.x) */

    /* Valid after DONE. Header values have surrounding whitespace removed. */
    bool keep_alive; /* version default, then Connection: close / keep-alive */
    bool has_host;
    struct http_slice host;
    bool has_if_modified_since;
    struct http_slice if_modified_since;
    unsigned if_match_count; /* field lines seen; first HTTP_MAX_LIST_FIELDS kept */
    struct http_slice if_match[HTTP_MAX_LIST_FIELDS];
    bool has_if_unmodified_since;
    struct http_slice if_unmodified_since;
    unsigned if_none_match_count; /* field lines seen; first HTTP_MAX_LIST_FIELDS kept */
    struct http_slice if_none_match[HTTP_MAX_LIST_FIELDS];
    unsigned range_count; /* Range is used only when exactly one field was sent */
    struct http_slice range;
    bool has_if_range;
    struct http_slice if_range;
    unsigned field_count;
};

/*
 * Parses one request head from buf[0, len). Keeps no state: call again with the
 * whole buffer when more bytes have arrived. A result other than INCOMPLETE is
 * final for these bytes: any longer buffer that starts with them gives the same
 * result. INCOMPLETE is returned only while no limit is exceeded.
 */
enum http_parse_status http_parse_request(const char *buf, size_t len,
                                          const struct http_limits *limits,
                                          struct http_request *req);

/* ---- paths (http_path.c) ---- */

struct http_path {
    char *path;              /* the caller's buffer, NUL-terminated, starts with '/' */
    size_t len;              /* strlen(path) */
    bool index_appended;     /* the target ended in '/' and "index.html" was added */
    struct http_slice query; /* raw query string without '?', may be empty */
};

#define HTTP_INDEX_FILE "index.html"

/*
 * Turns a request-target into a path below the served root, written into
 * out[0, out_size). Steps: strip "http://authority" of an absolute-form target;
 * cut the query ('?') and fragment ('#'); percent-decode; remove "." segments,
 * resolve ".." segments and collapse repeated '/'; append "index.html" if the
 * path ends in '/'. The result never contains "..", "." or empty segments, NUL,
 * control bytes, backslashes or invalid UTF-8.
 * Returns 0, or the status to respond with:
 *   400  not origin- or absolute-form; bad percent escape; an encoded '/'
 *        (%2F, rejected rather than treated as a name byte); a control byte
 *        (0x00-0x1f, 0x7f, also percent-encoded); a backslash (raw or %5C);
 *        invalid UTF-8 after decoding (overlong forms such as %C0%AE,
 *        surrogates, > U+10FFFF, truncated sequences); a ".." that would climb
 *        above the root.
 *   414  the normalized path does not fit in out_size.
 */
int http_path_normalize(const char *target, size_t len, char *out, size_t out_size,
                        struct http_path *result);

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

/* ---- dates (httpdate.c) ---- */

#define HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* Writes the IMF-fixdate of unix time t plus a NUL into out (at least
 * HTTP_DATE_LEN + 1 bytes). Returns false if t is outside years 1..9999. */
bool http_date_format(int64_t t, char *out);

/* Parses an IMF-fixdate, an RFC 850 date ("Sunday, 06-Nov-94 08:49:37 GMT",
 * two-digit years 70..99 are 19xx, 00..69 are 20xx) or an asctime date
 * ("Sun Nov  6 08:49:37 1994"). The whole slice must be the date. Returns false
 * on anything else; never reads outside s[0, len). */
bool http_date_parse(const char *s, size_t len, int64_t *t);

/* ---- content types (mime.c) ---- */

/* The Content-Type for a path, chosen by its extension (case-insensitive);
 * "application/octet-stream" if unknown. Text types carry "; charset=utf-8". */
const char *http_mime_type(const char *path, size_t len);

/* ---- responses (http_response.c) ---- */

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

struct http_response {
    int status;
    bool keep_alive; /* false: close the connection after sending */
    size_t out_len;  /* send out[0, out_len) first (head, and body of errors) */
    bool send_file;  /* then send these bytes of the file */
    uint64_t file_offset;
    uint64_t file_length;
    uint64_t body_bytes; /* body bytes sent (inline or file), for the access log */
};

/* The buffer for a response must have at least this many bytes. A 301 whose
 * Location does not fit becomes a 500. */
#define HTTP_RESPONSE_MIN 1024

/* Pass as `now` when there is no wall clock: the Date field is then left out
 * (RFC 7231 §7.1.1.2) and If-Modified-Since is not checked against "now". */
#define HTTP_NO_CLOCK INT64_MIN

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

/*
 * Builds a complete error response (head and a short HTML body; no body for
 * HEAD) for one of 400, 403, 404, 405 (adds Allow: GET, HEAD), 408, 412, 413,
 * 414, 416, 431, 500, 501, 505; another status is answered as 500. req may be NULL
 * (e.g. 408 before any byte arrived). The connection is kept alive only for 403
 * and 404 after a request that asked for keep-alive; all other error responses
 * carry "Connection: close".
 */
void http_respond_error(const struct http_request *req, int status, int64_t now, char *out,
                        size_t out_size, struct http_response *resp);

/* The reason phrase of a status ("Not Found"); "Unknown" if not known. */
const char *http_reason(int status);

/*
 * Formats an access-log line without newline: `METHOD TARGET HTTP/1.x STATUS
 * BYTES`, with "-" for what req does not have (req may be NULL). Bytes outside
 * 0x21..0x7e and '"' and '\' are written as \xHH; the target is truncated to
 * fit. Returns the length written (always NUL-terminated if size > 0).
 */
size_t http_log_format(char *out, size_t size, const struct http_request *req, int status,
                       uint64_t body_bytes);

#endif
