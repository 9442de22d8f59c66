/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Split virtqueue against a fake device. The fake device sees only what a
 * real one sees: the three rings at the addresses the transport would
 * program, and the buffers the descriptors point to. It reads the avail ring
 * and descriptors, writes used entries, and applies the notification rules of
 * virtio 1.2 §2.7.10 on its side.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/virtio/virtqueue.h"
#include "test.h"

#define MAX_FETCHED 1024

struct fake_chain {
    uint16_t head;
    unsigned n_out, n_in;
    struct virtq_desc out[8], in[8];
    uint32_t in_len;
};

struct fake_dev {
    struct virtq_desc *desc;
    struct virtq_avail *avail;
    struct virtq_used *used;
    uint16_t size;
    bool event_idx;
    uint16_t last_avail; /* next avail entry the device reads */
    uint16_t used_idx;   /* device's copy of used->idx */
    unsigned nfetched;   /* chains fetched, not completed */
    struct fake_chain fetched[MAX_FETCHED];
    unsigned interrupts; /* interrupts the device would have raised */
    bool bad_chain;      /* a descriptor chain did not make sense */
};

static void *ring_alloc(uint16_t size)
{
    size_t bytes = vq_ring_bytes(size);
    void *p = aligned_alloc(4096, (bytes + 4095) & ~(size_t)4095);

    memset(p, 0xa5, bytes); /* vq_init must zero it */
    return p;
}

static void dev_attach(struct fake_dev *d, const struct virtqueue *vq, bool event_idx)
{
    memset(d, 0, sizeof(*d));
    d->desc = (struct virtq_desc *)(uintptr_t)vq_desc_addr(vq);
    d->avail = (struct virtq_avail *)(uintptr_t)vq_avail_addr(vq);
    d->used = (struct virtq_used *)(uintptr_t)vq_used_addr(vq);
    d->size = vq->size;
    d->event_idx = event_idx;
}

static uint16_t *dev_avail_event(struct fake_dev *d)
{
    return (uint16_t *)&d->used->ring[d->size];
}

static uint16_t dev_used_event(struct fake_dev *d)
{
    return d->avail->ring[d->size];
}

/* Reads every published avail entry and walks its chain. */
static unsigned dev_fetch(struct fake_dev *d, unsigned max)
{
    unsigned got = 0;

    while (d->last_avail != d->avail->idx && got < max && d->nfetched < MAX_FETCHED) {
        struct fake_chain *c = &d->fetched[d->nfetched++];
        uint16_t idx = d->avail->ring[d->last_avail % d->size];
        unsigned hops = 0;

        memset(c, 0, sizeof(*c));
        c->head = idx;
        for (;;) {
            struct virtq_desc *desc = &d->desc[idx];

            if (idx >= d->size || ++hops > d->size) {
                d->bad_chain = true;
                break;
            }
            if (desc->flags & VIRTQ_DESC_F_WRITE) {
                if (c->n_in < 8)
                    c->in[c->n_in++] = *desc;
                c->in_len += desc->len;
            } else {
                /* readable after writable is forbidden (§2.7.4.2) */
                if (c->n_in || c->n_out >= 8)
                    d->bad_chain = true;
                else
                    c->out[c->n_out++] = *desc;
            }
            if (!(desc->flags & VIRTQ_DESC_F_NEXT))
                break;
            idx = desc->next;
        }
        d->last_avail++;
        got++;
    }
    return got;
}

