/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vsock device's queues: tx packets from the guest are parsed and handed
 * to their connection; the rx queue is filled from a round-robin list of
 * connections that have something to say (control packets or host data),
 * after the RSTs owed for packets that matched no connection.
 */
#include "vsockd/device.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "common/control.h"
#include "common/log.h"

#define VQ_RX VIRTIO_VSOCK_QUEUE_RX
#define VQ_TX VIRTIO_VSOCK_QUEUE_TX

static size_t get_config(void *ctx, uint8_t *buf, size_t cap)
{
    struct vsock_dev *d = ctx;
    struct virtio_vsock_config cfg = {.guest_cid = d->guest_cid}; /* little-endian host */
    if (cap < sizeof(cfg))
        return 0;
    memcpy(buf, &cfg, sizeof(cfg));
    return sizeof(cfg);
}

static void kick_unwatch(void *ctx, unsigned index, int old_fd)
{
    struct vsock_dev *d = ctx;
    if (d->kick[index].fd == old_fd) {
        loop_del(&d->kick[index]);
        d->kick[index].fd = -1;
    }
}

static void queue_changed(void *ctx, unsigned index)
{
    struct vsock_dev *d = ctx;
    struct virtqueue *vq = &d->vu.vq[index];
    if (vq->kick_fd >= 0 && d->kick[index].fd != vq->kick_fd) {
        d->kick[index].fd = vq->kick_fd;
        if (loop_add(&d->kick[index], EPOLLIN) < 0)
            log_error("watching the kick fd of queue %u: %s", index, strerror(errno));
    }
    if (index == VQ_TX && vq_ready(vq))
        d->tx_kicked = true; /* packets may have been queued before we watched */
    /* Both rings stopped (GET_VRING_BASE) after running: the guest is
     * resetting or rebooting. (Before they first run, while the frontend sets
     * them up, clients that came early wait; their REQUESTs go out once the
     * rx ring is ready, within CONNECT_TIMEOUT_MS.) */
    bool running = d->vu.vq[VQ_RX].started || d->vu.vq[VQ_TX].started;
    if (running) {
        d->rings_ran = true;
    } else if (d->rings_ran) {
        d->rings_ran = false;
        if (d->nconns > 0) {
            log_event("guest stopped its queues: closing %u connections", d->nconns);
            device_reset_conns(d);
        }
    }
}

static void dev_reset(void *ctx)
{
    device_reset_conns(ctx);
}

const struct vu_device_ops vsock_vu_ops = {
    /* EVENT_IDX: the guest interrupts us only when we wait, we it only when
     * it sleeps (virtio 1.2 §2.7.10). */
    .features = 1ull << VIRTIO_F_RING_EVENT_IDX,
    .get_config = get_config,
    .kick_unwatch = kick_unwatch,
    .queue_changed = queue_changed,
    .reset = dev_reset,
};

void device_init(struct vsock_dev *d, uint64_t guest_cid, unsigned max_conns,
                 const struct vsock_host_ops *host)
{
    memset(d, 0, sizeof(*d));
    vu_backend_init(&d->vu, &vsock_vu_ops, d);
    d->guest_cid = guest_cid;
    d->max_conns = max_conns;
    gate_init(&d->gate, max_conns);
    d->host = host;
    d->next_host_port = 1u << 30;
    for (unsigned i = 0; i < VU_NUM_QUEUES; i++) {
        d->kick[i].fd = -1;
        d->kick[i].kind = WATCH_KICK;
        d->kick[i].index = i;
        d->kick[i].obj = d;
    }
}

void device_reset_conns(struct vsock_dev *d)
{
    /* Freed by device_run after the current event batch, which may still name them. */
    d->resetting = true; /* (a pre-opening REQUEST cut short is no refusal) */
    while (d->all)
        conn_close(d, d->all, false, "device reset");
    d->resetting = false;
    d->rst_len = 0;
    while (d->owed_head) { /* a reset guest has no connections to be told of */
        struct rst_owed *o = d->owed_head;
        d->owed_head = o->next;
        free(o);
    }
    d->owed_last = NULL;
    d->nowed = 0;
    retry_reset(d); /* a reset guest has no listeners until it accepts again */
    pool_reset(d);
}

