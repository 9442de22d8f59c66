/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fake guest for miura-vsockd unit tests: 2 MiB of "guest memory" (gpa 0,
 * uva 0), an rx and a tx ring of 64 entries inside it, a fake clock, and
 * socketpairs standing in for host streams.
 */
#ifndef VSOCKD_FAKE_H
#define VSOCKD_FAKE_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vsockd/device.h"
#include "common/log.h"

#define FAKE_MEM   (2u << 20)
#define FAKE_QNUM  64
#define FAKE_RXBUF 0x40000 /* rx buffers: 64 x 8 KiB */
#define FAKE_TXBUF 0xc0000 /* tx packets: 64 x 8 KiB */
#define FAKE_CID   7

struct fake {
    uint8_t *mem;
    struct vsock_dev dev;
    uint16_t rx_avail, rx_seen, tx_avail, tx_seen;
    unsigned tx_slot;
};

static uint64_t fake_clock;
static int fake_listener_fd = -1; /* what connect_guest_port returns next (-1: refuse) */
static int fake_listener_busy;    /* connect_guest_port fails with EAGAIN this many times first */
static int fake_connects;         /* connect_guest_port calls */
static int fake_refuse_errno;     /* errno of a refusal (0: ECONNREFUSED) */

static uint64_t fake_now(void)
{
    return fake_clock;
}

static int fake_connect(struct vsock_dev *d, uint32_t port)
{
    (void)d;
    (void)port;
    fake_connects++;
    if (fake_listener_busy > 0) {
        fake_listener_busy--;
        errno = EAGAIN; /* the listener's accept queue is full */
        return -1;
    }
    int fd = fake_listener_fd;
    fake_listener_fd = -1;
    if (fd < 0)
        errno = fake_refuse_errno ? fake_refuse_errno : ECONNREFUSED;
    return fd;
}

static const struct vsock_host_ops fake_host_ops = {fake_connect, fake_now};

static inline void fake_ring(struct fake *f, unsigned q, uint64_t base)
{
    struct virtqueue *vq = &f->dev.vu.vq[q];
    vq->num = FAKE_QNUM;
    vq->desc_uva = base;
    vq->avail_uva = base + 0x1000;
    vq->used_uva = base + 0x2000;
    vq->addr_set = true;
    vq_translate(vq, &f->dev.vu.mem);
    vq->started = vq->enabled = true;
}

/* A fresh device and empty rings in the guest memory f->mem already has. */
static inline void fake_reset(struct fake *f)
{
    uint8_t *mem = f->mem;
    memset(f, 0, sizeof(*f));
    f->mem = mem;
    memset(mem + 0x10000, 0, 0x3000); /* rx ring */
    memset(mem + 0x20000, 0, 0x3000); /* tx ring */
    device_init(&f->dev, FAKE_CID, 64, &fake_host_ops);
    f->dev.vu.mem.count = 1;
    f->dev.vu.mem.region[0] = (struct vu_region){0, FAKE_MEM, 0, f->mem, NULL, 0};
    fake_ring(f, 0, 0x10000);
    fake_ring(f, 1, 0x20000);
}

static inline void fake_init(struct fake *f)
{
    log_level = -1;
    f->mem = aligned_alloc(4096, FAKE_MEM);
    memset(f->mem, 0, FAKE_MEM);
    fake_reset(f);
}

static inline void fake_fini(struct fake *f)
{
    device_reset_conns(&f->dev);
    conn_free_dead(&f->dev);
    free(f->mem);
}

static inline struct virtq_desc *fake_desc(struct fake *f, unsigned q)
{
    return (struct virtq_desc *)(f->mem + (q ? 0x20000 : 0x10000));
}

static inline void fake_publish(struct fake *f, unsigned q, uint16_t head)
{
    uint16_t *avail = (uint16_t *)(f->mem + (q ? 0x21000 : 0x11000));
    uint16_t *idx = q ? &f->tx_avail : &f->rx_avail;
    avail[2 + *idx % FAKE_QNUM] = head;
    (*idx)++;
    avail[1] = *idx;
}

/* Posts n rx buffers of `size` bytes each (one descriptor). */
static inline void fake_post_rx(struct fake *f, unsigned n, uint32_t size)
{
    for (unsigned i = 0; i < n; i++) {
        uint16_t d = (uint16_t)(f->rx_avail % FAKE_QNUM);
        fake_desc(f, 0)[d] =
            (struct virtq_desc){FAKE_RXBUF + 8192u * d, size, VIRTQ_DESC_F_WRITE, 0};
        fake_publish(f, 0, d);
    }
}

/* Queues one tx packet (header + payload in one descriptor) and runs the device. */
static inline void fake_send(struct fake *f, uint16_t op, uint32_t src_port, uint32_t dst_port,
                             uint32_t flags, const void *data, uint32_t len, uint32_t buf_alloc,
                             uint32_t fwd_cnt)
{
    uint16_t d = (uint16_t)(f->tx_slot++ % FAKE_QNUM);
    struct vsock_hdr h = {.src_cid = FAKE_CID,
                          .dst_cid = VSOCK_CID_HOST,
                          .src_port = src_port,
                          .dst_port = dst_port,
                          .len = len,
                          .type = VSOCK_TYPE_STREAM,
                          .op = op,
                          .flags = flags,
                          .buf_alloc = buf_alloc,
                          .fwd_cnt = fwd_cnt};
    uint8_t *p = f->mem + FAKE_TXBUF + 8192u * d;
    memcpy(p, &h, sizeof(h));
    if (len)
        memcpy(p + sizeof(h), data, len);
    fake_desc(f, 1)[d] = (struct virtq_desc){FAKE_TXBUF + 8192u * d, VSOCK_HDR_SIZE + len, 0, 0};
    fake_publish(f, 1, d);
    device_kick(&f->dev, 1);
    device_run(&f->dev);
}

/* Takes the next packet the device put on the rx ring; 0 if none. */
static inline int fake_recv(struct fake *f, struct vsock_hdr *h, uint8_t *data, size_t cap)
{
    uint8_t *used = f->mem + 0x12000;
    uint16_t idx;
    memcpy(&idx, used + 2, 2);
    if (idx == f->rx_seen)
        return 0;
    uint32_t e[2];
    memcpy(e, used + 4 + 8 * (f->rx_seen % FAKE_QNUM), 8);
    f->rx_seen++;
    uint8_t *p = f->mem + FAKE_RXBUF + 8192u * e[0];
    memcpy(h, p, sizeof(*h));
    if (e[1] != VSOCK_HDR_SIZE + h->len)
        return -1;
    if (data && h->len)
        memcpy(data, p + sizeof(*h), h->len < cap ? h->len : cap);
    return 1;
}

/* Drains rx; returns how many packets had `op` (and the last of them in *last). */
static inline int fake_count_op(struct fake *f, uint16_t op, struct vsock_hdr *last)
{
    struct vsock_hdr h;
    int n = 0;
    while (fake_recv(f, &h, NULL, 0) == 1)
        if (h.op == op) {
            n++;
            if (last)
                *last = h;
        }
    return n;
}

#endif
