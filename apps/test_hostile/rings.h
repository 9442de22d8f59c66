/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hostile guest's own virtio-vsock driver (the kernel's is not linked
 * in): it owns the device's three queues and can write into them what the
 * kernel's virtqueue code never would. One thread uses it.
 *
 * Packets are sent whole from one page (header and payload in one
 * device-readable descriptor, or a shorter buffer for the garbage cases);
 * received ones are handed to the caller one at a time by hostile_poll.
 */
#ifndef TEST_HOSTILE_RINGS_H
#define TEST_HOSTILE_RINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/vsock.h"
#include "drivers/virtio/virtqueue.h"

/* What a hostile chain on the tx queue does (hostile_inject). */
enum hostile_case {
    HC_LOOP = 1,          /* two descriptors whose next fields point at each other */
    HC_ADDR_PAST_MEMORY,  /* a descriptor at guest-physical 64 TiB */
    HC_LEN_PAST_MEMORY,   /* a valid address with a length of almost 4 GiB */
    HC_LONGER_THAN_QUEUE, /* every descriptor chained, the last back to the first */
    HC_NEXT_OUT_OF_RANGE, /* a next index past the table */
    HC_AVAIL_AHEAD,       /* avail idx moved more than the queue size at once */
    HC_INDIRECT,          /* VIRTQ_DESC_F_INDIRECT, which was not negotiated */
    HC_READ_AFTER_WRITE,  /* a device-readable descriptor after a writable one */
    HC_TX_CASES_END,
};

/* Set up by the probe; false if no virtio-vsock device was found. */
bool hostile_ready(void);
uint64_t hostile_cid(void);
const char *hostile_case_name(enum hostile_case c);

/*
 * Queues one packet on tx: the header (its src_cid, dst_cid and type as
 * given) and `len` payload bytes, in a buffer of `buf_len` bytes (a header
 * and its payload normally; fewer for a short packet). 0, or -1 when every
 * tx page is in flight (hostile_poll frees them).
 */
int hostile_send(const struct vsock_hdr *h, const void *payload, uint32_t len, uint32_t buf_len);
/* Takes back the tx pages the device is done with. */
void hostile_reap_tx(void);
/* Chains the device has not given back yet on tx. */
unsigned hostile_tx_inflight(void);

/*
 * Takes completed buffers: tx pages go back to the pool; the next received
 * packet is copied to *h and its payload (up to cap bytes) to data, and 1 is
 * returned; 0 if none. A received packet whose length does not fit what the
 * device wrote is counted and dropped (hostile_bad_rx).
 */
int hostile_poll(struct vsock_hdr *h, void *data, uint32_t cap);
unsigned hostile_bad_rx(void);
/* Sleeps until the device interrupts (or at once if something is pending). */
void hostile_wait(void);
/* The same, up to `ms` milliseconds. */
void hostile_wait_ms(unsigned ms);

/* Writes case `c` straight into the tx ring and notifies the device. The
 * queue is unusable afterwards (for us as well) until hostile_reset. */
void hostile_inject(enum hostile_case c);
/*
 * Resets the device and sets it up again (virtio 1.2 §3.1.1), with fresh
 * queues. With rx_readable, the rx ring gets one device-readable chain and
 * nothing else (the rx case: the device must not write into it).
 */
int hostile_reset(bool rx_readable);

#endif
