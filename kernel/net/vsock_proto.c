/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vsock stream protocol (virtio 1.2 §5.10.6): what each received packet
 * does in each connection state, connection setup and teardown, timers.
 * Linux's net/vmw_vsock/virtio_transport_common.c is the behavioural
 * reference.
 *
 * Transitions (a packet whose addresses match no connection goes to the
 * listener of its port if it is a REQUEST, else it is "to nowhere"):
 *
 *   state        event                      action                      next
 *   -----------  -------------------------  --------------------------  -----------
 *   nowhere      any but RST                RST back                    -
 *   LISTEN       REQUEST, backlog has room  child, RESPONSE, queue it   child ESTABLISHED
 *   LISTEN       REQUEST, backlog full      RST back                    -
 *   CONNECTING   RESPONSE                   wake connect()              ESTABLISHED
 *   CONNECTING   RST                        ECONNREFUSED                CLOSED
 *   CONNECTING   anything else              RST, EPROTO                 CLOSED
 *   CONNECTING   timeout (2 s)              RST, ETIMEDOUT              CLOSED
 *   ESTABLISHED  RW                         queue payload, wake         ESTABLISHED
 *   ESTABLISHED  CREDIT_UPDATE              (credit), wake writers      ESTABLISHED
 *   ESTABLISHED  CREDIT_REQUEST             CREDIT_UPDATE               ESTABLISHED
 *   ESTABLISHED  SHUTDOWN                   note flags, wake            ESTABLISHED
 *   ESTABLISHED  SHUTDOWN -> peer shut both, nothing unread: RST       CLOSED
 *   ESTABLISHED  RST                        ECONNRESET unless the peer  CLOSED
 *                                           had shut down sending
 *   ESTABLISHED  close()                    SHUTDOWN both, timer        CLOSING
 *   ESTABLISHED  close(), peer shut both    RST                         freed
 *   CLOSING      RST                        -                           freed
 *   CLOSING      SHUTDOWN -> peer shut both RST                         freed
 *   CLOSING      RW                         payload dropped             CLOSING
 *   CLOSING      timeout (2 s)              RST                         freed
 *   any          transport reset            ECONNRESET, buffers back    CLOSED
 *
 * Every packet on a connection also carries the peer's buf_alloc and
 * fwd_cnt, which update our send credit. Ops that make no sense in a state
 * are dropped and counted (rx_unexpected).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "net/vsock.h"

static void rx_drop(struct vsock_rx_buf *b)
{
    vsock_net_stats.rx_bufs_held--;
    vsock_net_transport->rx_release(vsock_net_transport, b);
}

/* ---- per-state receive handlers; each takes buf */

static void recv_listen(struct vsock_sock *l, const struct vsock_hdr *h)
{
    if (h->op != VSOCK_OP_REQUEST) {
        vsock_send_rst_reply(h);
        return;
    }
    if (l->pending >= l->backlog) {
        vsock_net_stats.backlog_dropped++;
        vsock_send_rst_reply(h);
        return;
    }
    struct vsock_sock *c = vsock_sock_new(); /* its reference: the accept queue */
    if (!c) {
        vsock_send_rst_reply(h);
        return;
    }
    c->local_port = l->local_port;
    c->local_cid = (uint32_t)vsock_net_transport->guest_cid;
    c->peer_cid = (uint32_t)h->src_cid;
    c->peer_port = h->src_port;
    c->buf_alloc = l->buf_alloc;
    c->sndbuf = l->sndbuf;
    c->rcvtimeo = l->rcvtimeo;
    c->sndtimeo = l->sndtimeo;
    c->rx_cnt = c->fwd_cnt = c->fwd_cnt_told = c->tx_cnt = vsock_net_initial_cnt;
    c->rx_win_end = c->fwd_cnt + c->buf_alloc;
    c->peer_buf_alloc = h->buf_alloc;
    c->peer_fwd_cnt = h->fwd_cnt;
    c->state = VSOCK_ESTABLISHED;
    c->listener = l;
    vsock_conn_hash(c);
    /* Queued before RESPONSE goes out, so data that follows it at once (the
     * peer may send as soon as it sees RESPONSE) finds the child. */
    list_push_back(&l->accept_q, &c->accept_link);
    l->pending++;
    vsock_sock_hold(c); /* the send may block while the listener goes away */
    if (vsock_send_ctrl(c, VSOCK_OP_RESPONSE, 0) < 0) {
        c->err = EIO;
        vsock_conn_close(c); /* stays queued; accept() reports the error */
    }
    vsock_sock_put(c);
    vsock_wake(l);
}

