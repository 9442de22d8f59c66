/* SPDX-License-Identifier: BSD-2-Clause */
/* Content-Type by file extension. */
#include "http.h"

#include "miura/http_chars.h"

static const struct {
    const char *ext; /* lower case, without the dot */
    const char *type;
} mime_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"xml", "text/xml; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
    {"woff2", "font/woff2"},
    {"woff", "font/woff"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
};

const char *http_mime_type(const char *path, size_t len)
{
    size_t dot = len;
    while (dot > 0 && path[dot - 1] != '.' && path[dot - 1] != '/')
        dot--;
    /* no dot in the last segment, or a dot file such as "/.profile" */
    if (dot <= 1 || path[dot - 1] != '.' || path[dot - 2] == '/')
        return "application/octet-stream";
    for (size_t k = 0; k < sizeof(mime_types) / sizeof(mime_types[0]); k++) {
        if (http_slice_ieq(path + dot, len - dot, mime_types[k].ext))
            return mime_types[k].type;
    }
    return "application/octet-stream";
}
