/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Firecracker's hybrid-vsock handshake line, "CONNECT <port>\n", parsed one
 * byte at a time so that a line split over any number of reads works and no
 * byte after the newline is consumed. The line is bounded: more than
 * CONNECT_LINE_MAX bytes, a non-digit, a port above 2^32-1 or a missing port
 * is an error. A trailing '\r' before '\n' is accepted.
 */
#ifndef VSOCKD_CONNECT_LINE_H
#define VSOCKD_CONNECT_LINE_H

#include <stddef.h>
#include <stdint.h>

#define CONNECT_LINE_MAX 32

enum connect_line_status { CONNECT_LINE_MORE, CONNECT_LINE_DONE, CONNECT_LINE_ERROR };

struct connect_line {
    unsigned len;    /* bytes consumed so far */
    unsigned digits; /* digits of the port seen */
    uint64_t port;
    int cr; /* a '\r' was seen; only '\n' may follow */
    enum connect_line_status status;
};

void connect_line_init(struct connect_line *p);
/*
 * Feeds bytes until the line is complete or wrong. Returns how many of the
 * `n` bytes belong to the line (all of them while MORE); p->status says the
 * outcome and, when DONE, p->port the port.
 */
size_t connect_line_feed(struct connect_line *p, const uint8_t *buf, size_t n);

#endif
