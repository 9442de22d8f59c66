/* SPDX-License-Identifier: BSD-2-Clause */
#include "common/port_line.h"

#include <stdbool.h>
#include <string.h>

void port_line_init(struct port_line *p, const char *prefix)
{
    memset(p, 0, sizeof(*p));
    p->prefix = prefix;
    p->status = PORT_LINE_MORE;
}

static bool blank(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static enum port_line_status step(struct port_line *p, uint8_t c)
{
    size_t word_len = strlen(p->prefix) - 1; /* the word without its space */
    p->len++;
    switch (p->phase) {
    case PORT_LINE_LEAD:
        if (blank(c))
            return PORT_LINE_MORE;
        p->phase = PORT_LINE_WORD;
        __attribute__((fallthrough));
    case PORT_LINE_WORD:
        if (p->matched < word_len) {
            uint8_t upper = c >= 'a' && c <= 'z' ? (uint8_t)(c - 'a' + 'A') : c;
            if (upper != (uint8_t)p->prefix[p->matched])
                return PORT_LINE_ERROR;
            p->matched++;
            return PORT_LINE_MORE;
        }
        if (!blank(c))
            return PORT_LINE_ERROR; /* "CONNECTX", "OK5" */
        p->phase = PORT_LINE_SEP;
        return PORT_LINE_MORE;
    case PORT_LINE_SEP:
        if (blank(c))
            return PORT_LINE_MORE;
        p->phase = PORT_LINE_DIGITS;
        __attribute__((fallthrough));
    case PORT_LINE_DIGITS:
        if (c >= '0' && c <= '9') {
            p->port = p->port * 10 + (uint64_t)(c - '0');
            p->digits++;
            return p->port > UINT32_MAX ? PORT_LINE_ERROR : PORT_LINE_MORE;
        }
        if (p->digits == 0)
            return PORT_LINE_ERROR;
        p->phase = PORT_LINE_TRAIL;
        __attribute__((fallthrough));
    default: /* PORT_LINE_TRAIL: blanks and CRs, then the newline */
        if (c == '\n')
            return PORT_LINE_DONE;
        return blank(c) || c == '\r' ? PORT_LINE_MORE : PORT_LINE_ERROR;
    }
}

size_t port_line_feed(struct port_line *p, const uint8_t *buf, size_t n)
{
    size_t i = 0;
    while (i < n && p->status == PORT_LINE_MORE) {
        p->status = step(p, buf[i]);
        i++;
        if (p->status == PORT_LINE_MORE && p->len >= PORT_LINE_MAX)
            p->status = PORT_LINE_ERROR; /* no newline within the bound */
    }
    return i;
}
