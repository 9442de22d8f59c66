/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * HTTP/1.1 request-head parser (RFC 7230 §3). No state between calls, no
 * allocation: the parse walks buf from the start each time and fills a struct
 * whose slices point into buf.
 *
 * Every decision is taken at a fixed point of the input, line by line, so that
 * a prefix of a request either gives INCOMPLETE or the same answer as the whole
 * request (the pipelining tests split requests at every byte to check this):
 *   - a line is judged only once its LF is there, except that the size limits
 *     are also checked against the bytes of a still unterminated line, and a
 *     request line's method at its first byte that is not a token character;
 *   - for a complete line the size limit is checked before its syntax.
 */
#include <string.h>

#include "miura/http.h"
#include "miura/http_chars.h"

const struct http_limits http_default_limits = {
    .max_request_line = HTTP_DEFAULT_MAX_REQUEST_LINE,
    .max_header_bytes = HTTP_DEFAULT_MAX_HEADER_BYTES,
    .max_header_fields = HTTP_DEFAULT_MAX_HEADER_FIELDS,
    .max_body = 0,
};

size_t http_limits_buffer_size(const struct http_limits *limits)
{
    /* leading empty lines, request line + CRLF, field lines, final CRLF */
    return HTTP_MAX_LEADING_EMPTY + limits->max_request_line + 2 + limits->max_header_bytes + 2;
}

static enum http_parse_status fail(struct http_request *req, int status)
{
    req->error_status = status;
    return HTTP_PARSE_ERROR;
}

static const char method_names[][7] = {"GET", "HEAD", "POST", "PUT", "DELETE"};

const char *http_method_name(enum http_method m)
{
    return m >= HTTP_METHOD_GET && m < HTTP_METHOD_OTHER ? method_names[m - HTTP_METHOD_GET] : "";
}

/* request-line = method SP request-target SP HTTP-version (RFC 7230 §3.1.1),
 * single spaces only. Returns 0 or an error status. */
static int parse_request_line(const char *line, size_t len, struct http_request *req)
{
    size_t i = 0, start;

    while (i < len && http_is_tchar((unsigned char)line[i]))
        i++;
    if (i == 0 || i == len || line[i] != ' ')
        return 400;
    req->method_name.ptr = line;
    req->method_name.len = i;
    i++;

    start = i;
    while (i < len && (unsigned char)line[i] > 0x20 && (unsigned char)line[i] < 0x7f)
        i++;
    if (i == start || i == len || line[i] != ' ')
        return 400;
    req->target.ptr = line + start;
    req->target.len = i - start;
    i++;

    /* methods are case-sensitive (RFC 7231 §4.1); the enum's order */
    req->method = HTTP_METHOD_OTHER;
    for (unsigned m = HTTP_METHOD_GET; m < HTTP_METHOD_OTHER; m++) {
        const char *name = method_names[m - HTTP_METHOD_GET];
        /* most names differ at their first byte: no strlen of each */
        if (strncmp(name, line, req->method_name.len) == 0 && name[req->method_name.len] == '\0') {
            req->method = (enum http_method)m;
            break;
        }
    }

    /* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (§2.6) */
    if (len - i != 8 || memcmp(line + i, "HTTP/", 5) != 0 ||
        !http_is_digit((unsigned char)line[i + 5]) || line[i + 6] != '.' ||
        !http_is_digit((unsigned char)line[i + 7]))
        return 400;
    if (line[i + 5] != '1' || (line[i + 7] != '0' && line[i + 7] != '1'))
        return 505;
    req->version_minor = (unsigned)(line[i + 7] - '0');
    return 0;
}

/* Host = uri-host [ ":" port ] (RFC 7230 §5.4); checked only for its bytes. */
static bool valid_host(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || http_is_digit(c))
            continue;
        if (!memchr("-._~!$&'()*+,;=:[]%", c, 19))
            return false;
    }
    return true;
}

/* Connection = 1#connection-option; only "close" and "keep-alive" matter. */
static void parse_connection(const char *s, size_t len, bool *close, bool *keep_alive)
{
    size_t i = 0;
    while (i < len) {
        size_t start, end;
        while (i < len && (s[i] == ',' || http_is_ows((unsigned char)s[i])))
            i++;
        start = i;
        while (i < len && s[i] != ',')
            i++;
        end = i;
        while (end > start && http_is_ows((unsigned char)s[end - 1]))
            end--;
        if (http_slice_ieq(s + start, end - start, "close"))
            *close = true;
        else if (http_slice_ieq(s + start, end - start, "keep-alive"))
            *keep_alive = true;
    }
}