static bool dev_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/* Puts a raw used entry (possibly bogus) and decides on an interrupt. */
static bool dev_push_raw(struct fake_dev *d, uint32_t id, uint32_t len)
{
    uint16_t old_idx = d->used_idx;
    bool irq;

    d->used->ring[d->used_idx % d->size].id = id;
    d->used->ring[d->used_idx % d->size].len = len;
    d->used_idx++;
    d->used->idx = d->used_idx;
    if (d->event_idx)
        irq = dev_need_event(dev_used_event(d), d->used_idx, old_idx);
    else
        irq = !(d->avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
    if (irq)
        d->interrupts++;
    return irq;
}

/* Completes fetched chain k: writes `written` bytes of pattern into its
 * device-writable buffers. */
static bool dev_complete(struct fake_dev *d, unsigned k, uint32_t written, uint8_t pattern)
{
    struct fake_chain c = d->fetched[k];
    uint32_t left = written;

    d->fetched[k] = d->fetched[--d->nfetched];
    for (unsigned i = 0; i < c.n_in && left; i++) {
        uint32_t n = c.in[i].len < left ? c.in[i].len : left;

        memset((void *)(uintptr_t)c.in[i].addr, pattern, n);
        left -= n;
    }
    return dev_push_raw(d, c.head, written);
}

static unsigned find_fetched(struct fake_dev *d, uint16_t head)
{
    for (unsigned k = 0; k < d->nfetched; k++)
        if (d->fetched[k].head == head)
            return k;
    return ~0u;
}

/* ---------------------------------------------------------------- layout */

TEST(ring_layout_alignment_and_sizes)
{
    CHECK_EQ(vq_ring_bytes(0), 0);
    CHECK_EQ(vq_ring_bytes(3), 0);
    CHECK_EQ(vq_ring_bytes(65535), 0);
    CHECK_EQ(vq_ring_bytes(40000), 0);
    for (uint32_t size = 1; size <= VIRTQ_MAX_SIZE; size *= 2) {
        void *mem = ring_alloc((uint16_t)size);
        struct virtqueue vq;
        uintptr_t base = (uintptr_t)mem, d, a, u, s, end;

        CHECK_EQ(vq_init(&vq, (uint16_t)size, mem, true), 0);
        d = (uintptr_t)vq_desc_addr(&vq);
        a = (uintptr_t)vq_avail_addr(&vq);
        u = (uintptr_t)vq_used_addr(&vq);
        s = (uintptr_t)vq.state;
        end = base + vq_ring_bytes((uint16_t)size);
        CHECK_EQ(d, base);
        CHECK_EQ(d % 16, 0);
        CHECK_EQ(a % 2, 0);
        CHECK_EQ(u % 4, 0);
        /* parts do not overlap, event fields included */
        CHECK(a >= d + 16 * size);
        CHECK(u >= a + 6 + 2 * size);
        CHECK(s >= u + 6 + 8 * size);
        CHECK(s + size * sizeof(struct vq_desc_state) <= end);
        /* zeroed rings: indices, flags and event fields start at 0 */
        CHECK_EQ(vq.avail->idx, 0);
        CHECK_EQ(vq.avail->flags, 0);
        CHECK_EQ(vq.avail->ring[size], 0);
        CHECK_EQ(vq.used->idx, 0);
        CHECK_EQ(vq_num_free(&vq), size);
        free(mem);
    }
}

TEST(init_rejects_bad_arguments)
{
    struct virtqueue vq;
    uint8_t *mem = ring_alloc(16);

    CHECK_EQ(vq_init(&vq, 0, mem, false), -EINVAL);
    CHECK_EQ(vq_init(&vq, 12, mem, false), -EINVAL);
    CHECK_EQ(vq_init(&vq, 16, NULL, false), -EINVAL);
    CHECK_EQ(vq_init(&vq, 16, mem + 8, false), -EINVAL);
    CHECK_EQ(vq_init(&vq, 16, mem, false), 0);
    free(mem);
}

/* ---------------------------------------------------------------- basic flow */

struct req {
    int id;
    uint8_t hdr[32];
    uint8_t reply[64];
    uint8_t data[100];
};

TEST(in_order_completion_roundtrip)
{
    struct virtqueue vq;
    struct fake_dev dev;
    void *mem = ring_alloc(8);
    struct req r[3] = {{.id = 0}, {.id = 1}, {.id = 2}};
    void *tok;
    uint32_t len;

    CHECK_EQ(vq_init(&vq, 8, mem, false), 0);
    dev_attach(&dev, &vq, false);
    for (int i = 0; i < 3; i++) {
        struct iobuf out = {r[i].hdr, sizeof(r[i].hdr)};
        struct iobuf in = {r[i].reply, sizeof(r[i].reply)};

        CHECK_EQ(vq_add_chain(&vq, &out, 1, &in, 1, &r[i]), 0);
    }
    CHECK_EQ(vq_num_free(&vq), 2);
    /* not published before kick_prepare */
    CHECK_EQ(dev_fetch(&dev, 100), 0);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 0);
    CHECK(vq_kick_prepare(&vq));
    CHECK_EQ(vq.avail->idx, 3);
    CHECK(!vq_kick_prepare(&vq)); /* nothing new */
    CHECK_EQ(dev_fetch(&dev, 100), 3);
    CHECK(!dev.bad_chain);
    for (int i = 0; i < 3; i++) {
        struct fake_chain *c = &dev.fetched[i];

        CHECK_EQ(c->n_out, 1);
        CHECK_EQ(c->n_in, 1);
        CHECK_EQ(c->out[0].addr, (uintptr_t)r[i].hdr);
        CHECK_EQ(c->out[0].len, 32);
        CHECK_EQ(c->in[0].addr, (uintptr_t)r[i].reply);
        CHECK_EQ(c->in[0].len, 64);
        CHECK_EQ(c->in_len, 64);
    }
    for (int i = 0; i < 3; i++) {
        CHECK(dev_complete(&dev, find_fetched(&dev, dev.fetched[0].head), 10 + (uint32_t)i,
                           (uint8_t)(0x40 + i)));
        /* dev_complete swaps the last fetched into slot 0: reorder back */
        if (dev.nfetched == 2) {
            struct fake_chain t = dev.fetched[0];
            dev.fetched[0] = dev.fetched[1];
            dev.fetched[1] = t;
        }
    }
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
        CHECK(tok == &r[i]);
        CHECK_EQ(len, 10 + i);
        CHECK_EQ(r[i].reply[0], 0x40 + i);
        CHECK_EQ(r[i].reply[len - 1], 0x40 + i);
        CHECK_EQ(r[i].reply[len], 0);
    }
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 0);
    CHECK_EQ(vq_num_free(&vq), 8);
    CHECK(!vq_is_broken(&vq));
    free(mem);
}

TEST(out_of_order_completion)
{
    struct virtqueue vq;
    struct fake_dev dev;
    void *mem = ring_alloc(32);
    struct req r[6];
    int order[6] = {4, 1, 5, 0, 3, 2};
    void *tok;
    uint32_t len;
    uint16_t heads[6];

    CHECK_EQ(vq_init(&vq, 32, mem, false), 0);
    dev_attach(&dev, &vq, false);
    for (int i = 0; i < 6; i++) {
        struct iobuf out[2] = {{r[i].hdr, 16}, {r[i].hdr + 16, 16}};
        struct iobuf in = {r[i].reply, 64};

        r[i].id = i;
        CHECK_EQ(vq_add_chain(&vq, out, 2, &in, 1, &r[i]), 0);
    }
    CHECK(vq_kick_prepare(&vq));
    CHECK_EQ(dev_fetch(&dev, 100), 6);
    for (int i = 0; i < 6; i++)
        heads[i] = dev.fetched[i].head;
    for (int k = 0; k < 6; k++) {
        int i = order[k];

        dev_complete(&dev, find_fetched(&dev, heads[i]), (uint32_t)i, 1);
        CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
        CHECK(tok == &r[i]);
        CHECK_EQ(len, i);
        /* the freed descriptors are reused at once */
        struct iobuf out = {r[i].hdr, 8};
        CHECK_EQ(vq_add_chain(&vq, &out, 1, NULL, 0, &r[i]), 0);
    }
    CHECK(vq_kick_prepare(&vq));
    CHECK_EQ(dev_fetch(&dev, 100), 6);
    while (dev.nfetched) {
        uint16_t head = dev.fetched[dev.nfetched - 1].head;
        dev_complete(&dev, dev.nfetched - 1, 0, 0);
        CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
        CHECK_EQ(len, 0);
        (void)head;
    }
    CHECK_EQ(vq_num_free(&vq), 32);
    free(mem);
}

