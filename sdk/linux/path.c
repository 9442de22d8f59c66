/* SPDX-License-Identifier: BSD-2-Clause */
/* Paths inside the share, for the Linux build (linux.h, libc.c). */
#include <string.h>

#include "linux.h"

/* The contract is linux.h's. out is never longer than path. */
int linux_share_path(const char *path, char out[LINUX_PATH_MAX])
{
    size_t o = 0, len = strnlen(path, LINUX_PATH_MAX);
    if (len == 0 || len >= LINUX_PATH_MAX) {
        errno = len ? ENAMETOOLONG : ENOENT;
        return -1;
    }
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - s);
        if (n == 0 || (n == 1 && s[0] == '.'))
            continue;
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
            continue;
        }
        if (o)
            out[o++] = '/';
        memcpy(out + o, s, n);
        o += n;
    }
    if (o == 0)
        out[o++] = '.';
    if (path[len - 1] == '/')
        out[o++] = '/';
    out[o] = 0;
    return 0;
}
