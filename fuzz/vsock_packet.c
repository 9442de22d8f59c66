/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: arbitrary sequences of received packets and socket calls
 * against the vsock protocol, with the fake transport of the unit tests.
 *
 * Input: records. Byte 0 of a record picks an action; the next bytes are
 * its arguments (missing bytes read as 0). Packets come from a few peer
 * ports to a few guest ports (the listener, the ports of our connections,
 * others), with any op, type, flags, credit fields, length and capacity.
 *
 * Invariants checked after every action: every rx buffer net holds is one
 * the fake loaned and did not get back; each socket's rx_bytes matches its
 * queue; nothing sent lies about its length or comes from another CID.
 * After the input: closing everything and running the timers frees every
 * socket, buffer and byte (fake_teardown).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net/socket.h"
#include "net/vsock.h"
#include "net_fake.h"

#define LISTEN_PORT 1234
#define MAX_FDS     16

struct input {
    const uint8_t *p;
    size_t n;
};

static uint8_t u8(struct input *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static uint32_t u32(struct input *in)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)u8(in) << (8 * i);
    return v;
}

static int fds[MAX_FDS];
static unsigned nfds;

static int pick_fd(struct input *in)
{
    return nfds ? fds[u8(in) % nfds] : -1;
}

static void add_fd(int fd)
{
    if (fd >= 0 && nfds < MAX_FDS)
        fds[nfds++] = fd;
    else if (fd >= 0)
        (void)fd_close(fd);
}

/* A guest port worth aiming at: the listener, one of ours, or any. */
static uint32_t pick_guest_port(struct input *in)
{
    uint8_t k = u8(in);
    if (k < 96)
        return LISTEN_PORT;
    if (k < 200 && nfds) {
        struct vsock_sock *s = fake_sock(fds[k % nfds]);
        if (s)
            return s->local_port;
    }
    return k < 230 ? VSOCK_EPHEMERAL_FIRST + (k & 3) : u32(in);
}

static void inject(struct input *in)
{
    static uint8_t payload[70000];
    struct vsock_hdr h;
    memset(&h, 0, sizeof(h));
    uint8_t sel = u8(in);
    h.src_cid = sel & 0x80 ? u32(in) : FAKE_PEER_CID;
    h.dst_cid = sel & 0x40 ? u32(in) : fake.t.guest_cid;
    h.src_port = sel & 0x20 ? u32(in) : 5000u + (sel & 3);
    h.dst_port = pick_guest_port(in);
    h.op = u8(in) % 9;
    h.type = sel & 0x10 ? u8(in) : VSOCK_TYPE_STREAM;
    h.flags = u8(in);
    h.buf_alloc = sel & 0x08 ? u32(in) : VSOCK_BUF_DEFAULT;
    h.fwd_cnt = sel & 0x04 ? u32(in) : 0;
    if (h.fwd_cnt == 0 && nfds) {
        struct vsock_sock *s = fake_sock(fds[sel % nfds]);
        if (s)
            h.fwd_cnt = s->tx_cnt; /* a peer that keeps up */
    }
    uint32_t len = u8(in);
    len |= (uint32_t)u8(in) << 8;
    if (h.op == VSOCK_OP_RW && (len & 0x8000))
        len = (len & 0x7fff) * 2; /* up to 64 KiB */
    h.len = len;
    uint32_t cap = u8(in) & 1 ? len : len + u8(in); /* sometimes it lies: cap < len */
    if (u8(in) == 0xff && cap)
        cap--;
    uint32_t fill = len < cap ? len : cap;
    memset(payload, sel, fill < sizeof(payload) ? fill : sizeof(payload));
    if (u8(in) == 0xfe) { /* the used ring's length disagrees with the header */
        fake.lie_written = true;
        fake.written = u8(in) < 0x80 ? u8(in) : VSOCK_HDR_SIZE + fill + u8(in);
    }
    fake_inject_raw(&h, payload, fill, cap);
}

