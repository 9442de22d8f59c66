/* SPDX-License-Identifier: BSD-2-Clause */
#include "net_fake.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/console.h"
#include "lib/fd/fd_port.h"
#include "net/socket.h"

struct fake_net fake;

/* ---- port */

void net_waitq_init(struct net_waitq *wq)
{
    wq->wq.wakes = 0;
}

uint64_t net_lock(void)
{
    return fake.lock_depth++;
}

void net_unlock(uint64_t flags)
{
    if (!fake.lock_depth || flags != fake.lock_depth - 1)
        abort(); /* unbalanced */
    fake.lock_depth--;
}

/* A sleep on n queues: the hook runs as the rest of the guest would while
 * the thread sleeps; woken if it woke any of them. */
static int wait_any(struct net_waitq *const *wqs, unsigned n, uint64_t deadline)
{
    if (!fake.lock_depth)
        abort(); /* waits happen with the lock held */
    fake.waits++;
    for (unsigned i = 0; i < n; i++)
        wqs[i]->wq.wakes = 0;
    if (fake.wait_hook)
        fake.wait_hook(n ? wqs[0] : NULL, deadline);
    for (unsigned i = 0; i < n; i++)
        if (wqs[i]->wq.wakes)
            return 0;
    if (deadline) {
        if (fake.now < deadline)
            fake.now = deadline;
        return -ETIMEDOUT;
    }
    fake.stuck++; /* a real thread would sleep forever here */
    return -ETIMEDOUT;
}

int net_wait(struct net_waitq *wq, uint64_t deadline)
{
    return wait_any(&wq, 1, deadline);
}

void net_wake_all(struct net_waitq *wq)
{
    wq->wq.wakes++;
}

uint64_t net_clock_ns(void)
{
    return fake.now;
}

void net_timer_kick(void)
{
    fake.timer_kicks++;
}

/* ---- the descriptor layer's port (lib/fd/fd_port.h): poll() sleeps on a
 * net wait queue here, under the net lock, like a guest thread */

uint64_t fd_lock(void)
{
    return net_lock();
}

void fd_unlock(uint64_t flags)
{
    net_unlock(flags);
}

int fd_wait_any(struct waitq *const *wqs, struct waitq_entry *entries, unsigned n,
                uint64_t deadline_ns)
{
    struct net_waitq *nwq[64];
    (void)entries;
    if (n > 64)
        abort(); /* more than the tests poll */
    for (unsigned i = 0; i < n; i++)
        nwq[i] = container_of(wqs[i], struct net_waitq, wq);
    return wait_any(nwq, n, deadline_ns);
}

uint64_t fd_clock_ns(void)
{
    return fake.now;
}

/* The console behind descriptors 1 and 2: nothing to keep. */
void console_write(const char *s, size_t n)
{
    (void)s;
    (void)n;
}

/* ---- transport */

static int fake_send(struct vsock_transport *t, struct vsock_pkt *p)
{
    (void)t;
    if (fake.fail_send)
        return -EIO;
    uint32_t len = p->hdr.len;
    fake.total_sent++;
    /* Control packets are done at once (the pool needs them back) unless
     * the test holds them; payloads when auto_tx_done says so. */
    bool done_now = len ? fake.auto_tx_done : !fake.hold_ctrl;
    if (fake.nsent < FAKE_MAX_SENT) {
        struct fake_sent *r = &fake.sent[fake.nsent++];
        r->hdr = p->hdr;
        r->payload = NULL;
        if (len) {
            r->payload = malloc(len);
            memcpy(r->payload, p->data, len);
        }
        r->pkt = p;
        r->done = done_now;
    } else {
        done_now = true; /* not recorded: complete at once */
    }
    if (done_now)
        vsock_net_tx_done(&fake.t, p);
    return 0;
}

static void fake_rx_release(struct vsock_transport *t, struct vsock_rx_buf *buf)
{
    (void)t;
    fake.rx_released++;
    free(buf->data);
    free(buf);
}

static void fake_want_tx_done(struct vsock_transport *t)
{
    (void)t;
    fake.want_tx_done++;
    /* what net holds back for the packets: none of them done yet */
    fake.want_tx_undone = 0;
    for (unsigned i = 0; i < fake.nsent; i++)
        fake.want_tx_undone += !fake.sent[i].done;
}

static void free_sent(void)
{
    for (unsigned i = 0; i < fake.nsent; i++)
        free(fake.sent[i].payload);
}

void fake_init(void)
{
    free_sent();
    memset(&fake, 0, sizeof(fake));
    fake.t.guest_cid = FAKE_GUEST_CID;
    fake.t.send = fake_send;
    fake.t.rx_release = fake_rx_release;
    fake.t.want_tx_done = fake_want_tx_done;
    fake.now = 1000000000ull; /* 1 s after boot */
    vsock_net_attach(&fake.t);
}

