/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vsock sockets and connections: their tables, lifetime, and the data paths
 * (receive queue, credit, send). Packet handling is in vsock_proto.c.
 *
 * Tables: the connection table finds a connection by (local port, peer CID,
 * peer port) and holds a reference while it is hashed; the bind table finds
 * the socket that owns a local port (listeners and connecting clients;
 * accepted connections share their listener's port and are not in it).
 *
 * Lifetime: a struct vsock_sock is freed when its last reference goes: the
 * fd, the connection table, a listener's accept queue, each tx packet the
 * device still reads from, and every socket call in progress hold one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "net/vsock.h"

#define CONN_BUCKETS 512 /* power of two */
#define BIND_BUCKETS 256 /* power of two */

struct vsock_net_stats vsock_net_stats;
struct vsock_transport *vsock_net_transport;
uint32_t vsock_net_initial_cnt;
uint32_t vsock_net_next_ephemeral = VSOCK_EPHEMERAL_FIRST;

static struct list conn_table[CONN_BUCKETS];
static struct list bind_table[BIND_BUCKETS];
static struct list timers; /* connecting and closing sockets */
static bool tables_ready;

/* A payload handed to the transport; the cookie of its send(). */
struct vsock_tx_pkt {
    struct vsock_sock *s;
    uint32_t len;
    uint8_t data[];
};

static void tables_init(void)
{
    if (tables_ready)
        return;
    for (unsigned i = 0; i < CONN_BUCKETS; i++)
        list_init(&conn_table[i]);
    for (unsigned i = 0; i < BIND_BUCKETS; i++)
        list_init(&bind_table[i]);
    list_init(&timers);
    tables_ready = true;
}

static unsigned conn_bucket(uint32_t local_port, uint32_t peer_cid, uint32_t peer_port)
{
    uint32_t h = local_port * 0x9e3779b1u;
    h ^= peer_port * 0x85ebca6bu;
    h ^= peer_cid * 0xc2b2ae35u;
    h ^= h >> 15;
    return h & (CONN_BUCKETS - 1);
}

struct vsock_sock *vsock_conn_find(uint32_t local_port, uint32_t peer_cid, uint32_t peer_port)
{
    tables_init();
    struct list *b = &conn_table[conn_bucket(local_port, peer_cid, peer_port)];
    list_for_each(pos, b)
    {
        struct vsock_sock *s = list_entry(pos, struct vsock_sock, hash_link);
        if (s->local_port == local_port && s->peer_cid == peer_cid && s->peer_port == peer_port)
            return s;
    }
    return NULL;
}

void vsock_conn_hash(struct vsock_sock *s)
{
    tables_init();
    vsock_sock_hold(s);
    s->hashed = true;
    list_push_back(&conn_table[conn_bucket(s->local_port, s->peer_cid, s->peer_port)],
                   &s->hash_link);
}

struct vsock_sock *vsock_bind_find(uint32_t port)
{
    tables_init();
    list_for_each(pos, &bind_table[port & (BIND_BUCKETS - 1)])
    {
        struct vsock_sock *s = list_entry(pos, struct vsock_sock, bind_link);
        if (s->local_port == port)
            return s;
    }
    return NULL;
}

void vsock_unbind(struct vsock_sock *s)
{
    if (!s->bound)
        return;
    s->bound = false;
    list_remove(&s->bind_link);
}

/* ---- lifetime */

struct vsock_sock *vsock_sock_new(void)
{
    tables_init();
    struct vsock_sock *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->fdo.flags = O_RDWR;
    s->refs = 1;
    s->state = VSOCK_UNBOUND;
    s->local_cid = UINT32_MAX;
    list_init(&s->hash_link);
    list_init(&s->bind_link);
    list_init(&s->accept_link);
    list_init(&s->timer_link);
    list_init(&s->rxq);
    list_init(&s->accept_q);
    s->buf_alloc = VSOCK_BUF_DEFAULT;
    s->sndbuf = VSOCK_BUF_DEFAULT;
    net_waitq_init(&s->wq);
    vsock_net_stats.socks++;
    vsock_net_stats.mem_bytes += sizeof(*s);
    return s;
}

void vsock_sock_hold(struct vsock_sock *s)
{
    s->refs++;
}

static void rx_release(struct vsock_rx_buf *b)
{
    if (b->net_copy) {
        vsock_net_stats.mem_bytes -= sizeof(*b) + b->cap;
        free(b);
        return;
    }
    vsock_net_stats.rx_bufs_held--;
    vsock_net_transport->rx_release(vsock_net_transport, b);
}

/* A small payload arriving on an empty queue is copied into a heap buffer
 * sized for it (with room for small packets after it), and the device's page
 * goes back at once: a connection waiting with a short request unread (an
 * HTTP request in the accept backlog, say) then holds a few hundred bytes,
 * not a page. Without memory the page is kept, as before. */
static struct vsock_rx_buf *rx_copy(struct vsock_rx_buf *buf)
{
    uint32_t len = buf->hdr.len, cap = (len + 63u) & ~63u;
    if (cap < VSOCK_COALESCE_MAX) /* room for small packets after it */
        cap = VSOCK_COALESCE_MAX;
    struct vsock_rx_buf *c = malloc(sizeof(*c) + cap);
    if (!c)
        return buf;
    *c = (struct vsock_rx_buf){
        .hdr = buf->hdr, .data = (uint8_t *)(c + 1), .cap = cap, .net_copy = true};
    memcpy(c->data, buf->data, len);
    vsock_net_stats.mem_bytes += sizeof(*c) + cap;
    vsock_net_stats.rx_copied++;
    rx_release(buf);
    return c;
}

/* Gives every queued buffer back; the unread data is gone. */
void vsock_rx_discard(struct vsock_sock *s)
{
    struct list *n;
    while ((n = list_pop_front(&s->rxq)))
        rx_release(list_entry(n, struct vsock_rx_buf, link));
    s->rx_bytes = 0;
}

void vsock_sock_put(struct vsock_sock *s)
{
    if (--s->refs)
        return;
    vsock_rx_discard(s);
    vsock_unbind(s);
    list_remove(&s->timer_link);
    vsock_net_stats.socks--;
    vsock_net_stats.mem_bytes -= sizeof(*s);
    free(s);
}

void vsock_wake(struct vsock_sock *s)
{
    net_wake_all(&s->wq); /* its readers, writers and pollers */
}

/* ---- timers */

void vsock_timer_set(struct vsock_sock *s, uint64_t deadline)
{
    tables_init();
    list_remove(&s->timer_link);
    s->deadline = deadline;
    list_push_back(&timers, &s->timer_link);
    net_timer_kick();
}

/* Moves every socket whose deadline passed to `due` (each with a reference). */
void vsock_timers_take_due(uint64_t now, struct list *due, uint64_t *next)
{
    tables_init();
    *next = 0;
    for (struct list *pos = timers.next, *nx; pos != &timers; pos = nx) {
        nx = pos->next;
        struct vsock_sock *s = list_entry(pos, struct vsock_sock, timer_link);
        if (s->deadline <= now) {
            list_remove(pos);
            vsock_sock_hold(s);
            list_push_back(due, pos);
        } else if (!*next || s->deadline < *next) {
            *next = s->deadline;
        }
    }
}

/* ---- state changes */

/* The connection is over: out of the tables, no timer, waiters woken. The
 * unread data stays readable. May free s (drops the table's reference). */
void vsock_conn_close(struct vsock_sock *s)
{
    s->state = VSOCK_CLOSED;
    list_remove(&s->timer_link);
    vsock_unbind(s); /* a client's port is free once its connection is */
    vsock_wake(s);
    if (s->hashed) {
        s->hashed = false;
        list_remove(&s->hash_link);
        vsock_sock_put(s);
    }
}

int vsock_bind(struct vsock_sock *s, uint32_t port)
{
    tables_init();
    if (s->state != VSOCK_UNBOUND)
        return -EINVAL;
    if (port == UINT32_MAX) {
        int rc = vsock_port_alloc(UINT32_MAX, UINT32_MAX);
        if (rc < 0)
            return rc;
        port = (uint32_t)rc;
    } else if (vsock_bind_find(port)) {
        return -EADDRINUSE;
    }
    s->local_port = port;
    s->bound = true;
    list_push_back(&bind_table[port & (BIND_BUCKETS - 1)], &s->bind_link);
    s->state = VSOCK_BOUND;
    return 0;
}

/* An unused local port from the ephemeral range, round robin; with a peer
 * given, also one whose (port, peer) pair is not a live connection. */
int vsock_port_alloc(uint32_t peer_cid, uint32_t peer_port)
{
    uint32_t span = VSOCK_EPHEMERAL_LAST - VSOCK_EPHEMERAL_FIRST + 1;
    for (uint32_t i = 0; i < span; i++) {
        uint32_t p = vsock_net_next_ephemeral;
        if (p < VSOCK_EPHEMERAL_FIRST || p > VSOCK_EPHEMERAL_LAST)
            p = VSOCK_EPHEMERAL_FIRST;
        vsock_net_next_ephemeral = p == VSOCK_EPHEMERAL_LAST ? VSOCK_EPHEMERAL_FIRST : p + 1;
        if (vsock_bind_find(p))
            continue;
        if (peer_port != UINT32_MAX && vsock_conn_find(p, peer_cid, peer_port))
            continue;
        return (int)p;
    }
    return -EADDRNOTAVAIL;
}

/* ---- sending */

static int send_hdr(struct vsock_sock *s, uint16_t op, uint32_t flags, const void *payload,
                    uint32_t len, void *cookie)
{
    struct vsock_transport *t = vsock_net_transport;
    if (!t)
        return -ENETDOWN;
    struct vsock_hdr h = {
        .src_cid = t->guest_cid,
        .dst_cid = s->peer_cid,
        .src_port = s->local_port,
        .dst_port = s->peer_port,
        .len = len,
        .type = VSOCK_TYPE_STREAM,
        .op = op,
        .flags = flags,
        .buf_alloc = s->buf_alloc,
        .fwd_cnt = s->fwd_cnt,
    };
    s->fwd_cnt_told = s->fwd_cnt;
    if (op == VSOCK_OP_CREDIT_UPDATE)
        vsock_net_stats.credit_updates++;
    if (op == VSOCK_OP_RST)
        vsock_net_stats.rst_sent++;
    return t->send(t, &h, payload, len, cookie);
}

int vsock_send_ctrl(struct vsock_sock *s, uint16_t op, uint32_t flags)
{
    return send_hdr(s, op, flags, NULL, 0, NULL);
}

void vsock_send_rst_reply(const struct vsock_hdr *in)
{
    struct vsock_transport *t = vsock_net_transport;
    if (!t || in->op == VSOCK_OP_RST)
        return;
    struct vsock_hdr h = {
        .src_cid = in->dst_cid,
        .dst_cid = in->src_cid,
        .src_port = in->dst_port,
        .dst_port = in->src_port,
        .type = in->type,
        .op = VSOCK_OP_RST,
    };
    vsock_net_stats.rst_sent++;
    (void)t->send(t, &h, NULL, 0, NULL);
}

int64_t vsock_send_some(struct vsock_sock *s, const uint8_t *buf, uint32_t n)
{
    if (s->err) {
        int e = s->err;
        s->err = 0;
        return -e;
    }
    if (s->local_shut & VSOCK_SHUTDOWN_SEND)
        return -EPIPE;
    if (s->state == VSOCK_CLOSED)
        return -EPIPE;
    if (s->state != VSOCK_ESTABLISHED)
        return -ENOTCONN;
    if (s->peer_shut & VSOCK_SHUTDOWN_RCV)
        return -EPIPE;
    uint32_t chunk = vsock_credit_free(s->peer_buf_alloc, s->peer_fwd_cnt, s->tx_cnt);
    uint32_t room = s->sndbuf > s->tx_inflight ? s->sndbuf - s->tx_inflight : 0;
    if (chunk > room)
        chunk = room;
    if (chunk > VSOCK_TX_PKT_MAX)
        chunk = VSOCK_TX_PKT_MAX;
    if (chunk > n)
        chunk = n;
    if (!chunk)
        return 0;
    /* The one copy of send: into memory the device reads until tx_done. A
     * big packet needs contiguous pages; when the heap has none (many big
     * responses at once), a smaller packet goes rather than a failed send. */
    struct vsock_tx_pkt *p;
    while (!(p = malloc(sizeof(*p) + chunk)) && chunk > 1024)
        chunk /= 2;
    if (!p)
        return -ENOMEM;
    p->s = s;
    p->len = chunk;
    memcpy(p->data, buf, chunk);
    vsock_sock_hold(s);
    vsock_net_stats.mem_bytes += sizeof(*p) + chunk;
    s->tx_inflight += chunk;
    s->tx_cnt += chunk;
    int rc = send_hdr(s, VSOCK_OP_RW, 0, p->data, chunk, p);
    if (rc < 0) {
        s->tx_inflight -= chunk;
        vsock_net_stats.mem_bytes -= sizeof(*p) + chunk;
        free(p);
        vsock_sock_put(s);
        return rc;
    }
    return chunk;
}

void vsock_tx_done_locked(void *cookie)
{
    struct vsock_tx_pkt *p = cookie;
    struct vsock_sock *s = p->s;
    s->tx_inflight -= p->len;
    vsock_net_stats.mem_bytes -= sizeof(*p) + p->len;
    free(p);
    vsock_wake(s);
    vsock_sock_put(s);
}

void vsock_request_credit(struct vsock_sock *s)
{
    if (s->credit_requested || s->state != VSOCK_ESTABLISHED)
        return;
    s->credit_requested = true;
    (void)vsock_send_ctrl(s, VSOCK_OP_CREDIT_REQUEST, 0);
}

/* ---- receiving */

void vsock_rx_queue(struct vsock_sock *s, struct vsock_rx_buf *buf)
{
    uint32_t len = buf->hdr.len;
    s->rx_cnt += len;
    s->rx_bytes += len;
    if (!list_empty(&s->rxq) && len <= VSOCK_COALESCE_MAX) {
        /* A small payload goes into the tail buffer when it fits, so that
         * many tiny packets do not pin many device buffers. */
        struct vsock_rx_buf *tail = list_entry(s->rxq.prev, struct vsock_rx_buf, link);
        if (tail->cap - tail->hdr.len >= len) {
            memcpy(tail->data + tail->hdr.len, buf->data, len);
            tail->hdr.len += len;
            vsock_net_stats.rx_coalesced++;
            rx_release(buf);
            return;
        }
    }
    if (list_empty(&s->rxq) && len <= VSOCK_COPY_MAX && !buf->net_copy)
        buf = rx_copy(buf);
    buf->off = 0;
    list_push_back(&s->rxq, &buf->link);
}

/* Credit update policy: tell the peer about consumed bytes only when the
 * window it sees has run low (under a quarter of buf_alloc), and then only
 * once a quarter of buf_alloc has been consumed since we last told it, or
 * everything has been read (so a blocked peer always hears back). */
static void credit_update_if_low(struct vsock_sock *s)
{
    if (s->state != VSOCK_ESTABLISHED)
        return;
    uint32_t seen_free = vsock_credit_free(s->buf_alloc, s->fwd_cnt_told, s->rx_cnt);
    uint32_t quarter = s->buf_alloc / 4;
    if (seen_free >= quarter)
        return;
    uint32_t untold = s->fwd_cnt - s->fwd_cnt_told;
    if (untold && (untold >= quarter || s->rx_bytes == 0))
        (void)vsock_send_ctrl(s, VSOCK_OP_CREDIT_UPDATE, 0);
}

uint32_t vsock_recv_copy(struct vsock_sock *s, uint8_t *buf, uint32_t n, bool peek)
{
    uint32_t done = 0;
    for (struct list *pos = s->rxq.next, *nx; pos != &s->rxq && done < n; pos = nx) {
        nx = pos->next;
        struct vsock_rx_buf *b = list_entry(pos, struct vsock_rx_buf, link);
        uint32_t c = b->hdr.len - b->off;
        if (c > n - done)
            c = n - done;
        /* The one copy of receive: device buffer to the caller. */
        memcpy(buf + done, b->data + b->off, c);
        done += c;
        if (peek)
            continue;
        b->off += c;
        if (b->off == b->hdr.len) {
            list_remove(pos);
            rx_release(b);
        }
    }
    if (!peek && done) {
        s->rx_bytes -= done;
        s->fwd_cnt += done;
        credit_update_if_low(s);
    }
    return done;
}

void vsock_rcvbuf_changed(struct vsock_sock *s)
{
    if (s->state == VSOCK_ESTABLISHED)
        (void)vsock_send_ctrl(s, VSOCK_OP_CREDIT_UPDATE, 0);
}

void vsock_conn_reset_all(void)
{
    tables_init();
    for (unsigned i = 0; i < CONN_BUCKETS; i++) {
        while (!list_empty(&conn_table[i])) {
            struct vsock_sock *s = list_entry(conn_table[i].next, struct vsock_sock, hash_link);
            vsock_rx_discard(s);
            s->err = ECONNRESET;
            s->peer_shut = VSOCK_SHUTDOWN_BOTH;
            vsock_conn_close(s);
        }
    }
}
