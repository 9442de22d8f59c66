/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Split virtqueue, driver side (virtio 1.2 §2.7). See virtqueue.h for the
 * contract. The descriptor table and the avail ring are written only here;
 * the used ring is written only by the device and everything read from it is
 * checked before use. Free descriptors form a list linked through our private
 * state (never through the shared table, which the device could change).
 */
#include "drivers/virtio/virtqueue.h"

#include <errno.h>
#include <string.h>

#include "drivers/virtio/barrier.h"

#define ALIGN_UP(x, a) (((x) + (a)-1) & ~(size_t)((a)-1))

static bool size_valid(uint16_t size)
{
    return size != 0 && size <= VIRTQ_MAX_SIZE && (size & (size - 1)) == 0;
}

static size_t avail_offset(uint16_t size)
{
    return VIRTQ_DESC_BYTES(size);
}

static size_t used_offset(uint16_t size)
{
    return ALIGN_UP(avail_offset(size) + VIRTQ_AVAIL_BYTES(size), 64);
}

static size_t state_offset(uint16_t size)
{
    return ALIGN_UP(used_offset(size) + VIRTQ_USED_BYTES(size), 64);
}

size_t vq_ring_bytes(uint16_t size)
{
    if (!size_valid(size))
        return 0;
    return state_offset(size) + (size_t)size * (sizeof(struct vq_desc_state) + sizeof(uint16_t));
}

/* §2.7.10: used_event sits after the avail ring, avail_event after the used ring. */
static uint16_t *used_event(struct virtqueue *vq)
{
    return &vq->avail->ring[vq->size];
}

static uint16_t *avail_event(struct virtqueue *vq)
{
    return (uint16_t *)&vq->used->ring[vq->size];
}

int vq_init(struct virtqueue *vq, uint16_t size, void *ring_mem, bool event_idx)
{
    uint8_t *base = ring_mem;

    if (!size_valid(size) || !ring_mem || ((uintptr_t)ring_mem & (VQ_RING_ALIGN - 1)))
        return -EINVAL;
    memset(ring_mem, 0, vq_ring_bytes(size));
    memset(vq, 0, sizeof(*vq));
    vq->desc = (struct virtq_desc *)base;
    vq->avail = (struct virtq_avail *)(base + avail_offset(size));
    vq->used = (struct virtq_used *)(base + used_offset(size));
    vq->state = (struct vq_desc_state *)(base + state_offset(size));
    vq->avail_shadow = (uint16_t *)(vq->state + size);
    vq->size = size;
    vq->event_idx = event_idx;
    vq->num_free = size;
    vq->free_head = 0;
    for (uint32_t i = 0; i + 1 < size; i++)
        vq->state[i].next = (uint16_t)(i + 1);
    return 0;
}

uint64_t vq_desc_addr(const struct virtqueue *vq)
{
    return (uint64_t)(uintptr_t)vq->desc;
}

uint64_t vq_avail_addr(const struct virtqueue *vq)
{
    return (uint64_t)(uintptr_t)vq->avail;
}

uint64_t vq_used_addr(const struct virtqueue *vq)
{
    return (uint64_t)(uintptr_t)vq->used;
}

static bool bufs_valid(const struct iobuf *b, unsigned n, uint64_t *total)
{
    *total = 0;
    if (n && !b)
        return false;
    for (unsigned i = 0; i < n; i++) {
        if (!b[i].addr || b[i].len == 0)
            return false;
        *total += b[i].len;
    }
    return true;
}