TEST(full_queue_then_recovery)
{
    struct virtqueue vq;
    struct fake_dev dev;
    void *mem = ring_alloc(8);
    struct req r[9];
    void *tok;
    uint32_t len;

    CHECK_EQ(vq_init(&vq, 8, mem, false), 0);
    dev_attach(&dev, &vq, false);
    for (int i = 0; i < 3; i++) {
        struct iobuf out = {r[i].hdr, 8};
        struct iobuf in[2] = {{r[i].reply, 8}, {r[i].data, 8}};
        CHECK_EQ(vq_add_chain(&vq, &out, 1, in, 1 + (i < 2), &r[i]), 0);
    }
    /* 3 + 3 + 2 = 8 descriptors used */
    CHECK_EQ(vq_num_free(&vq), 0);
    struct iobuf one = {r[3].hdr, 8};
    CHECK_EQ(vq_add_chain(&vq, &one, 1, NULL, 0, &r[3]), -ENOSPC);
    CHECK(vq_kick_prepare(&vq));
    CHECK_EQ(dev_fetch(&dev, 100), 3);
    /* complete the 2-descriptor chain: a 3-descriptor chain still does not fit */
    dev_complete(&dev, find_fetched(&dev, dev.fetched[2].head), 8, 7);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    CHECK(tok == &r[2]);
    CHECK_EQ(vq_num_free(&vq), 2);
    struct iobuf three[3] = {{r[4].hdr, 4}, {r[4].hdr + 4, 4}, {r[4].hdr + 8, 4}};
    CHECK_EQ(vq_add_chain(&vq, three, 3, NULL, 0, &r[4]), -ENOSPC);
    CHECK_EQ(vq_add_chain(&vq, three, 2, NULL, 0, &r[4]), 0);
    CHECK_EQ(vq_num_free(&vq), 0);
    CHECK(!vq_is_broken(&vq)); /* -ENOSPC does not break the queue */
    CHECK(vq_kick_prepare(&vq));
    CHECK_EQ(dev_fetch(&dev, 100), 1);
    while (dev.nfetched)
        dev_complete(&dev, 0, 0, 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 0);
    CHECK_EQ(vq_num_free(&vq), 8);
    /* a chain of the whole queue fits, one longer is invalid */
    struct iobuf eight[9];
    for (int i = 0; i < 9; i++)
        eight[i] = (struct iobuf){r[5].data + i, 1};
    CHECK_EQ(vq_add_chain(&vq, eight, 9, NULL, 0, &r[5]), -EINVAL);
    CHECK_EQ(vq_add_chain(&vq, eight, 4, eight + 4, 4, &r[5]), 0);
    CHECK_EQ(vq_num_free(&vq), 0);
    free(mem);
}

TEST(add_chain_rejects_bad_arguments)
{
    struct virtqueue vq;
    void *mem = ring_alloc(8);
    uint8_t buf[8];
    struct iobuf ok = {buf, 8}, zero = {buf, 0}, null = {NULL, 8};
    struct iobuf huge[2] = {{buf, 0x80000000u}, {buf, 0x80000000u}};

    CHECK_EQ(vq_init(&vq, 8, mem, false), 0);
    CHECK_EQ(vq_add_chain(&vq, &ok, 1, NULL, 0, NULL), -EINVAL);
    CHECK_EQ(vq_add_chain(&vq, NULL, 0, NULL, 0, buf), -EINVAL);
    CHECK_EQ(vq_add_chain(&vq, &zero, 1, NULL, 0, buf), -EINVAL);
    CHECK_EQ(vq_add_chain(&vq, &null, 1, NULL, 0, buf), -EINVAL);
    CHECK_EQ(vq_add_chain(&vq, NULL, 1, NULL, 0, buf), -EINVAL);
    CHECK_EQ(vq_add_chain(&vq, &ok, 1, huge, 2, buf), -EINVAL);
    CHECK_EQ(vq_add_chain(&vq, &ok, 0xffffffffu, &ok, 1, buf), -EINVAL);
    CHECK_EQ(vq_num_free(&vq), 8);
    CHECK(!vq_is_broken(&vq));
    free(mem);
}

