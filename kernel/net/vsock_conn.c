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
 * fd, the connection table, a listener's accept queue, each data packet the
 * device still reads from, the wait for a control packet, and every socket
 * call in progress hold one.
 *
 * Packets: a data packet is one allocation, header and payload together
 * (struct vsock_pkt), freed when the device hands it back. Control packets
 * come from a pool allocated with the image, so they never fail for lack of
 * memory: a socket that finds the pool empty notes what it owes
 * (ctrl_pending) and waits on a list; every pool packet that comes back
 * sends the next owed one. Data never overtakes a control packet of its
 * connection.
 *
 * Waiting for packets to come back: the transport may keep a packet the
 * device is done with for a while, unless told that someone waits for it
 * (want_tx_done, vsock_transport.h): a socket that owes a control packet
 * for an empty pool, and a sender about to sleep for its own packets
 * (vsock_tx_wait_prepare).
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

/* The control packet pool (bytes, since an array of structs with a
 * flexible member is not C), its free list and the sockets waiting for it. */
static uint8_t ctrl_mem[VSOCK_CTRL_POOL * sizeof(struct vsock_pkt)]
    __attribute__((aligned(_Alignof(struct vsock_pkt))));
static struct list ctrl_free, ctrl_waiters;

static void tables_init(void)
{
    if (tables_ready)
        return;
    for (unsigned i = 0; i < CONN_BUCKETS; i++)
        list_init(&conn_table[i]);
    for (unsigned i = 0; i < BIND_BUCKETS; i++)
        list_init(&bind_table[i]);
    list_init(&timers);
    list_init(&ctrl_free);
    list_init(&ctrl_waiters);
    for (unsigned i = 0; i < VSOCK_CTRL_POOL; i++)
        list_push_back(&ctrl_free, &((struct vsock_pkt *)ctrl_mem)[i].link);
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
    list_init(&s->ctrl_link);
    s->buf_alloc = VSOCK_BUF_DEFAULT;
    s->sndbuf = VSOCK_SNDBUF_DEFAULT;
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

/* A small first payload is copied into a heap buffer sized for it (with
 * room for small packets after it), and the device's page goes back at
 * once: connections with a short request (an HTTP head) waiting to be
 * accepted or read then hold a few hundred bytes each, not a page. That is
 * what lets 100 keep-alive connections fit in 3 MiB (keeping the page for a
 * reader already asleep on the socket was measured: they did not fit, the
 * woken readers holding their pages until they run). A bigger payload
 * keeps its page: its reader copies it out once, straight to the caller.
 * Without memory the page is kept. */
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

/* Fills p's header for s (our credit goes with it) and hands p to the
 * transport: 0, or -errno with p still net's. */
static int post(struct vsock_transport *t, struct vsock_sock *s, struct vsock_pkt *p, uint16_t op,
                uint32_t flags, uint32_t len)
{
    p->hdr = (struct vsock_hdr){
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
    /* A window once given is never taken back (spec/vsock.pml found the
     * data a smaller SO_RCVBUF dropped): it only moves forward. */
    if ((int32_t)(s->fwd_cnt + s->buf_alloc - s->rx_win_end) > 0)
        s->rx_win_end = s->fwd_cnt + s->buf_alloc;
    if (op == VSOCK_OP_CREDIT_UPDATE)
        vsock_net_stats.credit_updates++;
    if (op == VSOCK_OP_RST)
        vsock_net_stats.rst_sent++;
    return t->send(t, p);
}

static struct vsock_pkt *ctrl_get(void)
{
    tables_init();
    struct list *n = list_pop_front(&ctrl_free);
    if (!n)
        return NULL;
    vsock_net_stats.ctrl_in_use++;
    return list_entry(n, struct vsock_pkt, link);
}

static void ctrl_put(struct vsock_pkt *p)
{
    if (p->cap) { /* an RST reply from the heap (vsock_send_rst_reply) */
        vsock_pkt_free(p);
        return;
    }
    vsock_net_stats.ctrl_in_use--;
    list_push_front(&ctrl_free, &p->link);
}

/* Sends a control packet from the pool (owner NULL) on s: 0 or -errno (p
 * back in the pool). */
static int ctrl_post(struct vsock_transport *t, struct vsock_sock *s, struct vsock_pkt *p,
                     uint16_t op, uint32_t flags)
{
    p->owner = NULL;
    int rc = post(t, s, p, op, flags, 0);
    if (rc < 0)
        ctrl_put(p);
    return rc;
}

/* The order in which owed control packets go out. */
static const uint8_t ctrl_order[] = {VSOCK_OP_REQUEST,        VSOCK_OP_RESPONSE,
                                     VSOCK_OP_CREDIT_REQUEST, VSOCK_OP_CREDIT_UPDATE,
                                     VSOCK_OP_SHUTDOWN,       VSOCK_OP_RST};

/* Pool packets came back: the sockets waiting for them send what they owe,
 * oldest first, as far as the pool goes. */
static void ctrl_flush(void)
{
    static bool flushing; /* a send may hand a packet back at once: no recursion */
    struct vsock_transport *t = vsock_net_transport;
    if (flushing)
        return;
    flushing = true;
    while (!list_empty(&ctrl_waiters) && !list_empty(&ctrl_free)) {
        struct vsock_sock *s = list_entry(ctrl_waiters.next, struct vsock_sock, ctrl_link);
        for (unsigned i = 0; i < sizeof(ctrl_order) && s->ctrl_pending; i++) {
            uint8_t op = ctrl_order[i];
            struct vsock_pkt *p;
            if (!(s->ctrl_pending & (1u << op)))
                continue;
            if (!(p = ctrl_get()))
                goto out;
            s->ctrl_pending &= (uint8_t) ~(1u << op);
            if (t)
                (void)ctrl_post(t, s, p, op, op == VSOCK_OP_SHUTDOWN ? s->ctrl_shut : 0);
            else
                ctrl_put(p);
        }
        s->ctrl_shut = 0;
        list_remove(&s->ctrl_link);
        vsock_wake(s); /* data held back behind them may go */
        vsock_sock_put(s);
    }
out:
    flushing = false;
}

void vsock_ctrl_forget(struct vsock_sock *s)
{
    if (list_empty(&s->ctrl_link))
        return;
    s->ctrl_pending = 0;
    list_remove(&s->ctrl_link);
    vsock_sock_put(s);
}

int vsock_send_ctrl(struct vsock_sock *s, uint16_t op, uint32_t flags)
{
    struct vsock_transport *t = vsock_net_transport;
    struct vsock_pkt *p;
    if (!t)
        return -ENETDOWN;
    /* Behind what it owes already, or the pool is empty: owed. */
    if (s->ctrl_pending || !(p = ctrl_get())) {
        if (!s->ctrl_pending) {
            vsock_sock_hold(s);
            list_push_back(&ctrl_waiters, &s->ctrl_link);
        }
        s->ctrl_pending |= (uint8_t)(1u << op);
        if (op == VSOCK_OP_SHUTDOWN)
            s->ctrl_shut |= (uint8_t)flags;
        vsock_net_stats.ctrl_deferred++;
        t->want_tx_done(t); /* the pool comes back with the packets in flight */
        return 0;
    }
    return ctrl_post(t, s, p, op, flags);
}

void vsock_send_rst_reply(const struct vsock_hdr *in)
{
    struct vsock_transport *t = vsock_net_transport;
    struct vsock_pkt *p;
    if (!t || in->op == VSOCK_OP_RST)
        return;
    uint32_t cap;
    /* The pool empty (a burst of refusals): one from the heap (cap 1, so
     * that ctrl_put frees it). Dropped, the RST would leave the peer waiting
     * for its connect timeout. */
    if (!(p = ctrl_get()) && !(p = vsock_pkt_alloc(1, &cap))) {
        vsock_net_stats.rst_dropped++; /* the peer's timeout ends it instead */
        return;
    }
    p->owner = NULL;
    p->hdr = (struct vsock_hdr){
        .src_cid = in->dst_cid,
        .dst_cid = in->src_cid,
        .src_port = in->dst_port,
        .dst_port = in->src_port,
        .type = in->type,
        .op = VSOCK_OP_RST,
    };
    vsock_net_stats.rst_sent++;
    if (t->send(t, p) < 0)
        ctrl_put(p);
}

int64_t vsock_send_room(struct vsock_sock *s)
{
    if (s->err)
        return -s->err;
    if ((s->local_shut & VSOCK_SHUTDOWN_SEND) || (s->peer_shut & VSOCK_SHUTDOWN_RCV) ||
        s->state == VSOCK_CLOSED)
        return -EPIPE;
    if (s->state != VSOCK_ESTABLISHED)
        return -ENOTCONN;
    if (s->ctrl_pending & VSOCK_CTRL_BEFORE_DATA)
        return 0; /* behind the RESPONSE that waits for the pool */
    uint32_t room = vsock_credit_free(s->peer_buf_alloc, s->peer_fwd_cnt, s->tx_cnt);
    uint32_t buf = s->sndbuf > s->tx_inflight ? s->sndbuf - s->tx_inflight : 0;
    if (room > buf)
        room = buf;
    return room > VSOCK_TX_PKT_MAX ? VSOCK_TX_PKT_MAX : room;
}

#define PKT_HEAD offsetof(struct vsock_pkt, data)

struct vsock_pkt *vsock_pkt_alloc(uint32_t n, uint32_t *cap)
{
    /* A big packet needs contiguous pages; when the heap has none (many big
     * responses at once), a smaller packet goes rather than none. */
    struct vsock_pkt *p;
    while (!(p = malloc(PKT_HEAD + n)) && n > VSOCK_PKT_ALLOC_MIN)
        n /= 2;
    if (p) {
        vsock_net_stats.mem_bytes += PKT_HEAD + n;
        p->cap = *cap = n;
    }
    return p;
}

void vsock_pkt_free(struct vsock_pkt *p)
{
    vsock_net_stats.mem_bytes -= PKT_HEAD + p->cap;
    free(p);
}

void vsock_tx_reserve(struct vsock_sock *s, uint32_t n)
{
    s->tx_inflight += n;
    s->tx_cnt += n;
}

void vsock_tx_unreserve(struct vsock_sock *s, uint32_t n)
{
    s->tx_inflight -= n;
    s->tx_cnt -= n;
    if (n)
        vsock_wake(s); /* room for other writers */
}

int vsock_send_pkt(struct vsock_sock *s, struct vsock_pkt *p, uint32_t len)
{
    struct vsock_transport *t = vsock_net_transport;
    int rc = -ENETDOWN;
    p->owner = s;
    vsock_sock_hold(s); /* the packet's, until tx_done */
    if (!t || (rc = post(t, s, p, VSOCK_OP_RW, 0, len)) < 0) {
        vsock_tx_unreserve(s, len);
        vsock_pkt_free(p);
        vsock_sock_put(s);
    }
    return rc < 0 ? rc : 0;
}

int64_t vsock_send_some(struct vsock_sock *s, const uint8_t *buf, uint32_t n)
{
    int64_t room = vsock_send_room(s);
    uint32_t cap;
    if (room <= 0)
        return room;
    if (n > room)
        n = (uint32_t)room;
    struct vsock_pkt *p = vsock_pkt_alloc(n, &cap);
    if (!p)
        return -ENOMEM;
    /* The one copy of send: into the packet the device reads. */
    memcpy(p->data, buf, cap);
    vsock_net_stats.tx_copied += cap;
    vsock_tx_reserve(s, cap);
    int rc = vsock_send_pkt(s, p, cap);
    return rc < 0 ? (int64_t)rc : (int64_t)cap;
}

void vsock_tx_done_locked(struct vsock_pkt *p)
{
    if (!p->owner) { /* from the pool */
        ctrl_put(p);
        ctrl_flush();
        return;
    }
    struct vsock_sock *s = p->owner;
    s->tx_inflight -= p->hdr.len;
    vsock_pkt_free(p);
    vsock_wake(s);
    vsock_sock_put(s);
}

void vsock_tx_wait_prepare(struct vsock_sock *s, bool nomem)
{
    struct vsock_transport *t = vsock_net_transport;
    if (t && s->tx_inflight && (nomem || s->tx_inflight >= s->sndbuf))
        t->want_tx_done(t);
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
            vsock_ctrl_forget(s); /* the peer forgot the connection */
            s->err = ECONNRESET;
            s->peer_shut = VSOCK_SHUTDOWN_BOTH;
            vsock_conn_close(s);
        }
    }
}