void device_queue_rst(struct vsock_dev *d, uint32_t host_port, uint32_t guest_port)
{
    if (d->rst_len == RST_QUEUE_SIZE) {
        d->rst_dropped++;
        return;
    }
    struct rst_entry *e = &d->rst[(d->rst_head + d->rst_len) % RST_QUEUE_SIZE];
    e->host_port = host_port;
    e->guest_port = guest_port;
    d->rst_len++;
}

void device_owe_rst(struct vsock_dev *d, uint32_t host_port, uint32_t guest_port)
{
    struct rst_owed *o = malloc(sizeof(*o));
    if (!o) {
        device_queue_rst(d, host_port, guest_port); /* out of memory: the bounded queue */
        return;
    }
    *o = (struct rst_owed){NULL, host_port, guest_port};
    if (d->owed_last)
        d->owed_last->next = o;
    else
        d->owed_head = o;
    d->owed_last = o;
    d->nowed++;
}

bool vsock_parse_tx(const struct vq_chain *chain, struct vsock_hdr *hdr)
{
    if (chain->out_len < VSOCK_HDR_SIZE)
        return false;
    iov_copy_from(hdr, chain->out, chain->n_out, 0, VSOCK_HDR_SIZE);
    return hdr->len <= chain->out_len - VSOCK_HDR_SIZE;
}

void device_handle_tx_chain(struct vsock_dev *d, const struct vq_chain *chain)
{
    struct vsock_hdr h;
    struct iovec payload[VQ_MAX_SEGMENTS];
    if (!vsock_parse_tx(chain, &h)) {
        d->bad_packets++;
        if (chain->out_len >= VSOCK_HDR_SIZE) {
            /* A header whose length overruns its buffer: reset that connection. */
            struct vsock_conn *c = conn_lookup(d, h.dst_port, h.src_port);
            if (c)
                conn_close(d, c, true, "packet length exceeds its buffer");
        }
        log_debug("dropped a malformed tx packet (%zu bytes)", chain->out_len);
        return;
    }
    if (h.src_cid != d->guest_cid) {
        d->bad_packets++; /* spoofed: nobody to answer */
        return;
    }
    if (h.dst_cid != VSOCK_CID_HOST || h.type != VSOCK_TYPE_STREAM) {
        d->bad_packets++;
        if (h.op != VSOCK_OP_RST)
            device_queue_rst(d, h.dst_port, h.src_port);
        return;
    }
    unsigned n = 0;
    if (h.op == VSOCK_OP_RW)
        n = iov_slice(payload, chain->out, chain->n_out, VSOCK_HDR_SIZE, h.len);
    else
        h.len = 0; /* only RW carries data */
    conn_guest_packet(d, &h, payload, n);
}

static void queue_broken(struct vsock_dev *d, unsigned index)
{
    log_error("guest broke the %s queue: closing all connections until the device is reset",
              index == VQ_RX ? "rx" : "tx");
    device_reset_conns(d);
}

static void process_tx(struct vsock_dev *d)
{
    struct virtqueue *vq = &d->vu.vq[VQ_TX];
    struct vq_chain chain;
    unsigned budget = TX_BUDGET;
    d->tx_kicked = false;
    while (budget-- > 0) {
        int r = vq_pop(vq, &d->vu.mem, &chain);
        if (r < 0) {
            queue_broken(d, VQ_TX);
            return;
        }
        if (r == 0 && vq_want_kick(vq))
            continue; /* chains came in while we asked for a kick */
        if (r == 0)
            return;
        device_handle_tx_chain(d, &chain);
        vq_push(vq, chain.head, 0);
    }
    d->tx_kicked = true; /* budget spent: come back after other events */
}