TEST(mixed_readable_and_writable_chain)
{
    struct virtqueue vq;
    struct fake_dev dev;
    void *mem = ring_alloc(16);
    uint8_t o1[10], o2[20], i1[30], i2[40], i3[50];
    struct iobuf out[2] = {{o1, 10}, {o2, 20}};
    struct iobuf in[3] = {{i1, 30}, {i2, 40}, {i3, 50}};
    void *tok;
    uint32_t len;
    int token;

    CHECK_EQ(vq_init(&vq, 16, mem, false), 0);
    dev_attach(&dev, &vq, false);
    memset(i1, 0, 30);
    memset(i2, 0, 40);
    memset(i3, 0, 50);
    CHECK_EQ(vq_add_chain(&vq, out, 2, in, 3, &token), 0);
    CHECK(vq_kick_prepare(&vq));
    CHECK_EQ(dev_fetch(&dev, 1), 1);
    CHECK(!dev.bad_chain);
    struct fake_chain *c = &dev.fetched[0];
    CHECK_EQ(c->n_out, 2);
    CHECK_EQ(c->n_in, 3);
    CHECK_EQ(c->out[0].addr, (uintptr_t)o1);
    CHECK_EQ(c->out[1].addr, (uintptr_t)o2);
    CHECK_EQ(c->out[1].len, 20);
    CHECK_EQ(c->in[0].addr, (uintptr_t)i1);
    CHECK_EQ(c->in[2].addr, (uintptr_t)i3);
    CHECK_EQ(c->in[2].len, 50);
    CHECK_EQ(c->in_len, 120);
    /* the whole writable length is allowed; spills across buffers */
    dev_complete(&dev, 0, 120, 9);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    CHECK(tok == &token);
    CHECK_EQ(len, 120);
    CHECK_EQ(i1[29], 9);
    CHECK_EQ(i2[0], 9);
    CHECK_EQ(i3[49], 9);
    /* a device-readable-only chain may only report 0 bytes written */
    CHECK_EQ(vq_add_chain(&vq, out, 2, NULL, 0, &token), 0);
    CHECK(vq_kick_prepare(&vq));
    CHECK_EQ(dev_fetch(&dev, 1), 1);
    dev_complete(&dev, 0, 0, 0);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    CHECK_EQ(len, 0);
    free(mem);
}

/* ---------------------------------------------------------------- bad device */

/* A queue of 8 with three 2-descriptor chains published and fetched. */
static void *setup_three(struct virtqueue *vq, struct fake_dev *dev, struct req *r)
{
    void *mem = ring_alloc(8);

    vq_init(vq, 8, mem, false);
    dev_attach(dev, vq, false);
    for (int i = 0; i < 3; i++) {
        struct iobuf out = {r[i].hdr, 16}, in = {r[i].reply, 64};
        vq_add_chain(vq, &out, 1, &in, 1, &r[i]);
    }
    vq_kick_prepare(vq);
    dev_fetch(dev, 100);
    return mem;
}

/* Drains a broken queue: every token of `want` exactly once. */
static int drain_all(struct virtqueue *vq, struct req *r, int n, int *seen)
{
    void *tok;
    int got = 0, rc;

    memset(seen, 0, sizeof(int) * (size_t)n);
    while ((rc = vq_drain_broken(vq, &tok)) == 1) {
        int i = ((struct req *)tok)->id;
        if (tok != &r[i] || seen[i]++)
            return -1;
        got++;
    }
    return rc == 0 ? got : -1;
}

TEST(used_id_out_of_range_breaks_queue)
{
    struct virtqueue vq;
    struct fake_dev dev;
    struct req r[3] = {{.id = 0}, {.id = 1}, {.id = 2}};
    void *mem = setup_three(&vq, &dev, r), *tok = NULL;
    uint32_t len;
    int seen[3];

    dev_push_raw(&dev, 8, 0);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), -EIO);
    CHECK(vq_is_broken(&vq));
    CHECK(tok == NULL);
    CHECK_EQ(drain_all(&vq, r, 3, seen), 3);
    CHECK_EQ(vq_num_free(&vq), 8);
    /* every later call fails */
    struct iobuf out = {r[0].hdr, 8};
    CHECK_EQ(vq_add_chain(&vq, &out, 1, NULL, 0, &r[0]), -EIO);
    CHECK(!vq_kick_prepare(&vq));
    CHECK_EQ(vq_get_used(&vq, &tok, &len), -EIO);
    CHECK(!vq_enable_cb(&vq));
    CHECK_EQ(vq_drain_broken(&vq, &tok), 0);
    free(mem);
}

TEST(used_id_huge_breaks_queue)
{
    struct virtqueue vq;
    struct fake_dev dev;
    struct req r[3] = {{.id = 0}, {.id = 1}, {.id = 2}};
    void *mem = setup_three(&vq, &dev, r), *tok;
    uint32_t len;

    dev_push_raw(&dev, 0xffffffffu, 0);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), -EIO);
    CHECK(vq_is_broken(&vq));
    free(mem);
}

TEST(used_id_not_a_head_breaks_queue)
{
    struct virtqueue vq;
    struct fake_dev dev;
    struct req r[3] = {{.id = 0}, {.id = 1}, {.id = 2}};
    void *mem = setup_three(&vq, &dev, r), *tok;
    uint32_t len;
    int seen[3];

    /* the second descriptor of chain 0, and a never-used descriptor */
    uint16_t second = dev.desc[dev.fetched[0].head].next;
    dev_push_raw(&dev, second, 0);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), -EIO);
    CHECK_EQ(drain_all(&vq, r, 3, seen), 3);
    free(mem);

    mem = setup_three(&vq, &dev, r);
    dev_push_raw(&dev, 7, 0); /* free descriptor */
    CHECK_EQ(vq_get_used(&vq, &tok, &len), -EIO);
    free(mem);
}

TEST(used_id_completed_twice_breaks_queue)
{
    struct virtqueue vq;
    struct fake_dev dev;
    struct req r[3] = {{.id = 0}, {.id = 1}, {.id = 2}};
    void *mem = setup_three(&vq, &dev, r), *tok;
    uint32_t len;
    int seen[3];
    uint16_t head1 = dev.fetched[1].head;

    dev_complete(&dev, 1, 5, 1);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    CHECK(tok == &r[1]);
    dev_push_raw(&dev, head1, 5);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), -EIO);
    /* r[1] was already handed back: the drain gives only 0 and 2 */
    CHECK_EQ(drain_all(&vq, r, 3, seen), 2);
    CHECK_EQ(seen[1], 0);
    free(mem);
}