int vq_add_chain(struct virtqueue *vq, const struct iobuf *out, unsigned n_out,
                 const struct iobuf *in, unsigned n_in, void *token)
{
    uint64_t out_total, in_total;
    unsigned n;
    uint16_t head, idx;

    if (vq->broken)
        return -EIO;
    if (!token || n_out > vq->size || n_in > vq->size)
        return -EINVAL;
    n = n_out + n_in;
    if (n == 0 || n > vq->size)
        return -EINVAL;
    if (!bufs_valid(out, n_out, &out_total) || !bufs_valid(in, n_in, &in_total) ||
        in_total > UINT32_MAX)
        return -EINVAL;
    if (n > vq->num_free)
        return -ENOSPC;

    head = idx = vq->free_head;
    for (unsigned i = 0; i < n; i++) {
        const struct iobuf *b = i < n_out ? &out[i] : &in[i - n_out];
        struct virtq_desc *d = &vq->desc[idx];

        d->addr = (uint64_t)(uintptr_t)b->addr;
        d->len = b->len;
        d->flags =
            (uint16_t)((i >= n_out ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
        d->next = i + 1 < n ? vq->state[idx].next : 0;
        idx = vq->state[idx].next;
    }
    vq->free_head = idx;
    vq->num_free = (uint16_t)(vq->num_free - n);

    vq->state[head].token = token;
    vq->state[head].in_len = (uint32_t)in_total;
    vq->state[head].count = (uint16_t)n;
    vq->state[head].published = false;
    /* Not visible to the device until vq_kick_prepare moves avail->idx past it. */
    vq->avail_shadow[vq->avail_idx & (vq->size - 1)] = head;
    virtio_write_once(vq->avail->ring[vq->avail_idx & (vq->size - 1)], head);
    vq->avail_idx++;
    vq->inflight++;
    return 0;
}

/* §2.7.10: true if the device asked for a notification between old and new. */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

bool vq_kick_prepare(struct virtqueue *vq)
{
    uint16_t old_idx = vq->avail_pub, new_idx = vq->avail_idx;

    if (vq->broken || old_idx == new_idx)
        return false;
    /* At most `size` unpublished slots, so they do not alias each other. */
    for (uint16_t pos = old_idx; pos != new_idx; pos++)
        vq->state[vq->avail_shadow[pos & (vq->size - 1)]].published = true;
    /* wmb: descriptors and avail ring entries are written before avail->idx
     * makes them visible to the device (§2.7.13.3.1). */
    virtio_wmb();
    virtio_write_once(vq->avail->idx, new_idx);
    vq->avail_pub = new_idx;
    /* mb: the avail->idx store is visible before we load used->flags or
     * avail_event; otherwise a device going idle could read the old idx
     * while we read its old "don't notify" and nobody would move (§2.7.13.4). */
    virtio_mb();
    if (vq->event_idx)
        return need_event(virtio_read_once(*avail_event(vq)), new_idx, old_idx);
    return !(virtio_read_once(vq->used->flags) & VIRTQ_USED_F_NO_NOTIFY);
}

static void mark_broken(struct virtqueue *vq)
{
    vq->broken = true;
}

void vq_mark_broken(struct virtqueue *vq)
{
    mark_broken(vq);
}

bool vq_is_broken(const struct virtqueue *vq)
{
    return vq->broken;
}

/* Returns a completed chain's descriptors to the free list. */
static void free_chain(struct virtqueue *vq, uint16_t head)
{
    struct vq_desc_state *s = &vq->state[head];
    uint16_t tail = head;

    for (uint16_t i = 1; i < s->count; i++)
        tail = vq->state[tail].next;
    vq->state[tail].next = vq->free_head;
    vq->free_head = head;
    vq->num_free = (uint16_t)(vq->num_free + s->count);
    s->token = NULL;
    s->in_len = 0;
    s->count = 0;
    s->published = false;
    vq->inflight--;
}

/*
 * Interrupts off with EVENT_IDX (§2.7.10): the device interrupts for a
 * batch of used entries (old, new] only if used_event lies in [old, new)
 * (mod 2^16). We write used_event = last_used - 1, an entry we have already
 * taken, and write it again once it falls more than OFF_EVENT_LAG behind
 * last_used (vq_get_used), so it lies in [last_used - OFF_EVENT_LAG,
 * last_used - 1]. The device's index is never more than the chains in
 * flight (at most size <= 32768) ahead of last_used, so it never comes a
 * whole lap (65536) round to used_event again. It can lie in [old, new)
 * only for a batch the device was adding while we took its entries and
 * wrote: at most one stray interrupt per write.
 */
#define OFF_EVENT_LAG 0x4000u

static void set_off_event(struct virtqueue *vq)
{
    vq->off_event = (uint16_t)(vq->last_used - 1);
    /* No barrier: if the device reads an older used_event, the worst is an
     * interrupt nobody asked for. */
    virtio_write_once(*used_event(vq), vq->off_event);
}

int vq_get_used(struct virtqueue *vq, void **token, uint32_t *len)
{
    uint16_t used_idx, pending, unpublished;
    uint32_t id, written;
    struct vq_desc_state *s;

    if (vq->broken)
        return -EIO;
    used_idx = virtio_read_once(vq->used->idx);
    if (used_idx == vq->last_used)
        return 0;
    /* The device cannot have completed more chains than it was given. */
    pending = (uint16_t)(used_idx - vq->last_used);
    unpublished = (uint16_t)(vq->avail_idx - vq->avail_pub);
    if (pending > vq->inflight - unpublished)
        goto err_broken;
    /* rmb: used->idx is read before the used ring entry it covers
     * (§2.7.14); otherwise we could read a stale id or len. */
    virtio_rmb();
    id = virtio_read_once(vq->used->ring[vq->last_used & (vq->size - 1)].id);
    written = virtio_read_once(vq->used->ring[vq->last_used & (vq->size - 1)].len);
    if (id >= vq->size)
        goto err_broken;
    s = &vq->state[id];
    /* Must be the head of a chain we published and have not seen complete. */
    if (!s->token || !s->published)
        goto err_broken;
    if (written > s->in_len)
        goto err_broken;

    *token = s->token;
    *len = written;
    free_chain(vq, (uint16_t)id);
    vq->last_used++;
    if (vq->event_idx && vq->cb_off) {
        if ((uint16_t)(vq->last_used - vq->off_event) > OFF_EVENT_LAG)
            set_off_event(vq); /* keep it from coming round again */
    } else if (vq->event_idx) {
        /* Ask for an interrupt at the next used entry. mb: the store is
         * visible before our next load of used->idx, so an entry the device
         * adds after that load sees the new used_event and interrupts
         * (store→load order). */
        virtio_write_once(*used_event(vq), vq->last_used);
        virtio_mb();
    }
    return 1;

err_broken:
    mark_broken(vq);
    return -EIO;
}

void vq_disable_cb(struct virtqueue *vq)
{
    if (vq->broken || vq->cb_off)
        return;
    vq->cb_off = true;
    if (vq->event_idx)
        set_off_event(vq); /* flags must stay 0 with EVENT_IDX (§2.7.7.1) */
    else                   /* no barrier: a device that misses it only interrupts once more */
        virtio_write_once(vq->avail->flags, (uint16_t)VIRTQ_AVAIL_F_NO_INTERRUPT);
}

bool vq_enable_cb(struct virtqueue *vq)
{
    if (vq->broken)
        return false;
    vq->cb_off = false;
    /* §2.7.10: with EVENT_IDX, flags stay 0 and used_event asks for the
     * interrupt; without it, clearing NO_INTERRUPT does. */
    if (vq->event_idx)
        virtio_write_once(*used_event(vq), vq->last_used);
    else
        virtio_write_once(vq->avail->flags, (uint16_t)0);
    /* mb: the re-enable store is visible before we re-read used->idx. An
     * entry added before the device saw it raised no interrupt, so we must
     * see that entry here instead (store→load order). */
    virtio_mb();
    return virtio_read_once(vq->used->idx) == vq->last_used;
}

int vq_drain_broken(struct virtqueue *vq, void **token)
{
    if (!vq->broken)
        return -EINVAL;
    while (vq->drain_pos < vq->size) {
        uint16_t i = vq->drain_pos++;

        if (vq->state[i].token) {
            *token = vq->state[i].token;
            free_chain(vq, i);
            return 1;
        }
    }
    return 0;
}
