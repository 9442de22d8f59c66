/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: the split virtqueue against a hostile device. The input is a
 * script: the driver adds chains, kicks, polls, toggles callbacks; the device
 * writes used entries (ids and lengths either well-formed or raw), moves
 * used->idx anywhere and scribbles on its event fields. Invariants: every
 * token comes back at most once, with len ≤ its writable length; no memory
 * error; after the queue breaks, draining returns every remaining token and
 * all descriptors.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/virtio/virtqueue.h"

#define QSIZE  8
#define NTOKEN 64

struct script {
    const uint8_t *p;
    size_t left;
};

static uint32_t take(struct script *s, unsigned bytes)
{
    uint32_t v = 0;

    for (unsigned i = 0; i < bytes && s->left; i++, s->left--)
        v |= (uint32_t)*s->p++ << (8 * i);
    return v;
}

static uint8_t bufs[NTOKEN][4][16];
static uint32_t in_len[NTOKEN];
static int state[NTOKEN]; /* 0 unused, 1 in flight, 2 returned */

static void returned(void *tok, uint32_t len, bool check_len)
{
    long i = (uint8_t(*)[4][16])tok - bufs;

    if (i < 0 || i >= NTOKEN || state[i] != 1)
        abort();
    if (check_len && len > in_len[i])
        abort();
    state[i] = 2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t mem[8192] __attribute__((aligned(64)));
    struct script s = {data, size};
    struct virtqueue vq;
    uint16_t dev_avail = 0, dev_used = 0;
    unsigned ntok = 0;
    void *tok;
    uint32_t len;
    int rc;

    if (vq_ring_bytes(QSIZE) > sizeof(mem))
        abort();
    memset(state, 0, sizeof(state));
    if (vq_init(&vq, QSIZE, mem, take(&s, 1) & 1) != 0)
        abort();

    while (s.left) {
        uint8_t op = (uint8_t)take(&s, 1);

        switch (op & 7) {
        case 0: { /* driver adds a chain */
            unsigned n_out = (op >> 3) & 3, n_in = (op >> 5) & 3;
            struct iobuf out[3], in[3];

            if (ntok == NTOKEN)
                break;
            in_len[ntok] = 0;
            for (unsigned i = 0; i < n_out; i++)
                out[i] = (struct iobuf){bufs[ntok][i], 1 + (take(&s, 1) & 15)};
            for (unsigned i = 0; i < n_in; i++) {
                in[i] = (struct iobuf){bufs[ntok][3], 1 + (take(&s, 1) & 15)};
                in_len[ntok] += in[i].len;
            }
            rc = vq_add_chain(&vq, out, n_out, in, n_in, bufs[ntok]);
            if (rc == 0)
                state[ntok++] = 1;
            else if (rc != -ENOSPC && rc != -EINVAL && rc != -EIO)
                abort();
            break;
        }
        case 1:
            vq_kick_prepare(&vq);
            break;
        case 2: { /* device completes: a real published head, or raw values */
            uint32_t id, l;

            if (op & 0x80) {
                id = take(&s, 4);
                l = take(&s, 4);
            } else {
                if (dev_avail == vq.avail->idx)
                    break;
                id = vq.avail->ring[dev_avail++ % QSIZE];
                l = take(&s, 1) & 63;
            }
            vq.used->ring[dev_used % QSIZE].id = id;
            vq.used->ring[dev_used % QSIZE].len = l;
            vq.used->idx = ++dev_used;
            break;
        }
        case 3: /* device moves used->idx anywhere */
            dev_used = (uint16_t)take(&s, 2);
            vq.used->idx = dev_used;
            break;
        case 4: /* driver polls */
            while ((rc = vq_get_used(&vq, &tok, &len)) == 1)
                returned(tok, len, true);
            if (rc != 0 && rc != -EIO)
                abort();
            break;
        case 5:
            vq_enable_cb(&vq);
            break;
        case 6: /* device scribbles on its event fields */
            vq.used->flags = (uint16_t)take(&s, 2);
            *(uint16_t *)&vq.used->ring[QSIZE] = (uint16_t)take(&s, 2);
            break;
        case 7:
            if (op & 8)
                vq_mark_broken(&vq);
            break;
        }
    }

    if (vq_is_broken(&vq)) {
        while ((rc = vq_drain_broken(&vq, &tok)) == 1)
            returned(tok, 0, false);
        if (rc != 0)
            abort();
        for (unsigned i = 0; i < ntok; i++)
            if (state[i] != 2)
                abort();
        if (vq_num_free(&vq) != QSIZE)
            abort();
    } else {
        unsigned inflight = 0;

        for (unsigned i = 0; i < ntok; i++)
            inflight += state[i] == 1;
        if (inflight != vq.inflight)
            abort();
        if (inflight == 0 && vq_num_free(&vq) != QSIZE)
            abort();
    }
    return 0;
}