TEST(used_id_of_unpublished_chain_breaks_queue)
{
    struct virtqueue vq;
    struct fake_dev dev;
    struct req r[4] = {{.id = 0}, {.id = 1}, {.id = 2}, {.id = 3}};
    void *mem = setup_three(&vq, &dev, r), *tok;
    uint32_t len;
    int seen[4];
    struct iobuf out = {r[3].hdr, 16};

    CHECK_EQ(vq_add_chain(&vq, &out, 1, NULL, 0, &r[3]), 0);
    /* the device guesses the head from the avail ring before publication */
    dev_push_raw(&dev, vq.avail->ring[3], 0);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), -EIO);
    CHECK_EQ(drain_all(&vq, r, 4, seen), 4);
    free(mem);
}

TEST(used_idx_beyond_inflight_breaks_queue)
{
    struct virtqueue vq;
    struct fake_dev dev;
    struct req r[3] = {{.id = 0}, {.id = 1}, {.id = 2}};
    void *mem = setup_three(&vq, &dev, r), *tok;
    uint32_t len;

    dev_complete(&dev, 0, 1, 1);
    vq.used->idx = 4; /* claims 4 completions with 3 in flight */
    CHECK_EQ(vq_get_used(&vq, &tok, &len), -EIO);
    free(mem);
}

TEST(used_len_larger_than_writable_breaks_queue)
{
    struct virtqueue vq;
    struct fake_dev dev;
    struct req r[3] = {{.id = 0}, {.id = 1}, {.id = 2}};
    void *mem = setup_three(&vq, &dev, r), *tok;
    uint32_t len;
    int seen[3];

    dev_complete(&dev, 0, 64, 1); /* exactly the writable length: fine */
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    CHECK_EQ(len, 64);
    dev_push_raw(&dev, dev.fetched[0].head, 65);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), -EIO);
    CHECK_EQ(drain_all(&vq, r, 3, seen), 2);
    free(mem);

    /* len on a chain without writable buffers */
    mem = ring_alloc(8);
    CHECK_EQ(vq_init(&vq, 8, mem, false), 0);
    dev_attach(&dev, &vq, false);
    struct iobuf out = {r[0].hdr, 16};
    CHECK_EQ(vq_add_chain(&vq, &out, 1, NULL, 0, &r[0]), 0);
    CHECK(vq_kick_prepare(&vq));
    CHECK_EQ(dev_fetch(&dev, 1), 1);
    dev_push_raw(&dev, dev.fetched[0].head, 1);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), -EIO);
    free(mem);
}

TEST(drain_requires_broken_queue)
{
    struct virtqueue vq;
    struct fake_dev dev;
    struct req r[3] = {{.id = 0}, {.id = 1}, {.id = 2}};
    void *mem = setup_three(&vq, &dev, r), *tok;
    int seen[3];

    CHECK_EQ(vq_drain_broken(&vq, &tok), -EINVAL);
    vq_mark_broken(&vq);
    CHECK_EQ(drain_all(&vq, r, 3, seen), 3);
    /* re-init after a device reset gives a working queue */
    CHECK_EQ(vq_init(&vq, 8, mem, false), 0);
    CHECK(!vq_is_broken(&vq));
    CHECK_EQ(vq_num_free(&vq), 8);
    free(mem);
}

/* A chain may stay in flight while the avail index wraps many times. */
TEST(long_lived_chain_across_wraparound)
{
    struct virtqueue vq;
    struct fake_dev dev;
    void *mem = ring_alloc(4);
    struct req held = {.id = 0}, r = {.id = 1};
    struct iobuf out = {held.hdr, 8}, in = {held.reply, 8};
    void *tok;
    uint32_t len;
    uint16_t held_head;

    CHECK_EQ(vq_init(&vq, 4, mem, true), 0);
    dev_attach(&dev, &vq, true);
    CHECK_EQ(vq_add_chain(&vq, &out, 1, &in, 1, &held), 0);
    vq_kick_prepare(&vq);
    CHECK_EQ(dev_fetch(&dev, 1), 1);
    held_head = dev.fetched[0].head;
    for (unsigned i = 0; i < 3 * 65536 + 123; i++) {
        CHECK_EQ(vq_add_chain(&vq, &in, 1, NULL, 0, &r), 0);
        /* every few rounds an unpublished chain sits next to the held one */
        if (i % 7 == 0) {
            CHECK_EQ(vq_add_chain(&vq, &in, 1, NULL, 0, &r), 0);
            CHECK_EQ(dev_fetch(&dev, 1), 0);
        }
        vq_kick_prepare(&vq);
        while (dev_fetch(&dev, 1))
            ;
        while (dev.nfetched > 1) {
            unsigned k = dev.fetched[0].head == held_head ? 1 : 0;
            dev_complete(&dev, k, 0, 0);
            CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
            CHECK(tok == &r);
        }
    }
    /* run on until the next avail slot aliases the held chain's (0 mod 2^16) */
    while (vq.avail_idx != 0) {
        CHECK_EQ(vq_add_chain(&vq, &in, 1, NULL, 0, &r), 0);
        vq_kick_prepare(&vq);
        CHECK_EQ(dev_fetch(&dev, 1), 1);
        dev_complete(&dev, dev.fetched[0].head == held_head ? 1 : 0, 0, 0);
        CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    }
    /* an unpublished chain at the aliasing position must not hide the held one */
    CHECK_EQ(vq_add_chain(&vq, &in, 1, NULL, 0, &r), 0);
    dev_complete(&dev, 0, 8, 3);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    CHECK(tok == &held);
    CHECK_EQ(len, 8);
    CHECK_EQ(held.reply[7], 3);
    vq_kick_prepare(&vq);
    CHECK_EQ(dev_fetch(&dev, 1), 1);
    dev_complete(&dev, 0, 0, 0);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    CHECK(tok == &r);
    CHECK_EQ(vq_num_free(&vq), 4);
    CHECK(!vq_is_broken(&vq));
    free(mem);
}