static void recv_connecting(struct vsock_sock *s, struct vsock_rx_buf *buf)
{
    const struct vsock_hdr *h = &buf->hdr;
    switch (h->op) {
    case VSOCK_OP_RESPONSE:
        s->state = VSOCK_ESTABLISHED;
        list_remove(&s->timer_link);
        vsock_wake(s);
        break;
    case VSOCK_OP_RST:
        s->err = ECONNREFUSED;
        vsock_conn_close(s);
        break;
    default:
        vsock_net_stats.rx_unexpected++;
        s->err = EPROTO;
        (void)vsock_send_ctrl(s, VSOCK_OP_RST, 0);
        vsock_conn_close(s);
        break;
    }
    rx_drop(buf);
}

/* Room for len bytes: in the buffer, or in the window our headers gave. */
static bool rx_fits(const struct vsock_sock *s, uint32_t len)
{
    uint32_t room = s->buf_alloc - (s->rx_bytes < s->buf_alloc ? s->rx_bytes : s->buf_alloc);
    uint32_t promised = s->rx_win_end - s->rx_cnt;
    if (promised > VSOCK_BUF_MAX)
        promised = 0; /* the peer is past it */
    return len <= room || len <= promised;
}

static void recv_established(struct vsock_sock *s, struct vsock_rx_buf *buf)
{
    const struct vsock_hdr *h = &buf->hdr;
    switch (h->op) {
    case VSOCK_OP_RW:
        if (!h->len)
            break;
        if (!rx_fits(s, h->len)) {
            vsock_net_stats.rx_bad_credit++; /* the peer ignored our window */
            break;
        }
        vsock_rx_queue(s, buf);
        vsock_wake(s);
        return;
    case VSOCK_OP_CREDIT_UPDATE:
        /* credit_requested ends only with more credit (receive_locked):
         * an update that grants nothing must not let a blocked sender ask
         * again at once, or the two ends ping-pong requests and updates
         * while the peer's reader is slow (spec/vsock.pml, -DPROGRESS). */
        vsock_wake(s);
        break;
    case VSOCK_OP_CREDIT_REQUEST:
        (void)vsock_send_ctrl(s, VSOCK_OP_CREDIT_UPDATE, 0);
        break;
    case VSOCK_OP_SHUTDOWN:
        s->peer_shut |= (uint8_t)(h->flags & VSOCK_SHUTDOWN_BOTH);
        vsock_wake(s);
        if (s->peer_shut == VSOCK_SHUTDOWN_BOTH && !s->rx_bytes) {
            (void)vsock_send_ctrl(s, VSOCK_OP_RST, 0);
            vsock_conn_close(s);
        }
        break;
    case VSOCK_OP_RST:
        if (!(s->peer_shut & VSOCK_SHUTDOWN_SEND))
            s->err = ECONNRESET; /* reported after the unread data */
        s->peer_shut = VSOCK_SHUTDOWN_BOTH;
        vsock_conn_close(s);
        break;
    default:
        vsock_net_stats.rx_unexpected++;
        break;
    }
    rx_drop(buf);
}

