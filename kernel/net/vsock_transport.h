/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The interface between the vsock protocol (net) and the virtio-vsock device
 * driver. The driver implements struct vsock_transport and calls the
 * vsock_net_* entry points; host unit tests fake the transport.
 *
 * Contract:
 * - Every entry point is called in thread context, never from an interrupt
 *   handler. They may send packets.
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
 * - A packet given to send() belongs to the transport until it hands it
 *   back with vsock_net_tx_done(t, p), once the device has read it: every
 *   packet send() accepted, control packets too, comes back exactly once
 *   (also after a reset or a broken queue), and never before the device is
 *   done with it. Net frees or reuses it only then.
 * - The transport may keep a packet the device is done with for a while
 *   (the virtio driver reaps completions without an interrupt, within
 *   10 ms), unless net waits for it: then net calls want_tx_done() before
 *   the waiter sleeps, and every packet the transport holds at that moment
 *   comes back as soon as the device is done with it.
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

/*
 * A packet to send. Header and payload are one piece of memory, the payload
 * right behind the header, so that the device reads them as one buffer:
 * net allocates a data packet once (its payload copied in by send(), or read
 * into it by the FUSE client for sendfile) and takes control packets from a
 * pool. hdr.len is the payload's length.
 */
struct vsock_pkt {
    struct list link;     /* the transport's while it holds the packet */
    void *owner;          /* net's */
    uint32_t cap;         /* net's */
    struct vsock_hdr hdr; /* what the device reads: the header ... */
    uint8_t data[];       /* ... and right behind it hdr.len payload bytes */
};

struct vsock_transport {
    uint64_t guest_cid;
    /* Queues p for the device (in order: packets are never reordered).
     * Never blocks and never allocates. Returns 0, or -EIO (device broken):
     * then p stays net's and does not come back through tx_done. send() may
     * call vsock_net_tx_done() itself (while reaping completions), but not
     * the other entry points. */
    int (*send)(struct vsock_transport *t, struct vsock_pkt *p);
    /* Gives a loaned rx buffer back to the driver. */
    void (*rx_release)(struct vsock_transport *t, struct vsock_rx_buf *buf);
    /* Net waits for packets to come back (a sender blocked on SO_SNDBUF or
     * on memory its packets hold, a control packet owed for an empty
     * pool): every packet the transport holds now comes back through
     * vsock_net_tx_done as soon as the device is done with it. Never
     * blocks; does not call into net. */
    void (*want_tx_done)(struct vsock_transport *t);
};

/* Makes t the transport every socket uses (one at a time). */
void vsock_net_attach(struct vsock_transport *t);
/* A packet arrived; net owns buf until it calls t->rx_release(t, buf). */
void vsock_net_receive(struct vsock_transport *t, struct vsock_rx_buf *buf);
/* The device is done with p (or never will be: a reset, a broken queue):
 * it is net's again. */
void vsock_net_tx_done(struct vsock_transport *t, struct vsock_pkt *p);
/* The device's transport was reset (event queue, e.g. after migration): every
 * connection fails with ECONNRESET and gives its rx buffers back; listeners
 * stay. The guest's CID becomes new_cid. */
void vsock_net_transport_reset(struct vsock_transport *t, uint64_t new_cid);

#endif