/* ---------------------------------------------------------------- notifications */

TEST(no_notify_and_no_interrupt_flags)
{
    struct virtqueue vq;
    struct fake_dev dev;
    void *mem = ring_alloc(8);
    struct req r[4];
    struct iobuf out = {r[0].hdr, 8}, in = {r[0].reply, 8};
    void *tok;
    uint32_t len;

    CHECK_EQ(vq_init(&vq, 8, mem, false), 0);
    dev_attach(&dev, &vq, false);
    CHECK_EQ(vq_add_chain(&vq, &out, 1, &in, 1, &r[0]), 0);
    dev.used->flags = VIRTQ_USED_F_NO_NOTIFY;
    CHECK(!vq_kick_prepare(&vq));
    CHECK_EQ(vq.avail->idx, 1); /* published even when not notifying */
    CHECK_EQ(vq_add_chain(&vq, &out, 1, &in, 1, &r[1]), 0);
    dev.used->flags = 0;
    CHECK(vq_kick_prepare(&vq));
    CHECK_EQ(dev_fetch(&dev, 10), 2);

    /* without EVENT_IDX every completion interrupts: the flags stay 0 */
    CHECK(dev_complete(&dev, 0, 1, 1));
    CHECK(dev_complete(&dev, 0, 1, 1));
    CHECK_EQ(dev.interrupts, 2);
    CHECK_EQ(vq.avail->flags, 0);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    /* one entry still pending: enable_cb says re-poll */
    CHECK(!vq_enable_cb(&vq));
    CHECK_EQ(vq.avail->flags, 0);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    CHECK(vq_enable_cb(&vq));
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 0);
    free(mem);
}

TEST(event_idx_notification_arithmetic)
{
    struct virtqueue vq;
    struct fake_dev dev;
    void *mem = ring_alloc(8);
    struct req r[8];
    struct iobuf out = {r[0].hdr, 8};
    void *tok;
    uint32_t len;

    CHECK_EQ(vq_init(&vq, 8, mem, true), 0);
    dev_attach(&dev, &vq, true);
    dev.used->flags = VIRTQ_USED_F_NO_NOTIFY; /* ignored with EVENT_IDX */
    /* avail_event 0: the device wants to hear about entry 0 */
    CHECK_EQ(vq_add_chain(&vq, &out, 1, NULL, 0, &r[0]), 0);
    CHECK(vq_kick_prepare(&vq));
    /* device has not moved avail_event: entry 1 is not worth a notify */
    CHECK_EQ(vq_add_chain(&vq, &out, 1, NULL, 0, &r[1]), 0);
    CHECK(!vq_kick_prepare(&vq));
    /* device asks for entry 3; a batch 2..3 crosses it, 4 alone does not */
    *dev_avail_event(&dev) = 3;
    CHECK_EQ(vq_add_chain(&vq, &out, 1, NULL, 0, &r[2]), 0);
    CHECK(!vq_kick_prepare(&vq)); /* 2 only */
    CHECK_EQ(vq_add_chain(&vq, &out, 1, NULL, 0, &r[3]), 0);
    CHECK(vq_kick_prepare(&vq)); /* 3 */
    CHECK_EQ(vq_add_chain(&vq, &out, 1, NULL, 0, &r[4]), 0);
    CHECK(!vq_kick_prepare(&vq));
    CHECK_EQ(vq.avail->flags, 0);

    /* used_event: the next entry after those taken interrupts */
    CHECK_EQ(dev_fetch(&dev, 10), 5);
    CHECK_EQ(dev_used_event(&dev), 0);
    CHECK(dev_complete(&dev, 0, 0, 0));  /* crosses used_event 0 */
    CHECK(!dev_complete(&dev, 0, 0, 0)); /* the driver has not caught up */
    CHECK_EQ(vq.avail->flags, 0);        /* flags stay 0 with EVENT_IDX */
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    CHECK_EQ(dev_used_event(&dev), 1); /* last_used */
    CHECK(!vq_enable_cb(&vq));         /* one pending */
    CHECK_EQ(dev_used_event(&dev), 1);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    CHECK_EQ(dev_used_event(&dev), 2); /* enabled: next entry interrupts */
    CHECK(vq_enable_cb(&vq));
    CHECK(dev_complete(&dev, 0, 0, 0));  /* crosses used_event 2 */
    CHECK(!dev_complete(&dev, 0, 0, 0)); /* driver has not caught up */
    free(mem);
}

TEST(disable_cb_flags)
{
    struct virtqueue vq;
    struct fake_dev dev;
    void *mem = ring_alloc(8);
    struct req r[4];
    struct iobuf out = {r[0].hdr, 8};
    void *tok;
    uint32_t len;

    CHECK_EQ(vq_init(&vq, 8, mem, false), 0);
    dev_attach(&dev, &vq, false);
    for (unsigned i = 0; i < 4; i++)
        CHECK_EQ(vq_add_chain(&vq, &out, 1, NULL, 0, &r[i]), 0);
    CHECK(vq_kick_prepare(&vq));
    CHECK_EQ(dev_fetch(&dev, 10), 4);
    CHECK_EQ(vq_inflight(&vq), 4);
    vq_disable_cb(&vq);
    CHECK_EQ(vq.avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT);
    CHECK(!dev_complete(&dev, 0, 0, 0));
    CHECK(!dev_complete(&dev, 0, 0, 0));
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    CHECK_EQ(vq.avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT); /* taking does not re-arm */
    CHECK_EQ(vq_inflight(&vq), 3);
    /* one pending: enable turns interrupts on and says re-poll */
    CHECK(!vq_enable_cb(&vq));
    CHECK_EQ(vq.avail->flags, 0);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    CHECK(vq_enable_cb(&vq));
    CHECK(dev_complete(&dev, 0, 0, 0));
    /* off again, twice (idempotent), and on */
    vq_disable_cb(&vq);
    vq_disable_cb(&vq);
    CHECK(!dev_complete(&dev, 0, 0, 0));
    CHECK_EQ(dev.interrupts, 1);
    CHECK(!vq_enable_cb(&vq));
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    CHECK(vq_enable_cb(&vq));
    CHECK_EQ(vq_inflight(&vq), 0);
    free(mem);
}

