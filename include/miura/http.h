/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The HTTP component (`http` in an appliance's units): HTTP/1.1 for
 * appliances, in three layers that can be used alone.
 *
 *   1. Pure functions, no I/O, no allocation (the host unit tests and
 *      fuzzers run them as they are): the request-head parser, the
 *      request-target to path normaliser, query parameters, dates, response
 *      heads, error pages, the access-log line, and the route matcher.
 *   2. The connection loop, http_serve(): accepts on a listening socket and
 *      serves each connection in a thread of its own: keep-alive,
 *      pipelining, request bodies up to a limit (with 100-continue), the
 *      limits below (413, 414, 431), a request timeout (408), an idle
 *      timeout, and, when memory runs out, idle keep-alive connections
 *      closed before new ones are refused. It calls one handler per request.
 *   3. The router, http_router_handle(): a handler that normalises the
 *      target (400, 414), matches it against a table of routes (404, or 405
 *      with Allow) and calls the route's function, which answers with
 *      http_reply().
 *
 * Everything that comes from the client is checked here, once: a handler
 * sees a well-formed head, a body of exactly Content-Length bytes, and (from
 * the router) a decoded path without "..", ".", empty segments, NUL or other
 * control bytes, backslashes, encoded '/' or invalid UTF-8. The web server
 * appliance (apps/webserver) is built on this component; docs/appliances.md
 * shows a whole microservice (examples/kv). All of it builds for Linux
 * too: layer 1 alone in the host unit tests and fuzzers, all three in the
 * Linux build of an appliance (docs/appliances.md, "Test on Linux").
 *
 * Parser contract (layer 1), for callers that run their own loop:
 *   1. Read bytes into a buffer of at least http_limits_buffer_size() bytes.
 *   2. http_parse_request(buf, len, limits, &req):
 *        HTTP_PARSE_INCOMPLETE  read more and call again with the grown buffer
 *                               (the parser keeps no state between calls);
 *        HTTP_PARSE_ERROR       send http_respond_error(&req, req.error_status)
 *                               and close the connection;
 *        HTTP_PARSE_DONE        the head is buf[0, req.head_length); a body of
 *                               req.content_length bytes follows it, then the
 *                               next pipelined request.
 *   A result other than INCOMPLETE is final for these bytes: any longer buffer
 *   that starts with them gives the same result. Each call walks the buffer
 *   from its start; to bound that work, call again only when the new bytes
 *   contain a '\n' or the buffer is full (the answer never depends on that).
 *
 * Limits (struct http_limits; defaults in brackets):
 *   max_request_line   [8192]  bytes of the request line without its line
 *                              terminator; longer: 414.
 *   max_header_bytes  [16384]  bytes of all header field lines, each counted
 *                              with its line terminator, not counting the
 *                              request line or the final empty line; more: 431.
 *   max_header_fields    [64]  number of header field lines; more: 431.
 *   max_body              [0]  largest Content-Length accepted; more: 413.
 *   Up to HTTP_MAX_LEADING_EMPTY bytes of empty lines before the request line
 *   are skipped (RFC 7230 §3.5); more: 400.
 *
 * Accepted: any method token (GET, HEAD, POST, PUT and DELETE are named in
 * enum http_method, others are HTTP_METHOD_OTHER; which ones an appliance
 * serves is its choice: http_server_config.methods, or the routes), versions
 * HTTP/1.0 and HTTP/1.1 (another well-formed "HTTP/d.d": 505), origin-form
 * and absolute-form targets, lines ending in CRLF or a bare LF, a body given
 * by Content-Length. Rejected with 400: a malformed request line or field,
 * obsolete line folding, whitespace before a field's colon, control bytes in
 * a field value, a bare CR, a missing Host on HTTP/1.1, several Host fields,
 * an invalid or duplicated Content-Length, Transfer-Encoding together with
 * Content-Length (request smuggling). Transfer-Encoding alone (a chunked
 * body): 411. Expect other than 100-continue on HTTP/1.1: 417. Every parse
 * error means the connection must be closed after the error response (where
 * the next request would start is unknown).
 *
 * Errors: functions that can fail return the HTTP status to answer with
 * (400, 414, ...) or say so in their description; none sets errno unless
 * it says so.
 */
#ifndef MIURA_HTTP_H
#define MIURA_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A byte range of the caller's buffer; not NUL-terminated. */
struct http_slice {
    const char *ptr;
    size_t len;
};

/* ---- limits ---- */

struct http_limits {
    size_t max_request_line;
    size_t max_header_bytes;
    unsigned max_header_fields;
    size_t max_body;
};

#define HTTP_DEFAULT_MAX_REQUEST_LINE  8192
#define HTTP_DEFAULT_MAX_HEADER_BYTES  16384
#define HTTP_DEFAULT_MAX_HEADER_FIELDS 64
#define HTTP_MAX_LEADING_EMPTY         16
/* If-Match and If-None-Match may come in several field lines; the first this
 * many are kept. With more, a server should not evaluate the condition. */
#define HTTP_MAX_LIST_FIELDS 4

/* The defaults above, no request bodies. */
extern const struct http_limits http_default_limits;

/* Smallest receive buffer that holds every request head the parser can accept
 * under these limits (bodies not counted): a caller with a buffer this large
 * never sees HTTP_PARSE_INCOMPLETE with a full buffer. */
size_t http_limits_buffer_size(const struct http_limits *limits);

/* ---- requests ---- */

enum http_method {
    HTTP_METHOD_NONE = 0, /* request line not parsed (yet) */
    HTTP_METHOD_GET,
    HTTP_METHOD_HEAD,
    HTTP_METHOD_POST,
    HTTP_METHOD_PUT,
    HTTP_METHOD_DELETE,
    HTTP_METHOD_OTHER, /* any other well-formed method token */
};

/* Sets of methods (http_server_config.methods, struct http_route). */
#define HTTP_ALLOW(m)  (1u << (m))
#define HTTP_ALLOW_GET (HTTP_ALLOW(HTTP_METHOD_GET) | HTTP_ALLOW(HTTP_METHOD_HEAD))
#define HTTP_ALLOW_ALL 0x7eu

/* "GET", ... "DELETE" for the named methods; "" for NONE and OTHER. */
const char *http_method_name(enum http_method m);

enum http_parse_status {
    HTTP_PARSE_DONE,
    HTTP_PARSE_INCOMPLETE,
    HTTP_PARSE_ERROR,
};

struct http_request {
    size_t head_length; /* DONE: bytes of the head, including leading empty lines */
    int error_status;   /* ERROR: 400, 411, 413, 414, 417, 431 or 505 */

    /* Set as soon as the request line has been parsed (also on some errors). */
    enum http_method method;
    struct http_slice method_name;
    struct http_slice target; /* raw request-target, 0x21..0x7e only */
    unsigned version_minor;   /* 0 or 1 (HTTP/1.x) */

    /* Valid after DONE. Field values have surrounding whitespace removed. */
    bool keep_alive; /* version default, then Connection: close / keep-alive */
    bool has_host;
    struct http_slice host;
    uint64_t content_length; /* 0 when absent; at most limits->max_body */
    bool expect_continue;    /* HTTP/1.1 and Expect: 100-continue */
    bool has_if_modified_since;
    struct http_slice if_modified_since;
    unsigned if_match_count; /* field lines seen; first HTTP_MAX_LIST_FIELDS kept */
    struct http_slice if_match[HTTP_MAX_LIST_FIELDS];
    bool has_if_unmodified_since;
    struct http_slice if_unmodified_since;
    unsigned if_none_match_count; /* field lines seen; first HTTP_MAX_LIST_FIELDS kept */
    struct http_slice if_none_match[HTTP_MAX_LIST_FIELDS];
    unsigned range_count; /* Range is meaningful only when exactly one field was sent */
    struct http_slice range;
    bool has_if_range;
    struct http_slice if_range;
    unsigned field_count;
    struct http_slice fields; /* every field line, for http_request_field() */

    /* Not the parser's: http_serve() sets it to the content_length bytes of
     * body that follow the head, in its buffer, before calling the handler. */
    struct http_slice body;
};

/*
 * Parses one request head from buf[0, len) (see the contract above). Keeps
 * no state. A result other than INCOMPLETE is final for these bytes.
 * INCOMPLETE is returned only while no limit is exceeded. limits NULL means
 * http_default_limits.
 */
enum http_parse_status http_parse_request(const char *buf, size_t len,
                                          const struct http_limits *limits,
                                          struct http_request *req);

/*
 * The value of the first field named `name` (ASCII case-insensitive; give it
 * in lower case) of a parsed request, whitespace around it removed. Returns
 * false when there is none. The request's buffer must be unchanged since the
 * parse.
 */
bool http_request_field(const struct http_request *req, const char *name, struct http_slice *value);

/* ---- targets and paths ---- */

struct http_path {
    char *path;              /* the caller's buffer, NUL-terminated, starts with '/' */
    size_t len;              /* strlen(path) */
    bool index_appended;     /* the target ended in '/' and the index name was added */
    struct http_slice query; /* raw query string without '?', may be empty */
};

/*
 * Turns a request-target into a decoded path, written into out[0, out_size).
 * Steps: strip "http://authority" of an absolute-form target; cut the query
 * ('?') and fragment ('#'); percent-decode; remove "." segments, resolve
 * ".." segments and collapse repeated '/'. A path ending in '/' gets `index`
 * appended when index is not NULL (index_appended), or keeps its '/'. The
 * result never contains "..", "." or empty segments, NUL, control bytes,
 * backslashes or invalid UTF-8: joined to a directory name it stays below it.
 * Returns 0, or the status to respond with:
 *   400  not origin- or absolute-form; bad percent escape; an encoded '/'
 *        (%2F, rejected rather than treated as a name byte); a control byte
 *        (0x00-0x1f, 0x7f, also percent-encoded); a backslash (raw or %5C);
 *        invalid UTF-8 after decoding (overlong forms such as %C0%AE,
 *        surrogates, > U+10FFFF, truncated sequences); a ".." that would climb
 *        above the root.
 *   414  the path does not fit in out_size.
 */
int http_target_path(const char *target, size_t len, char *out, size_t out_size, const char *index,
                     struct http_path *result);

/*
 * The value of the first parameter `name` of a query string ("a=1&b=x%20y"):
 * percent-decoded, '+' read as a space, written into out[0, out_size) with a
 * NUL. A parameter without '=' has the empty value. Returns the value's
 * length, -1 when there is no such parameter, -400 for a bad percent escape,
 * a decoded NUL or control byte, or a value that does not fit.
 */
long http_query_param(struct http_slice query, const char *name, char *out, size_t out_size);

/* ---- dates ---- */

#define HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* Writes the IMF-fixdate of unix time t plus a NUL into out (at least
 * HTTP_DATE_LEN + 1 bytes). Returns false if t is outside years 1..9999. */
