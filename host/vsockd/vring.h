/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest memory table and split virtqueues, as seen by a vhost-user backend.
 *
 * Everything the guest controls (descriptor addresses, lengths, flags, next
 * indices, avail indices) is read once, checked against the memory table and
 * the ring size, and only then turned into host pointers. A violation makes
 * the call fail; the caller marks the queue broken. Nothing here ever touches
 * memory outside a mapped region.
 */
#ifndef VSOCKD_VRING_H
#define VSOCKD_VRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "abi/virtio.h" /* the split-ring layouts (virtio 1.2 §2.7) */

#define VU_MAX_REGIONS  8  /* VHOST_MEMORY_BASELINE_NREGIONS */
#define VQ_MAX_SEGMENTS 64 /* iovecs per chain (descriptors split at region edges) */

struct vu_region {
    uint64_t gpa;  /* guest-physical start */
    uint64_t size; /* bytes */
    uint64_t uva;  /* frontend (QEMU) virtual address of the start */
    uint8_t *host; /* our mapping of the start */
    void *map;     /* what munmap takes (NULL: not ours to unmap, e.g. in tests) */
    size_t map_len;
};

struct vu_mem {
    unsigned count;
    struct vu_region region[VU_MAX_REGIONS];
};

/* Host pointer for [gpa, gpa+len) if it lies inside one region, else NULL. */
void *vu_gpa_to_host(const struct vu_mem *mem, uint64_t gpa, uint64_t len);
/* Host pointer for frontend virtual address range [uva, uva+len), else NULL. */
void *vu_uva_to_host(const struct vu_mem *mem, uint64_t uva, uint64_t len);
/* Unmaps every region we mapped and empties the table. */
void vu_mem_clear(struct vu_mem *mem);

struct virtqueue {
    unsigned num;       /* ring size; 0 until SET_VRING_NUM */
    uint64_t desc_uva;  /* addresses from SET_VRING_ADDR, kept to re-translate */
    uint64_t avail_uva; /* after a new memory table */
    uint64_t used_uva;
    bool addr_set;
    struct virtq_desc *desc;      /* translated; NULL until addresses are valid */
    struct virtq_avail *avail;    /* written by the guest only */
    struct virtq_used *used;      /* written by us only */
    uint16_t last_avail;          /* next avail entry we will take */
    uint16_t used_idx;            /* next used entry we will write */
    int kick_fd, call_fd, err_fd; /* -1 when absent */
    bool started;                 /* has a kick fd and has not been stopped */
    bool enabled;                 /* SET_VRING_ENABLE */
    bool broken;                  /* the guest violated the ring protocol */
    bool need_call;               /* used entries written since the last call */
    bool event_idx;               /* VIRTIO_F_RING_EVENT_IDX negotiated (§2.7.10) */
    bool signalled_valid;         /* signalled_used holds the used idx of a call */
    uint16_t signalled_used;      /* used idx when the guest was last called */
    uint64_t kicks, calls;        /* notifications from and interrupts to the guest */
};

/* One descriptor chain, as checked host iovecs. */
struct vq_chain {
    uint16_t head;
    unsigned n_out, n_in; /* device-readable, device-writable segments */
    struct iovec out[VQ_MAX_SEGMENTS];
    struct iovec in[VQ_MAX_SEGMENTS];
    size_t out_len, in_len; /* total bytes of each (bounded by 2^32 * num) */
};

void vq_init(struct virtqueue *vq);
/* Translates the ring addresses; false (and desc=NULL) if they are bad. */
bool vq_translate(struct virtqueue *vq, const struct vu_mem *mem);
/* Ready to process: started, enabled, translated and not broken. */
bool vq_ready(const struct virtqueue *vq);

/*
 * Takes the next available chain. Returns 1 with *chain filled, 0 if the ring
 * is empty, -1 if the guest broke the protocol (the queue is then marked
 * broken and must not be used again until reset).
 */
int vq_pop(struct virtqueue *vq, const struct vu_mem *mem, struct vq_chain *chain);
/* Marks the queue broken and signals its err eventfd (vq_pop does it for
 * what it checks; the device for what only it can, e.g. an rx chain). */
void vq_set_broken(struct virtqueue *vq);
/* Gives back the chain just popped (nothing was written to it). */
void vq_unpop(struct virtqueue *vq);
/* Walks the chain starting at `head` (exposed for tests and fuzzing). */
int vq_walk(const struct virtqueue *vq, const struct vu_mem *mem, uint16_t head,
            struct vq_chain *chain);
/* Returns a chain to the guest with `len` bytes written into it. */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len);
/* Signals the call eventfd if entries were pushed and the guest wants it:
 * without EVENT_IDX unless it set VIRTQ_AVAIL_F_NO_INTERRUPT, with it only
 * when the used index crossed the guest's used_event since the last call. */
void vq_notify(struct virtqueue *vq);
/* About to wait for a kick: with EVENT_IDX, asks the guest to kick when it
 * makes its next chain available (avail_event), which it otherwise does not
 * do; returns true if chains arrived meanwhile (take them first: no kick
 * will come for those). Without EVENT_IDX the guest always kicks: false. */
bool vq_want_kick(struct virtqueue *vq);
/* Number of chains the guest has made available and we have not taken. */
unsigned vq_avail_count(const struct virtqueue *vq);

/* Scatter/gather helpers over a chain's segments. */
size_t iov_copy_from(void *dst, const struct iovec *iov, unsigned n, size_t skip, size_t len);
size_t iov_copy_to(const struct iovec *iov, unsigned n, size_t skip, const void *src, size_t len);
/* Fills out[] with the part of iov[] from `skip` of at most `len` bytes; returns the count. */
unsigned iov_slice(struct iovec *out, const struct iovec *iov, unsigned n, size_t skip, size_t len);

#endif