static void act(struct input *in)
{
    static uint8_t buf[70000];
    uint8_t a = u8(in) % 16;
    int fd;
    switch (a) {
    case 0:
    case 1:
    case 2:
    case 3:
        inject(in);
        break;
    case 4:
        fd = pick_fd(in);
        if (fd >= 0 && fake_sock(fd) && fake_sock(fd)->state == VSOCK_LISTEN)
            add_fd(miura_accept4(fd, NULL, NULL, SOCK_NONBLOCK));
        break;
    case 5: {
        fd = miura_socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK, 0);
        struct sockaddr_vm sa = {
            .svm_family = AF_VSOCK, .svm_cid = FAKE_PEER_CID, .svm_port = 80 + (u8(in) & 3)};
        (void)miura_connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        add_fd(fd);
        break;
    }
    case 6: {
        fd = pick_fd(in);
        uint32_t n = u8(in) * 257u;
        (void)miura_send(fd, buf, n, MSG_DONTWAIT);
        break;
    }
    case 7: {
        fd = pick_fd(in);
        uint32_t n = u8(in) * 257u;
        int flags = MSG_DONTWAIT | (u8(in) & 1 ? MSG_PEEK : 0);
        (void)miura_recv(fd, buf, n, flags);
        break;
    }
    case 8:
        (void)miura_shutdown(pick_fd(in), u8(in) % 4);
        break;
    case 9: {
        uint8_t i = nfds ? u8(in) % nfds : 0;
        if (nfds) {
            (void)fd_close(fds[i]);
            fds[i] = fds[--nfds];
        }
        break;
    }
    case 10: {
        fake.now += (uint64_t)u8(in) * 50000000ull;
        uint64_t f = net_lock();
        (void)vsock_net_timers(fake.now);
        net_unlock(f);
        break;
    }
    case 11:
        fake_complete_tx();
        break;
    case 12: {
        int v = (int)u32(in);
        (void)miura_setsockopt(pick_fd(in), SOL_SOCKET, u8(in) & 1 ? SO_RCVBUF : SO_SNDBUF, &v,
                               sizeof(v));
        break;
    }
    case 13:
        if (u8(in) == 0x5a)
            vsock_net_transport_reset(&fake.t, fake.t.guest_cid);
        break;
    case 14: {
        struct pollfd p[MAX_FDS];
        for (unsigned i = 0; i < nfds; i++)
            p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN | POLLOUT};
        (void)miura_poll(p, nfds, 0);
        break;
    }
    default:
        fake.auto_tx_done = u8(in) & 1;
        break;
    }
}

static unsigned checked; /* sent packets already looked at */

static void check_invariants(void)
{
    if (fake.rx_injected - fake.rx_released != vsock_net_stats.rx_bufs_held)
        abort();
    for (unsigned i = 0; i < nfds; i++) {
        struct vsock_sock *s = fake_sock(fds[i]);
        if (!s)
            abort();
        uint64_t queued = 0;
        list_for_each(pos, &s->rxq)
        {
            struct vsock_rx_buf *b = list_entry(pos, struct vsock_rx_buf, link);
            if (b->off > b->hdr.len || b->hdr.len > b->cap)
                abort();
            queued += b->hdr.len - b->off;
        }
        if (queued != s->rx_bytes)
            abort();
        if (s->tx_inflight > s->sndbuf && s->tx_inflight > VSOCK_BUF_MAX)
            abort();
    }
    for (unsigned i = checked; i < fake.nsent; i++) {
        const struct vsock_hdr *h = &fake.sent[i].hdr;
        if (h->src_cid != fake.t.guest_cid && h->op != VSOCK_OP_RST)
            abort();
        if (h->op != VSOCK_OP_RW && h->len)
            abort();
        if (h->len > VSOCK_TX_PKT_MAX)
            abort();
    }
    checked = fake.nsent;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size};
    fake_init();
    nfds = 0;
    checked = 0;
    add_fd(fake_listen(LISTEN_PORT, 1 + (int)(u8(&in) % 4)));
    if (nfds)
        (void)miura_fcntl(fds[0], F_SETFL, O_NONBLOCK);
    while (in.n) {
        act(&in);
        check_invariants();
        if (fake.nsent > FAKE_MAX_SENT - 64) {
            fake_complete_tx();
            break;
        }
    }
    if (!fake_teardown())
        abort();
    return 0;
}
