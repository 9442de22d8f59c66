/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target for directory listing pages: the names come from the host's
 * directory, so they are outside input. The input is split at NUL bytes into
 * a directory path and entry names (a name's first byte chooses file or
 * directory); the page is built into a buffer of a size the input also picks.
 * Checks: the result fits, is NUL-terminated where it says, starts and ends
 * as a page, and no name byte that HTML or a URL would misread gets through.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t cap = 1 + ((size_t)data[0] << 6 | data[1]); /* 1 .. 16 KiB */
    char *copy = malloc(size - 2 + 1);
    memcpy(copy, data + 2, size - 2);
    copy[size - 2] = '\0';
    struct http_dirent ents[256];
    size_t n = 0;
    char *dir = copy, *p = copy + strlen(copy) + 1;
    while (p < copy + size - 2 + 1 && n < 256) {
        if (*p) /* empty names do not come from readdir */
            ents[n++] = (struct http_dirent){p, (*p & 1) != 0};
        p += strlen(p) + 1;
    }
    char *page = malloc(cap + 1);
    page[cap] = 0x5a;
    size_t len = http_listing_body(page, cap, dir, ents, n);
    REQUIRE(page[cap] == 0x5a); /* nothing past the buffer */
    if (len) {
        REQUIRE(len < cap && page[len] == '\0' && strlen(page) == len);
        REQUIRE(!strncmp(page, "<!DOCTYPE html>", 15));
        REQUIRE(!strcmp(page + len - 15, "</body></html>\n"));
        /* Between the list's start and end, '<' only opens our own tags. */
        for (const char *q = strstr(page, "<ul>"); q && *q; q++)
            if (*q == '<')
                REQUIRE(!strncmp(q, "<li>", 4) || !strncmp(q, "</li>", 5) ||
                        !strncmp(q, "<a href=\"", 9) || !strncmp(q, "</a>", 4) ||
                        !strncmp(q, "</ul>", 5) || !strncmp(q, "<p>", 3) ||
                        !strncmp(q, "</p>", 4) || !strncmp(q, "</body>", 7) ||
                        !strncmp(q, "</html>", 7) || !strncmp(q, "<ul>", 4));
    }
    free(page);
    free(copy);
    return 0;
}
