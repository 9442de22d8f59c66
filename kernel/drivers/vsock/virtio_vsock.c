/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-vsock device driver (virtio 1.2 §5.10): the transport under the
 * Networking unit (kernel/net). Queue 0 receives, 1 transmits, 2 carries
 * events (transport reset).
 *
 * Receive: the rx ring is kept full of one-page buffers (header, then
 * payload). A completed buffer is loaned to net as the device wrote it (its
 * header copied out once, so the device cannot change it after the check);
 * net checks everything in it, in one place. Net gives the buffer back with
 * rx_release once the application has read it; a fresh buffer takes its
 * place in the ring meanwhile, so the buffers in use are the ring plus what
 * net holds (bounded by its credit).
 *
 * Transmit: net's packet carries its payload right behind its header, so
 * each packet is one device-readable descriptor, and it is net's again when
 * the device hands it back (vsock_net_tx_done): the driver allocates
 * nothing. When the ring is full the packet waits in a FIFO, so send never
 * blocks and never reorders. Every send is published at once; data is
 * notified by the service thread at the end of its batch, one notify for
 * all (and only if the device asked for it: with VIRTIO_F_RING_EVENT_IDX
 * only when it went idle). Data sent from another thread wakes the service
 * thread, which runs when the sender blocks or yields (the scheduler is
 * cooperative), so responses written in pieces cost one notify; a control
 * packet from another thread (the SHUTDOWN of a close(), a REQUEST, a
 * credit update) notifies at once, with the data before it: a response and
 * its close cost one notify, and the close does not wait for the thread to
 * end. Once TX_KICK_BYTES of payload wait unnotified, a send notifies at
 * once too, so the device works on a bulk stream while the sender fills the
 * ring.
 *
 * Transmit completions interrupt only when someone needs them soon: while
 * packets wait for room on the ring, while a quarter of the ring or more
 * is in flight, and once net says it waits for packets to come back
 * (want_tx_done: a sender blocked on SO_SNDBUF or on memory, a control
 * packet owed for an empty pool) until every packet in flight has come
 * back. Otherwise the tx queue's interrupts are off (vq_disable_cb) and
 * completions are reaped whenever the service thread runs anyway (an rx
 * interrupt, a send), or at the latest POLL_NS (10 ms) after it went to sleep
 * with packets in flight, so that memory comes back on an idle guest too.
 * A request/response exchange then costs the guest no tx interrupt: the
 * peer's next packet brings the thread that reaps it.
 *
 * One service thread per device does all of it; the interrupt handler only
 * wakes that thread.
 *
 * Probe: queues, interrupt, the service thread, then buffers and DRIVER_OK,
 * and only then the transport is attached to net. A failure undoes every
 * earlier step in reverse, so a device that cannot run leaves nothing
 * behind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/vsock.h"
#include "arch/x86_64/arch.h"
#include "drivers/virtio/virtio.h"
#include "lib/init.h"
#include "lib/list.h"
#include "miura/miura.h"
#include "net/vsock_transport.h"
#include "sched/sched.h"

#define RX_RING_SIZE                64u
#define TX_RING_SIZE                128u
#define EVENT_BUFS                  4u
#define VSOCK_EVENT_TRANSPORT_RESET 0
#define SERVICE_STACK               (16 * 1024)
#define POLL_NS                     10000000ull /* rx refill retry; tx completions reaped without an interrupt */
#define TX_IRQ_CHAINS               (TX_RING_SIZE / 4) /* this many in flight: interrupts on */
#define TX_KICK_BYTES               (16u * 1024)       /* unnotified payload notified at once */
#define CID_FIRST_GUEST             3u                 /* 0-2: hypervisor, local, host */

/* A receive buffer is one page: what the device writes (header, then
 * payload) and, at its end, the slot that describes it. */
struct rx_slot {
    struct vsock_rx_buf buf; /* first: net hands this pointer back */
    struct rx_slot *next_free;
};
#define RX_BUF_BYTES (PAGE_SIZE - sizeof(struct rx_slot)) /* device-writable */

struct virtio_vsock {
    struct virtio_device *dev;
    struct vsock_transport transport;
    struct virtqueue rx, tx, event;
    struct waitq wake;   /* the service thread sleeps here */
    unsigned interrupts; /* taken so far: added to before the wake (waitq_wait_unless) */
    thread_t *service;
    bool tx_unkicked;           /* chains published, not yet notified */
    uint32_t tx_unkicked_bytes; /* their payload */
    struct list tx_pending;     /* struct vsock_pkt waiting for room on the ring */
    bool tx_wanted;             /* net waits for packets: tx interrupts until none in flight */
    uint64_t poll_at;           /* the service thread's wake-up time when it polls */
    struct rx_slot *rx_free;
    uint32_t events[EVENT_BUFS];
};