/* The next RST into an rx chain: the owed ones first. */
static void write_rst(struct vsock_dev *d, const struct vq_chain *chain)
{
    struct vsock_hdr h = {
        .src_cid = VSOCK_CID_HOST,
        .dst_cid = d->guest_cid,
        .type = VSOCK_TYPE_STREAM,
        .op = VSOCK_OP_RST,
    };
    struct rst_owed *o = d->owed_head;
    if (o) {
        h.src_port = o->host_port;
        h.dst_port = o->guest_port;
        d->owed_head = o->next;
        if (!d->owed_head)
            d->owed_last = NULL;
        free(o);
        d->nowed--;
        /* The guest is told: its place under max_conns is free. */
        gate_update(&d->gate, device_gate_count(d), d->host->now_ms());
    } else {
        struct rst_entry *e = &d->rst[d->rst_head];
        h.src_port = e->host_port;
        h.dst_port = e->guest_port;
        d->rst_head = (d->rst_head + 1) % RST_QUEUE_SIZE;
        d->rst_len--;
    }
    iov_copy_to(chain->in, chain->n_in, 0, &h, sizeof(h));
}

static void requeue_stalled(struct vsock_dev *d, struct vsock_conn *stalled)
{
    while (stalled) {
        struct vsock_conn *c = stalled;
        stalled = c->rxq_next;
        c->in_rxq = false;
        conn_update_rxq(d, c);
    }
}

static void pump_rx(struct vsock_dev *d)
{
    struct virtqueue *vq = &d->vu.vq[VQ_RX];
    struct vsock_conn *stalled = NULL;
    struct vq_chain chain;
    unsigned budget = RX_BUDGET;
    d->rx_more = false;
    while (d->owed_head || d->rst_len > 0 || d->rxq_head) {
        if (budget-- == 0) {
            d->rx_more = true; /* a guest refilling as fast as we fill: yield */
            break;
        }
        int r = vq_pop(vq, &d->vu.mem, &chain);
        if (r < 0) {
            queue_broken(d, VQ_RX);
            break;
        }
        if (r == 0 && vq_want_kick(vq))
            continue; /* out of buffers: the guest kicks when it adds some */
        if (r == 0)
            break;
        if (chain.n_out > 0 || chain.in_len < VSOCK_HDR_SIZE) {
            vq_set_broken(vq);
            queue_broken(d, VQ_RX);
            break;
        }
        if (d->owed_head || d->rst_len > 0) {
            write_rst(d, &chain);
            vq_push(vq, chain.head, VSOCK_HDR_SIZE);
            continue;
        }
        struct vsock_conn *c = d->rxq_head;
        d->rxq_head = c->rxq_next;
        if (!d->rxq_head)
            d->rxq_tail = NULL;
        c->in_rxq = false;
        uint32_t len = conn_fill_rx(d, c, &chain);
        if (len == 0) {
            /* Nothing fit (a header-only buffer and data to send): retry this
             * connection on a later run, not in this loop, which would spin. */
            vq_unpop(vq);
            c->rxq_next = stalled;
            stalled = c;
            c->in_rxq = true; /* keeps it out of the queue until re-queued below */
            continue;
        }
        vq_push(vq, chain.head, len);
        conn_update_rxq(d, c); /* round robin: back to the tail if it has more */
    }
    requeue_stalled(d, stalled);
}

void device_kick(struct vsock_dev *d, unsigned index)
{
    uint64_t v;
    if (d->kick[index].fd >= 0) {
        if (read(d->kick[index].fd, &v, sizeof(v)) == sizeof(v))
            d->vu.vq[index].kicks += v; /* the eventfd counts the guest's notifies */
        else if (errno != EAGAIN)
            log_debug("reading kick fd %u: %s", index, strerror(errno));
    }
    if (index == VQ_TX)
        d->tx_kicked = true;
}

void device_run(struct vsock_dev *d)
{
    if (d->tx_kicked)
        process_tx(d);
    if (d->preopen)
        pool_refill(d, d->host->now_ms());
    pump_rx(d);
    vq_notify(&d->vu.vq[VQ_TX]);
    vq_notify(&d->vu.vq[VQ_RX]);
    conn_free_dead(d);
}

