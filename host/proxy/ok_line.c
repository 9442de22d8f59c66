/* SPDX-License-Identifier: BSD-2-Clause */
#include "proxy/ok_line.h"

#include <string.h>

static const char prefix[] = "OK ";
#define PREFIX_LEN (sizeof(prefix) - 1)

void ok_line_init(struct ok_line *p)
{
    memset(p, 0, sizeof(*p));
    p->status = OK_LINE_MORE;
}

static enum ok_line_status step(struct ok_line *p, uint8_t c)
{
    if (p->len >= OK_LINE_MAX)
        return OK_LINE_ERROR;
    p->len++;
    if (p->len <= PREFIX_LEN)
        return c == (uint8_t)prefix[p->len - 1] ? OK_LINE_MORE : OK_LINE_ERROR;
    if (c == '\n')
        return p->digits > 0 ? OK_LINE_DONE : OK_LINE_ERROR;
    if (p->cr)
        return OK_LINE_ERROR; /* '\r' not followed by '\n' */
    if (c == '\r') {
        p->cr = 1;
        return p->digits > 0 ? OK_LINE_MORE : OK_LINE_ERROR;
    }
    if (c < '0' || c > '9' || p->digits == 10)
        return OK_LINE_ERROR;
    p->port = p->port * 10 + (uint64_t)(c - '0');
    p->digits++;
    return p->port > UINT32_MAX ? OK_LINE_ERROR : OK_LINE_MORE;
}

size_t ok_line_feed(struct ok_line *p, const uint8_t *buf, size_t n)
{
    size_t i = 0;
    while (i < n && p->status == OK_LINE_MORE) {
        p->status = step(p, buf[i]);
        i++;
    }
    return i;
}