bool http_date_format(int64_t t, char *out);

/* Parses an IMF-fixdate, an RFC 850 date ("Sunday, 06-Nov-94 08:49:37 GMT",
 * two-digit years 70..99 are 19xx, 00..69 are 20xx) or an asctime date
 * ("Sun Nov  6 08:49:37 1994"). The whole slice must be the date. Returns false
 * on anything else; never reads outside s[0, len). */
bool http_date_parse(const char *s, size_t len, int64_t *t);

/* ---- responses ---- */

struct http_response {
    int status;
    bool keep_alive; /* false: close the connection after sending */
    size_t out_len;  /* send out[0, out_len) first (head, and body of errors) */
    bool send_file;  /* the web server's: then send these bytes of a file */
    uint64_t file_offset;
    uint64_t file_length;
    uint64_t body_bytes; /* body bytes sent (inline or not), for the access log */
    size_t body_left;    /* http_respond: body bytes that did not fit in out */
};

/* The buffer for a response head must have at least this many bytes. */
#define HTTP_RESPONSE_MIN 1024

/* Pass as `now` when there is no wall clock: the Date field is then left out
 * (RFC 7231 §7.1.1.2). */
#define HTTP_NO_CLOCK INT64_MIN

/*
 * A response written piece by piece into a caller buffer. Writes never pass
 * its end: what does not fit sets `overflow`, and http_out_finish then turns
 * the response into a bodiless 500. The text is always NUL-terminated.
 */
