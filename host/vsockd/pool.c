/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Pre-opened connections (--preopen N; see device.h). A TCP client of a
 * published port costs the guest two round trips before its first answer:
 * our REQUEST and the guest's RESPONSE, then its request and the reply. A
 * pool takes the first off the client's path: up to N connections per guest
 * port are established before any client comes, and a client is paired with
 * the newest at once.
 *
 * A pool connection's life:
 *   opening   REQUEST out, no host stream      RESPONSE -> ready
 *                                              RST, timeout -> closed, a refusal
 *   ready     in the pool, no host stream      a client -> paired (an ordinary
 *                                                connection from then on)
 *                                              credit packets -> stays
 *                                              data, SHUTDOWN, RST -> dropped
 *                                                (RST to the guest unless it
 *                                                sent RST): its bytes reach no one
 *                                              age limit -> SHUTDOWN, closing
 *
 * Refill (from device_run, once the guest's rx ring runs, and never while
 * host clients wait for the port's accept queue, retry.c): the pool opens
 * what it lacks, unless it is paused, in batches: once it is down to half
 * (N/2) or less, it opens all it lacks at once, so that the guest takes
 * several REQUESTs per wake-up and answers them with one kick (ab -c1 with
 * N = 8: 1.23 tx kicks per connection against 1.86 one at a time, 2.00
 * without a pool). A connection a client took counts as present until the
 * guest answers that client (its first data, SHUTDOWN or RST) or the
 * connection ends: a REQUEST sent with the client's request would make the
 * guest accept a connection (a thread, in the web server) before it serves
 * the client, on the client's time; sent as the answer comes, the guest is
 * awake and about to be idle. (Unless the pool is empty: then it refills at
 * once, whatever its clients do.) A refusal (no listener yet, or
 * a full accept queue) or a drop within POOL_TRUST_MS of the RESPONSE (an
 * app that greets, or closes at once) pauses it POOL_GAP_FIRST_MS, doubling
 * up to POOL_GAP_MAX_MS, and keeps it at one connection at a time until a
 * RESPONSE (after refusals) or a connection held POOL_TRUST_MS (after
 * drops): a guest without a listener sees one REQUEST every 2 s, not N. A
 * host client the guest accepts on the port ends a refusal pause at once (the
 * port answers now: the launcher's readiness probe does this at start).
 *
 * Age: the guest may end an idle connection (the web server after 60 s). A
 * drop later than POOL_TRUST_MS is such an end: the connection is replaced at
 * once, and the pool learns to close its unpaired ones itself at half that
 * age (never below POOL_MIN_AGE_MS; POOL_MAX_AGE_MS at most), so that a
 * client is not paired with one the guest is just closing.
 */
#include <sys/epoll.h>

#include "common/log.h"
#include "vsockd/device.h"

static void ready_unlink(struct vsock_dev *d, struct preopen_pool *p, struct vsock_conn *c)
{
    struct vsock_conn **pp = &p->ready_head;
    while (*pp && *pp != c)
        pp = &(*pp)->pool_next;
    if (*pp) {
        *pp = c->pool_next;
        p->ready--;
        d->pool_ready--;
    }
    c->pool_next = NULL;
}

static uint64_t gap_ms(const struct preopen_pool *p)
{
    unsigned n = p->refusals + p->drops;
    uint64_t gap = POOL_GAP_FIRST_MS;
    while (n-- > 1 && gap < POOL_GAP_MAX_MS)
        gap *= 2;
    return gap < POOL_GAP_MAX_MS ? gap : POOL_GAP_MAX_MS;
}

unsigned device_gate_count(const struct vsock_dev *d)
{
    return d->nconns + d->nowed - d->pool_ready; /* an owed RST holds its place */
}

struct preopen_pool *pool_add(struct vsock_dev *d, uint32_t guest_port)
{
    for (unsigned i = 0; i < d->npools; i++)
        if (d->pools[i].guest_port == guest_port)
            return &d->pools[i];
    if (d->npools == PREOPEN_PORTS)
        return NULL;
    struct preopen_pool *p = &d->pools[d->npools++];
    *p = (struct preopen_pool){.guest_port = guest_port, .max_age_ms = POOL_MAX_AGE_MS};
    return p;
}

static bool open_one(struct vsock_dev *d, struct preopen_pool *p, uint64_t now)
{
    struct vsock_conn *c = conn_new(d, -1, CONN_FROM_TCP);
    if (!c)
        return false; /* at --max-conns, or out of memory: tried again later */
    c->pool = p;
    p->opening++;
    conn_hash(d, c, conn_alloc_host_port(d, p->guest_port), p->guest_port);
    c->state = CONN_CONNECTING;
    c->deadline_ms = now + CONNECT_TIMEOUT_MS;
    log_event("pre-opening host port %u -> guest port %u", c->host_port, p->guest_port);
    conn_send_request(d, c);
    return true;
}

static void refill_one(struct vsock_dev *d, struct preopen_pool *p, uint64_t now)
{
    if (p->next_at && now < p->next_at)
        return;
    p->next_at = 0;
    if (retry_port_waiting(d, p->guest_port))
        return; /* clients wait for room in the guest's accept queue: they go first */
    if (p->drops && p->ready && p->trust_at && now >= p->trust_at) {
        p->drops = 0; /* the one on probation held */
        p->trust_at = 0;
    }
    if (p->refusals || p->drops) {
        if (p->opening + p->ready == 0)
            open_one(d, p, now);
        return;
    }
    /* Taken ones count until the guest answers their clients, unless none
     * is left: clients that connect and stay silent (a browser's spare
     * connections) must not keep the pool empty. */
    unsigned have = p->ready + p->opening;
    if (have)
        have += p->held;
    if (have > d->preopen / 2)
        return; /* in batches: from half full, so the guest takes several REQUESTs per wake */
    while (have < d->preopen && open_one(d, p, now))
        have++;
}

void pool_release(struct vsock_conn *c)
{
    c->owed->held--;
    c->owed = NULL;
}

void pool_refill(struct vsock_dev *d, uint64_t now)
{
    /* Not before the guest's rx ring runs: a REQUEST has nowhere to go. */
    if (!d->preopen || !vq_ready(&d->vu.vq[VIRTIO_VSOCK_QUEUE_RX]))
        return;
    for (unsigned i = 0; i < d->npools; i++)
        refill_one(d, &d->pools[i], now);
}

struct vsock_conn *pool_take(struct vsock_dev *d, struct preopen_pool *p)
{
    struct vsock_conn *c = p->ready_head;
    if (!c) {
        d->stats.preopen_misses++;
        return NULL;
    }
    ready_unlink(d, p, c);
    c->pool = NULL;
    c->owed = p;
    p->held++;
    p->drops = 0; /* it served: the pool is sound */
    p->trust_at = 0;
    return c;
}

void pool_pair(struct vsock_dev *d, struct vsock_conn *c, int fd)
{
    c->w.fd = fd;
    c->deadline_ms = 0; /* no age limit once paired */
    c->readable = c->writable = true;
    d->stats.accepted++;
    d->stats.established++;
    d->stats.preopen_paired++;
    if (d->trace) { /* accepted, and the handshake done, now */
        for (unsigned s = 0; s < TR_STEPS; s++)
            c->trace[s] = 0;
        conn_trace(d, c, TR_ACCEPT);
        c->trace[TR_REQUEST] = c->trace[TR_RESPONSE] = c->trace[TR_ACCEPT];
    }
    if (loop_add(&c->w, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0) {
        conn_close(d, c, true, "cannot watch the client's socket");
        return;
    }
    log_event("tcp conn host port %u <-> guest port %u: paired with a pre-opened connection",
              c->host_port, c->guest_port);
    conn_update_rxq(d, c);
}

void pool_established(struct vsock_dev *d, struct vsock_conn *c)
{
    struct preopen_pool *p = c->pool;
    uint64_t now = d->host->now_ms();
    p->opening--;
    p->refusals = 0;
    c->state = CONN_ESTABLISHED;
    c->pool_since = now;
    c->deadline_ms = now + p->max_age_ms;
    c->pool_next = p->ready_head;
    p->ready_head = c;
    p->ready++;
    d->pool_ready++;
    d->stats.preopened++;
    if (p->drops) { /* on probation: sound once it holds */
        p->trust_at = now + POOL_TRUST_MS;
        p->next_at = p->trust_at;
    }
    log_event("pre-opened host port %u <-> guest port %u: ready (%u in the pool)", c->host_port,
              c->guest_port, p->ready);
    gate_update(&d->gate, device_gate_count(d), now); /* a client may take it */
}

bool pool_guest_packet(struct vsock_dev *d, struct vsock_conn *c, const struct vsock_hdr *h)
{
    struct preopen_pool *p = c->pool;
    if (h->op == VSOCK_OP_CREDIT_UPDATE || h->op == VSOCK_OP_CREDIT_REQUEST)
        return false; /* credit only: handled as on any connection */
    uint64_t now = d->host->now_ms();
    uint64_t age = now - c->pool_since;
    d->stats.preopen_dropped++;
    if (age < POOL_TRUST_MS) {
        p->drops++;
        p->next_at = now + gap_ms(p);
    } else if (h->op != VSOCK_OP_RW) {
        /* The guest ended an idle one: close ours before that age from now on. */
        uint64_t half = age / 2 > POOL_MIN_AGE_MS ? age / 2 : POOL_MIN_AGE_MS;
        if (half < p->max_age_ms) {
            bool first = p->max_age_ms == POOL_MAX_AGE_MS; /* said once, then events */
            p->max_age_ms = half;
            log_msg(first ? 0 : 1,
                    "guest port %u ends idle connections after %llu ms: pre-opened ones are "
                    "replaced after %llu ms",
                    p->guest_port, (unsigned long long)age, (unsigned long long)half);
        }
    }
    conn_close(d, c, h->op != VSOCK_OP_RST,
               h->op == VSOCK_OP_RW ? "pre-opened, unpaired: the guest sent data (dropped)"
                                    : "pre-opened, unpaired: the guest closed it");
    return true;
}

void pool_retire(struct vsock_dev *d, struct vsock_conn *c)
{
    struct preopen_pool *p = c->pool;
    uint64_t now = d->host->now_ms();
    ready_unlink(d, p, c);
    c->pool = NULL;
    d->stats.preopen_retired++;
    log_event("pre-opened host port %u <-> guest port %u: unpaired for %llu ms, closing",
              c->host_port, c->guest_port, (unsigned long long)(now - c->pool_since));
    /* As a host client that left: SHUTDOWN(both), then the guest's RST. */
    c->shut_flags = VSOCK_SHUTDOWN_BOTH;
    c->pending |= PEND_SHUTDOWN;
    c->state = CONN_CLOSING;
    c->deadline_ms = now + CLOSE_TIMEOUT_MS;
    conn_update_rxq(d, c);
    gate_update(&d->gate, device_gate_count(d), now);
}

void pool_conn_closed(struct vsock_dev *d, struct vsock_conn *c)
{
    struct preopen_pool *p = c->pool;
    c->pool = NULL;
    if (c->state == CONN_CONNECTING) {
        uint64_t now = d->host->now_ms();
        p->opening--;
        if (d->resetting)
            return; /* pool_reset follows */
        p->refusals++;
        p->next_at = now + gap_ms(p);
        d->stats.preopen_refused++;
        return;
    }
    ready_unlink(d, p, c);
}

void pool_port_answered(struct vsock_dev *d, uint32_t guest_port)
{
    for (unsigned i = 0; i < d->npools; i++) {
        struct preopen_pool *p = &d->pools[i];
        if (p->guest_port == guest_port && p->refusals) {
            p->refusals = 0;
            if (!p->drops)
                p->next_at = 0;
        }
    }
}

uint64_t pool_next_deadline(const struct vsock_dev *d)
{
    uint64_t next = 0;
    for (unsigned i = 0; i < d->npools; i++) {
        uint64_t t = d->pools[i].next_at;
        if (t && (!next || t < next))
            next = t;
    }
    return next;
}

void pool_reset(struct vsock_dev *d)
{
    for (unsigned i = 0; i < d->npools; i++) {
        struct preopen_pool *p = &d->pools[i];
        *p = (struct preopen_pool){.guest_port = p->guest_port, .max_age_ms = POOL_MAX_AGE_MS};
    }
    d->pool_ready = 0;
}