struct head_state {
    bool conn_close;
    bool conn_keep_alive;
    bool seen_content_length;
    uint64_t max_body;
};

/* One field line without its terminator. Returns 0 or an error status. */
static int parse_field_line(const char *line, size_t len, struct http_request *req,
                            struct head_state *st)
{
    size_t name_len = 0, v, vend;
    const char *value;

    /* obs-fold (a line starting with whitespace) is rejected: §3.2.4 */
    while (name_len < len && http_is_tchar((unsigned char)line[name_len]))
        name_len++;
    if (name_len == 0 || name_len == len || line[name_len] != ':')
        return 400; /* also whitespace between name and colon (§3.2.4) */

    v = name_len + 1;
    while (v < len && http_is_ows((unsigned char)line[v]))
        v++;
    vend = len;
    while (vend > v && http_is_ows((unsigned char)line[vend - 1]))
        vend--;
    for (size_t i = v; i < vend; i++) {
        unsigned char c = (unsigned char)line[i];
        /* field-vchar = VCHAR / obs-text, plus SP and HTAB inside */
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 400;
    }
    value = line + v;
    vend -= v;

    if (http_slice_ieq(line, name_len, "host")) {
        if (req->has_host || !valid_host(value, vend))
            return 400;
        req->has_host = true;
        req->host.ptr = value;
        req->host.len = vend;
    } else if (http_slice_ieq(line, name_len, "connection")) {
        parse_connection(value, vend, &st->conn_close, &st->conn_keep_alive);
    } else if (http_slice_ieq(line, name_len, "content-length")) {
        uint64_t n = 0;
        if (st->seen_content_length || vend == 0)
            return 400;
        st->seen_content_length = true;
        for (size_t i = 0; i < vend; i++) {
            if (!http_is_digit((unsigned char)value[i]))
                return 400;
            n = n > UINT64_MAX / 10 - 1 ? UINT64_MAX : n * 10 + (uint64_t)(value[i] - '0');
        }
        if (n > st->max_body)
            return 413;
        req->content_length = n;
    } else if (http_slice_ieq(line, name_len, "transfer-encoding")) {
        /* no chunked bodies: 411 asks for a Content-Length; both together
         * are how requests are smuggled (RFC 7230 §3.3.3) */
        return st->seen_content_length ? 400 : 411;
    } else if (http_slice_ieq(line, name_len, "expect")) {
        if (req->version_minor == 1) { /* HTTP/1.0 ignores it (RFC 7231 §5.1.1) */
            if (!http_slice_ieq(value, vend, "100-continue"))
                return 417;
            req->expect_continue = true;
        }
    } else if (http_slice_ieq(line, name_len, "if-none-match")) {
        if (req->if_none_match_count < HTTP_MAX_LIST_FIELDS) {
            req->if_none_match[req->if_none_match_count].ptr = value;
            req->if_none_match[req->if_none_match_count].len = vend;
        }
        req->if_none_match_count++;
    } else if (http_slice_ieq(line, name_len, "if-match")) {
        if (req->if_match_count < HTTP_MAX_LIST_FIELDS) {
            req->if_match[req->if_match_count].ptr = value;
            req->if_match[req->if_match_count].len = vend;
        }
        req->if_match_count++;
    } else if (http_slice_ieq(line, name_len, "if-unmodified-since")) {
        bool repeated = req->has_if_unmodified_since;
        req->has_if_unmodified_since = true;
        req->if_unmodified_since.ptr = repeated ? NULL : value;
        req->if_unmodified_since.len = repeated ? 0 : vend;
    } else if (http_slice_ieq(line, name_len, "if-modified-since")) {
        /* a repeated field is emptied, so that it fails to parse and is ignored */
        bool repeated = req->has_if_modified_since;
        req->has_if_modified_since = true;
        req->if_modified_since.ptr = repeated ? NULL : value;
        req->if_modified_since.len = repeated ? 0 : vend;
    } else if (http_slice_ieq(line, name_len, "range")) {
        if (req->range_count == 0) {
            req->range.ptr = value;
            req->range.len = vend;
        }
        req->range_count++;
    } else if (http_slice_ieq(line, name_len, "if-range")) {
        bool repeated = req->has_if_range;
        req->has_if_range = true;
        req->if_range.ptr = repeated ? NULL : value;
        req->if_range.len = repeated ? 0 : vend;
    }
    return 0;
}

/* The line starting at pos: *content_end excludes the CR LF (or bare LF),
 * *next is the first byte after the LF. Looks only at the first `scan` bytes. */
