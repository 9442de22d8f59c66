/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host fakes for net: the port (net_port.h: lock, wait, clock, timer kick)
 * and a transport that records what net sends and injects what the "device"
 * receives. Used by the net unit tests and the vsock_packet fuzzer.
 */
#ifndef MIURA_TEST_NET_FAKE_H
#define MIURA_TEST_NET_FAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "net/vsock.h"

#define FAKE_GUEST_CID 3
#define FAKE_PEER_CID  2
#define FAKE_MAX_SENT  4096
#define FAKE_RX_CAP    4096

struct fake_sent {
    struct vsock_hdr hdr;
    uint8_t *payload;      /* copy taken at send time (NULL when len == 0) */
    struct vsock_pkt *pkt; /* net's packet, the fake device's until done */
    bool done;             /* tx_done was called for it */
};

struct fake_net {
    struct vsock_transport t;
    struct fake_sent sent[FAKE_MAX_SENT];
    unsigned nsent; /* packets recorded (stops at FAKE_MAX_SENT, counts on) */
    unsigned total_sent;
    bool auto_tx_done; /* complete each payload inside send() */
    bool hold_ctrl;    /* keep control packets until fake_complete_tx */
    bool fail_send;    /* send() returns -EIO */
    uint64_t rx_injected, rx_released;
    uint64_t now; /* the fake clock, ns */
    unsigned lock_depth;
    unsigned waits; /* net_wait calls */
    unsigned timer_kicks;
    unsigned want_tx_done;   /* want_tx_done calls */
    unsigned want_tx_undone; /* packets not yet done at the last of them */
    /* Called by net_wait (with the net lock held, like a sleeping thread
     * whose CPU runs the driver): may inject packets, move the clock. */
    void (*wait_hook)(struct net_waitq *wq, uint64_t deadline);
    unsigned stuck; /* waits without deadline that nothing woke */
    /* When set, the next injected packet says the device wrote this many
     * bytes (header included) rather than the header and its payload. */
    bool lie_written;
    uint32_t written;
};
extern struct fake_net fake;

/* Resets the fake and attaches its transport (net's tables stay). */
void fake_init(void);
/* Delivers one packet from the peer (FAKE_PEER_CID) to the guest. */
void fake_inject(uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t flags,
                 uint32_t buf_alloc, uint32_t fwd_cnt, const void *payload, uint32_t len);
/* The same, with a full header (may lie) and a buffer of cap bytes. */
void fake_inject_raw(const struct vsock_hdr *h, const void *payload, uint32_t payload_len,
                     uint32_t cap);
/* The last packet net sent, or NULL. */
const struct fake_sent *fake_last(void);
/* Packets sent with this op since index `from`. */
unsigned fake_count_op(unsigned from, uint16_t op);
/* Calls vsock_net_tx_done for every packet not yet completed. */
void fake_complete_tx(void);
/* Closes every socket fd, runs every timer, completes tx; returns true if
 * net holds nothing afterwards (no sockets, buffers or memory). */
bool fake_teardown(void);

/* Socket helpers (return -1 on any failure). */
int fake_listen(uint32_t port, int backlog);
/* A peer at peer_port connects to port (a listener); returns the accepted fd. */
int fake_accept_new(int lfd, uint32_t port, uint32_t peer_port);
/* Connects (non-blocking, then RESPONSE from the peer) to peer_port;
 * *local_port gets the guest's port. Returns the fd. */
int fake_connect_new(uint32_t peer_port, uint32_t *local_port);
/* The socket behind an fd (tests peek at its state). */
struct vsock_sock *fake_sock(int fd);

#endif
