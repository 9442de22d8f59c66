/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest memory table, descriptor walker and used-ring writer for split
 * virtqueues (virtio 1.2 §2.7). See vring.h for the contract.
 */
#include "vsockd/vring.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const struct vu_region *region_of_gpa(const struct vu_mem *mem, uint64_t gpa)
{
    for (unsigned i = 0; i < mem->count; i++) {
        const struct vu_region *r = &mem->region[i];
        if (gpa - r->gpa < r->size) /* unsigned: also false when gpa < r->gpa */
            return r;
    }
    return NULL;
}

void *vu_gpa_to_host(const struct vu_mem *mem, uint64_t gpa, uint64_t len)
{
    const struct vu_region *r = region_of_gpa(mem, gpa);
    if (!r || len > r->size - (gpa - r->gpa))
        return NULL;
    return r->host + (gpa - r->gpa);
}

void *vu_uva_to_host(const struct vu_mem *mem, uint64_t uva, uint64_t len)
{
    for (unsigned i = 0; i < mem->count; i++) {
        const struct vu_region *r = &mem->region[i];
        if (uva - r->uva < r->size && len <= r->size - (uva - r->uva))
            return r->host + (uva - r->uva);
    }
    return NULL;
}

void vu_mem_clear(struct vu_mem *mem)
{
    for (unsigned i = 0; i < mem->count; i++)
        if (mem->region[i].map)
            munmap(mem->region[i].map, mem->region[i].map_len);
    memset(mem, 0, sizeof(*mem));
}

void vq_init(struct virtqueue *vq)
{
    memset(vq, 0, sizeof(*vq));
    vq->kick_fd = vq->call_fd = vq->err_fd = -1;
}

bool vq_translate(struct virtqueue *vq, const struct vu_mem *mem)
{
    vq->desc = NULL;
    vq->avail = NULL;
    vq->used = NULL;
    if (!vq->addr_set || vq->num == 0)
        return false;
    void *desc = vu_uva_to_host(mem, vq->desc_uva, VIRTQ_DESC_BYTES(vq->num));
    void *avail = vu_uva_to_host(mem, vq->avail_uva, VIRTQ_AVAIL_BYTES(vq->num));
    void *used = vu_uva_to_host(mem, vq->used_uva, VIRTQ_USED_BYTES(vq->num));
    if (!desc || !avail || !used || (uintptr_t)desc % VIRTQ_DESC_ALIGN ||
        (uintptr_t)avail % VIRTQ_AVAIL_ALIGN || (uintptr_t)used % VIRTQ_USED_ALIGN)
        return false;
    vq->desc = desc;
    vq->avail = avail;
    vq->used = used;
    return true;
}

bool vq_ready(const struct virtqueue *vq)
{
    return vq->started && vq->enabled && !vq->broken && vq->desc;
}

static int add_segments(struct iovec *iov, unsigned *n, size_t *total, const struct vu_mem *mem,
                        uint64_t addr, uint32_t len)
{
    if (addr > UINT64_MAX - len)
        return -1;
    while (len > 0) {
        const struct vu_region *r = region_of_gpa(mem, addr);
        if (!r || *n == VQ_MAX_SEGMENTS)
            return -1;
        uint64_t room = r->size - (addr - r->gpa);
        uint32_t piece = room < len ? (uint32_t)room : len;
        iov[*n].iov_base = r->host + (addr - r->gpa);
        iov[*n].iov_len = piece;
        (*n)++;
        *total += piece;
        addr += piece;
        len -= piece;
    }
    return 0;
}

int vq_walk(const struct virtqueue *vq, const struct vu_mem *mem, uint16_t head,
            struct vq_chain *chain)
{
    chain->head = head;
    chain->n_out = chain->n_in = 0;
    chain->out_len = chain->in_len = 0;
    if (head >= vq->num)
        return -1;
    uint16_t idx = head;
    /* A chain visits each descriptor at most once, so more than num steps is a loop. */
    for (unsigned steps = 0;; steps++) {
        struct virtq_desc d;
        if (steps >= vq->num)
            return -1;
        /* One copy: the guest may rewrite the descriptor while we look at it. */
        memcpy(&d, (const void *)&vq->desc[idx], sizeof(d));
        if (d.flags & VIRTQ_DESC_F_INDIRECT) /* not offered */
            return -1;
        if (d.flags & VIRTQ_DESC_F_WRITE) {
            if (add_segments(chain->in, &chain->n_in, &chain->in_len, mem, d.addr, d.len))
                return -1;
        } else {
            /* virtio 1.2 §2.7.4.2: readable descriptors come before writable ones. */
            if (chain->n_in > 0 || chain->in_len > 0)
                return -1;
            if (add_segments(chain->out, &chain->n_out, &chain->out_len, mem, d.addr, d.len))
                return -1;
        }
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return 0;
        idx = d.next;
        if (idx >= vq->num)
            return -1;
    }
}