static bool find_line(const char *buf, size_t pos, size_t scan, size_t *content_end, size_t *next)
{
    const char *lf = memchr(buf + pos, '\n', scan);
    size_t end;
    if (!lf)
        return false;
    end = (size_t)(lf - buf);
    *next = end + 1;
    if (end > pos && buf[end - 1] == '\r')
        end--;
    *content_end = end;
    return true;
}

enum http_parse_status http_parse_request(const char *buf, size_t len,
                                          const struct http_limits *limits,
                                          struct http_request *req)
{
    struct head_state st = {0};
    size_t pos = 0, avail, scan, end, next, header_bytes = 0, fields_start, fields_end;
    int status;

    memset(req, 0, sizeof(*req));
    if (!limits)
        limits = &http_default_limits;
    st.max_body = limits->max_body;

    /* RFC 7230 §3.5: ignore empty lines before the request line, a few. */
    for (;;) {
        if (pos == len)
            return HTTP_PARSE_INCOMPLETE;
        if (buf[pos] == '\n') {
            pos++;
        } else if (buf[pos] == '\r') {
            if (pos + 1 == len)
                return HTTP_PARSE_INCOMPLETE;
            if (buf[pos + 1] != '\n')
                return fail(req, 400);
            pos += 2;
        } else {
            break;
        }
        if (pos > HTTP_MAX_LEADING_EMPTY)
            return fail(req, 400);
    }

    /* The request line: content plus CR LF within max + 2 bytes. A method
     * that is not a token is judged at its first wrong byte, before the
     * line ends (a TLS ClientHello gets its 400 at once, not a 408 when the
     * request timeout runs out): the bytes up to the first byte that is not
     * a token character decide it, so every prefix agrees with the whole. */
    avail = len - pos;
    scan = avail < limits->max_request_line + 2 ? avail : limits->max_request_line + 2;
    for (size_t i = 0; i < scan && buf[pos + i] != ' '; i++)
        if (!http_is_tchar((unsigned char)buf[pos + i]))
            return fail(req, 400);
    if (!find_line(buf, pos, scan, &end, &next))
        return avail >= limits->max_request_line + 2 ? fail(req, 414) : HTTP_PARSE_INCOMPLETE;
    if (end - pos > limits->max_request_line)
        return fail(req, 414);
    status = parse_request_line(buf + pos, end - pos, req);
    if (status)
        return fail(req, status);
    pos = next;

    /* Header fields up to the empty line. */
    fields_start = pos;
    for (;;) {
        size_t room = limits->max_header_bytes - header_bytes;
        avail = len - pos;
        if (avail == 0)
            return HTTP_PARSE_INCOMPLETE;
        fields_end = pos;
        if (buf[pos] == '\n') {
            pos++;
            break;
        }
        if (buf[pos] == '\r') {
            if (avail == 1)
                return HTTP_PARSE_INCOMPLETE;
            if (buf[pos + 1] == '\n') {
                pos += 2;
                break;
            }
        }
        /* the line with its terminator must fit in room: its LF within room bytes */
        scan = avail < room ? avail : room;
        if (!find_line(buf, pos, scan, &end, &next))
            return avail >= room ? fail(req, 431) : HTTP_PARSE_INCOMPLETE;
        if (++req->field_count > limits->max_header_fields)
            return fail(req, 431);
        status = parse_field_line(buf + pos, end - pos, req, &st);
        if (status)
            return fail(req, status);
        header_bytes += next - pos;
        pos = next;
    }

    if (req->version_minor == 1 && !req->has_host)
        return fail(req, 400); /* RFC 7230 §5.4 */
    if (req->version_minor == 1)
        req->keep_alive = !st.conn_close;
    else
        req->keep_alive = st.conn_keep_alive && !st.conn_close;
    req->fields.ptr = buf + fields_start;
    req->fields.len = fields_end - fields_start;
    req->head_length = pos;
    return HTTP_PARSE_DONE;
}

bool http_request_field(const struct http_request *req, const char *name, struct http_slice *value)
{
    const char *p = req->fields.ptr, *end = p + req->fields.len;

    /* The lines were checked by the parse: "name:" OWS value OWS, LF-ended. */
    while (p < end) {
        const char *lf = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = lf ? lf : end, *colon = memchr(p, ':', (size_t)(line_end - p));
        if (colon && http_slice_ieq(p, (size_t)(colon - p), name)) {
            const char *v = colon + 1, *ve = line_end;
            if (ve > v && ve[-1] == '\r')
                ve--;
            while (v < ve && http_is_ows((unsigned char)*v))
                v++;
            while (ve > v && http_is_ows((unsigned char)ve[-1]))
                ve--;
            value->ptr = v;
            value->len = (size_t)(ve - v);
            return true;
        }
        p = line_end + 1;
    }
    return false;
}