struct http_out {
    char *p;
    size_t size, len;
    bool overflow;
};

void http_out_init(struct http_out *b, char *buf, size_t size);
void http_out_bytes(struct http_out *b, const void *s, size_t n);
void http_out_str(struct http_out *b, const char *s);
__attribute__((format(printf, 2, 3))) void http_out_fmt(struct http_out *b, const char *fmt, ...);
/* "Name: value\r\n", without the formatter (the heads of every response). */
void http_out_header(struct http_out *b, const char *name, const char *value);
/* "Name: value\r\n" with value in decimal. */
void http_out_header_uint(struct http_out *b, const char *name, uint64_t value);
/* "HTTP/1.1 STATUS Reason" (STATUS: 100..999), Date (unless now is HTTP_NO_CLOCK), Server. */
void http_out_head_start(struct http_out *b, int status, int64_t now);
/* Connection (close, or keep-alive for an HTTP/1.0 client that keeps the
 * connection; req may be NULL) and the empty line that ends the head. */
void http_out_head_end(struct http_out *b, const struct http_request *req, bool keep_alive);
/* Fills *resp for the text in b (out_len = b->len), or, after an overflow,
 * rewrites b's buffer as a bodiless 500 that closes the connection. */
void http_out_finish(struct http_out *b, int status, bool keep_alive, uint64_t body_bytes,
                     int64_t now, struct http_response *resp);