unsigned vq_avail_count(const struct virtqueue *vq)
{
    if (!vq_ready(vq))
        return 0;
    /* Acquire: ring entries below idx are visible once we see idx. */
    uint16_t idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
    return (uint16_t)(idx - vq->last_avail);
}

int vq_pop(struct virtqueue *vq, const struct vu_mem *mem, struct vq_chain *chain)
{
    if (!vq_ready(vq))
        return 0;
    unsigned pending = vq_avail_count(vq);
    if (pending == 0)
        return 0;
    if (pending > vq->num)
        goto broken;
    uint16_t head = __atomic_load_n(&vq->avail->ring[vq->last_avail % vq->num], __ATOMIC_RELAXED);
    if (vq_walk(vq, mem, head, chain) < 0)
        goto broken;
    vq->last_avail++;
    return 1;
broken:
    vq_set_broken(vq);
    return -1;
}

void vq_set_broken(struct virtqueue *vq)
{
    vq->broken = true;
    if (vq->err_fd >= 0) {
        uint64_t one = 1;
        if (write(vq->err_fd, &one, sizeof(one)) < 0) {
            /* best effort: the queue is stopped either way */
        }
    }
}

void vq_unpop(struct virtqueue *vq)
{
    vq->last_avail--;
}

void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
    vq->used->ring[vq->used_idx % vq->num] = (struct virtq_used_elem){.id = head, .len = len};
    vq->used_idx++;
    /* Release: the element (and the buffer contents) before the new idx. */
    __atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
    vq->need_call = true;
}

/* §2.7.10: the used_event / avail_event fields, after the other side's ring. */
static uint16_t *used_event(const struct virtqueue *vq)
{
    return &vq->avail->ring[vq->num];
}

static uint16_t *avail_event(const struct virtqueue *vq)
{
    return (uint16_t *)&vq->used->ring[vq->num];
}

/* §2.7.10: true if event lies in [old, new) (the guest asked between them). */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

void vq_notify(struct virtqueue *vq)
{
    if (!vq->need_call || !vq->desc)
        return;
    vq->need_call = false;
    if (vq->call_fd < 0)
        return;
    /* Full fence: our used idx store before the read of the guest's flags or
     * used_event, else a guest going to sleep could be missed. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (vq->event_idx) {
        uint16_t event = __atomic_load_n(used_event(vq), __ATOMIC_RELAXED);
        uint16_t old = vq->signalled_used;
        bool valid = vq->signalled_valid;
        vq->signalled_used = vq->used_idx;
        vq->signalled_valid = true;
        if (valid && !need_event(event, vq->used_idx, old))
            return;
    } else if (__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT) {
        return;
    }
    uint64_t one = 1;
    vq->calls++;
    if (write(vq->call_fd, &one, sizeof(one)) < 0) {
        /* EAGAIN: counter saturated, the guest is being notified anyway */
    }
}

bool vq_want_kick(struct virtqueue *vq)
{
    if (!vq->event_idx || !vq_ready(vq))
        return false;
    __atomic_store_n(avail_event(vq), vq->last_avail, __ATOMIC_RELAXED);
    /* Full fence: avail_event is visible before we look at avail->idx again;
     * a chain the guest adds after that look sees it and kicks. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return vq_avail_count(vq) != 0;
}

/* Copies between a flat buffer and the part of iov[] from `skip`, either way. */
static size_t iov_copy(const struct iovec *iov, unsigned n, size_t skip, uint8_t *buf, size_t len,
                       bool to_iov)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        size_t piece = iov[i].iov_len - skip;
        if (piece > len - done)
            piece = len - done;
        uint8_t *seg = (uint8_t *)iov[i].iov_base + skip;
        if (to_iov)
            memcpy(seg, buf + done, piece);
        else
            memcpy(buf + done, seg, piece);
        done += piece;
        skip = 0;
    }
    return done;
}

size_t iov_copy_from(void *dst, const struct iovec *iov, unsigned n, size_t skip, size_t len)
{
    return iov_copy(iov, n, skip, dst, len, false);
}

size_t iov_copy_to(const struct iovec *iov, unsigned n, size_t skip, const void *src, size_t len)
{
    return iov_copy(iov, n, skip, (uint8_t *)src, len, true); /* src is only read */
}

unsigned iov_slice(struct iovec *out, const struct iovec *iov, unsigned n, size_t skip, size_t len)
{
    unsigned count = 0;
    for (unsigned i = 0; i < n && len > 0; i++) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        size_t piece = iov[i].iov_len - skip;
        if (piece > len)
            piece = len;
        out[count].iov_base = (uint8_t *)iov[i].iov_base + skip;
        out[count].iov_len = piece;
        count++;
        len -= piece;
        skip = 0;
    }
    return count;
}