static void recv_closing(struct vsock_sock *s, struct vsock_rx_buf *buf)
{
    const struct vsock_hdr *h = &buf->hdr;
    switch (h->op) {
    case VSOCK_OP_RST:
        vsock_conn_close(s);
        break;
    case VSOCK_OP_SHUTDOWN:
        s->peer_shut |= (uint8_t)(h->flags & VSOCK_SHUTDOWN_BOTH);
        if (s->peer_shut == VSOCK_SHUTDOWN_BOTH) {
            (void)vsock_send_ctrl(s, VSOCK_OP_RST, 0);
            vsock_conn_close(s);
        }
        break;
    case VSOCK_OP_RW:
    case VSOCK_OP_CREDIT_UPDATE:
    case VSOCK_OP_CREDIT_REQUEST:
        break; /* nobody reads any more */
    default:
        vsock_net_stats.rx_unexpected++;
        break;
    }
    rx_drop(buf);
}

/* The one check of what the device wrote (vsock_transport.h); false if the
 * packet is to be dropped. Lengths: a whole header, a len that is what came
 * after it and fits, no payload on an op that carries none. */
static bool packet_valid(const struct vsock_transport *t, const struct vsock_rx_buf *buf)
{
    const struct vsock_hdr *h = &buf->hdr;
    if (buf->written < VSOCK_HDR_SIZE || h->len != buf->written - VSOCK_HDR_SIZE ||
        h->len > buf->cap || (h->op != VSOCK_OP_RW && h->len)) {
        vsock_net_stats.rx_bad_len++;
        return false;
    }
    if (h->dst_cid != t->guest_cid || h->src_cid > UINT32_MAX || h->dst_cid > UINT32_MAX) {
        vsock_net_stats.rx_bad_addr++;
        return false;
    }
    return true;
}

static void receive_locked(struct vsock_transport *t, struct vsock_rx_buf *buf)
{
    const struct vsock_hdr *h = &buf->hdr;
    if (!packet_valid(t, buf)) {
        rx_drop(buf);
        return;
    }
    if (h->type != VSOCK_TYPE_STREAM) {
        vsock_send_rst_reply(h);
        rx_drop(buf);
        return;
    }
    struct vsock_sock *s = vsock_conn_find(h->dst_port, (uint32_t)h->src_cid, h->src_port);
    if (!s) {
        struct vsock_sock *l = vsock_bind_find(h->dst_port);
        if (l && l->state == VSOCK_LISTEN) {
            vsock_sock_hold(l);
            recv_listen(l, h);
            vsock_sock_put(l);
        } else {
            vsock_send_rst_reply(h);
        }
        rx_drop(buf);
        return;
    }
    vsock_sock_hold(s); /* handlers may send (and block), or drop the table's reference */
    uint32_t credit = vsock_credit_free(s->peer_buf_alloc, s->peer_fwd_cnt, s->tx_cnt);
    s->peer_buf_alloc = h->buf_alloc;
    s->peer_fwd_cnt = h->fwd_cnt;
    if (vsock_credit_free(s->peer_buf_alloc, s->peer_fwd_cnt, s->tx_cnt) > credit) {
        s->credit_requested = false; /* answered, by an update or a piggybacked header */
        vsock_wake(s);
    }
    switch (s->state) {
    case VSOCK_CONNECTING:
        recv_connecting(s, buf);
        break;
    case VSOCK_ESTABLISHED:
        recv_established(s, buf);
        break;
    case VSOCK_CLOSING:
        recv_closing(s, buf);
        break;
    default: /* hashed sockets are in one of the states above */
        vsock_net_stats.rx_unexpected++;
        rx_drop(buf);
        break;
    }
    vsock_sock_put(s);
}

/* ---- driver entry points */

void vsock_net_attach(struct vsock_transport *t)
{
    uint64_t f = net_lock();
    vsock_net_transport = t;
    net_unlock(f);
}

void vsock_net_receive(struct vsock_transport *t, struct vsock_rx_buf *buf)
{
    uint64_t f = net_lock();
    vsock_net_stats.rx_packets++;
    if (t != vsock_net_transport) {
        t->rx_release(t, buf); /* not the attached transport: nobody to deliver to */
    } else {
        vsock_net_stats.rx_bufs_held++;
        receive_locked(t, buf);
    }
    net_unlock(f);
}

void vsock_net_tx_done(struct vsock_transport *t, struct vsock_pkt *p)
{
    (void)t;
    uint64_t f = net_lock();
    vsock_tx_done_locked(p);
    net_unlock(f);
}