/*
 * A complete response into out: head (status, `headers` — zero or more
 * "Name: value\r\n" lines, or NULL —, Content-Type unless NULL,
 * Content-Length: body_len) and, unless the method is HEAD or the status is
 * 204 or 304, the body when all of it fits in out (resp->out_len then
 * includes it; otherwise the caller sends body_len bytes after out_len, and
 * resp->send_file is false). Keeps the connection as the request asked.
 */
void http_respond(const struct http_request *req, int status, const char *headers,
                  const char *content_type, const void *body, size_t body_len, int64_t now,
                  char *out, size_t out_size, struct http_response *resp);

/*
 * A complete response whose body is a short HTML page naming the status (no
 * body for HEAD), with `headers` ("Name: value\r\n" lines, or NULL) and the
 * connection kept as keep_alive says.
 */
void http_respond_page(const struct http_request *req, int status, bool keep_alive,
                       const char *headers, int64_t now, char *out, size_t out_size,
                       struct http_response *resp);

/*
 * A complete error response (head and a short HTML page; no body for HEAD)
 * for one of 400, 403, 404, 405, 408, 409, 411, 412, 413, 414, 416, 417,
 * 431, 500, 501, 503, 505; another status is answered as 500. req may be NULL
 * (a 408 before any byte arrived). The connection is kept only for 403, 404
 * and 409 after a request that asked for keep-alive; other errors close it.
 * A 405 must name the allowed methods: use http_respond_405, which adds
 * "Allow:" with the methods of `allowed` (HTTP_ALLOW bits).
 */
void http_respond_error(const struct http_request *req, int status, int64_t now, char *out,
                        size_t out_size, struct http_response *resp);
void http_respond_405(const struct http_request *req, unsigned allowed, int64_t now, char *out,
                      size_t out_size, struct http_response *resp);

/* The field line "Allow: GET, HEAD\r\n" naming the methods of `allowed`
 * (HTTP_ALLOW bits), NUL-terminated, into out[0, HTTP_ALLOW_FIELD_MAX). */
#define HTTP_ALLOW_FIELD_MAX 48
void http_allow_field(char *out, unsigned allowed);

/* The short HTML page naming a status, written into body[0, size) with a
 * NUL; its length, or 0 if it did not fit (192 bytes always do). */
size_t http_status_page(char *body, size_t size, int status);

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

/* Writes that line and a newline on the console (stdout) in one write(). */
void http_log(const struct http_request *req, const struct http_response *resp);

/* ---- the connection loop ---- */

/*
 * Answers one request on connection `sock`. req->body holds its body. out is
 * a buffer of out_size (>= HTTP_RESPONSE_MIN) bytes for the response head.
 * The handler sends the whole response (http_send_all) and returns whether
 * the connection may stay open (usually resp.keep_alive); false closes it.
 * Threads are cooperative: the handler may block (files, other sockets).
 */
typedef bool (*http_handler)(int sock, const struct http_request *req, char *out, size_t out_size);

struct http_server_config {
    http_handler handler;
    const struct http_limits *limits; /* NULL: http_default_limits */
    unsigned methods;                 /* passed to the handler; others get 405 (0: all) */
    unsigned idle_timeout_s;          /* a kept connection with no request, or a client
                                       * that takes no response bytes, this long [60] */
    unsigned request_timeout_s;       /* head and body of a request arrive within [10]: 408 */
    size_t stack_size;                /* of each connection's thread [8 KiB] */
    bool log;                         /* access-log the responses the loop itself sends */
};