TEST(disable_cb_event_idx)
{
    struct virtqueue vq;
    struct fake_dev dev;
    void *mem = ring_alloc(8);
    struct req r[6];
    struct iobuf out = {r[0].hdr, 8};
    void *tok;
    uint32_t len;

    CHECK_EQ(vq_init(&vq, 8, mem, true), 0);
    dev_attach(&dev, &vq, true);
    for (unsigned i = 0; i < 6; i++)
        CHECK_EQ(vq_add_chain(&vq, &out, 1, NULL, 0, &r[i]), 0);
    CHECK(vq_kick_prepare(&vq));
    CHECK_EQ(dev_fetch(&dev, 10), 6);
    CHECK(dev_complete(&dev, 0, 0, 0)); /* used_event 0: on from vq_init */
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    CHECK_EQ(dev_used_event(&dev), 1);
    vq_disable_cb(&vq);
    CHECK_EQ(vq.avail->flags, 0);      /* flags stay 0 with EVENT_IDX */
    CHECK_EQ(dev_used_event(&dev), 0); /* an entry already taken */
    CHECK(!dev_complete(&dev, 0, 0, 0));
    CHECK(!dev_complete(&dev, 0, 0, 0));
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    CHECK_EQ(dev_used_event(&dev), 0); /* taking does not re-arm */
    CHECK(!dev_complete(&dev, 0, 0, 0));
    CHECK_EQ(dev.interrupts, 1);
    /* enable with one pending: re-poll, and taking re-arms again */
    CHECK(!vq_enable_cb(&vq));
    CHECK_EQ(dev_used_event(&dev), 3);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    CHECK_EQ(dev_used_event(&dev), 4);
    CHECK(vq_enable_cb(&vq));
    CHECK(dev_complete(&dev, 0, 0, 0));
    /* off while an entry waits untaken: it does not interrupt either */
    vq_disable_cb(&vq);
    CHECK(!dev_complete(&dev, 0, 0, 0));
    CHECK_EQ(dev.interrupts, 2);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
    CHECK_EQ(vq_get_used(&vq, &tok, &len), 0);
    CHECK(vq_enable_cb(&vq));
    CHECK_EQ(vq_inflight(&vq), 0);
    free(mem);
}

/* Completes every chain the device holds, one entry at a time (the device
 * decides on an interrupt after each); returns how many interrupted. */
static unsigned dev_complete_all(struct fake_dev *d)
{
    unsigned irqs = 0;
    while (d->nfetched)
        irqs += dev_complete(d, 0, 0, 0);
    return irqs;
}

/* Interrupts off across the 16-bit wrap of every index, on the largest
 * ring (the device up to 32768 entries ahead of the driver) and on a small
 * one (the driver taking entries far past where it turned them off): no
 * interrupt while off, used_event never more than 0x4000 behind, and on
 * again, the next entry interrupts. */
static void off_across_wrap(uint16_t size, unsigned rounds)
{
    struct virtqueue vq;
    struct fake_dev dev;
    void *mem = ring_alloc(size);
    static struct req r;
    struct iobuf out = {r.hdr, 8};
    void *tok;
    uint32_t len;
    unsigned taken = 0;

    CHECK_EQ(vq_init(&vq, size, mem, true), 0);
    dev_attach(&dev, &vq, true);
    vq_disable_cb(&vq);
    for (unsigned round = 0; round < rounds; round++) {
        while (vq_add_chain(&vq, &out, 1, NULL, 0, &r) == 0)
            ;
        CHECK_EQ(vq_inflight(&vq), size);
        (void)vq_kick_prepare(&vq);
        /* the device completes all before the driver takes any (its
         * fetch list holds MAX_FETCHED) */
        for (unsigned got = 0; got < size;) {
            unsigned n = dev_fetch(&dev, MAX_FETCHED);
            CHECK(n > 0);
            got += n;
            CHECK_EQ(dev_complete_all(&dev), 0);
        }
        while (vq_get_used(&vq, &tok, &len) == 1) {
            uint16_t lag = (uint16_t)(vq.last_used - dev_used_event(&dev));
            CHECK(lag >= 1 && lag <= 0x4000);
            taken++;
        }
        CHECK_EQ(vq_inflight(&vq), 0);
        if (round % 7 == 6) { /* on for one entry, then off again */
            CHECK(vq_enable_cb(&vq));
            CHECK_EQ(vq_add_chain(&vq, &out, 1, NULL, 0, &r), 0);
            (void)vq_kick_prepare(&vq);
            CHECK_EQ(dev_fetch(&dev, 1), 1);
            CHECK_EQ(dev_complete_all(&dev), 1);
            CHECK_EQ(vq_get_used(&vq, &tok, &len), 1);
            taken++;
            vq_disable_cb(&vq);
        }
    }
    CHECK(taken > 2 * 65536); /* every index wrapped twice */
    CHECK_EQ(dev.interrupts, rounds / 7);
    CHECK(vq_enable_cb(&vq));
    CHECK_EQ(vq_add_chain(&vq, &out, 1, NULL, 0, &r), 0);
    (void)vq_kick_prepare(&vq);
    CHECK_EQ(dev_fetch(&dev, 1), 1);
    CHECK_EQ(dev_complete_all(&dev), 1);
    free(mem);
}

