/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host clients waiting for a guest's full accept queue (see device.h).
 *
 * A vsock listener answers a REQUEST with RST both when nobody listens and
 * when its accept queue is full; a listener sends RESPONSE as it queues a
 * connection, so a port that has sent RESPONSE has a listener, and a RST
 * there means "full" (or that the listener just went away: a waiter that
 * times out with no RESPONSE on the port during its wait marks the port
 * stalled, refused at once until it accepts again). Per such port:
 *
 *   event                        action
 *   RST to a client's REQUEST    client joins the queue (a probe that failed
 *                                goes back to the head); no probe pending:
 *                                schedule one after `gap`, gap doubles
 *   new client, queue not empty  client joins the queue's tail
 *   probe time                   the head sends its REQUEST again
 *   RESPONSE                     gap back to RETRY_FIRST_MS; the next
 *                                RETRY_RELEASE waiters send their REQUESTs
 *   connect timeout over         the waiter is closed
 *
 * One probe at a time keeps a crowd from hammering a busy guest with RSTs;
 * releasing more on each success refills the queue as fast as it drains.
 */
#include <string.h>

#include "common/log.h"
#include "vsockd/device.h"

static struct retry_port *find(struct vsock_dev *d, uint32_t port)
{
    for (unsigned i = 0; i < d->nports; i++)
        if (d->ports[i].port == port)
            return &d->ports[i];
    return NULL;
}

/* The port's record, made on its first RESPONSE; replaces the stalest idle one. */
static struct retry_port *find_or_add(struct vsock_dev *d, uint32_t port, uint64_t now)
{
    struct retry_port *p = find(d, port);
    if (p)
        return p;
    if (d->nports < RETRY_PORTS) {
        p = &d->ports[d->nports++];
    } else {
        for (unsigned i = 0; i < RETRY_PORTS; i++) {
            struct retry_port *q = &d->ports[i];
            if (!q->waiting && !q->in_flight && (!p || q->used < p->used))
                p = q;
        }
        if (!p)
            return NULL; /* every one has waiters: this port gets no retries */
    }
    memset(p, 0, sizeof(*p));
    p->port = port;
    p->gap = RETRY_FIRST_MS;
    p->used = now;
    return p;
}

static void push(struct retry_port *p, struct vsock_conn *c, bool at_head)
{
    c->waiting = true;
    c->wait_next = NULL;
    if (at_head) {
        c->wait_next = p->head;
        p->head = c;
        if (!p->tail)
            p->tail = c;
    } else {
        if (p->tail)
            p->tail->wait_next = c;
        else
            p->head = c;
        p->tail = c;
    }
    p->waiting++;
}

static void unlink_waiter(struct retry_port *p, struct vsock_conn *c)
{
    struct vsock_conn **pp = &p->head, *prev = NULL;
    while (*pp && *pp != c) {
        prev = *pp;
        pp = &(*pp)->wait_next;
    }
    if (!*pp)
        return;
    *pp = c->wait_next;
    if (p->tail == c)
        p->tail = prev;
    c->waiting = false;
    c->wait_next = NULL;
    p->waiting--;
}

/* The head of the queue sends its REQUEST again. */
static void release_head(struct vsock_dev *d, struct retry_port *p)
{
    struct vsock_conn *c = p->head;
    unlink_waiter(p, c);
    c->retried = true;
    p->in_flight++;
    d->stats.retries++;
    conn_send_request(d, c);
}

static void schedule_probe(struct retry_port *p, uint64_t now)
{
    if (p->probe_at || p->in_flight || !p->waiting)
        return;
    p->probe_at = now + p->gap;
    p->gap = p->gap * 2 > RETRY_GAP_MAX_MS ? RETRY_GAP_MAX_MS : p->gap * 2;
}

