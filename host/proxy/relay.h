/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One proxied connection: a TCP client on one side, the VMM's hybrid-vsock
 * Unix socket on the other. The relay does the handshake ("CONNECT <port>\n"
 * out, "OK <host port>\n" back) and then copies bytes both ways through two
 * bounded rings. It owns no event loop: the caller reports readiness with
 * relay_event() (edge-triggered epoll events, or anything else) and calls
 * relay_run(); the relay remembers which side is readable or writable until a
 * call returns EAGAIN, so a level is never lost between edges.
 *
 * States (the caller acts on the last two):
 *
 *   state       what runs                                   next
 *   CONNECTING  wait until the VMM socket is writable,       HANDSHAKE, FAILED
 *               check SO_ERROR (a connect in progress)
 *   HANDSHAKE   send the CONNECT line; read the reply into   STREAM (line DONE),
 *               the VMM->client ring, parse it; client bytes  FAILED (bad reply,
 *               are read into the client->VMM ring but held   EOF, error)
 *   STREAM      both directions pump; EOF on a side is       DONE (both directions
 *               passed on as shutdown(SHUT_WR) once that      shut), FAILED (error,
 *               direction's ring is empty                     reset)
 *   DONE        close both sockets normally
 *   FAILED      close both; the client gets a reset (`why` says the cause)
 *
 * Memory: each ring is RELAY_RING bytes, allocated on first use; a full ring
 * stops reads from its source (backpressure), so a connection never holds more
 * than 2 * RELAY_RING bytes.
 */
#ifndef PROXY_RELAY_H
#define PROXY_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/port_line.h"

#define RELAY_RING (64 * 1024) /* a power of two */

enum relay_state { RELAY_CONNECTING, RELAY_HANDSHAKE, RELAY_STREAM, RELAY_DONE, RELAY_FAILED };
enum relay_side { RELAY_CLIENT, RELAY_VMM };

struct relay_ring {
    uint8_t *buf;        /* RELAY_RING bytes, NULL until first needed */
    uint32_t head, tail; /* free-running; used = tail - head */
};

/* One direction: bytes read from `src` wait in `ring` to be written to the other side. */
struct relay_dir {
    struct relay_ring ring;
    bool src_eof;   /* the source sent EOF */
    bool dst_shut;  /* shutdown(SHUT_WR) done on the destination */
    bool dst_gone;  /* the destination stopped reading (reset): what comes is dropped */
    uint64_t bytes; /* carried so far */
};

struct relay_end {
    int fd;
    bool readable, writable; /* readiness seen and not yet used up (EAGAIN) */
};

struct relay {
    enum relay_state state;
    struct relay_end end[2];   /* indexed by enum relay_side */
    struct relay_dir up, down; /* up: client -> VMM; down: VMM -> client */
    char line[24];             /* "CONNECT <port>\n" */
    unsigned line_len, line_sent;
    struct port_line ok; /* the VMM's "OK <port>\n" */
    const char *why;     /* when FAILED: a static string */
    int err;             /* when FAILED: the errno behind it, or 0 */
};

/*
 * Starts a relay between a connected client and a VMM socket whose connect()
 * has completed (`connecting` false) or is in progress (true). Both fds must
 * be non-blocking; the relay does not close them.
 */
void relay_init(struct relay *r, int client_fd, int vmm_fd, uint32_t guest_port, bool connecting);
/* Readiness on one side, as epoll event bits (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR).
 */
void relay_event(struct relay *r, enum relay_side side, uint32_t events);
/*
 * Does what the remembered readiness allows, moving at most about `budget`
 * bytes. Returns true when it stopped on the budget with work left (call it
 * again soon, no new event will come), false when it is waiting for events or
 * has ended (state DONE or FAILED).
 */
bool relay_run(struct relay *r, size_t budget);
/* Ends the relay as FAILED with a static reason and an errno or 0 (e.g. a timeout). */
void relay_fail(struct relay *r, const char *why, int err);
/* Frees the rings (not the fds). */
void relay_free(struct relay *r);

#endif