TEST(disable_cb_event_idx_across_wrap_largest_ring)
{
    off_across_wrap(VIRTQ_MAX_SIZE, 5);
}

TEST(disable_cb_event_idx_across_wrap_small_ring)
{
    off_across_wrap(16, 9000);
}

/*
 * Long run across 16-bit wraparound of every index (> 65536 requests), with
 * a device that polls while busy and sleeps when idle, and a driver that
 * sleeps with callbacks enabled. Checks the exact contract of both sides:
 * kick_prepare says "notify" iff the device sleeps; the device interrupts
 * iff the driver sleeps (first completion after it went to sleep). A wrong
 * decision either way is caught: a missed one as a stall, an extra one here.
 */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static void dev_go_idle_or_busy(struct fake_dev *d, bool idle)
{
    if (d->event_idx)
        *dev_avail_event(d) = idle ? d->last_avail : (uint16_t)(d->last_avail - 1);
    else
        d->used->flags = idle ? 0 : VIRTQ_USED_F_NO_NOTIFY;
}

static void long_run(bool event_idx, uint16_t size, unsigned total)
{
    struct virtqueue vq;
    struct fake_dev dev;
    void *mem = ring_alloc(size);
    static struct req reqs[256];
    static int outstanding[256];
    unsigned issued = 0, done = 0, kicks = 0, irqs = 0, steps = 0;
    bool dev_idle = true, drv_sleeping = false;

    CHECK_EQ(vq_init(&vq, size, mem, event_idx), 0);
    dev_attach(&dev, &vq, event_idx);
    memset(outstanding, 0, sizeof(outstanding));
    dev_go_idle_or_busy(&dev, true);
    drv_sleeping = vq_enable_cb(&vq);
    CHECK(drv_sleeping);

    while (done < total) {
        CHECK(++steps < 40 * total); /* no stall */
        switch (rnd(3)) {
        case 0: { /* driver submits a batch (any time, its own thread) */
            unsigned batch = 1 + rnd(4);
            for (unsigned b = 0; b < batch && issued < total; b++) {
                unsigned slot = issued % 256;
                struct req *r = &reqs[slot];
                struct iobuf out = {r->hdr, 16}, in[2] = {{r->reply, 32}, {r->data, 32}};
                unsigned nin = 1 + rnd(2);

                if (outstanding[slot])
                    break; /* slot still in use, try later */
                if (vq_add_chain(&vq, &out, 1, in, nin, r) != 0)
                    break; /* full */
                r->id = (int)slot;
                outstanding[slot] = 1;
                issued++;
            }
            bool published = vq.avail_idx != vq.avail_pub;
            bool kick = vq_kick_prepare(&vq);
            CHECK_EQ(kick, dev_idle && published);
            if (kick) {
                kicks++;
                dev_idle = false;
                dev_go_idle_or_busy(&dev, false);
            }
            break;
        }
        case 1: /* device works if awake */
            if (dev_idle)
                break;
            dev_fetch(&dev, 1 + rnd(6));
            CHECK(!dev.bad_chain);
            dev_go_idle_or_busy(&dev, false);
            for (unsigned c = rnd(4); c && dev.nfetched; c--) {
                unsigned k = rnd(dev.nfetched);
                uint32_t written = rnd(dev.fetched[k].in_len + 1);
                bool irq = dev_complete(&dev, k, written, (uint8_t)written);

                /* With EVENT_IDX exactly the first completion after the
                 * driver went to sleep interrupts; with flags every one. */
                if (event_idx)
                    CHECK_EQ(irq, drv_sleeping);
                else
                    CHECK(irq);
                if (drv_sleeping)
                    CHECK(irq);
                if (irq) {
                    irqs++;
                    drv_sleeping = false;
                }
            }
            if (dev.nfetched == 0 && dev.last_avail == vq.avail->idx) {
                dev_go_idle_or_busy(&dev, true);
                dev_idle = true;
            }
            break;
        case 2: { /* driver: woken or still awake: drain, then try to sleep */
            void *tok;
            uint32_t len;
            int rc;

            if (drv_sleeping)
                break;
            while ((rc = vq_get_used(&vq, &tok, &len)) == 1) {
                struct req *r = tok;
                CHECK(r->id >= 0 && r->id < 256 && &reqs[r->id] == r);
                CHECK_EQ(outstanding[r->id], 1);
                CHECK(len <= 64);
                if (len)
                    CHECK_EQ(r->reply[0], (uint8_t)len);
                outstanding[r->id] = 0;
                done++;
            }
            CHECK_EQ(rc, 0);
            drv_sleeping = vq_enable_cb(&vq);
            break;
        }
        }
    }
    CHECK(!vq_is_broken(&vq));
    CHECK_EQ(vq_num_free(&vq), size);
    /* both 16-bit indices wrapped more than once */
    CHECK(done > 2 * 65536);
    /* suppression did something: far fewer kicks and interrupts than requests */
    CHECK(kicks < done);
    if (event_idx)
        CHECK(irqs < done);
    CHECK(kicks > 0 && irqs > 0);
    free(mem);
}

TEST(long_run_event_idx_wraparound)
{
    long_run(true, 16, 140000);
}

TEST(long_run_flags_wraparound)
{
    long_run(false, 64, 140000);
}
