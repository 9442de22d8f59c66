/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Split virtqueue, driver side (virtio 1.2 §2.7). Pure ring logic: no
 * allocation, no locks, no interrupts, no MMIO. The transport tells the
 * device where the rings are (vq_desc_addr & co.) and performs the notify;
 * the device driver adds request chains and collects completions.
 *
 * Contract:
 * - One virtqueue is used by one thread at a time (Miura's per-CPU
 *   cooperative scheduling gives that for free); nothing here locks.
 * - Ring memory is provided by the caller: vq_ring_bytes(size) bytes,
 *   physically contiguous, identity mapped (guest physical == virtual), at
 *   least VQ_RING_ALIGN aligned (a page is best). It holds the three rings
 *   the device shares, then the driver's private per-descriptor state.
 * - Buffer addresses are pointers in the identity map; they reach the device
 *   as 64-bit guest physical addresses.
 * - The device is not trusted: every used-ring index, id and length is
 *   checked. A violation marks the queue broken; every later call fails
 *   with -EIO (or returns false) and vq_drain_broken hands back the tokens
 *   of all chains still in flight, exactly once each, so the driver can
 *   fail those requests.
 * - Tokens are opaque, non-NULL, and are returned exactly once: by
 *   vq_get_used when the chain completes, or by vq_drain_broken.
 */
#ifndef MIURA_DRIVERS_VIRTQUEUE_H
#define MIURA_DRIVERS_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/virtio.h"
#include "lib/iobuf.h"

/* Required alignment of the ring memory given to vq_init. */
#define VQ_RING_ALIGN 64u

/* Driver-private state of one descriptor (lives after the rings). */
struct vq_desc_state {
    void *token;     /* non-NULL only on the head of an in-flight chain */
    uint32_t in_len; /* head: total device-writable bytes of the chain */
    uint16_t next;   /* free list / chain link (our copy, never read back) */
    uint16_t count;  /* head: descriptors in the chain */
    bool published;  /* head: avail->idx has moved past it */
};

struct virtqueue {
    struct virtq_desc *desc;
    struct virtq_avail *avail;
    struct virtq_used *used;
    struct vq_desc_state *state;
    uint16_t *avail_shadow; /* our copy of the avail ring's heads */
    uint16_t size;
    uint16_t num_free;  /* descriptors on the free list */
    uint16_t free_head; /* first free descriptor (valid if num_free) */
    uint16_t avail_idx; /* next avail slot we fill (free-running) */
    uint16_t avail_pub; /* avail->idx as published by vq_kick_prepare */
    uint16_t last_used; /* next used slot we consume (free-running) */
    uint16_t drain_pos; /* vq_drain_broken's scan position */
    uint32_t inflight;  /* chains added and not yet returned */
    uint16_t off_event; /* used_event written while interrupts are off */
    bool event_idx;     /* VIRTIO_F_RING_EVENT_IDX negotiated */
    bool cb_off;        /* vq_disable_cb: no used-buffer interrupts wanted */
    bool broken;
    uint8_t irq_cpu; /* the CPU its interrupt goes to (virtio.h); not the ring's */
};

/*
 * Bytes of ring memory for a queue of `size` entries (rings + private
 * state), or 0 if size is not a power of two in 1..VIRTQ_MAX_SIZE.
 * Layout from the start of the memory:
 *   descriptor table   at 0                          (16-byte aligned)
 *   available ring     at VIRTQ_DESC_BYTES(size)     (2-byte aligned)
 *   used ring          at the next 64-byte boundary  (4-byte aligned;
 *                      own cache line, away from what the driver writes)
 *   private state      at the next 64-byte boundary: per-descriptor
 *                      state, then a private copy of the avail ring
 */
size_t vq_ring_bytes(uint16_t size);

/*
 * Lays out and zeroes `ring_mem` for a queue of `size` entries. event_idx
 * says whether VIRTIO_F_RING_EVENT_IDX was negotiated. Returns 0, or
 * -EINVAL for a bad size, a NULL or misaligned ring_mem.
 */
int vq_init(struct virtqueue *vq, uint16_t size, void *ring_mem, bool event_idx);

/* Guest physical addresses to program into the transport (QueueDesc etc.). */
uint64_t vq_desc_addr(const struct virtqueue *vq);
uint64_t vq_avail_addr(const struct virtqueue *vq);
uint64_t vq_used_addr(const struct virtqueue *vq);

/*
 * Queues one chain: the n_out device-readable buffers, then the n_in
 * device-writable ones. The chain becomes visible to the device at the next
 * vq_kick_prepare. Returns 0, -ENOSPC if fewer than n_out + n_in descriptors
 * are free (retry after completions), -EINVAL for an empty chain, a chain
 * longer than the queue, a NULL token, a NULL or zero-length buffer or
 * device-writable lengths that overflow 32 bits, -EIO if the queue is broken.
 */
int vq_add_chain(struct virtqueue *vq, const struct iobuf *out, unsigned n_out,
                 const struct iobuf *in, unsigned n_in, void *token);

/*
 * Publishes the chains added since the last call (avail->idx) and says
 * whether the device must be notified (the caller then writes the notify
 * register). False if nothing new was added, if the device asked not to be
 * notified (VIRTQ_USED_F_NO_NOTIFY, or avail_event with EVENT_IDX), or if the
 * queue is broken.
 */
bool vq_kick_prepare(struct virtqueue *vq);

/*
 * Takes the next completed chain: returns 1 with its token and the number of
 * bytes the device wrote into its device-writable buffers (≤ their total),
 * 0 if none is pending, -EIO if the queue is (or has just been found)
 * broken. Completions may come in any order.
 */
int vq_get_used(struct virtqueue *vq, void **token, uint32_t *len);

/*
 * Used-buffer interrupts are on from vq_init: vq_get_used asks (with
 * EVENT_IDX) for one at the next used buffer after those it took.
 * vq_enable_cb asks for an interrupt at the next used buffer and returns
 * true if none is pending; false means completions arrived meanwhile (or
 * the queue is broken) and the caller must poll vq_get_used again before
 * sleeping. Pattern: wake, drain, enable; re-drain while false, else sleep.
 *
 * vq_disable_cb turns them off until the next vq_enable_cb (§2.7.7, §2.7.10:
 * VIRTQ_AVAIL_F_NO_INTERRUPT, or with EVENT_IDX a used_event the device's
 * index does not reach), and vq_get_used then no longer asks for one. It
 * is a hint: one interrupt already on its way, or one for a batch the
 * device was adding as interrupts went off, may still come. The caller
 * then finds completions only by polling vq_get_used.
 */
bool vq_enable_cb(struct virtqueue *vq);
void vq_disable_cb(struct virtqueue *vq);

/* Marks the queue broken (e.g. after the device set DEVICE_NEEDS_RESET). */
void vq_mark_broken(struct virtqueue *vq);
bool vq_is_broken(const struct virtqueue *vq);

/*
 * On a broken queue, hands back the token of one chain still in flight:
 * returns 1 and the token, 0 when none is left, -EINVAL if the queue is not
 * broken. After draining, the queue can only be reused through vq_init
 * (after a device reset).
 */
int vq_drain_broken(struct virtqueue *vq, void **token);

/* Chains added and not yet handed back (by vq_get_used or vq_drain_broken). */
static inline unsigned vq_inflight(const struct virtqueue *vq)
{
    return vq->inflight;
}

/* Free descriptors (a chain of n buffers needs n). */
static inline unsigned vq_num_free(const struct virtqueue *vq)
{
    return vq->num_free;
}

#endif
