/* SPDX-License-Identifier: BSD-2-Clause */
/* Content-Type by file extension. */
#include <string.h>

#include "http.h"

#include "miura/http_chars.h"

/* Groups of "extensions\0type\0": the extensions in lower case, without the
 * dot, separated by spaces; an empty group ends the table. One string and no
 * table of pointers (the image is small): 31 extensions cost about 500 B of
 * read-only data less than as a struct array. */
static const char mime_types[] = "html htm\0text/html; charset=utf-8\0"
                                 "css\0text/css; charset=utf-8\0"
                                 "js mjs\0text/javascript; charset=utf-8\0"
                                 "json map\0application/json\0"
                                 "txt\0text/plain; charset=utf-8\0"
                                 "md\0text/markdown; charset=utf-8\0"
                                 "csv\0text/csv; charset=utf-8\0"
                                 "xml\0text/xml; charset=utf-8\0"
                                 "svg\0image/svg+xml\0"
                                 "png\0image/png\0"
                                 "jpg jpeg\0image/jpeg\0"
                                 "gif\0image/gif\0"
                                 "webp\0image/webp\0"
                                 "avif\0image/avif\0"
                                 "ico\0image/x-icon\0"
                                 "wasm\0application/wasm\0"
                                 "pdf\0application/pdf\0"
                                 "woff2\0font/woff2\0"
                                 "woff\0font/woff\0"
                                 "ttf\0font/ttf\0"
                                 "otf\0font/otf\0"
                                 "mp4\0video/mp4\0"
                                 "webm\0video/webm\0"
                                 "mp3\0audio/mpeg\0"
                                 "ogg\0audio/ogg\0"
                                 "zip\0application/zip\0"
                                 "gz\0application/gzip\0";

/* Is ext[0, len) (any case) one of the space-separated words of list? */
static bool ext_listed(const char *ext, size_t len, const char *list)
{
    while (*list) {
        size_t i = 0;
        while (i < len && list[i] > ' ' && list[i] == (char)http_to_lower((unsigned char)ext[i]))
            i++;
        if (i == len && (list[i] == ' ' || list[i] == '\0'))
            return true;
        while (*list && *list++ != ' ') /* the next word */
            ;
    }
    return false;
}

const char *http_mime_type(const char *path, size_t len)
{
    size_t dot = len;
    while (dot > 0 && path[dot - 1] != '.' && path[dot - 1] != '/')
        dot--;
    /* no dot in the last segment, or a dot file such as "/.profile" */
    if (dot <= 1 || path[dot - 1] != '.' || path[dot - 2] == '/')
        return "application/octet-stream";
    for (const char *g = mime_types; *g; g += strlen(g) + 1) {
        const char *type = g + strlen(g) + 1;
        if (dot < len && ext_listed(path + dot, len - dot, g))
            return type;
        g = type;
    }
    return "application/octet-stream";
}