/* ---- receive */

static uint8_t *rx_page(struct rx_slot *s)
{
    return (uint8_t *)s - RX_BUF_BYTES;
}

static struct rx_slot *rx_slot_get(struct virtio_vsock *vs)
{
    struct rx_slot *s = vs->rx_free;
    uint8_t *page;
    if (s) {
        vs->rx_free = s->next_free;
        return s;
    }
    page = page_alloc(1);
    return page ? (struct rx_slot *)(page + RX_BUF_BYTES) : NULL;
}

static void rx_slot_put(struct virtio_vsock *vs, struct rx_slot *s)
{
    s->next_free = vs->rx_free;
    vs->rx_free = s;
}

/* Fills the rx ring; returns true if it added buffers. */
static bool rx_refill(struct virtio_vsock *vs)
{
    bool added = false;
    while (vq_num_free(&vs->rx) > 0) {
        struct rx_slot *s = rx_slot_get(vs);
        if (!s)
            break; /* out of memory: the ring runs with fewer buffers */
        struct iobuf in = {rx_page(s), RX_BUF_BYTES};
        if (vq_add_chain(&vs->rx, NULL, 0, &in, 1, s) < 0) {
            rx_slot_put(vs, s);
            break;
        }
        added = true;
    }
    return added;
}

/* The ring has fewer than half its buffers posted: net holds many, or
 * memory ran out while refilling. */
static bool rx_short(struct virtio_vsock *vs)
{
    return vq_num_free(&vs->rx) > RX_RING_SIZE / 2;
}

static void vsock_rx_release(struct vsock_transport *t, struct vsock_rx_buf *buf)
{
    struct virtio_vsock *vs = container_of(t, struct virtio_vsock, transport);
    rx_slot_put(vs, (struct rx_slot *)buf);
    /* A short ring may be empty, and an empty ring brings no interrupt to
     * refill it: the service thread puts this buffer back in now. */
    if (rx_short(vs))
        waitq_wake_all(&vs->wake);
}

static bool rx_drain(struct virtio_vsock *vs)
{
    bool any = false;
    void *token;
    uint32_t len;
    int rc;
    while ((rc = vq_get_used(&vs->rx, &token, &len)) == 1) {
        struct rx_slot *s = token;
        any = true;
        memcpy(&s->buf.hdr, rx_page(s), VSOCK_HDR_SIZE); /* net checks it against len */
        s->buf.written = len;
        s->buf.data = rx_page(s) + VSOCK_HDR_SIZE;
        s->buf.cap = RX_BUF_BYTES - VSOCK_HDR_SIZE;
        s->buf.off = 0;
        s->buf.net_copy = false;
        list_init(&s->buf.link);
        vsock_net_receive(&vs->transport, &s->buf);
    }
    if (rc < 0) {
        printf("virtio-vsock: rx queue broken by the device\n");
        while (vq_drain_broken(&vs->rx, &token) == 1)
            rx_slot_put(vs, token);
    }
    if (rx_refill(vs))
        virtio_queue_kick(vs->dev, VIRTIO_VSOCK_QUEUE_RX, &vs->rx);
    return any;
}

/* ---- transmit */

static bool tx_post(struct virtio_vsock *vs, struct vsock_pkt *p)
{
    struct iobuf out = {&p->hdr, VSOCK_HDR_SIZE + p->hdr.len}; /* header and payload */
    if (vq_add_chain(&vs->tx, &out, 1, NULL, 0, p) < 0)
        return false;
    vs->tx_unkicked_bytes += p->hdr.len;
    return true;
}

/* Notifies the device of new chains: at once (the service thread at the
 * end of its batch, or TX_KICK_BYTES of payload waiting), or later: the
 * service thread does it once the caller blocks or yields. */
static void tx_kick(struct virtio_vsock *vs, bool now)
{
    if (!now && vs->tx_unkicked_bytes < TX_KICK_BYTES) {
        vs->tx_unkicked = true;
        if (thread_self() != vs->service)
            waitq_wake_all(&vs->wake);
        return;
    }
    vs->tx_unkicked = false;
    vs->tx_unkicked_bytes = 0;
    virtio_queue_kick(vs->dev, VIRTIO_VSOCK_QUEUE_TX, &vs->tx);
}

/* Packets that waited for room go on the ring; on a broken queue they go
 * back to net, since the device will never read them. */
