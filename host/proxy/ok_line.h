/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The VMM's answer to a hybrid-vsock "CONNECT <port>\n": "OK <host port>\n"
 * (Firecracker's convention, which miura-vsockd --uds follows). Parsed one
 * byte at a time, so that a reply split over any number of reads works and no
 * byte after the newline is consumed: those bytes are the guest's stream.
 *
 * Accepted: "OK " + 1..10 decimal digits (value <= 2^32-1) + optional '\r' +
 * '\n', at most OK_LINE_MAX bytes in all. Anything else is an error.
 */
#ifndef PROXY_OK_LINE_H
#define PROXY_OK_LINE_H

#include <stddef.h>
#include <stdint.h>

#define OK_LINE_MAX 32

enum ok_line_status { OK_LINE_MORE, OK_LINE_DONE, OK_LINE_ERROR };

struct ok_line {
    unsigned len;    /* bytes consumed so far */
    unsigned digits; /* digits of the port seen */
    uint64_t port;
    int cr; /* a '\r' was seen; only '\n' may follow */
    enum ok_line_status status;
};

void ok_line_init(struct ok_line *p);
/*
 * Feeds bytes while the line is incomplete. Returns how many of the `n` bytes
 * belong to the line (all of them while the status stays MORE; on DONE the
 * bytes after the returned count are stream data). p->status tells the
 * outcome and, when DONE, p->port the VMM's host port. Feeding a finished
 * parser consumes nothing.
 */
size_t ok_line_feed(struct ok_line *p, const uint8_t *buf, size_t n);

#endif
