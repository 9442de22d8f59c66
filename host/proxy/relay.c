/* SPDX-License-Identifier: BSD-2-Clause */
#include "proxy/relay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define RING_MASK (RELAY_RING - 1)

static uint32_t ring_used(const struct relay_ring *g)
{
    return g->tail - g->head;
}

/* The free space as up to two iovecs; returns how many. */
static int ring_free_iov(struct relay_ring *g, struct iovec iov[2])
{
    uint32_t free_bytes = RELAY_RING - ring_used(g);
    uint32_t off = g->tail & RING_MASK;
    uint32_t first = RELAY_RING - off < free_bytes ? RELAY_RING - off : free_bytes;
    iov[0] = (struct iovec){g->buf + off, first};
    iov[1] = (struct iovec){g->buf, free_bytes - first};
    return free_bytes > first ? 2 : 1;
}

/* The bytes waiting as up to two iovecs; returns how many. */
static int ring_used_iov(struct relay_ring *g, struct iovec iov[2])
{
    uint32_t used = ring_used(g);
    uint32_t off = g->head & RING_MASK;
    uint32_t first = RELAY_RING - off < used ? RELAY_RING - off : used;
    iov[0] = (struct iovec){g->buf + off, first};
    iov[1] = (struct iovec){g->buf, used - first};
    return used > first ? 2 : 1;
}

static bool ring_ready(struct relay *r, struct relay_ring *g)
{
    if (!g->buf) {
        g->buf = malloc(RELAY_RING);
        if (!g->buf) {
            relay_fail(r, "out of memory for a buffer", ENOMEM);
            return false;
        }
    }
    if (ring_used(g) == 0)
        g->head = g->tail = 0; /* one contiguous read when empty */
    return true;
}

void relay_init(struct relay *r, int client_fd, int vmm_fd, uint32_t guest_port, bool connecting)
{
    memset(r, 0, sizeof(*r));
    r->state = connecting ? RELAY_CONNECTING : RELAY_HANDSHAKE;
    r->end[RELAY_CLIENT].fd = client_fd;
    r->end[RELAY_VMM].fd = vmm_fd;
    /* A fresh socket: assume ready until told otherwise (EAGAIN clears it). */
    r->end[RELAY_CLIENT].readable = true;
    r->end[RELAY_CLIENT].writable = true;
    r->end[RELAY_VMM].readable = !connecting;
    r->end[RELAY_VMM].writable = !connecting;
    r->line_len =
        (unsigned)snprintf(r->line, sizeof(r->line), PORT_LINE_CONNECT "%u\n", guest_port);
    port_line_init(&r->ok, PORT_LINE_OK);
}

void relay_fail(struct relay *r, const char *why, int err)
{
    if (r->state == RELAY_DONE || r->state == RELAY_FAILED)
        return;
    r->state = RELAY_FAILED;
    r->why = why;
    r->err = err;
}

/*
 * A reset from the VMM socket while streaming (ECONNRESET, or EPIPE on a
 * write) says the guest closed with some of our bytes unread, typically a
 * server that answered a request before reading all of its body (a 405 or
 * 413 to a POST). What it sent is still ours to read: the client gets it
 * and the end of the stream, as it would connected to the VMM socket
 * itself, while what the client sends on is dropped until its end.
 */
static bool vmm_stopped_reading(struct relay *r, enum relay_side side, int err)
{
    if (side != RELAY_VMM || r->state != RELAY_STREAM || (err != ECONNRESET && err != EPIPE))
        return false;
    r->up.dst_gone = true;
    r->up.ring.head = r->up.ring.tail;
    return true;
}

void relay_event(struct relay *r, enum relay_side side, uint32_t events)
{
    struct relay_end *e = &r->end[side];
    if (events & EPOLLERR) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err &&
            !vmm_stopped_reading(r, side, err)) {
            relay_fail(r, side == RELAY_CLIENT ? "client socket error" : "VMM socket error", err);
            return;
        }
    }
    /* HUP and ERR make both calls return at once (EOF or the error). */
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        e->readable = true;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        e->writable = true;
}

/* Reads from `side` into the ring; returns bytes read, 0 on EOF, -1 when nothing was read. */
static ssize_t fill(struct relay *r, struct relay_dir *d, enum relay_side side)
{
    struct relay_end *e = &r->end[side];
    struct iovec iov[2];
    if (d->src_eof || !e->readable || !ring_ready(r, &d->ring) || ring_used(&d->ring) == RELAY_RING)
        return -1;
    int cnt = ring_free_iov(&d->ring, iov);
    ssize_t n;
    int resets = 0;
    /* A reset is reported once, after the bytes before it: the EOF comes next. */
    do
        n = readv(e->fd, iov, cnt);
    while (n < 0 && (errno == EINTR || (errno == ECONNRESET && resets++ == 0 &&
                                        vmm_stopped_reading(r, side, errno))));
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            e->readable = false;
        else
            relay_fail(r, side == RELAY_CLIENT ? "read from the client" : "read from the VMM",
                       errno);
        return -1;
    }
    if (n == 0) {
        d->src_eof = true;
        return 0;
    }
    d->ring.tail += (uint32_t)n;
    return n;
}