void fake_inject_raw(const struct vsock_hdr *h, const void *payload, uint32_t payload_len,
                     uint32_t cap)
{
    struct vsock_rx_buf *b = calloc(1, sizeof(*b));
    b->cap = cap;
    b->data = malloc(cap ? cap : 1);
    if (payload_len > cap)
        payload_len = cap;
    if (payload_len)
        memcpy(b->data, payload, payload_len);
    b->hdr = *h;
    b->written = VSOCK_HDR_SIZE + payload_len; /* the fake device wrote this much */
    if (fake.lie_written) {
        fake.lie_written = false;
        b->written = fake.written;
    }
    fake.rx_injected++;
    vsock_net_receive(&fake.t, b);
}

void fake_inject(uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t flags,
                 uint32_t buf_alloc, uint32_t fwd_cnt, const void *payload, uint32_t len)
{
    struct vsock_hdr h = {
        .src_cid = FAKE_PEER_CID,
        .dst_cid = FAKE_GUEST_CID,
        .src_port = src_port,
        .dst_port = dst_port,
        .len = len,
        .type = VSOCK_TYPE_STREAM,
        .op = op,
        .flags = flags,
        .buf_alloc = buf_alloc,
        .fwd_cnt = fwd_cnt,
    };
    fake_inject_raw(&h, payload, len, len > FAKE_RX_CAP ? len : FAKE_RX_CAP);
}

const struct fake_sent *fake_last(void)
{
    return fake.nsent ? &fake.sent[fake.nsent - 1] : NULL;
}

unsigned fake_count_op(unsigned from, uint16_t op)
{
    unsigned n = 0;
    for (unsigned i = from; i < fake.nsent; i++)
        n += fake.sent[i].hdr.op == op;
    return n;
}

/* The device reads a packet it holds: it must be exactly as it was sent
 * (net may not free, reuse or change it before tx_done; ASan reports a
 * freed one). */
static void device_reads(const struct fake_sent *r)
{
    if (memcmp(&r->pkt->hdr, &r->hdr, sizeof(r->hdr)) != 0 ||
        (r->hdr.len && memcmp(r->pkt->data, r->payload, r->hdr.len) != 0))
        abort();
}

void fake_complete_tx(void)
{
    for (unsigned i = 0; i < fake.nsent; i++) {
        if (!fake.sent[i].done) {
            device_reads(&fake.sent[i]);
            fake.sent[i].done = true;
            vsock_net_tx_done(&fake.t, fake.sent[i].pkt);
        }
    }
}

bool fake_teardown(void)
{
    fake.wait_hook = NULL;
    fake.fail_send = false;
    fake.hold_ctrl = false;
    for (int fd = FD_CONSOLES; fd < FD_MAX; fd++)
        (void)fd_close(fd);
    fake.now += 10 * VSOCK_CLOSE_TIMEOUT;
    uint64_t f = net_lock();
    (void)vsock_net_timers(fake.now);
    net_unlock(f);
    fake_complete_tx();
    return vsock_net_stats.socks == 0 && vsock_net_stats.rx_bufs_held == 0 &&
           vsock_net_stats.mem_bytes == 0 && vsock_net_stats.ctrl_in_use == 0 &&
           fake.rx_injected == fake.rx_released && fake.lock_depth == 0;
}

/* ---- socket helpers */

#include <linux/vm_sockets.h>
#include <sys/socket.h>

int fake_listen(uint32_t port, int backlog)
{
    int fd = miura_socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
    if (fd < 0 || miura_bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        miura_listen(fd, backlog) < 0)
        return -1;
    return fd;
}

int fake_accept_new(int lfd, uint32_t port, uint32_t peer_port)
{
    fake_inject(VSOCK_OP_REQUEST, peer_port, port, 0, VSOCK_BUF_DEFAULT, vsock_net_initial_cnt,
                NULL, 0);
    const struct fake_sent *r = fake_last();
    if (!r || r->hdr.op != VSOCK_OP_RESPONSE || r->hdr.dst_port != peer_port)
        return -1;
    struct sockaddr_vm a;
    socklen_t len = sizeof(a);
    int fd = miura_accept(lfd, (struct sockaddr *)&a, &len);
    if (fd < 0 || a.svm_port != peer_port || a.svm_cid != FAKE_PEER_CID)
        return -1;
    return fd;
}

int fake_connect_new(uint32_t peer_port, uint32_t *local_port)
{
    int fd = miura_socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_vm a = {
        .svm_family = AF_VSOCK, .svm_cid = FAKE_PEER_CID, .svm_port = peer_port};
    if (fd < 0 || miura_connect(fd, (struct sockaddr *)&a, sizeof(a)) != -1 || errno != EINPROGRESS)
        return -1;
    const struct fake_sent *r = fake_last();
    if (!r || r->hdr.op != VSOCK_OP_REQUEST)
        return -1;
    *local_port = r->hdr.src_port;
    fake_inject(VSOCK_OP_RESPONSE, peer_port, *local_port, 0, VSOCK_BUF_DEFAULT,
                vsock_net_initial_cnt, NULL, 0);
    if (fake_sock(fd)->state != VSOCK_ESTABLISHED)
        return -1;
    return fd;
}

struct vsock_sock *fake_sock(int fd)
{
    extern struct vsock_sock *vsock_test_fd_sock(int fd);
    return vsock_test_fd_sock(fd);
}
