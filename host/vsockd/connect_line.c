/* SPDX-License-Identifier: BSD-2-Clause */
#include "vsockd/connect_line.h"

#include <string.h>

static const char prefix[] = "CONNECT ";
#define PREFIX_LEN (sizeof(prefix) - 1)

void connect_line_init(struct connect_line *p)
{
    memset(p, 0, sizeof(*p));
    p->status = CONNECT_LINE_MORE;
}

static enum connect_line_status step(struct connect_line *p, uint8_t c)
{
    if (p->len >= CONNECT_LINE_MAX)
        return CONNECT_LINE_ERROR;
    p->len++;
    if (p->len <= PREFIX_LEN)
        return c == (uint8_t)prefix[p->len - 1] ? CONNECT_LINE_MORE : CONNECT_LINE_ERROR;
    if (c == '\n')
        return p->digits > 0 ? CONNECT_LINE_DONE : CONNECT_LINE_ERROR;
    if (p->cr)
        return CONNECT_LINE_ERROR;
    if (c == '\r') {
        p->cr = 1;
        return CONNECT_LINE_MORE;
    }
    if (c < '0' || c > '9' || p->digits == 10)
        return CONNECT_LINE_ERROR;
    p->port = p->port * 10 + (uint64_t)(c - '0');
    p->digits++;
    return p->port > UINT32_MAX ? CONNECT_LINE_ERROR : CONNECT_LINE_MORE;
}

size_t connect_line_feed(struct connect_line *p, const uint8_t *buf, size_t n)
{
    size_t i = 0;
    while (i < n && p->status == CONNECT_LINE_MORE) {
        p->status = step(p, buf[i]);
        i++;
    }
    return i;
}
