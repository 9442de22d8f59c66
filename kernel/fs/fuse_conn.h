/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One FUSE session: the interface between the FUSE client (above) and a
 * transport (below). The virtio-fs driver implements it on virtqueues; the
 * host tests implement it with an in-memory fake server.
 *
 * Contract for the transport:
 * - call() sends one request and blocks the calling thread (only) until the
 *   reply is in. out[] are device-readable buffers (fuse_in_header, the op
 *   struct, names, write data), in[] device-writable ones (fuse_out_header
 *   and the reply body, possibly split, e.g. READ data straight into the
 *   caller's buffer). Every buffer has len > 0 and stays valid and unused by
 *   anyone else until call() returns (they may be on the caller's stack or
 *   heap, or be the application's own buffer; all are identity-mapped).
 *   Returns the number of bytes the server
 *   wrote into in[] (>= 0, never more than their total length), or a
 *   negative errno when the transport failed: -EIO (broken device), -ENOMEM.
 *   Other threads may call concurrently; their requests are independent.
 * - send_noreply() queues a request that has no reply (FORGET) on the
 *   high-priority queue; it may block until there is room. Returns 0 or a
 *   negative errno.
 * - now_ns() is a monotonic clock; the client uses it for cache timeouts.
 *
 * The client reads params after fuse_conn_init() and takes request ids from
 * next_unique (through fuse_conn_unique()). It never touches transport.
 */
#ifndef MIURA_FS_FUSE_CONN_H
#define MIURA_FS_FUSE_CONN_H

#include <stdint.h>

#include "fs/fuse_msg.h"
#include "lib/iobuf.h"

struct fuse_conn {
    int (*call)(struct fuse_conn *c, const struct iobuf *out, unsigned n_out,
                const struct iobuf *in, unsigned n_in);
    int (*send_noreply)(struct fuse_conn *c, const struct iobuf *out, unsigned n_out);
    uint64_t (*now_ns)(struct fuse_conn *c);
    struct fuse_session_params params; /* filled by fuse_conn_init() */
    uint64_t next_unique;              /* last request id handed out */
    void *transport;                   /* the driver's; the client never looks */
};

/* A fresh request id, never 0. Ids wrap after 2^64 requests, long after any
 * request that used the same id has completed. */
static inline uint64_t fuse_conn_unique(struct fuse_conn *c)
{
    if (++c->next_unique == 0)
        c->next_unique = 1;
    return c->next_unique;
}

/*
 * Starts the session (FUSE_INIT) and stores what was negotiated in
 * c->params. call, send_noreply and now_ns must be set. Returns 0,
 * -EPROTONOSUPPORT (server too old or not FUSE 7), -EPROTO (malformed
 * reply), the server's negative errno, or the transport's error.
 */
int fuse_conn_init(struct fuse_conn *c);

#endif