static void tx_flush_pending(struct virtio_vsock *vs)
{
    bool added = false;
    while (!list_empty(&vs->tx_pending)) {
        struct vsock_pkt *p = list_entry(vs->tx_pending.next, struct vsock_pkt, link);
        if (!vq_is_broken(&vs->tx) && (vq_num_free(&vs->tx) == 0 || !tx_post(vs, p)))
            break;
        list_remove(&p->link);
        if (vq_is_broken(&vs->tx))
            vsock_net_tx_done(&vs->transport, p);
        else
            added = true;
    }
    if (added)
        tx_kick(vs, false);
}

static bool tx_drain(struct virtio_vsock *vs)
{
    bool any = false;
    void *token;
    uint32_t len;
    int rc;
    while ((rc = vq_get_used(&vs->tx, &token, &len)) == 1) {
        any = true;
        vsock_net_tx_done(&vs->transport, token); /* the device is done with it */
    }
    if (rc < 0) {
        printf("virtio-vsock: tx queue broken by the device\n");
        while (vq_drain_broken(&vs->tx, &token) == 1)
            vsock_net_tx_done(&vs->transport, token);
    }
    tx_flush_pending(vs);
    return any;
}

static int vsock_send(struct vsock_transport *t, struct vsock_pkt *p)
{
    struct virtio_vsock *vs = container_of(t, struct virtio_vsock, transport);
    if (vq_is_broken(&vs->tx))
        return -EIO;
    uint64_t flags = irq_save();
    if (list_empty(&vs->tx_pending) && tx_post(vs, p)) {
        tx_kick(vs, p->hdr.op != VSOCK_OP_RW && thread_self() != vs->service);
    } else {
        list_push_back(&vs->tx_pending, &p->link);
        waitq_wake_all(&vs->wake); /* the service thread flushes as room appears */
    }
    irq_restore(flags);
    return 0;
}

/* Net waits for packets to come back (vsock_transport.h): tx interrupts
 * stay on until every packet in flight has come back. From another thread
 * they go on here, since the service thread may sleep with them off. */
static void vsock_want_tx_done(struct vsock_transport *t)
{
    struct virtio_vsock *vs = container_of(t, struct virtio_vsock, transport);
    uint64_t flags = irq_save();
    vs->tx_wanted = true;
    /* false: completions arrived while they were off, and may have raised
     * no interrupt; the service thread takes them. */
    if (thread_self() != vs->service && !vq_enable_cb(&vs->tx))
        waitq_wake_all(&vs->wake);
    irq_restore(flags);
}

/* Whether tx completions should interrupt (see the header comment). */
static bool tx_irq_needed(struct virtio_vsock *vs)
{
    bool idle = vq_inflight(&vs->tx) == 0 && list_empty(&vs->tx_pending);
    if (idle)
        vs->tx_wanted = false; /* all net waited for has come back */
    return vs->tx_wanted || !list_empty(&vs->tx_pending) || vq_inflight(&vs->tx) >= TX_IRQ_CHAINS;
}

/* ---- events */

static void read_cid(struct virtio_vsock *vs)
{
    struct virtio_vsock_config config;
    if (virtio_read_config(vs->dev, 0, &config, sizeof(config)) == 0)
        vs->transport.guest_cid = config.guest_cid & 0xffffffffu;
}

static bool event_drain(struct virtio_vsock *vs)
{
    bool any = false;
    void *token;
    uint32_t len;
    while (vq_get_used(&vs->event, &token, &len) == 1) {
        uint32_t *ev = token;
        any = true;
        if (len >= sizeof(*ev) && *ev == VSOCK_EVENT_TRANSPORT_RESET) {
            read_cid(vs);
            printf("virtio-vsock: transport reset, CID %llu\n",
                   (unsigned long long)vs->transport.guest_cid);
            vsock_net_transport_reset(&vs->transport, vs->transport.guest_cid);
        }
        struct iobuf in = {ev, sizeof(*ev)};
        vq_add_chain(&vs->event, NULL, 0, &in, 1, ev);
    }
    if (any)
        virtio_queue_kick(vs->dev, VIRTIO_VSOCK_QUEUE_EVENT, &vs->event);
    return any;
}

/* ---- the service thread */

