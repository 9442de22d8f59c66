/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hostile guest's virtio-vsock driver; see rings.h. Set-up follows the
 * kernel's driver (kernel/drivers/vsock) in a reduced form; the injection
 * writes descriptors and the avail ring directly, as a compromised guest
 * kernel could, bypassing every check of kernel/drivers/virtio/virtqueue.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86_64/cpu.h"
#include "drivers/virtio/virtio.h"
#include "miura/miura.h"
#include "mm/page.h"
#include "rings.h"
#include "sched/sched.h"

#define RX_BUFS    32u
#define TX_BUFS    16u
#define EVENT_BUFS 4u
#define RING_MAX   128u

static struct {
    struct virtio_device *dev;
    struct virtqueue rx, tx, event;
    struct waitq wake;
    uint64_t cid;
    uint8_t *rx_page[RX_BUFS];
    uint8_t *tx_page[TX_BUFS];
    uint8_t *tx_free[TX_BUFS];
    unsigned ntx_free;
    uint32_t events[EVENT_BUFS];
    uint8_t *readable; /* the rx case's device-readable buffer */
    unsigned bad_rx;
} hs;

bool hostile_ready(void)
{
    return hs.dev != NULL;
}

uint64_t hostile_cid(void)
{
    return hs.cid;
}

unsigned hostile_bad_rx(void)
{
    return hs.bad_rx;
}

const char *hostile_case_name(enum hostile_case c)
{
    static const char *const names[] = {
        [HC_LOOP] = "descriptor-loop",
        [HC_ADDR_PAST_MEMORY] = "address-past-memory",
        [HC_LEN_PAST_MEMORY] = "length-past-memory",
        [HC_LONGER_THAN_QUEUE] = "chain-longer-than-queue",
        [HC_NEXT_OUT_OF_RANGE] = "next-out-of-range",
        [HC_AVAIL_AHEAD] = "avail-index-ahead",
        [HC_INDIRECT] = "indirect-not-negotiated",
        [HC_READ_AFTER_WRITE] = "readable-after-writable",
    };
    return c > 0 && c < HC_TX_CASES_END ? names[c] : "?";
}

/* ---- buffers */

static void rx_post_all(void)
{
    for (unsigned i = 0; i < RX_BUFS; i++) {
        struct iobuf in = {hs.rx_page[i], PAGE_SIZE};
        vq_add_chain(&hs.rx, NULL, 0, &in, 1, hs.rx_page[i]);
    }
}

static void event_post_all(void)
{
    for (unsigned i = 0; i < EVENT_BUFS; i++) {
        struct iobuf in = {&hs.events[i], sizeof(hs.events[i])};
        vq_add_chain(&hs.event, NULL, 0, &in, 1, &hs.events[i]);
    }
}

static int queues_create(bool rx_readable)
{
    int rc = virtio_queue_create(hs.dev, VIRTIO_VSOCK_QUEUE_RX, RING_MAX, &hs.rx);
    if (rc == 0)
        rc = virtio_queue_create(hs.dev, VIRTIO_VSOCK_QUEUE_TX, RING_MAX, &hs.tx);
    if (rc == 0)
        rc = virtio_queue_create(hs.dev, VIRTIO_VSOCK_QUEUE_EVENT, EVENT_BUFS, &hs.event);
    if (rc < 0)
        return rc;
    hs.ntx_free = TX_BUFS;
    for (unsigned i = 0; i < TX_BUFS; i++)
        hs.tx_free[i] = hs.tx_page[i];
    if (rx_readable) {
        /* A request header the device would have to overwrite: it must not. */
        struct iobuf out = {hs.readable, PAGE_SIZE};
        vq_add_chain(&hs.rx, &out, 1, NULL, 0, hs.readable);
    } else {
        rx_post_all();
    }
    event_post_all();
    return 0;
}

static void kick_all(void)
{
    virtio_queue_kick(hs.dev, VIRTIO_VSOCK_QUEUE_RX, &hs.rx);
    virtio_queue_kick(hs.dev, VIRTIO_VSOCK_QUEUE_EVENT, &hs.event);
}

/* ---- sending and receiving */

