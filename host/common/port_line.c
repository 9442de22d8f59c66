/* SPDX-License-Identifier: BSD-2-Clause */
#include "common/port_line.h"

#include <string.h>

void port_line_init(struct port_line *p, const char *prefix)
{
    memset(p, 0, sizeof(*p));
    p->prefix = prefix;
    p->status = PORT_LINE_MORE;
}

static enum port_line_status step(struct port_line *p, uint8_t c)
{
    size_t prefix_len = strlen(p->prefix);
    if (p->len >= PORT_LINE_MAX)
        return PORT_LINE_ERROR;
    p->len++;
    if (p->len <= prefix_len)
        return c == (uint8_t)p->prefix[p->len - 1] ? PORT_LINE_MORE : PORT_LINE_ERROR;
    if (c == '\n')
        return p->digits > 0 ? PORT_LINE_DONE : PORT_LINE_ERROR;
    if (p->cr)
        return PORT_LINE_ERROR; /* '\r' not followed by '\n' */
    if (c == '\r') {
        p->cr = 1;
        return p->digits > 0 ? PORT_LINE_MORE : PORT_LINE_ERROR;
    }
    if (c < '0' || c > '9' || p->digits == 10)
        return PORT_LINE_ERROR;
    p->port = p->port * 10 + (uint64_t)(c - '0');
    p->digits++;
    return p->port > UINT32_MAX ? PORT_LINE_ERROR : PORT_LINE_MORE;
}

size_t port_line_feed(struct port_line *p, const uint8_t *buf, size_t n)
{
    size_t i = 0;
    while (i < n && p->status == PORT_LINE_MORE) {
        p->status = step(p, buf[i]);
        i++;
    }
    return i;
}