static void *vsock_service(void *arg)
{
    struct virtio_vsock *vs = arg;
    for (;;) {
        io_enter(); /* the rings and net, with the threads that send */
        uint64_t flags = irq_save();
        /* An interrupt taken on another CPU (a queue routed there by
         * irq_cpu.vsock.Q) after the drains below would wake nobody: it is
         * counted, and the thread does not sleep if the count moved. */
        unsigned seen = __atomic_load_n(&vs->interrupts, __ATOMIC_ACQUIRE);
        bool work = rx_drain(vs) | tx_drain(vs) | event_drain(vs);
        if (vs->tx_unkicked)
            tx_kick(vs, true); /* one notify for all this batch sent */
        if (!work) {
            bool tx_irq = tx_irq_needed(vs);
            uint64_t deadline = 0;
            if (!tx_irq)
                vq_disable_cb(&vs->tx);
            /* Out of memory while refilling: retry every 10 ms, since a ring
             * left empty would never interrupt us again. Tx chains in
             * flight without interrupts: reaped within 10 ms. The time
             * stays until it has passed, so that sleeping again does not
             * move the CPU's timer (under TCG, each move is work for
             * QEMU's main loop). */
            if (rx_short(vs) || (!tx_irq && vq_inflight(&vs->tx))) {
                uint64_t now = miura_clock_ns();
                if (vs->poll_at <= now)
                    vs->poll_at = now + POLL_NS;
                deadline = vs->poll_at;
            }
            if (vq_enable_cb(&vs->rx) && (!tx_irq || vq_enable_cb(&vs->tx)) &&
                vq_enable_cb(&vs->event))
                waitq_wait_unless(&vs->wake, deadline, &vs->interrupts, seen);
        }
        irq_restore(flags);
        io_leave();
        thread_yield(); /* let the threads we woke run before the next batch */
    }
    return NULL;
}

static void vsock_interrupt(struct virtio_device *dev, uint32_t cause)
{
    struct virtio_vsock *vs = dev->driver_data;
    (void)cause; /* used buffers or a config change: the thread looks at all */
    __atomic_add_fetch(&vs->interrupts, 1, __ATOMIC_RELEASE);
    waitq_wake_all(&vs->wake);
}

static int vsock_probe(struct virtio_device *dev)
{
    struct virtio_vsock *vs = calloc(1, sizeof(*vs));
    int rc;
    if (!vs)
        return -ENOMEM;
    vs->dev = dev;
    dev->driver_data = vs;
    waitq_init(&vs->wake);
    list_init(&vs->tx_pending);
    vs->transport.send = vsock_send;
    vs->transport.rx_release = vsock_rx_release;
    vs->transport.want_tx_done = vsock_want_tx_done;
    read_cid(vs);
    if (vs->transport.guest_cid < CID_FIRST_GUEST) {
        printf("virtio-vsock: device gives CID %llu; need >= 3\n",
               (unsigned long long)vs->transport.guest_cid);
        rc = -EINVAL;
        goto err_free;
    }
    rc = virtio_queue_create(dev, VIRTIO_VSOCK_QUEUE_RX, RX_RING_SIZE, &vs->rx);
    if (rc < 0)
        goto err_free;
    rc = virtio_queue_create(dev, VIRTIO_VSOCK_QUEUE_TX, TX_RING_SIZE, &vs->tx);
    if (rc < 0)
        goto err_rx_queue;
    rc = virtio_queue_create(dev, VIRTIO_VSOCK_QUEUE_EVENT, EVENT_BUFS, &vs->event);
    if (rc < 0)
        goto err_tx_queue;
    rc = virtio_irq_enable(dev);
    if (rc < 0)
        goto err_event_queue;
    /* On the CPU that takes the rx queue's interrupt (irq_enable settled
     * it), so that its wake-up and the receive path are local. */
    if (!(vs->service = thread_create(vs->rx.irq_cpu, SERVICE_STACK, vsock_service, vs))) {
        rc = -ENOMEM;
        goto err_irq;
    }
    /* Nothing below fails: buffers short of memory only make a shorter ring
     * (see rx_short), and the event ring has a slot per buffer. */
    rx_refill(vs);
    for (unsigned i = 0; i < EVENT_BUFS; i++) {
        struct iobuf in = {&vs->events[i], sizeof(vs->events[i])};
        vq_add_chain(&vs->event, NULL, 0, &in, 1, &vs->events[i]);
    }
    virtio_device_ready(dev);
    virtio_queue_kick(dev, VIRTIO_VSOCK_QUEUE_RX, &vs->rx);
    virtio_queue_kick(dev, VIRTIO_VSOCK_QUEUE_EVENT, &vs->event);
    vsock_net_attach(&vs->transport); /* net may send from now on */
    return 0;

err_irq:
    virtio_irq_disable(dev);
err_event_queue:
    virtio_queue_destroy(&vs->event);
err_tx_queue:
    virtio_queue_destroy(&vs->tx);
err_rx_queue:
    virtio_queue_destroy(&vs->rx);
err_free:
    dev->driver_data = NULL;
    free(vs);
    return rc;
}

static const struct virtio_driver vsock_driver = {
    .name = "virtio-vsock",
    .device_id = VIRTIO_ID_VSOCK,
    .features = VIRTIO_FEATURE(VIRTIO_F_RING_EVENT_IDX),
    .probe = vsock_probe,
    .interrupt = vsock_interrupt,
};
MIURA_DRIVER(virtio, vsock_driver);
