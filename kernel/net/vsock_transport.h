/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The interface between the vsock protocol (net) and the virtio-vsock device
 * driver. The driver implements struct vsock_transport and calls the
 * vsock_net_* entry points; host unit tests fake the transport.
 *
 * Contract:
 * - Every entry point is called in thread context, never from an interrupt
 *   handler. They may send packets (and so block in send()).
 * - What the device wrote is checked in one place, net's packet_valid(): the
 *   driver passes the header (copied out of device-shared memory once, so
 *   it cannot change after the check) and the byte count from the used ring
 *   without judging them.
 * - Receive buffers are owned by the driver and loaned to net by
 *   vsock_net_receive(); net gives each back with rx_release() exactly once,
 *   when the application has consumed its payload (or at once if the packet
 *   carries nothing net keeps). While loaned, net may use `link` and `off`,
 *   and may write into data[hdr.len .. cap) and update hdr.len (it appends
 *   small packets to the tail buffer of a connection).
 * - A payload given to send() stays untouched until vsock_net_tx_done(cookie)
 *   (only packets with len > 0 complete this way).
 */
#ifndef MIURA_NET_VSOCK_TRANSPORT_H
#define MIURA_NET_VSOCK_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/vsock.h"
#include "lib/list.h"

struct vsock_rx_buf {
    struct vsock_hdr hdr; /* as the device wrote it: net checks it */
    uint32_t written;     /* bytes the device wrote, header included (<= its buffer) */
    uint8_t *data;        /* payload, right after the header the device wrote */
    uint32_t cap;         /* payload capacity */
    struct list link;     /* free for net's use while loaned */
    uint32_t off;         /* free for net's use while loaned */
    bool net_copy;        /* net's own heap copy, never the transport's (net sets it) */
};

struct vsock_transport {
    uint64_t guest_cid;
    /* Queues one packet: the header (copied by the transport) and len payload
     * bytes at payload, which must stay unchanged until net's
     * vsock_net_tx_done(cookie) is called (if len > 0). May block the calling
     * thread while the tx queue is full (it wakes when the device completes).
     * Returns 0, or -EIO (device broken); on error the payload is not
     * referenced and tx_done is not called for the cookie. send() may call
     * vsock_net_tx_done() itself (e.g. while reaping completions), but not
     * the other entry points. */
    int (*send)(struct vsock_transport *t, const struct vsock_hdr *hdr, const void *payload,
                uint32_t len, void *cookie);
    /* Gives a loaned rx buffer back to the driver. */
    void (*rx_release)(struct vsock_transport *t, struct vsock_rx_buf *buf);
};

/* Makes t the transport every socket uses (one at a time). */
void vsock_net_attach(struct vsock_transport *t);
/* A packet arrived; net owns buf until it calls t->rx_release(t, buf). */
void vsock_net_receive(struct vsock_transport *t, struct vsock_rx_buf *buf);
/* The device has consumed the payload sent with this cookie. */
void vsock_net_tx_done(struct vsock_transport *t, void *cookie);
/* The device's transport was reset (event queue, e.g. after migration): every
 * connection fails with ECONNRESET and gives its rx buffers back; listeners
 * stay. The guest's CID becomes new_cid. */
void vsock_net_transport_reset(struct vsock_transport *t, uint64_t new_cid);

#endif