void vsock_net_transport_reset(struct vsock_transport *t, uint64_t new_cid)
{
    uint64_t f = net_lock();
    t->guest_cid = new_cid;
    vsock_conn_reset_all();
    net_unlock(f);
}

/* ---- setup and teardown, called by the socket layer */

int vsock_listen(struct vsock_sock *s, int backlog)
{
    if (s->state != VSOCK_BOUND && s->state != VSOCK_LISTEN)
        return -EINVAL; /* as Linux: bind first; connected sockets cannot listen */
    if (backlog < 1)
        backlog = 1;
    if (backlog > VSOCK_BACKLOG_MAX)
        backlog = VSOCK_BACKLOG_MAX;
    s->backlog = (uint32_t)backlog;
    s->state = VSOCK_LISTEN;
    return 0;
}

int vsock_connect_start(struct vsock_sock *s, uint32_t cid, uint32_t port)
{
    switch (s->state) {
    case VSOCK_LISTEN:
        return -EINVAL;
    case VSOCK_CONNECTING:
        return -EALREADY;
    case VSOCK_ESTABLISHED:
        return -EISCONN;
    case VSOCK_CLOSED: /* a failed or finished connection: start over */
        vsock_rx_discard(s);
        vsock_ctrl_forget(s);
        s->err = 0;
        s->local_shut = s->peer_shut = 0;
        s->state = VSOCK_UNBOUND;
        break;
    default:
        break;
    }
    if (!vsock_net_transport)
        return -ENETDOWN;
    if (s->state == VSOCK_UNBOUND) {
        int p = vsock_port_alloc(cid, port);
        if (p < 0)
            return p;
        int rc = vsock_bind(s, (uint32_t)p);
        if (rc < 0)
            return rc;
    } else if (vsock_conn_find(s->local_port, cid, port)) {
        return -EADDRINUSE;
    }
    s->peer_cid = cid;
    s->peer_port = port;
    s->local_cid = (uint32_t)vsock_net_transport->guest_cid;
    s->rx_cnt = s->fwd_cnt = s->fwd_cnt_told = s->tx_cnt = vsock_net_initial_cnt;
    s->rx_win_end = s->fwd_cnt + s->buf_alloc;
    s->peer_buf_alloc = 0; /* no credit until RESPONSE says how much */
    s->peer_fwd_cnt = vsock_net_initial_cnt;
    s->credit_requested = false;
    s->state = VSOCK_CONNECTING;
    vsock_conn_hash(s);
    vsock_timer_set(s, net_clock_ns() + VSOCK_CONNECT_TIMEOUT);
    int rc = vsock_send_ctrl(s, VSOCK_OP_REQUEST, 0);
    if (rc < 0) {
        vsock_conn_close(s);
        return rc;
    }
    return 0;
}

void vsock_connect_timeout(struct vsock_sock *s)
{
    if (s->state != VSOCK_CONNECTING)
        return;
    s->err = ETIMEDOUT;
    (void)vsock_send_ctrl(s, VSOCK_OP_RST, 0);
    vsock_conn_close(s);
}

struct vsock_sock *vsock_accept_pop(struct vsock_sock *l)
{
    struct list *n = list_pop_front(&l->accept_q);
    if (!n)
        return NULL;
    struct vsock_sock *c = list_entry(n, struct vsock_sock, accept_link);
    l->pending--;
    c->listener = NULL;
    return c;
}

int vsock_shutdown(struct vsock_sock *s, uint32_t flags)
{
    if (s->state == VSOCK_CLOSED) {
        s->local_shut |= (uint8_t)flags;
        vsock_wake(s);
        return 0;
    }
    if (s->state != VSOCK_ESTABLISHED)
        return -ENOTCONN;
    uint32_t fresh = flags & ~(uint32_t)s->local_shut;
    if (!fresh)
        return 0;
    s->local_shut |= (uint8_t)fresh;
    vsock_wake(s);
    return vsock_send_ctrl(s, VSOCK_OP_SHUTDOWN, fresh) < 0 ? -EIO : 0;
}