int hostile_send(const struct vsock_hdr *h, const void *payload, uint32_t len, uint32_t buf_len)
{
    if (hs.ntx_free == 0 || buf_len == 0 || buf_len > PAGE_SIZE ||
        (buf_len >= VSOCK_HDR_SIZE && len > buf_len - VSOCK_HDR_SIZE))
        return -1;
    uint8_t *page = hs.tx_free[--hs.ntx_free];
    memset(page, 0, PAGE_SIZE);
    memcpy(page, h, buf_len < VSOCK_HDR_SIZE ? buf_len : VSOCK_HDR_SIZE);
    if (len && buf_len >= VSOCK_HDR_SIZE + len)
        memcpy(page + VSOCK_HDR_SIZE, payload, len);
    struct iobuf out = {page, buf_len};
    if (vq_add_chain(&hs.tx, &out, 1, NULL, 0, page) < 0) {
        hs.tx_free[hs.ntx_free++] = page;
        return -1;
    }
    virtio_queue_kick(hs.dev, VIRTIO_VSOCK_QUEUE_TX, &hs.tx);
    return 0;
}

unsigned hostile_tx_inflight(void)
{
    return TX_BUFS - hs.ntx_free;
}

void hostile_reap_tx(void)
{
    void *token;
    uint32_t written;
    while (vq_get_used(&hs.tx, &token, &written) == 1)
        hs.tx_free[hs.ntx_free++] = token;
}

int hostile_poll(struct vsock_hdr *h, void *data, uint32_t cap)
{
    void *token;
    uint32_t written;
    hostile_reap_tx();
    while (vq_get_used(&hs.rx, &token, &written) == 1) {
        uint8_t *page = token;
        struct vsock_hdr hdr;
        int got = 0;
        if (written >= VSOCK_HDR_SIZE) {
            memcpy(&hdr, page, VSOCK_HDR_SIZE);
            if (hdr.len <= written - VSOCK_HDR_SIZE && hdr.len <= cap) {
                *h = hdr;
                memcpy(data, page + VSOCK_HDR_SIZE, hdr.len);
                got = 1;
            }
        }
        if (!got)
            hs.bad_rx++;
        struct iobuf in = {page, PAGE_SIZE};
        vq_add_chain(&hs.rx, NULL, 0, &in, 1, page);
        virtio_queue_kick(hs.dev, VIRTIO_VSOCK_QUEUE_RX, &hs.rx);
        if (got)
            return 1;
    }
    while (vq_get_used(&hs.event, &token, &written) == 1) {
        struct iobuf in = {token, sizeof(uint32_t)};
        printf("hostile: device event %u\n", *(uint32_t *)token);
        vq_add_chain(&hs.event, NULL, 0, &in, 1, token);
        virtio_queue_kick(hs.dev, VIRTIO_VSOCK_QUEUE_EVENT, &hs.event);
    }
    return 0;
}

static void wait_until(uint64_t deadline_ns)
{
    uint64_t flags = irq_save();
    if (vq_enable_cb(&hs.rx) && vq_enable_cb(&hs.tx) && vq_enable_cb(&hs.event))
        waitq_wait(&hs.wake, deadline_ns);
    irq_restore(flags);
}

void hostile_wait(void)
{
    wait_until(0);
}

void hostile_wait_ms(unsigned ms)
{
    wait_until(miura_clock_ns() + ms * 1000000ull);
}

/* ---- what a well-behaved driver never writes */

/* A readable descriptor over a tx page holding a plausible header. */
static struct virtq_desc desc_at(uint16_t next, uint16_t flags)
{
    return (struct virtq_desc){.addr = (uint64_t)(uintptr_t)hs.tx_page[0],
                               .len = VSOCK_HDR_SIZE,
                               .flags = flags,
                               .next = next};
}