bool device_has_work(const struct vsock_dev *d)
{
    return (d->tx_kicked && vq_ready(&d->vu.vq[VQ_TX])) ||
           (d->rx_more && vq_ready(&d->vu.vq[VQ_RX]));
}

void device_timer(struct vsock_dev *d, uint64_t now_ms)
{
    retry_timers(d, now_ms);
    conn_timeouts(d, now_ms);
}

static uint64_t earlier(uint64_t next, uint64_t t)
{
    return t && (!next || t < next) ? t : next;
}

uint64_t device_next_deadline(const struct vsock_dev *d)
{
    uint64_t next = earlier(gate_deadline(&d->gate), retry_next_deadline(d));
    if (vq_ready(&d->vu.vq[VQ_RX])) /* (the refill waits for the ring anyway) */
        next = earlier(next, pool_next_deadline(d));
    for (const struct vsock_conn *c = d->all; c; c = c->all_next)
        next = earlier(next, c->deadline_ms);
    return next;
}

size_t device_stats_text(struct vsock_dev *d, char *buf, size_t len)
{
    const struct vsockd_stats *st = &d->stats;
    size_t off = 0;
    buf[0] = '\0';
    control_kv(buf, len, &off, "active", d->nconns);
    control_kv(buf, len, &off, "peak", st->peak);
    control_kv(buf, len, &off, "limit", d->max_conns);
    control_kv(buf, len, &off, "queued", gate_queued(&d->gate));
    control_kv(buf, len, &off, "accepting", !d->gate.paused);
    control_kv(buf, len, &off, "accepted", st->accepted);
    control_kv(buf, len, &off, "established", st->established);
    control_kv(buf, len, &off, "refused", st->refused);
    control_kv(buf, len, &off, "guest_resets", st->guest_resets);
    control_kv(buf, len, &off, "retries", st->retries);
    control_kv(buf, len, &off, "limit_pauses", d->gate.pauses);
    control_kv(buf, len, &off, "fd_pauses", d->gate.holds);
    control_kv(buf, len, &off, "guest_connects", st->guest_connects);
    control_kv(buf, len, &off, "guest_refused", st->guest_refused);
    control_kv(buf, len, &off, "bad_packets", d->bad_packets);
    control_kv(buf, len, &off, "rst_owed", d->nowed);
    control_kv(buf, len, &off, "rst_dropped", d->rst_dropped);
    control_kv(buf, len, &off, "rx_kicks", d->vu.vq[VQ_RX].kicks);
    control_kv(buf, len, &off, "tx_kicks", d->vu.vq[VQ_TX].kicks);
    control_kv(buf, len, &off, "rx_calls", d->vu.vq[VQ_RX].calls);
    control_kv(buf, len, &off, "tx_calls", d->vu.vq[VQ_TX].calls);
    control_kv(buf, len, &off, "bytes_buffered", d->bytes_buffered);
    if (d->preopen) {
        control_kv(buf, len, &off, "preopen", d->preopen);
        control_kv(buf, len, &off, "preopen_ready", d->pool_ready);
        control_kv(buf, len, &off, "preopened", st->preopened);
        control_kv(buf, len, &off, "preopen_paired", st->preopen_paired);
        control_kv(buf, len, &off, "preopen_misses", st->preopen_misses);
        control_kv(buf, len, &off, "preopen_dropped", st->preopen_dropped);
        control_kv(buf, len, &off, "preopen_retired", st->preopen_retired);
        control_kv(buf, len, &off, "preopen_refused", st->preopen_refused);
    }
    if (d->trace) {
        static const char *const names[TR_STEPS] = {NULL,
                                                    "trace_request_us",
                                                    "trace_response_us",
                                                    "trace_to_guest_us",
                                                    "trace_from_guest_us",
                                                    "trace_guest_shut_us",
                                                    "trace_closed_us"};
        control_kv(buf, len, &off, "trace_conns", d->trace_conns);
        for (unsigned s = 1; s < TR_STEPS; s++)
            control_kv(buf, len, &off, names[s], d->trace_us[s]);
    }
    return off;
}