/* A waiter's time ran out: no RESPONSE on the port all that time means no listener. */
static void timed_out(struct retry_port *p, const struct vsock_conn *c)
{
    if (!p->stalled && p->accepted_at < c->refused_at) {
        p->stalled = true;
        log_error("guest port %u accepted nobody for %u ms: refusing its clients at once until "
                  "it accepts again",
                  p->port, CONNECT_TIMEOUT_MS);
    }
}

bool retry_wait_first(struct vsock_dev *d, struct vsock_conn *c)
{
    struct retry_port *p = find(d, c->guest_port);
    if (!p || !p->waiting || p->stalled)
        return false;
    c->refused_at = d->host->now_ms();
    push(p, c, false);
    return true;
}

void retry_accepted(struct vsock_dev *d, struct vsock_conn *c)
{
    uint64_t now = d->host->now_ms();
    struct retry_port *p = find_or_add(d, c->guest_port, now);
    if (!p)
        return;
    if (c->retried) {
        c->retried = false;
        p->in_flight--;
    }
    p->used = p->accepted_at = now;
    p->stalled = false;
    p->gap = RETRY_FIRST_MS;
    p->probe_at = 0;
    for (unsigned i = 0; i < RETRY_RELEASE && p->head; i++)
        release_head(d, p);
}

bool retry_refused(struct vsock_dev *d, struct vsock_conn *c)
{
    uint64_t now = d->host->now_ms();
    struct retry_port *p = find(d, c->guest_port);
    bool was_probe = c->retried;
    if (!p)
        return false; /* never accepted: no listener */
    if (p->stalled) {
        if (c->retried) {
            c->retried = false;
            p->in_flight--;
        }
        return false; /* the listener seems gone */
    }
    if (c->retried) {
        c->retried = false;
        p->in_flight--;
    }
    if (!c->refused_at)
        c->refused_at = now;
    p->used = now;
    if (now >= c->deadline_ms) {
        schedule_probe(p, now); /* the others still wait */
        return false;
    }
    push(p, c, was_probe); /* a failed probe keeps its place at the head */
    schedule_probe(p, now);
    log_debug("guest port %u: accept queue full, %u clients waiting", p->port, p->waiting);
    return true;
}

void retry_forget(struct vsock_dev *d, struct vsock_conn *c)
{
    struct retry_port *p = find(d, c->guest_port);
    if (!p)
        return;
    if (c->refused_at && d->host->now_ms() >= c->deadline_ms)
        timed_out(p, c);
    if (c->waiting)
        unlink_waiter(p, c);
    if (c->retried) {
        c->retried = false;
        p->in_flight--;
    }
    schedule_probe(p, d->host->now_ms());
}

void retry_timers(struct vsock_dev *d, uint64_t now)
{
    for (unsigned i = 0; i < d->nports; i++) {
        struct retry_port *p = &d->ports[i];
        /* Waiters whose time is up; conn_close takes them off the queue. */
        struct vsock_conn *c = p->head, *next;
        for (; c; c = next) {
            next = c->wait_next;
            if (now >= c->deadline_ms)
                conn_close(d, c, false, "guest accept queue full until the connect timeout");
        }
        if (p->probe_at && now >= p->probe_at) {
            p->probe_at = 0;
            if (p->head && !p->in_flight)
                release_head(d, p);
        }
        schedule_probe(p, now);
    }
}

uint64_t retry_next_deadline(const struct vsock_dev *d)
{
    uint64_t next = 0;
    for (unsigned i = 0; i < d->nports; i++) {
        const struct retry_port *p = &d->ports[i];
        if (p->probe_at && (!next || p->probe_at < next))
            next = p->probe_at;
        /* (Waiters' connect deadlines are every connection's: device_next_deadline.) */
    }
    return next;
}

void retry_reset(struct vsock_dev *d)
{
    d->nports = 0;
}

bool retry_port_waiting(const struct vsock_dev *d, uint32_t port)
{
    for (unsigned i = 0; i < d->nports; i++)
        if (d->ports[i].port == port)
            return d->ports[i].waiting > 0;
    return false;
}
