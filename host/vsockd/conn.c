/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vsock connections: the state machine for guest packets, the host stream,
 * and credit. Transitions (guest packet or host event -> action):
 *
 *   CONNECT_LINE  line complete          -> CONNECTING, REQUEST to guest
 *                 bad line, EOF, timeout -> closed
 *   CONNECTING    RESPONSE               -> ESTABLISHED ("OK <port>\n" for --uds)
 *                 RST, port accepted before, before the connect timeout
 *                                        -> CONNECTING, REQUEST again after a backoff
 *                 RST                    -> closed (no guest listener, or retries over)
 *                 other op, timeout      -> closed, RST to guest
 *   ESTABLISHED   RW                     -> data to host (RST if over credit)
 *                 CREDIT_UPDATE          -> peer credit (every packet carries it)
 *                 CREDIT_REQUEST         -> CREDIT_UPDATE to guest
 *                 SHUTDOWN               -> half close; both ways -> RST, closed
 *                 RST                    -> closed
 *                 REQUEST/RESPONSE/other -> closed, RST to guest
 *                 host EOF               -> SHUTDOWN(SEND) to guest
 *                 host EOF + guest SEND  -> CLOSING, SHUTDOWN(both) to guest
 *                 host error             -> closed, RST to guest
 *   CONNECTING    (guest-initiated: the host listener's accept queue was full)
 *                 timer                  -> connect again: ESTABLISHED, RESPONSE to guest;
 *                                           still full: again later; gone, or full for
 *                                           the connect timeout: closed, RST to guest
 *                 RST (the guest gave up)-> closed
 *                 other op               -> closed, RST to guest
 *   CLOSING       RST                    -> closed
 *                 SHUTDOWN, timeout      -> closed, RST to guest
 *                 other                  -> ignored
 * Pre-opened connections (--preopen) not paired with a client yet have
 * their own table, in pool.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vsockd/device.h"
#include "vsockd/endpoint.h"
#include "common/clock.h"
#include "common/log.h"

static const char *const kind_names[] = {"uds", "tcp", "guest"};

static unsigned hash_of(uint32_t host_port, uint32_t guest_port)
{
    uint32_t h = host_port * 2654435761u ^ guest_port * 40503u;
    return (h ^ (h >> 16)) % CONN_HASH_SIZE;
}

uint32_t conn_peer_credit(const struct vsock_conn *c)
{
    return vsock_credit_free(c->peer_buf_alloc, c->peer_fwd_cnt, c->tx_cnt);
}

struct vsock_conn *conn_new(struct vsock_dev *d, int fd, enum conn_kind kind)
{
    if (d->nconns + d->nowed >= d->max_conns)
        return NULL;
    struct vsock_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->w.fd = fd;
    c->w.kind = WATCH_HOST_CONN;
    c->w.obj = c;
    c->kind = kind;
    c->state = kind == CONN_FROM_UDS ? CONN_CONNECT_LINE : CONN_CONNECTING;
    /* Edge-triggered: assume ready until the socket says EAGAIN. */
    c->readable = c->writable = true;
    port_line_init(&c->line, PORT_LINE_CONNECT);
    if (kind == CONN_FROM_UDS)
        c->deadline_ms = d->host->now_ms() + CONNECT_TIMEOUT_MS;
    if (fd >= 0 && loop_add(&c->w, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0) {
        free(c);
        return NULL;
    }
    c->all_next = d->all;
    if (d->all)
        d->all->all_prev = c;
    d->all = c;
    d->nconns++;
    d->conns_total++;
    if (d->nconns > d->stats.peak)
        d->stats.peak = d->nconns;
    return c;
}

struct vsock_conn *conn_lookup(struct vsock_dev *d, uint32_t host_port, uint32_t guest_port)
{
    for (struct vsock_conn *c = d->hash[hash_of(host_port, guest_port)]; c; c = c->hash_next)
        if (c->host_port == host_port && c->guest_port == guest_port)
            return c;
    return NULL;
}

void conn_hash(struct vsock_dev *d, struct vsock_conn *c, uint32_t host_port, uint32_t guest_port)
{
    unsigned h = hash_of(host_port, guest_port);
    c->host_port = host_port;
    c->guest_port = guest_port;
    c->hash_next = d->hash[h];
    d->hash[h] = c;
    c->hashed = true;
}

static void conn_unhash(struct vsock_dev *d, struct vsock_conn *c)
{
    if (!c->hashed)
        return;
    struct vsock_conn **pp = &d->hash[hash_of(c->host_port, c->guest_port)];
    while (*pp && *pp != c)
        pp = &(*pp)->hash_next;
    if (*pp)
        *pp = c->hash_next;
    c->hashed = false;
}

/* Host ports of host-initiated connections: counting up from 2^30, as Firecracker does. */
uint32_t conn_alloc_host_port(struct vsock_dev *d, uint32_t guest_port)
{
    for (;;) {
        uint32_t p = d->next_host_port++;
        if (p < (1u << 30)) {
            d->next_host_port = (1u << 30) + 1;
            p = 1u << 30;
        }
        if (!conn_lookup(d, p, guest_port))
            return p;
    }
}

/* Host data may be read now: established, readable, wanted and within credit. */
static bool can_read_host(const struct vsock_conn *c)
{
    return c->state == CONN_ESTABLISHED && c->w.fd >= 0 && c->readable && !c->host_eof &&
           !(c->guest_shut & VSOCK_SHUTDOWN_RCV) && conn_peer_credit(c) > 0;
}

bool conn_wants_rx(const struct vsock_conn *c)
{
    return !c->dead && (c->pending || can_read_host(c));
}

void conn_update_rxq(struct vsock_dev *d, struct vsock_conn *c)
{
    if (c->in_rxq || !conn_wants_rx(c))
        return;
    c->in_rxq = true;
    c->rxq_next = NULL;
    if (d->rxq_tail)
        d->rxq_tail->rxq_next = c;
    else
        d->rxq_head = c;
    d->rxq_tail = c;
}

void conn_trace(struct vsock_dev *d, struct vsock_conn *c, enum trace_step s)
{
    if (d->trace && !c->trace[s])
        c->trace[s] = monotonic_us();
}

/* A traced connection that went through every step adds its gaps to the sums. */
static void trace_done(struct vsock_dev *d, struct vsock_conn *c)
{
    conn_trace(d, c, TR_CLOSED);
    for (unsigned s = 0; s < TR_STEPS; s++)
        if (!c->trace[s])
            return;
    for (unsigned s = 1; s < TR_STEPS; s++)
        d->trace_us[s] += c->trace[s] - c->trace[s - 1];
    d->trace_conns++;
}

static void close_host(struct vsock_conn *c)
{
    if (c->w.fd < 0)
        return;
    /* No EPOLL_CTL_DEL: the descriptor is ours alone (never duplicated), so
     * closing it takes it out of the epoll set; an event of this batch
     * still naming the connection finds it dead. */
    close(c->w.fd);
    c->w.fd = -1;
}

void conn_close(struct vsock_dev *d, struct vsock_conn *c, bool rst, const char *why)
{
    if (c->dead)
        return;
    if (c->hashed)
        log_event("%s conn host port %u <-> guest port %u closed: %s (in %u out %u)",
                  kind_names[c->kind], c->host_port, c->guest_port, why, c->rx_cnt, c->tx_cnt);
    else
        log_event("%s client closed: %s", kind_names[c->kind], why);
    bool pooled = c->pool != NULL; /* pre-opened, never a client's (pool.c) */
    if (c->owed)
        pool_release(c);
    if (pooled)
        pool_conn_closed(d, c);
    if (d->trace && !pooled)
        trace_done(d, c);
    close_host(c);
    if (rst && c->hashed)
        device_owe_rst(d, c->host_port, c->guest_port);
    conn_unhash(d, c);
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        d->all = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    if (c->kind != CONN_FROM_GUEST && !pooled &&
        (c->state == CONN_CONNECT_LINE || c->state == CONN_CONNECTING)) {
        /* A client accepted and then let go without a connection: always
         * said, whatever the log level (rate-limited). */
        uint64_t skipped;
        d->stats.refused++;
        if (log_due(&d->refused_log, d->host->now_ms(), 1000, &skipped))
            log_error("%s client closed before the guest took it: %s (%llu more since the last "
                      "such line)",
                      kind_names[c->kind], why, (unsigned long long)skipped);
    }
    if (c->state == CONN_CONNECTING && !pooled && c->kind != CONN_FROM_GUEST)
        retry_forget(d, c);
    c->dead = true;
    c->dead_next = d->dead;
    d->dead = c;
    d->nconns--;
    /* A slot is free: a client waiting in the listen queue may come in. */
    gate_update(&d->gate, device_gate_count(d), d->host->now_ms());
}

void conn_free_dead(struct vsock_dev *d)
{
    if (!d->dead)
        return;
    /* Unlink dead connections from the rx queue before freeing them. */
    struct vsock_conn **pp = &d->rxq_head;
    d->rxq_tail = NULL;
    while (*pp) {
        if ((*pp)->dead) {
            (*pp)->in_rxq = false;
            *pp = (*pp)->rxq_next;
        } else {
            d->rxq_tail = *pp;
            pp = &(*pp)->rxq_next;
        }
    }
    while (d->dead) {
        struct vsock_conn *c = d->dead;
        d->dead = c->dead_next;
        free(c->buf);
        free(c);
    }
}

void conn_send_request(struct vsock_dev *d, struct vsock_conn *c)
{
    c->pending |= PEND_REQUEST;
    conn_update_rxq(d, c);
}

void conn_start_to_guest(struct vsock_dev *d, struct vsock_conn *c, uint32_t guest_port)
{
    conn_trace(d, c, TR_ACCEPT);
    conn_hash(d, c, conn_alloc_host_port(d, guest_port), guest_port);
    c->state = CONN_CONNECTING;
    c->deadline_ms = d->host->now_ms() + CONNECT_TIMEOUT_MS;
    if (retry_wait_first(d, c)) { /* the guest's accept queue is full: behind the others */
        log_event("%s conn host port %u -> guest port %u: waiting for the guest's accept queue",
                  kind_names[c->kind], c->host_port, guest_port);
        return;
    }
    log_event("%s conn host port %u -> guest port %u: connecting", kind_names[c->kind],
              c->host_port, guest_port);
    conn_send_request(d, c);
}

/* Grants credit again once the guest's view of our free space runs low. */
static void maybe_credit_update(struct vsock_conn *c)
{
    uint32_t guest_view_free = CONN_BUF_ALLOC - (c->rx_cnt - c->last_fwd_sent);
    if (c->fwd_cnt != c->last_fwd_sent && guest_view_free < CONN_LOW_WATER)
        c->pending |= PEND_CREDIT;
}

/* After shutdowns and flushes: half-close the host side or finish the connection. */
static void check_done(struct vsock_dev *d, struct vsock_conn *c)
{
    if (c->state != CONN_ESTABLISHED || c->buf_len > 0)
        return;
    if (!(c->guest_shut & VSOCK_SHUTDOWN_SEND))
        return;
    if (!c->host_wr_shut && c->w.fd >= 0) {
        shutdown(c->w.fd, SHUT_WR);
        c->host_wr_shut = true;
    }
    if (c->guest_shut == VSOCK_SHUTDOWN_BOTH) {
        /* virtio 1.2 §5.10.6.6: the peer answers a full shutdown with RST. */
        conn_close(d, c, true, "guest shut down");
        return;
    }
    if (c->host_eof) {
        close_host(c);
        c->shut_flags = VSOCK_SHUTDOWN_BOTH;
        c->pending |= PEND_SHUTDOWN;
        c->state = CONN_CLOSING;
        c->deadline_ms = d->host->now_ms() + CLOSE_TIMEOUT_MS;
    }
}

/* Returns bytes sent, or -1 after closing the connection on a socket error. */
static ssize_t send_host(struct vsock_dev *d, struct vsock_conn *c, const struct iovec *iov,
                         unsigned n, size_t len)
{
    struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = n};
    ssize_t r = sendmsg(c->w.fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
        c->writable = false;
        return 0;
    }
    if (r < 0) {
        char why[96];
        snprintf(why, sizeof(why), "host write: %s", strerror(errno));
        conn_close(d, c, true, why);
        return -1;
    }
    if ((size_t)r < len)
        c->writable = false;
    return r;
}

static void flush_host(struct vsock_dev *d, struct vsock_conn *c)
{
    while (c->buf_len > 0 && c->writable && c->w.fd >= 0) {
        struct iovec iov[2];
        uint32_t first = CONN_BUF_ALLOC - c->buf_head;
        unsigned n = 1;
        iov[0].iov_base = c->buf + c->buf_head;
        iov[0].iov_len = c->buf_len < first ? c->buf_len : first;
        if (c->buf_len > first) {
            iov[1].iov_base = c->buf;
            iov[1].iov_len = c->buf_len - first;
            n = 2;
        }
        ssize_t r = send_host(d, c, iov, n, c->buf_len);
        if (r <= 0)
            break;
        c->buf_head = (c->buf_head + (uint32_t)r) % CONN_BUF_ALLOC;
        c->buf_len -= (uint32_t)r;
        c->fwd_cnt += (uint32_t)r;
    }
    if (c->dead)
        return;
    if (c->buf_len == 0 && c->buf) {
        free(c->buf);
        c->buf = NULL;
        c->buf_head = 0;
    }
    maybe_credit_update(c);
    check_done(d, c);
}

/* Guest RW payload to the host stream; what the socket leaves is buffered. */
static void write_host(struct vsock_dev *d, struct vsock_conn *c, const struct iovec *iov,
                       unsigned n, uint32_t len)
{
    size_t done = 0;
    if (c->buf_len == 0 && c->writable) {
        ssize_t r = send_host(d, c, iov, n, len);
        if (r < 0)
            return;
        done = (size_t)r;
        c->fwd_cnt += (uint32_t)r;
    }
    if (done < len) {
        if (!c->buf && !(c->buf = malloc(CONN_BUF_ALLOC))) {
            conn_close(d, c, true, "out of memory");
            return;
        }
        uint32_t rest = len - (uint32_t)done;
        uint32_t tail = (c->buf_head + c->buf_len) % CONN_BUF_ALLOC;
        uint32_t first = CONN_BUF_ALLOC - tail < rest ? CONN_BUF_ALLOC - tail : rest;
        iov_copy_from(c->buf + tail, iov, n, done, first);
        iov_copy_from(c->buf, iov, n, done + first, rest - first);
        c->buf_len += rest;
        d->bytes_buffered += rest;
    }
    maybe_credit_update(c);
}

static void recv_connecting(struct vsock_dev *d, struct vsock_conn *c, const struct vsock_hdr *h)
{
    if (c->kind == CONN_FROM_GUEST) {
        /* Its REQUEST waits for a busy host listener: the guest gave up. */
        d->stats.guest_refused++;
        conn_close(d, c, h->op != VSOCK_OP_RST,
                   h->op == VSOCK_OP_RST ? "the guest gave up waiting for the host listener"
                                         : "unexpected packet while the host listener is busy");
        return;
    }
    if (c->waiting || (c->pending & PEND_REQUEST))
        return; /* no REQUEST of ours is out: a stray packet */
    if (c->pool) {
        /* Pre-opening (pool.c): no client waits for it. */
        if (h->op == VSOCK_OP_RESPONSE) {
            retry_accepted(d, c);
            pool_established(d, c);
        } else {
            conn_close(d, c, h->op != VSOCK_OP_RST,
                       h->op == VSOCK_OP_RST ? "guest refused a pre-opened connection"
                                             : "unexpected packet while pre-opening");
        }
        return;
    }
    switch (h->op) {
    case VSOCK_OP_RESPONSE:
        conn_trace(d, c, TR_RESPONSE);
        c->state = CONN_ESTABLISHED;
        c->deadline_ms = 0;
        retry_accepted(d, c);
        pool_port_answered(d, c->guest_port);
        d->stats.established++;
        if (c->kind == CONN_FROM_UDS) {
            char ok[32];
            int n = snprintf(ok, sizeof(ok), PORT_LINE_OK "%u\n", c->host_port);
            /* A fresh socket's buffer takes a short line whole. */
            if (c->w.fd < 0 || send(c->w.fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
                conn_close(d, c, true, "client went away before OK");
                return;
            }
        }
        log_event("%s conn host port %u <-> guest port %u: established", kind_names[c->kind],
                  c->host_port, c->guest_port);
        break;
    case VSOCK_OP_RST:
        d->stats.guest_resets++;
        if (!retry_refused(d, c))
            conn_close(d, c, false,
                       c->refused_at ? "guest accept queue full until the connect timeout"
                                     : "guest refused (no listener)");
        break;
    default:
        conn_close(d, c, true, "unexpected packet while connecting");
        break;
    }
}

static void recv_established(struct vsock_dev *d, struct vsock_conn *c, const struct vsock_hdr *h,
                             const struct iovec *payload, unsigned npayload)
{
    switch (h->op) {
    case VSOCK_OP_RW:
        if (c->guest_shut & VSOCK_SHUTDOWN_SEND) {
            conn_close(d, c, true, "guest sent data after SHUTDOWN");
            return;
        }
        if (h->len > CONN_BUF_ALLOC - c->buf_len) {
            conn_close(d, c, true, "guest exceeded its credit");
            return;
        }
        conn_trace(d, c, TR_FROM_GUEST);
        c->rx_cnt += h->len;
        if (c->w.fd < 0 || c->host_wr_shut)
            c->fwd_cnt += h->len; /* nowhere to go: consumed */
        else
            write_host(d, c, payload, npayload, h->len);
        break;
    case VSOCK_OP_CREDIT_UPDATE:
        break; /* the header's credit fields were taken already */
    case VSOCK_OP_CREDIT_REQUEST:
        c->pending |= PEND_CREDIT;
        break;
    case VSOCK_OP_SHUTDOWN:
        conn_trace(d, c, TR_GUEST_SHUT);
        c->guest_shut |= h->flags & VSOCK_SHUTDOWN_BOTH;
        log_event("%s conn host port %u <-> guest port %u: guest shutdown %s%s",
                  kind_names[c->kind], c->host_port, c->guest_port,
                  h->flags & VSOCK_SHUTDOWN_RCV ? "rcv" : "",
                  h->flags & VSOCK_SHUTDOWN_SEND ? "send" : "");
        check_done(d, c);
        break;
    case VSOCK_OP_RST:
        conn_close(d, c, false, "guest reset");
        break;
    default:
        conn_close(d, c, true, "unexpected packet on an established connection");
        break;
    }
}

static void recv_closing(struct vsock_dev *d, struct vsock_conn *c, const struct vsock_hdr *h)
{
    if (h->op == VSOCK_OP_RST)
        conn_close(d, c, false, "closed");
    else if (h->op == VSOCK_OP_SHUTDOWN)
        conn_close(d, c, true, "closed (guest shut down too)");
}

/* A guest-initiated connection's host stream is connected: RESPONSE to the guest. */
static void guest_connected(struct vsock_dev *d, struct vsock_conn *c)
{
    d->stats.guest_connects++;
    c->state = CONN_ESTABLISHED;
    c->deadline_ms = 0;
    c->pending |= PEND_RESPONSE;
    log_event("guest conn guest port %u -> host port %u: established", c->guest_port, c->host_port);
    conn_update_rxq(d, c);
}

/* The gap before connecting to a busy host listener again: a quarter of the
 * time waited so far, 5 to 25 ms (the host gives no sign when its queue has
 * room; a guest gives up after its own connect timeout, 2 s for Linux and
 * Miura, so the tries must be frequent enough for a burst to get through). */
static uint64_t host_retry_gap(uint64_t waited_ms)
{
    uint64_t gap = waited_ms / 4;
    return gap < 5 ? 5 : gap > 25 ? 25 : gap;
}

static void guest_connect(struct vsock_dev *d, const struct vsock_hdr *h)
{
    int fd = -1;
    struct vsock_conn *c = NULL;
    if (d->nconns + d->nowed >= d->max_conns) {
        log_event("guest port %u -> host port %u: refused, %u connections (--max-conns)",
                  h->src_port, h->dst_port, d->nconns + d->nowed);
        goto refuse;
    }
    fd = d->host->connect_guest_port(d, h->dst_port);
    bool busy = fd < 0 && errno == EAGAIN;
    if (fd < 0 && !busy) {
        int e = errno;
        uint64_t skipped;
        log_event("guest port %u -> host port %u: refused, no listener (%s)", h->src_port,
                  h->dst_port, strerror(e));
        /* A listener this daemon may not connect to (its identity is not the
         * listener's owner or group): said whatever the log level, since
         * the guest sees only a refusal (rate-limited). */
        if ((e == EACCES || e == EPERM) &&
            log_due(&d->denied_log, d->host->now_ms(), 10000, &skipped))
            log_error("guest connection to host port %u refused: connecting to its listener: "
                      "%s (it must let this daemon's user connect; %llu more since the last "
                      "such line)",
                      h->dst_port, strerror(e), (unsigned long long)skipped);
        goto refuse;
    }
    c = conn_new(d, fd, CONN_FROM_GUEST);
    if (!c) {
        if (fd >= 0)
            close(fd);
        goto refuse;
    }
    conn_hash(d, c, h->dst_port, h->src_port);
    c->peer_buf_alloc = h->buf_alloc;
    c->peer_fwd_cnt = h->fwd_cnt;
    if (busy) {
        /* The listener's accept queue is full: the guest's REQUEST waits
         * (CONNECTING, no host stream yet) and the connect is tried again
         * until it goes through, the guest gives up (RST) or the connect
         * timeout. A burst of guest connections to a listener with a short
         * backlog (socat's is 5) must not be refused. */
        c->refused_at = d->host->now_ms();
        c->deadline_ms = c->refused_at + host_retry_gap(0);
        log_event("guest port %u -> host port %u: the listener's queue is full, waiting",
                  h->src_port, h->dst_port);
        return;
    }
    guest_connected(d, c);
    return;
refuse:
    d->stats.guest_refused++;
    device_queue_rst(d, h->dst_port, h->src_port);
}

/* Timer of a guest REQUEST waiting for a busy host listener: connect again. */
static void guest_connect_retry(struct vsock_dev *d, struct vsock_conn *c, uint64_t now_ms)
{
    int fd = d->host->connect_guest_port(d, c->host_port);
    if (fd >= 0) {
        c->w.fd = fd;
        if (loop_add(&c->w, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0) {
            d->stats.guest_refused++;
            conn_close(d, c, true, "cannot watch the host stream");
            return;
        }
        guest_connected(d, c);
        return;
    }
    uint64_t waited = now_ms - c->refused_at;
    if (errno == EAGAIN && waited < CONNECT_TIMEOUT_MS) {
        c->deadline_ms = now_ms + host_retry_gap(waited);
        return;
    }
    d->stats.guest_refused++;
    conn_close(d, c, true,
               errno == EAGAIN ? "the host listener's queue stayed full until the connect timeout"
                               : "the host listener went away");
}

void conn_guest_packet(struct vsock_dev *d, const struct vsock_hdr *h, const struct iovec *payload,
                       unsigned npayload)
{
    struct vsock_conn *c = conn_lookup(d, h->dst_port, h->src_port);
    if (!c) {
        if (h->op == VSOCK_OP_REQUEST)
            guest_connect(d, h);
        else if (h->op != VSOCK_OP_RST)
            device_queue_rst(d, h->dst_port, h->src_port);
        return;
    }
    c->peer_buf_alloc = h->buf_alloc;
    c->peer_fwd_cnt = h->fwd_cnt;
    /* Unpaired and pre-opened: anything but credit drops it (pool.c). */
    if (c->pool && c->state == CONN_ESTABLISHED && pool_guest_packet(d, c, h))
        return;
    if (c->owed && (h->op == VSOCK_OP_RW || h->op == VSOCK_OP_SHUTDOWN || h->op == VSOCK_OP_RST))
        pool_release(c); /* the guest answered the client: the pool's refill may go */
    switch (c->state) {
    case CONN_CONNECTING:
        recv_connecting(d, c, h);
        break;
    case CONN_ESTABLISHED:
        recv_established(d, c, h, payload, npayload);
        break;
    case CONN_CLOSING:
        recv_closing(d, c, h);
        break;
    case CONN_CONNECT_LINE: /* not in the table yet */
        break;
    }
    conn_update_rxq(d, c);
}

void conn_host_event(struct vsock_dev *d, struct vsock_conn *c, uint32_t events)
{
    if (c->dead)
        return;
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
        c->writable = true;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
        c->readable = true;
    if (events & (EPOLLRDHUP | EPOLLERR | EPOLLHUP))
        c->host_fin = true;
    if (c->state == CONN_CONNECT_LINE) {
        endpoint_connect_line(d, c);
        return;
    }
    if (c->buf_len > 0)
        flush_host(d, c);
    if (!c->dead)
        conn_update_rxq(d, c);
}

/* Reads host data into the chain behind the header; returns payload bytes or -1. */
static ssize_t read_host(struct vsock_dev *d, struct vsock_conn *c, const struct vq_chain *chain)
{
    struct iovec iov[VQ_MAX_SEGMENTS];
    size_t max = chain->in_len - VSOCK_HDR_SIZE;
    uint32_t credit = conn_peer_credit(c);
    if (max > credit)
        max = credit;
    if (max > VSOCK_MAX_PKT)
        max = VSOCK_MAX_PKT;
    if (max == 0)
        return -1;
    unsigned n = iov_slice(iov, chain->in, chain->n_in, VSOCK_HDR_SIZE, max);
    ssize_t r = readv(c->w.fd, iov, (int)n);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
        c->readable = false;
        return -1;
    }
    if (r < 0) {
        char why[96];
        snprintf(why, sizeof(why), "host read: %s", strerror(errno));
        conn_close(d, c, true, why);
        return -1;
    }
    /* Less than asked for: the socket is empty (edge-triggered, the next
     * byte brings an event), unless its end was seen, which only a read
     * returning 0 (or an error) confirms. One readv per packet, not two. */
    if (r > 0 && (size_t)r < max && !c->host_fin)
        c->readable = false;
    if (r == 0) {
        c->host_eof = true;
        c->shut_flags |= VSOCK_SHUTDOWN_SEND;
        c->pending |= PEND_SHUTDOWN;
        log_event("%s conn host port %u <-> guest port %u: host end shut down", kind_names[c->kind],
                  c->host_port, c->guest_port);
        check_done(d, c);
    }
    return r;
}

uint32_t conn_fill_rx(struct vsock_dev *d, struct vsock_conn *c, const struct vq_chain *chain)
{
    struct vsock_hdr h = {
        .src_cid = VSOCK_CID_HOST,
        .dst_cid = d->guest_cid,
        .src_port = c->host_port,
        .dst_port = c->guest_port,
        .type = VSOCK_TYPE_STREAM,
        .buf_alloc = CONN_BUF_ALLOC,
    };
    if (c->dead)
        return 0;
    if (c->pending & PEND_REQUEST) {
        c->pending &= ~PEND_REQUEST;
        h.op = VSOCK_OP_REQUEST;
        conn_trace(d, c, TR_REQUEST);
    } else if (c->pending & PEND_RESPONSE) {
        c->pending &= ~PEND_RESPONSE;
        h.op = VSOCK_OP_RESPONSE;
    } else if (!(c->pending & PEND_SHUTDOWN) && can_read_host(c)) {
        ssize_t r = read_host(d, c, chain);
        if (c->dead)
            return 0;
        if (r > 0) {
            h.op = VSOCK_OP_RW;
            h.len = (uint32_t)r;
            conn_trace(d, c, TR_TO_GUEST);
            c->tx_cnt += (uint32_t)r;
            c->pending &= ~PEND_CREDIT; /* the header carries our credit */
        }
    }
    if (h.op == VSOCK_OP_INVALID) {
        if (c->pending & PEND_SHUTDOWN) {
            c->pending &= ~PEND_SHUTDOWN;
            h.op = VSOCK_OP_SHUTDOWN;
            h.flags = c->shut_flags;
        } else if (c->pending & PEND_CREDIT) {
            c->pending &= ~PEND_CREDIT;
            h.op = VSOCK_OP_CREDIT_UPDATE;
        } else {
            return 0;
        }
    }
    h.fwd_cnt = c->fwd_cnt;
    c->last_fwd_sent = c->fwd_cnt;
    iov_copy_to(chain->in, chain->n_in, 0, &h, sizeof(h));
    return VSOCK_HDR_SIZE + h.len;
}

void conn_timeouts(struct vsock_dev *d, uint64_t now_ms)
{
    struct vsock_conn *next;
    for (struct vsock_conn *c = d->all; c; c = next) {
        next = c->all_next;
        if (!c->deadline_ms || now_ms < c->deadline_ms)
            continue;
        switch (c->state) {
        case CONN_CONNECT_LINE:
            conn_close(d, c, false, "no CONNECT line in time");
            break;
        case CONN_CONNECTING: /* RST for a REQUEST that is out, if one is */
            if (c->kind == CONN_FROM_GUEST)
                guest_connect_retry(d, c, now_ms);
            else
                conn_close(d, c, !c->waiting, "guest did not answer in time");
            break;
        case CONN_CLOSING:
            conn_close(d, c, true, "no RST from guest in time");
            break;
        case CONN_ESTABLISHED: /* an unpaired pre-opened one at its age limit */
            if (c->pool)
                pool_retire(d, c);
            else
                c->deadline_ms = 0;
            break;
        }
    }
}