/*
 * Serves connections accepted on listen_fd (a listening stream socket) until
 * accept fails for good; returns -1 then, with accept's errno. A connection
 * whose thread cannot be created for lack of memory waits (the accept loop
 * pauses and closes idle connections, oldest first) up to a second, then is
 * closed. Each connection: its request head and body are read (the buffer
 * grows as needed up to http_limits_buffer_size() + max_body), parse errors
 * and timeouts are answered and the connection closed, HTTP/1.1 bodies with
 * Expect: 100-continue get "100 Continue" first, methods outside
 * cfg->methods get 405 (also when their body was refused: 405, not 413 or
 * 411); every other request goes to the handler. One
 * http_serve per image (the statistics are global). cfg is kept, not
 * copied: it must stay valid while connections run (main's, or static).
 */
int http_serve(int listen_fd, const struct http_server_config *cfg);

#define HTTP_STATS_CPUS 64 /* MIURA_MAX_CPUS */
struct http_server_stats {
    unsigned open, peak;              /* connections now, and the most at once */
    unsigned dropped;                 /* closed for lack of memory */
    unsigned reclaimed_idle;          /* idle connections closed to free memory */
    unsigned by_cpu[HTTP_STATS_CPUS]; /* connections each CPU has served */
};
void http_server_stats(struct http_server_stats *s);

/* Sends all of buf; 0, or -1 when the connection failed or a send stopped
 * short (the client took nothing for SO_SNDTIMEO: the connection is given up). */
int http_send_all(int sock, const void *buf, size_t len);

/* ---- routing ---- */

#define HTTP_MAX_PARAMS 4
#define HTTP_PATH_MAX   1024 /* the router's decoded path; longer: 414 */

/*
 * A route: a pattern of '/'-separated segments. A literal segment matches
 * itself (byte for byte); "*" matches any one segment (not empty); "**" as
 * the last segment matches the rest of the path, one or more segments, '/'
 * included. "/" matches the root only. Each "*" and "**" is a parameter,
 * in order. The GET bit also accepts HEAD (the body is then left out).
 */
struct http_exchange;
typedef bool (*http_route_fn)(struct http_exchange *x);

struct http_route {
    unsigned methods; /* HTTP_ALLOW(...) bits */
    const char *pattern;
    http_route_fn fn;
};

struct http_match {
    int status; /* 0: routes[route] matched; else 404 or 405 */
    unsigned route;
    unsigned allow; /* 405: the methods of the routes whose pattern matched */
    unsigned nparams;
    struct http_slice params[HTTP_MAX_PARAMS];
};

/* Matches a decoded path against routes[0, n) in order: the first route
 * whose pattern and method match wins. Pure; params point into path. */
void http_route_match(const struct http_route *routes, size_t n, enum http_method method,
                      const char *path, size_t len, struct http_match *m);

struct http_router {
    const struct http_route *routes;
    size_t count;
    bool log; /* access-log every response sent through http_reply */
    /* Optional: answers the router's own errors (400, 404, 405, 414) and
     * http_reply_error's, e.g. with a JSON body; NULL: HTML pages. */
    bool (*error)(struct http_exchange *x, int status);
};

/* What a route's function gets. */
struct http_exchange {
    const struct http_router *router;
    int sock;
    const struct http_request *req;
    struct http_path path; /* decoded (http_target_path, no index name) */
    unsigned nparams;
    struct http_slice params[HTTP_MAX_PARAMS];
    char *out; /* response head buffer */
    size_t out_size;
    int64_t now;
    unsigned allow; /* for a 405 (the error hook sees it) */
};

/* The handler (struct http_server_config) for a router: normalise, match,
 * call. Returns what the route's function returns. */
bool http_router_handle(const struct http_router *r, int sock, const struct http_request *req,
                        char *out, size_t out_size);

/*
 * Sends a whole response (see http_respond) with the body from memory, and
 * logs it if the router logs. Returns whether the connection may stay open.
 */
bool http_reply(struct http_exchange *x, int status, const char *headers, const char *content_type,
                const void *body, size_t body_len);

/* Sends an error response: the router's error hook's, else an HTML page. */
bool http_reply_error(struct http_exchange *x, int status);

#endif