void hostile_inject(enum hostile_case c)
{
    struct virtqueue *vq = &hs.tx;
    struct virtq_desc *d = vq->desc;
    uint16_t n = vq->size;
    uint16_t idx = vq->avail_idx; /* = avail->idx: nothing of ours is pending */
    uint16_t step = 1;
    switch (c) {
    case HC_LOOP:
        d[0] = desc_at(1, VIRTQ_DESC_F_NEXT);
        d[1] = desc_at(0, VIRTQ_DESC_F_NEXT);
        break;
    case HC_ADDR_PAST_MEMORY:
        d[0] = desc_at(0, 0);
        d[0].addr = 1ull << 46;
        break;
    case HC_LEN_PAST_MEMORY:
        d[0] = desc_at(0, 0);
        d[0].len = 0xffff0000u;
        break;
    case HC_LONGER_THAN_QUEUE:
        for (uint16_t i = 0; i < n; i++)
            d[i] = desc_at((uint16_t)((i + 1) % n), VIRTQ_DESC_F_NEXT);
        break;
    case HC_NEXT_OUT_OF_RANGE:
        d[0] = desc_at((uint16_t)(n + 5), VIRTQ_DESC_F_NEXT);
        break;
    case HC_AVAIL_AHEAD:
        d[0] = desc_at(0, 0);
        step = (uint16_t)(n + 1);
        break;
    case HC_INDIRECT:
        d[0] = desc_at(0, VIRTQ_DESC_F_INDIRECT);
        d[0].len = sizeof(struct virtq_desc);
        break;
    case HC_READ_AFTER_WRITE:
        d[0] = desc_at(1, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE);
        d[1] = desc_at(0, 0);
        break;
    default:
        return;
    }
    vq->avail->ring[idx % n] = 0;
    /* Release: the descriptors and the ring entry before the index. */
    __atomic_store_n(&vq->avail->idx, (uint16_t)(idx + step), __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    hs.dev->ops->notify(hs.dev, VIRTIO_VSOCK_QUEUE_TX);
}

/* ---- set-up */

int hostile_reset(bool rx_readable)
{
    struct virtio_device *dev = hs.dev;
    virtio_device_reset(dev); /* the device lets go of every queue */
    virtio_queue_destroy(&hs.rx);
    virtio_queue_destroy(&hs.tx);
    virtio_queue_destroy(&hs.event);
    /* virtio 1.2 §3.1.1 steps 2-6, with the features negotiated at attach. */
    dev->ops->set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE);
    dev->ops->set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    dev->ops->driver_features(dev, dev->features);
    dev->ops->set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                  VIRTIO_STATUS_FEATURES_OK);
    if (!(dev->ops->get_status(dev) & VIRTIO_STATUS_FEATURES_OK))
        return -EIO;
    int rc = queues_create(rx_readable);
    if (rc < 0)
        return rc;
    virtio_device_ready(dev); /* step 8 */
    kick_all();
    return 0;
}

static void hostile_interrupt(struct virtio_device *dev, uint32_t cause)
{
    (void)dev;
    (void)cause;
    waitq_wake_all(&hs.wake);
}

static int hostile_probe(struct virtio_device *dev)
{
    struct virtio_vsock_config config;
    hs.dev = dev;
    waitq_init(&hs.wake);
    if (virtio_read_config(dev, 0, &config, sizeof(config)) == 0)
        hs.cid = config.guest_cid & 0xffffffffu;
    for (unsigned i = 0; i < RX_BUFS; i++)
        hs.rx_page[i] = page_alloc(1);
    for (unsigned i = 0; i < TX_BUFS; i++)
        hs.tx_page[i] = page_alloc(1);
    hs.readable = page_alloc(1);
    for (unsigned i = 0; i < RX_BUFS; i++)
        if (!hs.rx_page[i])
            goto err;
    for (unsigned i = 0; i < TX_BUFS; i++)
        if (!hs.tx_page[i])
            goto err;
    if (!hs.readable || queues_create(false) < 0 || virtio_irq_enable(dev) < 0)
        goto err;
    virtio_device_ready(dev);
    kick_all();
    return 0;
err:
    /* A test appliance: the scenario reports "no device" and fails. */
    hs.dev = NULL;
    return -ENOMEM;
}

static const struct virtio_driver hostile_driver = {
    .name = "hostile-vsock",
    .device_id = VIRTIO_ID_VSOCK,
    .features = 0,
    .probe = hostile_probe,
    .interrupt = hostile_interrupt,
};
MIURA_DRIVER(virtio, hostile_driver);