/* Writes the ring to `side`; returns bytes written or -1. */
static ssize_t drain(struct relay *r, struct relay_dir *d, enum relay_side side)
{
    struct relay_end *e = &r->end[side];
    struct iovec iov[2];
    if (d->dst_gone)
        d->ring.head = d->ring.tail; /* dropped */
    if (ring_used(&d->ring) == 0 || !e->writable)
        return -1;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)ring_used_iov(&d->ring, iov)};
    ssize_t n;
    do
        n = sendmsg(e->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            e->writable = false;
        else if (!vmm_stopped_reading(r, side, errno))
            relay_fail(r, side == RELAY_CLIENT ? "write to the client" : "write to the VMM", errno);
        return -1;
    }
    d->ring.head += (uint32_t)n;
    d->bytes += (uint64_t)n;
    return n;
}

/* One round of a direction; returns bytes moved (an EOF or shutdown counts as 1). */
static size_t pump(struct relay *r, struct relay_dir *d, enum relay_side src, enum relay_side dst)
{
    size_t moved = 0;
    ssize_t n = fill(r, d, src);
    if (n >= 0)
        moved += n > 0 ? (size_t)n : 1;
    if (r->state != RELAY_STREAM)
        return 0;
    n = drain(r, d, dst);
    if (n > 0)
        moved += (size_t)n;
    if (r->state == RELAY_STREAM && d->src_eof && ring_used(&d->ring) == 0 && !d->dst_shut) {
        /* ENOTCONN: the peer is already gone; the direction is over either way. */
        shutdown(r->end[dst].fd, SHUT_WR);
        d->dst_shut = true;
        moved++;
    }
    return moved;
}

static size_t connecting(struct relay *r)
{
    struct relay_end *e = &r->end[RELAY_VMM];
    int err = 0;
    socklen_t len = sizeof(err);
    if (!e->writable)
        return 0;
    if (getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        relay_fail(r, "connect to the VMM socket", err);
        return 0;
    }
    r->state = RELAY_HANDSHAKE;
    e->readable = true;
    return 1;
}

/* Sends the CONNECT line and parses the reply; client bytes wait in `up`. */
static size_t handshake(struct relay *r)
{
    struct relay_end *v = &r->end[RELAY_VMM];
    struct relay_ring *g = &r->down.ring;
    size_t moved = 0;
    if (r->line_sent < r->line_len && v->writable) {
        ssize_t n = send(v->fd, r->line + r->line_sent, r->line_len - r->line_sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            r->line_sent += (unsigned)n;
            moved += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            v->writable = false;
        } else if (n < 0 && errno != EINTR) {
            relay_fail(r, "write the CONNECT line", errno);
            return 0;
        }
    }
    /* The ring holds no stream bytes yet: every byte read is parsed. */
    ssize_t n = fill(r, &r->down, RELAY_VMM);
    if (n == 0) {
        relay_fail(r, "the VMM closed the connection without OK (no listener on the guest port?)",
                   0);
        return 0;
    }
    if (n > 0) {
        size_t line = port_line_feed(&r->ok, g->buf + (g->head & RING_MASK), (size_t)n);
        g->head += (uint32_t)line;
        moved += (size_t)n;
        if (r->ok.status == PORT_LINE_ERROR) {
            relay_fail(r, "the VMM's reply to CONNECT is not \"OK <port>\"", 0);
            return 0;
        }
        if (r->ok.status == PORT_LINE_DONE && r->line_sent == r->line_len)
            r->state = RELAY_STREAM;
        else if (r->ok.status == PORT_LINE_DONE) {
            relay_fail(r, "the VMM answered before the CONNECT line was sent", 0);
            return 0;
        }
    }
    /* Hold what the client sends early (bounded by the ring); EOF is kept for later. */
    n = fill(r, &r->up, RELAY_CLIENT);
    if (n >= 0)
        moved += n > 0 ? (size_t)n : 1;
    return moved;
}

bool relay_run(struct relay *r, size_t budget)
{
    size_t moved;
    do {
        switch (r->state) {
        case RELAY_CONNECTING:
            moved = connecting(r);
            break;
        case RELAY_HANDSHAKE:
            moved = handshake(r);
            break;
        case RELAY_STREAM:
            moved = pump(r, &r->up, RELAY_CLIENT, RELAY_VMM);
            moved += pump(r, &r->down, RELAY_VMM, RELAY_CLIENT);
            if (r->up.dst_shut && r->down.dst_shut && r->state == RELAY_STREAM)
                r->state = RELAY_DONE;
            break;
        default:
            return false;
        }
        if (r->state == RELAY_DONE || r->state == RELAY_FAILED)
            return false;
        if (moved >= budget)
            return true;
        budget -= moved;
    } while (moved > 0);
    return false;
}

void relay_free(struct relay *r)
{
    free(r->up.ring.buf);
    free(r->down.ring.buf);
    r->up.ring.buf = r->down.ring.buf = NULL;
}
