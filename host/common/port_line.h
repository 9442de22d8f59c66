/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The two lines of Firecracker's hybrid vsock handshake on a Unix socket:
 * the host client's "CONNECT <guest port>\n" and the VMM's answer
 * "OK <host port>\n" (miura-vsockd --uds reads the first and writes the
 * second; miura-proxy writes the first and reads the second).
 *
 * Accepted as Firecracker reads them (its muxer splits the line on
 * whitespace and matches the word in any case): blanks (spaces, tabs), the
 * word in any case, one or more blanks, decimal digits (value at most
 * 2^32-1, leading zeros allowed), blanks or '\r's, and '\n'; at most
 * PORT_LINE_MAX bytes in all (Firecracker's bound too). Anything else is an
 * error: no word, a word run into the port ("OK5"), a sign, hex, a second
 * word after the port, a NUL, a line longer than the bound. Parsed one byte at a time, so that a
 * line split over any number of reads works and no byte after the newline is consumed: those bytes
 * are the stream's.
 */
#ifndef HOST_COMMON_PORT_LINE_H
#define HOST_COMMON_PORT_LINE_H

#include <stddef.h>
#include <stdint.h>

#define PORT_LINE_MAX 32

/* The words, with their space (as written; read in any case). */
#define PORT_LINE_CONNECT "CONNECT "
#define PORT_LINE_OK      "OK "

enum port_line_status { PORT_LINE_MORE, PORT_LINE_DONE, PORT_LINE_ERROR };

enum port_line_phase {
    PORT_LINE_LEAD,
    PORT_LINE_WORD,
    PORT_LINE_SEP,
    PORT_LINE_DIGITS,
    PORT_LINE_TRAIL
};

struct port_line {
    const char *prefix; /* PORT_LINE_CONNECT or PORT_LINE_OK */
    unsigned len;       /* bytes consumed so far */
    enum port_line_phase phase;
    unsigned matched; /* letters of the word seen */
    unsigned digits;  /* digits of the port seen */
    uint64_t port;
    enum port_line_status status;
};

/* Starts a parser for lines beginning with `prefix` (a string constant). */
void port_line_init(struct port_line *p, const char *prefix);
/*
 * Feeds bytes while the line is incomplete. Returns how many of the `n` bytes
 * belong to the line (all of them while the status stays MORE; on DONE the
 * bytes after the returned count are stream data). p->status tells the
 * outcome and, when DONE, p->port the port. Feeding a finished parser
 * consumes nothing.
 */
size_t port_line_feed(struct port_line *p, const uint8_t *buf, size_t n);

#endif