void vsock_release(struct vsock_sock *s)
{
    struct list *n;
    switch (s->state) {
    case VSOCK_BOUND:
        vsock_unbind(s);
        break;
    case VSOCK_LISTEN:
        vsock_unbind(s);
        while ((n = list_pop_front(&s->accept_q))) {
            struct vsock_sock *c = list_entry(n, struct vsock_sock, accept_link);
            c->listener = NULL;
            s->pending--;
            if (c->state == VSOCK_ESTABLISHED)
                (void)vsock_send_ctrl(c, VSOCK_OP_RST, 0);
            vsock_conn_close(c);
            vsock_sock_put(c); /* the queue's reference */
        }
        break;
    case VSOCK_CONNECTING:
        (void)vsock_send_ctrl(s, VSOCK_OP_RST, 0);
        vsock_conn_close(s);
        break;
    case VSOCK_ESTABLISHED:
        vsock_rx_discard(s); /* nobody will read it */
        if (s->peer_shut == VSOCK_SHUTDOWN_BOTH) {
            (void)vsock_send_ctrl(s, VSOCK_OP_RST, 0);
            vsock_conn_close(s);
            break;
        }
        s->state = VSOCK_CLOSING;
        vsock_timer_set(s, net_clock_ns() + VSOCK_CLOSE_TIMEOUT);
        if (s->local_shut != VSOCK_SHUTDOWN_BOTH) {
            s->local_shut = VSOCK_SHUTDOWN_BOTH;
            if (vsock_send_ctrl(s, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_BOTH) < 0)
                vsock_conn_close(s);
        }
        break;
    default:
        break;
    }
    if (s->state != VSOCK_CLOSING)
        s->state = VSOCK_CLOSED;
    vsock_wake(s); /* calls still blocked on it see the change */
}

short vsock_poll_mask(struct vsock_sock *s)
{
    short m = 0;
    if (s->err)
        m |= POLLERR;
    switch (s->state) {
    case VSOCK_LISTEN:
        if (s->pending)
            m |= POLLIN;
        break;
    case VSOCK_ESTABLISHED:
        if (s->rx_bytes || (s->peer_shut & VSOCK_SHUTDOWN_SEND) ||
            (s->local_shut & VSOCK_SHUTDOWN_RCV))
            m |= POLLIN;
        if (s->peer_shut & VSOCK_SHUTDOWN_SEND)
            m |= POLLRDHUP;
        if (s->peer_shut == VSOCK_SHUTDOWN_BOTH || s->local_shut == VSOCK_SHUTDOWN_BOTH)
            m |= POLLHUP;
        if ((s->local_shut & VSOCK_SHUTDOWN_SEND) || (s->peer_shut & VSOCK_SHUTDOWN_RCV) ||
            (vsock_credit_free(s->peer_buf_alloc, s->peer_fwd_cnt, s->tx_cnt) &&
             s->tx_inflight < s->sndbuf && !(s->ctrl_pending & VSOCK_CTRL_BEFORE_DATA)))
            m |= POLLOUT; /* a send would not block (it may fail with EPIPE) */
        break;
    case VSOCK_CLOSED:
        m |= POLLIN | POLLOUT | POLLHUP | POLLRDHUP;
        break;
    default:
        break;
    }
    return m;
}

uint64_t vsock_net_timers(uint64_t now)
{
    struct list due;
    uint64_t next;
    list_init(&due);
    vsock_timers_take_due(now, &due, &next);
    struct list *n;
    while ((n = list_pop_front(&due))) {
        struct vsock_sock *s = list_entry(n, struct vsock_sock, timer_link);
        if (s->state == VSOCK_CONNECTING) {
            vsock_connect_timeout(s);
        } else if (s->state == VSOCK_CLOSING) {
            vsock_net_stats.close_timeouts++;
            (void)vsock_send_ctrl(s, VSOCK_OP_RST, 0);
            vsock_conn_close(s);
        }
        vsock_sock_put(s);
    }
    return next;
}
