/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz: the descriptor walker and the packet parser. The input becomes guest
 * memory (64 KiB, two regions) holding a tx and an rx ring of 16 entries
 * with their descriptors, avail rings and buffers, all guest-controlled. The
 * device pops and handles tx packets and fills rx for whatever connections
 * they created (host streams are socketpairs whose other end we hold).
 * Some inputs (a byte says) run with pre-opened connections to guest port
 * 80 (--preopen): the guest's packets meet them unpaired.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vsockd/device.h"
#include "common/log.h"

#define MEM 0x10000

static uint64_t clock0(void)
{
    return 0;
}

static int peers[64];
static unsigned npeers;

static int connect_pair(struct vsock_dev *d, uint32_t port)
{
    int sv[2];
    (void)d;
    if (port % 3 == 0 || npeers == 64 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
        return -1;
    if (send(sv[1], "hello from the host", 19, MSG_DONTWAIT) < 0) {
    }
    peers[npeers++] = sv[1];
    return sv[0];
}

static const struct vsock_host_ops host = {connect_pair, clock0};

static void ring(struct vsock_dev *d, unsigned q, uint64_t base)
{
    struct virtqueue *vq = &d->vu.vq[q];
    vq->num = 16;
    vq->desc_uva = base;
    vq->avail_uva = base + 0x100;
    vq->used_uva = base + 0x200;
    vq->addr_set = true;
    vq_translate(vq, &d->vu.mem);
    vq->started = vq->enabled = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vsock_dev d;
    static uint8_t *mem;
    log_level = -1;
    if (!mem)
        mem = aligned_alloc(4096, MEM);
    memset(mem, 0, MEM);
    memcpy(mem, data, size < MEM ? size : MEM);
    device_init(&d, 3, 16, &host);
    d.vu.mem.count = 2;
    d.vu.mem.region[0] = (struct vu_region){0, MEM / 2, 0, mem, NULL, 0};
    d.vu.mem.region[1] = (struct vu_region){MEM / 2, MEM / 2, MEM / 2, mem + MEM / 2, NULL, 0};
    ring(&d, 0, 0x0);   /* rx: desc 0x000, avail 0x100, used 0x200 */
    ring(&d, 1, 0x400); /* tx: desc 0x400, avail 0x500, used 0x600 */
    if (size > 0x7ff && (data[0x7ff] & 1)) {
        /* --preopen: pre-opened connections to guest port 80 (host ports
         * 2^30, 2^30 + 1, ...), which the guest's packets then meet unpaired. */
        d.preopen = 1 + data[0x7ff] % 4;
        pool_add(&d, 80);
    }
    for (int round = 0; round < 4; round++) {
        device_kick(&d, 1);
        device_run(&d);
        /* The guest "adds" more: bump the avail indices as the input says. */
        uint16_t *rx_avail = (uint16_t *)(mem + 0x100), *tx_avail = (uint16_t *)(mem + 0x500);
        rx_avail[1] = (uint16_t)(rx_avail[1] + (size > (size_t)round ? data[round] % 4 : 1));
        tx_avail[1] = (uint16_t)(tx_avail[1] + 1);
    }
    /* And the packet parser alone on a chain taken straight from the input. */
    struct vq_chain chain = {0};
    chain.n_out = 1;
    chain.out[0].iov_base = (void *)data;
    chain.out[0].iov_len = size;
    chain.out_len = size;
    device_handle_tx_chain(&d, &chain);
    device_run(&d);
    d.preopen = 0; /* no refill after the reset: the next input starts afresh */
    device_reset_conns(&d);
    device_run(&d);
    for (unsigned i = 0; i < npeers; i++)
        close(peers[i]);
    npeers = 0;
    return 0;
}
