/* SPDX-License-Identifier: BSD-2-Clause */
/* Data, credit, half-close, teardown, memory and readiness of vsock sockets. */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/time.h>

#include "net/socket.h"
#include "net/vsock.h"
#include "net_fake.h"
#include "test.h"

#define PORT 1234
#define PEER 5000
#define KIB  1024u

static int lfd;

/* An accepted connection from PEER; counters start at `cnt`. */
static int setup(uint32_t cnt)
{
    (void)fake_teardown(); /* whatever a failed test left */
    fake_init();
    vsock_net_initial_cnt = cnt;
    lfd = fake_listen(PORT, 16);
    return fake_accept_new(lfd, PORT, PEER);
}

static void peer_send(const void *p, uint32_t n)
{
    fake_inject(VSOCK_OP_RW, PEER, PORT, 0, VSOCK_BUF_DEFAULT, vsock_net_initial_cnt, p, n);
}

static void peer_op(uint16_t op, uint32_t flags)
{
    fake_inject(op, PEER, PORT, flags, VSOCK_BUF_DEFAULT, vsock_net_initial_cnt, NULL, 0);
}

/* Payload bytes the guest sent since packet `from`, into out. */
static uint32_t sent_bytes(unsigned from, uint8_t *out)
{
    uint32_t n = 0;
    for (unsigned i = from; i < fake.nsent; i++) {
        if (fake.sent[i].hdr.op == VSOCK_OP_RW) {
            if (out)
                memcpy(out + n, fake.sent[i].payload, fake.sent[i].hdr.len);
            n += fake.sent[i].hdr.len;
        }
    }
    return n;
}

/* ---- receive path */

TEST(recv_copies_in_order_and_gives_buffers_back)
{
    int fd = setup(0);
    CHECK(fd >= 0);
    uint64_t copied = vsock_net_stats.rx_copied;
    peer_send("hello ", 6);
    static uint8_t big[3000];
    for (unsigned i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)i;
    peer_send(big, sizeof(big));
    /* The small first payload is copied off its device buffer (a waiting
     * request holds a few hundred bytes, not a page); the big one keeps its
     * buffer and recv copies it once, from there to the caller. */
    CHECK_EQ(vsock_net_stats.rx_bufs_held, 1);
    CHECK_EQ(vsock_net_stats.rx_copied, copied + 1);
    char buf[4000];
    CHECK_EQ(miura_recv(fd, buf, 4, 0), 4);
    CHECK(memcmp(buf, "hell", 4) == 0);
    CHECK_EQ(miura_recv(fd, buf, sizeof(buf), 0), 2 + 3000);
    CHECK(memcmp(buf, "o ", 2) == 0 && memcmp(buf + 2, big, 3000) == 0);
    CHECK_EQ(vsock_net_stats.rx_bufs_held, 0);
    CHECK_EQ(fake_sock(fd)->fwd_cnt, 3006);
    CHECK(fake_teardown());
}

TEST(small_packets_coalesce_into_the_tail_buffer)
{
    int fd = setup(0);
    uint64_t merged = vsock_net_stats.rx_coalesced;
    uint64_t released = fake.rx_released;
    char expect[1000];
    for (int i = 0; i < 100; i++) {
        char p[10];
        memset(p, 'a' + i % 26, sizeof(p));
        memcpy(expect + i * 10, p, 10);
        peer_send(p, 10);
    }
    /* The first is copied off its device buffer into 512 bytes of heap and
     * the next 50 join it; the 52nd keeps its device buffer (the tail is
     * full) and the last 48 join that one. */
    CHECK_EQ(vsock_net_stats.rx_bufs_held, 1);
    CHECK_EQ(vsock_net_stats.rx_coalesced, merged + 98);
    CHECK_EQ(fake.rx_released - released, 99);
    /* A big payload keeps its own buffer. */
    static char big[VSOCK_COALESCE_MAX + 1];
    memset(big, 'Z', sizeof(big));
    peer_send(big, sizeof(big));
    CHECK_EQ(vsock_net_stats.rx_bufs_held, 2);
    char buf[2000];
    CHECK_EQ(miura_recv(fd, buf, sizeof(buf), MSG_WAITALL), 1000 + sizeof(big));
    CHECK(memcmp(buf, expect, 1000) == 0);
    CHECK(memcmp(buf + 1000, big, sizeof(big)) == 0);
    CHECK_EQ(vsock_net_stats.rx_bufs_held, 0);
    CHECK(fake_teardown());
}

TEST(data_before_accept_is_copied_off_the_device_buffer)
{
    (void)setup(0);
    uint64_t copied = vsock_net_stats.rx_copied, merged = vsock_net_stats.rx_coalesced;
    uint64_t held = vsock_net_stats.rx_bufs_held;
    /* A second client's request waits in the accept queue: a few hundred
     * bytes of heap, not a device page, with what follows appended. */
    fake_inject(VSOCK_OP_REQUEST, PEER + 1, PORT, 0, VSOCK_BUF_DEFAULT, 0, NULL, 0);
    fake_inject(VSOCK_OP_RW, PEER + 1, PORT, 0, VSOCK_BUF_DEFAULT, 0, "GET / ", 6);
    fake_inject(VSOCK_OP_RW, PEER + 1, PORT, 0, VSOCK_BUF_DEFAULT, 0, "HTTP/1.1", 8);
    CHECK_EQ(vsock_net_stats.rx_copied, copied + 1);
    CHECK_EQ(vsock_net_stats.rx_coalesced, merged + 1);
    CHECK_EQ(vsock_net_stats.rx_bufs_held, held);
    int fd = miura_accept(lfd, NULL, NULL);
    CHECK(fd >= 0);
    char buf[32];
    CHECK_EQ(miura_recv(fd, buf, sizeof(buf), 0), 14);
    CHECK(memcmp(buf, "GET / HTTP/1.1", 14) == 0);
    CHECK(fake_teardown());
}

TEST(recv_peek_and_dontwait)
{
    int fd = setup(0);
    char buf[8];
    CHECK_EQ(miura_recv(fd, buf, sizeof(buf), MSG_DONTWAIT), -1);
    CHECK_EQ(errno, EAGAIN);
    peer_send("abc", 3);
    CHECK_EQ(miura_recv(fd, buf, 2, MSG_PEEK), 2);
    CHECK(memcmp(buf, "ab", 2) == 0);
    CHECK_EQ(fake_sock(fd)->rx_bytes, 3);
    CHECK_EQ(miura_recv(fd, buf, sizeof(buf), 0), 3);
    CHECK(memcmp(buf, "abc", 3) == 0);
    CHECK(fake_teardown());
}

static void data_hook(struct net_waitq *wq, uint64_t deadline)
{
    (void)wq;
    (void)deadline;
    fake.wait_hook = NULL;
    peer_send("late", 4);
}

TEST(blocking_recv_sleeps_until_a_packet_wakes_it)
{
    int fd = setup(0);
    fake.wait_hook = data_hook;
    char buf[8];
    CHECK_EQ(miura_recv(fd, buf, sizeof(buf), 0), 4);
    CHECK(memcmp(buf, "late", 4) == 0);
    CHECK_EQ(fake.waits, 1);
    CHECK_EQ(fake.stuck, 0);
    CHECK(fake_teardown());
}

TEST(recv_timeout_gives_eagain)
{
    int fd = setup(0);
    struct timeval tv = {.tv_sec = 1, .tv_usec = 500000};
    CHECK_EQ(miura_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    struct timeval got;
    socklen_t len = sizeof(got);
    CHECK_EQ(miura_getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &got, &len), 0);
    CHECK_EQ(got.tv_sec, 1);
    CHECK_EQ(got.tv_usec, 500000);
    uint64_t t0 = fake.now;
    char b;
    CHECK_EQ(miura_recv(fd, &b, 1, 0), -1);
    CHECK_EQ(errno, EAGAIN);
    CHECK_EQ(fake.now - t0, 1500000000ull);
    tv.tv_usec = 1000000;
    CHECK_EQ(miura_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), -1);
    CHECK_EQ(errno, EDOM);
    CHECK(fake_teardown());
}

TEST(fcntl_nonblock)
{
    int fd = setup(0);
    CHECK_EQ(miura_fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    CHECK_EQ(miura_fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    CHECK(miura_fcntl(fd, F_GETFL) & O_NONBLOCK);
    char b;
    CHECK_EQ(miura_recv(fd, &b, 1, 0), -1);
    CHECK_EQ(errno, EAGAIN);
    CHECK_EQ(fake.waits, 0);
    CHECK_EQ(miura_fcntl(FD_CONSOLES + 999, F_GETFL), -1);
    CHECK_EQ(errno, EBADF);
    CHECK(fake_teardown());
}

TEST(ioctl_queue_sizes)
{
    /* Counters near the wrap: the sizes are differences of wrapping counts. */
    int fd = setup(0xffffffc0u);
    int q = -1;
    CHECK_EQ(miura_ioctl(fd, TIOCOUTQ, &q), 0);
    CHECK_EQ(q, 0);
    static const char msg[100] = "response";
    CHECK_EQ(miura_send(fd, msg, sizeof(msg), 0), 100);
    CHECK_EQ(miura_ioctl(fd, TIOCOUTQ, &q), 0);
    CHECK_EQ(q, 100); /* sent, the peer has consumed none */
    fake_inject(VSOCK_OP_CREDIT_UPDATE, PEER, PORT, 0, VSOCK_BUF_DEFAULT,
                vsock_net_initial_cnt + 60, NULL, 0);
    CHECK_EQ(miura_ioctl(fd, TIOCOUTQ, &q), 0);
    CHECK_EQ(q, 40); /* the peer's header said 60 consumed */
    CHECK_EQ(miura_ioctl(fd, FIONREAD, &q), 0);
    CHECK_EQ(q, 0);
    peer_send("GET /", 5);
    CHECK_EQ(miura_ioctl(fd, FIONREAD, &q), 0);
    CHECK_EQ(q, 5);
    CHECK_EQ(miura_ioctl(fd, 0x5401 /* TCGETS */, &q), -1);
    CHECK_EQ(errno, ENOTTY);
    CHECK_EQ(miura_ioctl(fd, FIONREAD, NULL), -1);
    CHECK_EQ(errno, EFAULT);
    CHECK_EQ(miura_ioctl(FD_CONSOLES + 999, FIONREAD, &q), -1);
    CHECK_EQ(errno, EBADF);
    CHECK(fake_teardown());
}

/* ---- credit */

TEST(credit_update_only_when_the_window_runs_low)
{
    int fd = setup(0);
    static uint8_t chunk[4 * KIB];
    uint8_t buf[64 * KIB];
    unsigned before = fake.nsent;
    peer_send(chunk, sizeof(chunk));
    CHECK_EQ(miura_recv(fd, buf, sizeof(buf), 0), 4 * KIB);
    CHECK_EQ(fake_count_op(before, VSOCK_OP_CREDIT_UPDATE), 0); /* 60 KiB still open */
    for (int i = 0; i < 13; i++)
        peer_send(chunk, sizeof(chunk)); /* the peer has used 56 of 64 KiB */
    CHECK_EQ(miura_recv(fd, buf, 4 * KIB, 0), 4 * KIB);
    CHECK_EQ(fake_count_op(before, VSOCK_OP_CREDIT_UPDATE), 0); /* only 8 KiB freed */
    CHECK_EQ(miura_recv(fd, buf, 8 * KIB, 0), 8 * KIB);
    CHECK_EQ(fake_count_op(before, VSOCK_OP_CREDIT_UPDATE), 1); /* a quarter freed */
    const struct fake_sent *u = fake_last();
    CHECK_EQ(u->hdr.op, VSOCK_OP_CREDIT_UPDATE);
    CHECK_EQ(u->hdr.fwd_cnt, 16 * KIB);
    CHECK_EQ(u->hdr.buf_alloc, 64 * KIB);
    CHECK_EQ(u->hdr.dst_port, PEER);
    CHECK_EQ(miura_recv(fd, buf, sizeof(buf), 0), 40 * KIB);
    CHECK_EQ(fake_count_op(before, VSOCK_OP_CREDIT_UPDATE), 1); /* window is wide again */
    /* The peer asks: it is told. */
    peer_op(VSOCK_OP_CREDIT_REQUEST, 0);
    CHECK_EQ(fake_last()->hdr.op, VSOCK_OP_CREDIT_UPDATE);
    CHECK_EQ(fake_last()->hdr.fwd_cnt, 56 * KIB);
    CHECK(fake_teardown());
}

TEST(a_drained_queue_always_reports_credit_to_a_blocked_peer)
{
    int fd = setup(0);
    static uint8_t chunk[4 * KIB];
    uint8_t buf[64 * KIB];
    unsigned before = fake.nsent;
    for (int i = 0; i < 15; i++)
        peer_send(chunk, sizeof(chunk)); /* 60 KiB: 4 KiB left */
    CHECK_EQ(miura_recv(fd, buf, 2 * KIB, 0), 2 * KIB);
    CHECK_EQ(fake_count_op(before, VSOCK_OP_CREDIT_UPDATE), 0);
    /* Reading everything tells the peer even though less than a quarter... */
    peer_send(chunk, 1 * KIB);
    CHECK_EQ(miura_recv(fd, buf, sizeof(buf), 0), 59 * KIB);
    CHECK_EQ(fake_count_op(before, VSOCK_OP_CREDIT_UPDATE), 1);
    CHECK_EQ(fake_last()->hdr.fwd_cnt, 61 * KIB);
    CHECK(fake_teardown());
}

TEST(peer_beyond_our_window_is_dropped_and_counted)
{
    (void)fake_teardown();
    fake_init();
    vsock_net_initial_cnt = 0;
    lfd = fake_listen(PORT, 4);
    int small = 4096;
    CHECK_EQ(miura_setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    int fd = fake_accept_new(lfd, PORT, PEER);
    CHECK(fd >= 0);
    CHECK_EQ(fake.sent[0].hdr.buf_alloc, 4096);
    uint64_t bad = vsock_net_stats.rx_bad_credit;
    static uint8_t chunk[4096];
    peer_send(chunk, 4000);
    peer_send(chunk, 96);
    peer_send("!", 1);
    CHECK_EQ(vsock_net_stats.rx_bad_credit, bad + 1);
    CHECK_EQ(fake_sock(fd)->rx_bytes, 4096);
    CHECK(fake_teardown());
}

TEST(send_respects_peer_credit_and_asks_for_more)
{
    int fd = setup(0);
    /* The peer announces a 100-byte window. */
    fake_inject(VSOCK_OP_CREDIT_UPDATE, PEER, PORT, 0, 100, 0, NULL, 0);
    uint8_t msg[250];
    for (unsigned i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 7);
    unsigned before = fake.nsent;
    CHECK_EQ(miura_send(fd, msg, sizeof(msg), MSG_DONTWAIT), 100);
    CHECK_EQ(miura_send(fd, msg + 100, 150, MSG_DONTWAIT), -1);
    CHECK_EQ(errno, EAGAIN);
    CHECK_EQ(fake_count_op(before, VSOCK_OP_CREDIT_REQUEST), 1);
    CHECK_EQ(miura_send(fd, msg + 100, 150, MSG_DONTWAIT), -1);
    CHECK_EQ(fake_count_op(before, VSOCK_OP_CREDIT_REQUEST), 1); /* asked once */
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    CHECK_EQ(miura_poll(&p, 1, 0), 0);
    /* It consumed 60 bytes. */
    fake_inject(VSOCK_OP_CREDIT_UPDATE, PEER, PORT, 0, 100, 60, NULL, 0);
    CHECK_EQ(miura_poll(&p, 1, 0), 1);
    CHECK_EQ(miura_send(fd, msg + 100, 150, MSG_DONTWAIT), 60);
    uint8_t out[250];
    CHECK_EQ(sent_bytes(before, out), 160);
    CHECK(memcmp(out, msg, 160) == 0);
    CHECK_EQ(fake_sock(fd)->tx_cnt, 160);
    CHECK(fake_teardown());
}

/* spec/vsock.pml (-DPROGRESS): an update that grants nothing used to let a
 * blocked sender ask again at once, and the ends ping-ponged. */
TEST(credit_update_without_credit_does_not_renew_the_request)
{
    int fd = setup(0);
    fake_inject(VSOCK_OP_CREDIT_UPDATE, PEER, PORT, 0, 100, 0, NULL, 0);
    uint8_t msg[150] = {0};
    unsigned before = fake.nsent;
    CHECK_EQ(miura_send(fd, msg, sizeof(msg), MSG_DONTWAIT), 100);
    CHECK_EQ(miura_send(fd, msg, 50, MSG_DONTWAIT), -1);
    CHECK_EQ(fake_count_op(before, VSOCK_OP_CREDIT_REQUEST), 1);
    /* The peer answers, but its reader has not consumed anything. */
    fake_inject(VSOCK_OP_CREDIT_UPDATE, PEER, PORT, 0, 100, 0, NULL, 0);
    CHECK_EQ(miura_send(fd, msg, 50, MSG_DONTWAIT), -1);
    CHECK_EQ(errno, EAGAIN);
    CHECK_EQ(fake_count_op(before, VSOCK_OP_CREDIT_REQUEST), 1);
    CHECK(fake_sock(fd)->credit_requested);
    /* Credit that does come ends the request. */
    fake_inject(VSOCK_OP_CREDIT_UPDATE, PEER, PORT, 0, 100, 50, NULL, 0);
    CHECK(!fake_sock(fd)->credit_requested);
    CHECK_EQ(miura_send(fd, msg, 50, MSG_DONTWAIT), 50);
    CHECK(fake_teardown());
}

static void credit_hook(struct net_waitq *wq, uint64_t deadline)
{
    (void)wq;
    (void)deadline;
    struct vsock_sock *s = fake_sock(FD_CONSOLES + 1);
    fake_complete_tx();
    fake_inject(VSOCK_OP_CREDIT_UPDATE, PEER, PORT, 0, 100, s->tx_cnt, NULL, 0);
}

TEST(blocking_send_waits_for_credit)
{
    int fd = setup(0);
    CHECK_EQ(fd, FD_CONSOLES + 1);
    fake_inject(VSOCK_OP_CREDIT_UPDATE, PEER, PORT, 0, 100, 0, NULL, 0);
    static uint8_t msg[1000];
    for (unsigned i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i ^ 0x5a);
    unsigned before = fake.nsent;
    fake.wait_hook = credit_hook;
    CHECK_EQ(miura_send(fd, msg, sizeof(msg), 0), 1000);
    CHECK_EQ(fake.waits, 9);
    CHECK_EQ(fake.stuck, 0);
    CHECK_EQ(fake.want_tx_done, 0); /* credit, not its packets: nothing asked */
    static uint8_t out[1000];
    CHECK_EQ(sent_bytes(before, out), 1000);
    CHECK(memcmp(out, msg, 1000) == 0);
    CHECK(fake_teardown());
}

TEST(send_timeout_gives_eagain_or_the_partial_count)
{
    int fd = setup(0);
    fake_inject(VSOCK_OP_CREDIT_UPDATE, PEER, PORT, 0, 100, 0, NULL, 0);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 1000};
    CHECK_EQ(miura_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
    static uint8_t msg[300];
    CHECK_EQ(miura_send(fd, msg, sizeof(msg), 0), 100);
    CHECK_EQ(miura_send(fd, msg, sizeof(msg), 0), -1);
    CHECK_EQ(errno, EAGAIN);
    CHECK(fake_teardown());
}

/* The first wait: 0.9 s pass, then the peer reads all and gives 100 more; later: nothing. */
static unsigned late_waits;
static void late_credit_hook(struct net_waitq *wq, uint64_t deadline)
{
    (void)wq, (void)deadline;
    if (late_waits++ == 0) {
        fake.now += 900000000ull;
        credit_hook(wq, deadline);
    }
}

TEST(send_timeout_counts_from_the_last_progress)
{
    /* 100 bytes at once, 100 more after 0.9 s, then no credit: the send
     * gives up 1 s after that progress (1.9 s), with the partial count. */
    int fd = setup(0);
    fake_inject(VSOCK_OP_CREDIT_UPDATE, PEER, PORT, 0, 100, 0, NULL, 0);
    struct timeval tv = {.tv_sec = 1, .tv_usec = 0};
    CHECK_EQ(miura_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
    static uint8_t msg[300];
    late_waits = 0;
    fake.now = 0;
    fake.wait_hook = late_credit_hook;
    CHECK_EQ(miura_send(fd, msg, sizeof(msg), 0), 200);
    fake.wait_hook = NULL;
    CHECK_EQ(late_waits, 2);
    CHECK_EQ(fake.now, 1900000000ull);
    CHECK(fake_teardown());
}

TEST(credit_survives_u32_wraparound)
{
    uint32_t start = 0xffffff00u;
    int fd = setup(start);
    CHECK(fd >= 0);
    /* Send side: a 512-byte window across the wrap. */
    fake_inject(VSOCK_OP_CREDIT_UPDATE, PEER, PORT, 0, 512, start, NULL, 0);
    static uint8_t msg[2048];
    CHECK_EQ(miura_send(fd, msg, 400, MSG_DONTWAIT), 400);
    CHECK_EQ(fake_sock(fd)->tx_cnt, start + 400); /* wrapped */
    CHECK(fake_sock(fd)->tx_cnt < 0x100);
    CHECK_EQ(miura_send(fd, msg, 400, MSG_DONTWAIT), 112);
    CHECK_EQ(miura_send(fd, msg, 1, MSG_DONTWAIT), -1);
    CHECK_EQ(errno, EAGAIN);
    /* The peer consumed everything: its fwd_cnt wrapped too. */
    fake_inject(VSOCK_OP_CREDIT_UPDATE, PEER, PORT, 0, 512, start + 512, NULL, 0);
    CHECK_EQ(miura_send(fd, msg, 2048, MSG_DONTWAIT), 512);
    /* A peer claiming more consumed than we sent gives no credit. */
    fake_inject(VSOCK_OP_CREDIT_UPDATE, PEER, PORT, 0, 512, start + 5000, NULL, 0);
    CHECK_EQ(miura_send(fd, msg, 1, MSG_DONTWAIT), -1);
    CHECK_EQ(errno, EAGAIN);

    /* Receive side: 60 KiB across the wrap; fwd_cnt reported modulo 2^32. */
    uint64_t bad = vsock_net_stats.rx_bad_credit;
    static uint8_t chunk[4 * KIB];
    unsigned before = fake.nsent;
    for (int i = 0; i < 15; i++)
        peer_send(chunk, sizeof(chunk));
    CHECK_EQ(fake_sock(fd)->rx_cnt, start + 60 * KIB);
    static uint8_t buf[64 * KIB];
    CHECK_EQ(miura_recv(fd, buf, sizeof(buf), 0), 60 * KIB);
    CHECK_EQ(fake_count_op(before, VSOCK_OP_CREDIT_UPDATE), 1);
    CHECK_EQ(fake_last()->hdr.fwd_cnt, (uint32_t)(start + 60 * KIB));
    /* and the window is whole again: 64 KiB more fit */
    for (int i = 0; i < 16; i++)
        peer_send(chunk, sizeof(chunk));
    CHECK_EQ(fake_sock(fd)->rx_bytes, 64 * KIB);
    CHECK_EQ(vsock_net_stats.rx_bad_credit, bad);
    CHECK(fake_teardown());
}

TEST(sndbuf_bounds_bytes_the_device_holds)
{
    int fd = setup(0);
    int v = 4096;
    CHECK_EQ(miura_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)), 0);
    socklen_t len = sizeof(v);
    v = 1; /* below the minimum: clamped */
    CHECK_EQ(miura_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)), 0);
    CHECK_EQ(miura_getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &len), 0);
    CHECK_EQ(v, VSOCK_BUF_MIN);
    static uint8_t msg[10000];
    uint64_t mem = vsock_net_stats.mem_bytes;
    CHECK_EQ(miura_send(fd, msg, sizeof(msg), MSG_DONTWAIT), 4096);
    CHECK(vsock_net_stats.mem_bytes >= mem + 4096); /* held for the device */
    CHECK_EQ(miura_send(fd, msg, sizeof(msg), MSG_DONTWAIT), -1);
    CHECK_EQ(errno, EAGAIN);
    fake_complete_tx(); /* the device read it: memory back, room again */
    CHECK_EQ(vsock_net_stats.mem_bytes, mem);
    CHECK_EQ(miura_send(fd, msg, sizeof(msg), MSG_DONTWAIT), 4096);
    CHECK(fake_teardown());
}

/* Completes tx only if net asked for it (want_tx_done) with packets in
 * flight; else leaves the sender stuck, which the test sees. */
static unsigned asked_hooks;
static void asked_then_done_hook(struct net_waitq *wq, uint64_t deadline)
{
    (void)wq;
    (void)deadline;
    if (fake.want_tx_done != asked_hooks + 1 || fake.want_tx_undone == 0)
        return;
    asked_hooks++;
    fake_complete_tx();
}

TEST(send_blocked_on_sndbuf_asks_for_its_packets_back)
{
    int fd = setup(0);
    int v = 4096;
    CHECK_EQ(miura_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)), 0);
    static uint8_t msg[10000];
    for (unsigned i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 7);
    unsigned before = fake.nsent;
    asked_hooks = 0;
    fake.wait_hook = asked_then_done_hook;
    CHECK_EQ(miura_send(fd, msg, sizeof(msg), 0), 10000);
    fake.wait_hook = NULL;
    CHECK_EQ(fake.waits, 2);
    CHECK_EQ(asked_hooks, 2);
    CHECK_EQ(fake.stuck, 0);
    static uint8_t out[10000];
    CHECK_EQ(sent_bytes(before, out), 10000);
    CHECK(memcmp(out, msg, sizeof(msg)) == 0);
    /* a poller for POLLOUT on a full SO_SNDBUF asks too; a writable one not */
    fake_complete_tx();
    CHECK_EQ(miura_send(fd, msg, sizeof(msg), MSG_DONTWAIT), 4096);
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    CHECK_EQ(miura_poll(&p, 1, 0), 0);
    CHECK_EQ(fake.want_tx_done, 3);
    CHECK_EQ(fake.want_tx_undone, 1);
    fake_complete_tx();
    CHECK_EQ(miura_poll(&p, 1, 0), 1);
    CHECK_EQ(fake.want_tx_done, 3);
    CHECK(fake_teardown());
}

TEST(payload_stays_until_tx_done_even_after_close)
{
    int fd = setup(0);
    unsigned before = fake.nsent;
    CHECK_EQ(miura_send(fd, "data", 4, 0), 4);
    const struct fake_sent *pkt = &fake.sent[before];
    CHECK_EQ(pkt->hdr.op, VSOCK_OP_RW);
    CHECK(pkt->pkt != NULL);
    CHECK_EQ(fd_close(fd), 0);
    peer_op(VSOCK_OP_RST, 0);           /* connection over, but the device still reads */
    CHECK_EQ(vsock_net_stats.socks, 2); /* listener + the closed connection */
    fake_complete_tx();
    CHECK_EQ(vsock_net_stats.socks, 1);
    CHECK(fake_teardown());
}

TEST(device_error_on_send)
{
    int fd = setup(0);
    fake.fail_send = true;
    CHECK_EQ(miura_send(fd, "x", 1, 0), -1);
    CHECK_EQ(errno, EIO);
    fake.fail_send = false;
    CHECK_EQ(fake_sock(fd)->tx_inflight, 0);
    CHECK(fake_teardown());
}

/* ---- half-close, RST, close */

TEST(peer_half_close_still_gets_the_whole_response)
{
    int fd = setup(0);
    peer_send("request", 7);
    peer_op(VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_SEND);
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP};
    CHECK_EQ(miura_poll(&p, 1, 0), 1);
    CHECK_EQ(p.revents, POLLIN | POLLOUT | POLLRDHUP);
    char buf[16];
    CHECK_EQ(miura_recv(fd, buf, sizeof(buf), 0), 7);
    CHECK_EQ(miura_recv(fd, buf, sizeof(buf), 0), 0);
    unsigned before = fake.nsent;
    static uint8_t resp[20000];
    for (unsigned i = 0; i < sizeof(resp); i++)
        resp[i] = (uint8_t)(i * 13);
    CHECK_EQ(miura_send(fd, resp, sizeof(resp), 0), (long)sizeof(resp));
    static uint8_t out[20000];
    CHECK_EQ(sent_bytes(before, out), sizeof(resp));
    CHECK(memcmp(out, resp, sizeof(resp)) == 0);
    /* then the guest closes: SHUTDOWN both, the peer answers RST */
    CHECK_EQ(fd_close(fd), 0);
    CHECK_EQ(fake_last()->hdr.op, VSOCK_OP_SHUTDOWN);
    CHECK_EQ(fake_last()->hdr.flags, VSOCK_SHUTDOWN_BOTH);
    fake_complete_tx();
    CHECK_EQ(vsock_net_stats.socks, 2);
    peer_op(VSOCK_OP_RST, 0);
    CHECK_EQ(vsock_net_stats.socks, 1);
    CHECK(fake_teardown());
}

TEST(local_half_close_still_reads_the_whole_response)
{
    int fd = setup(0);
    CHECK_EQ(miura_send(fd, "GET", 3, 0), 3);
    CHECK_EQ(miura_shutdown(fd, SHUT_WR), 0);
    CHECK_EQ(fake_last()->hdr.op, VSOCK_OP_SHUTDOWN);
    CHECK_EQ(fake_last()->hdr.flags, VSOCK_SHUTDOWN_SEND);
    CHECK_EQ(miura_send(fd, "x", 1, 0), -1);
    CHECK_EQ(errno, EPIPE);
    static uint8_t chunk[3000];
    memset(chunk, 'r', sizeof(chunk));
    for (int i = 0; i < 5; i++)
        peer_send(chunk, sizeof(chunk));
    peer_op(VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_BOTH);
    CHECK_EQ(fake_sock(fd)->state, VSOCK_ESTABLISHED); /* unread data keeps it */
    static uint8_t buf[20000];
    CHECK_EQ(miura_recv(fd, buf, sizeof(buf), MSG_WAITALL), 15000);
    CHECK_EQ(buf[14999], 'r');
    CHECK_EQ(miura_recv(fd, buf, sizeof(buf), 0), 0);
    unsigned before = fake.nsent;
    CHECK_EQ(fd_close(fd), 0); /* the peer is gone both ways: RST, freed */
    CHECK_EQ(fake_count_op(before, VSOCK_OP_RST), 1);
    fake_complete_tx();
    CHECK_EQ(vsock_net_stats.socks, 1);
    CHECK(fake_teardown());
}

TEST(shut_rd_ends_reads_and_tells_the_peer)
{
    int fd = setup(0);
    CHECK_EQ(miura_shutdown(fd, SHUT_RD), 0);
    CHECK_EQ(fake_last()->hdr.flags, VSOCK_SHUTDOWN_RCV);
    char b;
    CHECK_EQ(miura_recv(fd, &b, 1, 0), 0);
    CHECK_EQ(fake.waits, 0);
    CHECK_EQ(miura_send(fd, "ok", 2, 0), 2);
    CHECK_EQ(miura_shutdown(fd, 7), -1);
    CHECK_EQ(errno, EINVAL);
    unsigned before = fake.nsent;
    CHECK_EQ(miura_shutdown(fd, SHUT_RDWR), 0);
    CHECK_EQ(fake_last()->hdr.flags, VSOCK_SHUTDOWN_SEND); /* only what is new */
    CHECK_EQ(miura_shutdown(fd, SHUT_RDWR), 0);
    CHECK_EQ(fake.nsent, before + 1);
    CHECK(fake_teardown());
}

TEST(peer_shutdown_rcv_gives_epipe)
{
    int fd = setup(0);
    peer_op(VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_RCV);
    CHECK_EQ(miura_send(fd, "x", 1, 0), -1);
    CHECK_EQ(errno, EPIPE);
    CHECK_EQ(miura_write(fd, "x", 1), -1);
    CHECK_EQ(errno, EPIPE);
    CHECK(fake_teardown());
}

TEST(peer_full_shutdown_with_nothing_unread_is_answered_with_rst)
{
    int fd = setup(0);
    unsigned before = fake.nsent;
    peer_op(VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_BOTH);
    CHECK_EQ(fake_count_op(before, VSOCK_OP_RST), 1);
    CHECK_EQ(fake_sock(fd)->state, VSOCK_CLOSED);
    char b;
    CHECK_EQ(miura_recv(fd, &b, 1, 0), 0);
    CHECK_EQ(miura_send(fd, "x", 1, 0), -1);
    CHECK_EQ(errno, EPIPE);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    CHECK_EQ(miura_poll(&p, 1, 0), 1);
    CHECK_EQ(p.revents, POLLIN | POLLHUP);
    CHECK(fake_teardown());
}

TEST(rst_keeps_unread_data_then_reports_econnreset)
{
    int fd = setup(0);
    peer_send("tail", 4);
    peer_op(VSOCK_OP_RST, 0);
    CHECK_EQ(fake_sock(fd)->state, VSOCK_CLOSED);
    char buf[8];
    CHECK_EQ(miura_recv(fd, buf, sizeof(buf), 0), 4);
    CHECK_EQ(miura_recv(fd, buf, sizeof(buf), 0), -1);
    CHECK_EQ(errno, ECONNRESET);
    CHECK_EQ(miura_recv(fd, buf, sizeof(buf), 0), 0); /* reported once, as Linux */
    CHECK_EQ(miura_send(fd, "x", 1, 0), -1);
    CHECK_EQ(errno, EPIPE);
    /* After RST the connection is gone: its packets go nowhere. */
    peer_send("x", 1);
    CHECK_EQ(fake_last()->hdr.op, VSOCK_OP_RST);
    CHECK(fake_teardown());
}

TEST(rst_after_peer_shutdown_is_an_orderly_end)
{
    int fd = setup(0);
    peer_op(VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_SEND);
    peer_op(VSOCK_OP_RST, 0);
    char b;
    CHECK_EQ(miura_recv(fd, &b, 1, 0), 0);
    CHECK(fake_teardown());
}

TEST(close_waits_for_rst_then_times_out)
{
    int fd = setup(0);
    peer_send("unread", 6);
    CHECK_EQ(fd_close(fd), 0);
    CHECK_EQ(vsock_net_stats.rx_bufs_held, 0); /* nobody will read it */
    CHECK_EQ(fake_last()->hdr.op, VSOCK_OP_SHUTDOWN);
    CHECK_EQ(vsock_net_stats.socks, 2);
    uint64_t closed_at = fake.now;
    uint64_t timeouts = vsock_net_stats.close_timeouts;
    /* Data arriving now is dropped at once. */
    peer_send("more", 4);
    CHECK_EQ(vsock_net_stats.rx_bufs_held, 0);
    uint64_t f = net_lock();
    uint64_t next = vsock_net_timers(closed_at + VSOCK_CLOSE_TIMEOUT - 1);
    net_unlock(f);
    CHECK_EQ(next, closed_at + VSOCK_CLOSE_TIMEOUT);
    CHECK_EQ(vsock_net_stats.socks, 2);
    unsigned before = fake.nsent;
    f = net_lock();
    next = vsock_net_timers(closed_at + VSOCK_CLOSE_TIMEOUT);
    net_unlock(f);
    CHECK_EQ(next, 0);
    CHECK_EQ(vsock_net_stats.socks, 1);
    CHECK_EQ(vsock_net_stats.close_timeouts, timeouts + 1);
    CHECK_EQ(fake_count_op(before, VSOCK_OP_RST), 1);
    CHECK_EQ(fake_last()->hdr.dst_port, PEER);
    CHECK(fake_teardown());
}

TEST(close_after_full_shutdown_sends_no_second_shutdown)
{
    int fd = setup(0);
    CHECK_EQ(miura_shutdown(fd, SHUT_RDWR), 0);
    CHECK_EQ(fake_last()->hdr.op, VSOCK_OP_SHUTDOWN);
    CHECK_EQ(fake_last()->hdr.flags, VSOCK_SHUTDOWN_BOTH);
    unsigned before = fake.nsent;
    CHECK_EQ(fd_close(fd), 0);
    CHECK_EQ(fake.nsent, before);
    CHECK_EQ(vsock_net_stats.socks, 2); /* still waits for the peer's RST */
    peer_op(VSOCK_OP_RST, 0);
    CHECK_EQ(vsock_net_stats.socks, 1);
    CHECK(fake_teardown());
}

TEST(packets_from_a_transport_not_attached_go_back)
{
    (void)setup(0);
    struct vsock_transport other = fake.t;
    struct vsock_rx_buf *b = calloc(1, sizeof(*b));
    b->data = malloc(16);
    b->cap = 16;
    b->hdr = (struct vsock_hdr){.src_cid = FAKE_PEER_CID,
                                .dst_cid = FAKE_GUEST_CID,
                                .src_port = 9,
                                .dst_port = PORT,
                                .type = VSOCK_TYPE_STREAM,
                                .op = VSOCK_OP_REQUEST};
    uint64_t released = fake.rx_released;
    unsigned before = fake.nsent;
    fake.rx_injected++;
    vsock_net_receive(&other, b);
    CHECK_EQ(fake.rx_released, released + 1);
    CHECK_EQ(fake.nsent, before);
    CHECK_EQ(fake_sock(lfd)->pending, 0);
    CHECK(fake_teardown());
}

TEST(closing_ends_on_peer_full_shutdown)
{
    int fd = setup(0);
    CHECK_EQ(fd_close(fd), 0);
    unsigned before = fake.nsent;
    peer_op(VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_SEND);
    CHECK_EQ(vsock_net_stats.socks, 2);
    peer_op(VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_RCV);
    CHECK_EQ(vsock_net_stats.socks, 1);
    CHECK_EQ(fake_count_op(before, VSOCK_OP_RST), 1);
    CHECK(fake_teardown());
}

TEST(transport_reset_fails_every_connection)
{
    int a = setup(0);
    int b = fake_accept_new(lfd, PORT, PEER + 1);
    uint32_t cport;
    int c = fake_connect_new(80, &cport);
    int d = miura_socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = FAKE_PEER_CID, .svm_port = 81};
    CHECK(a >= 0 && b >= 0 && c >= 0);
    CHECK_EQ(miura_connect(d, (struct sockaddr *)&sa, sizeof(sa)), -1);
    int e = fake_accept_new(lfd, PORT, PEER + 2);
    CHECK_EQ(fd_close(e), 0); /* a closing one */
    fake_inject(VSOCK_OP_REQUEST, PEER + 3, PORT, 0, VSOCK_BUF_DEFAULT, 0, NULL, 0); /* pending */
    static char lost[VSOCK_COPY_MAX + 1]; /* big enough to keep its device buffer */
    memset(lost, 'l', sizeof(lost));
    peer_send(lost, sizeof(lost));
    CHECK_EQ(vsock_net_stats.rx_bufs_held, 1);
    vsock_net_transport_reset(&fake.t, 33);
    CHECK_EQ(fake.t.guest_cid, 33);
    CHECK_EQ(vsock_net_stats.rx_bufs_held, 0);
    char buf[8];
    int fds[] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(miura_recv(fds[i], buf, sizeof(buf), 0), -1);
        CHECK_EQ(errno, ECONNRESET);
    }
    CHECK_EQ(miura_send(b, "x", 1, 0), -1);
    CHECK_EQ(errno, EPIPE);
    int err = 0;
    socklen_t len = sizeof(err);
    CHECK_EQ(miura_getsockopt(d, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    CHECK_EQ(err, ECONNRESET);
    int pend = miura_accept(lfd, NULL, NULL);
    CHECK(pend >= 0);
    CHECK_EQ(miura_recv(pend, buf, sizeof(buf), 0), -1);
    CHECK_EQ(errno, ECONNRESET);
    /* The listener still listens, at the new CID. */
    struct vsock_hdr h = {.src_cid = FAKE_PEER_CID,
                          .dst_cid = 33,
                          .src_port = 9000,
                          .dst_port = PORT,
                          .type = VSOCK_TYPE_STREAM,
                          .op = VSOCK_OP_REQUEST,
                          .buf_alloc = VSOCK_BUF_DEFAULT};
    fake_inject_raw(&h, NULL, 0, 16);
    CHECK_EQ(fake_last()->hdr.op, VSOCK_OP_RESPONSE);
    CHECK_EQ(fake_last()->hdr.src_cid, 33);
    CHECK(fake_teardown());
}

/* ---- accept, poll */

static void request_hook(struct net_waitq *wq, uint64_t deadline)
{
    (void)wq;
    (void)deadline;
    fake.wait_hook = NULL;
    fake_inject(VSOCK_OP_REQUEST, 6000, PORT, 0, VSOCK_BUF_DEFAULT, 0, NULL, 0);
}

TEST(accept_blocks_until_a_request_or_eagain)
{
    (void)fake_teardown();
    fake_init();
    vsock_net_initial_cnt = 0;
    lfd = fake_listen(PORT, 4);
    CHECK_EQ(miura_fcntl(lfd, F_SETFL, O_NONBLOCK), 0);
    CHECK_EQ(miura_accept(lfd, NULL, NULL), -1);
    CHECK_EQ(errno, EAGAIN);
    CHECK_EQ(miura_fcntl(lfd, F_SETFL, 0), 0);
    fake.wait_hook = request_hook;
    struct sockaddr_vm sa;
    socklen_t len = sizeof(sa);
    int fd = miura_accept4(lfd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK);
    CHECK(fd >= 0);
    CHECK_EQ(sa.svm_port, 6000);
    CHECK_EQ(fake.waits, 1);
    char b;
    CHECK_EQ(miura_recv(fd, &b, 1, 0), -1); /* accept4 made it non-blocking */
    CHECK_EQ(errno, EAGAIN);
    CHECK(fake_teardown());
}

static struct net_waitq *poll_expect; /* the queue poll must sleep on */
static void poll_hook(struct net_waitq *wq, uint64_t deadline)
{
    (void)deadline;
    if (wq != poll_expect)
        abort();
    fake.wait_hook = NULL;
    peer_send("wake", 4);
}

TEST(poll_reports_readiness_of_sockets_and_files)
{
    int fd = setup(0);
    struct pollfd p[5] = {
        {.fd = lfd, .events = POLLIN}, {.fd = fd, .events = POLLIN}, {.fd = 1, .events = POLLOUT},
        {.fd = 7, .events = POLLIN},   {.fd = -1, .events = POLLIN},
    };
    CHECK_EQ(miura_poll(p, 5, 0), 2);
    CHECK_EQ(p[0].revents, 0);
    CHECK_EQ(p[1].revents, 0);
    CHECK_EQ(p[2].revents, POLLOUT);
    CHECK_EQ(p[3].revents, POLLNVAL);
    CHECK_EQ(p[4].revents, 0);
    /* a REQUEST makes the listener readable */
    fake_inject(VSOCK_OP_REQUEST, 6001, PORT, 0, VSOCK_BUF_DEFAULT, 0, NULL, 0);
    CHECK_EQ(miura_poll(p, 2, 0), 1);
    CHECK_EQ(p[0].revents, POLLIN);
    /* poll sleeps until a packet makes a socket ready */
    fake.wait_hook = poll_hook;
    poll_expect = &fake_sock(fd)->wq; /* the socket's own queue */
    struct pollfd q = {.fd = fd, .events = POLLIN};
    CHECK_EQ(miura_poll(&q, 1, -1), 1);
    CHECK_EQ(q.revents, POLLIN);
    CHECK_EQ(fake.stuck, 0);
    /* and times out */
    char buf[8];
    CHECK_EQ(miura_recv(fd, buf, sizeof(buf), 0), 4);
    uint64_t t0 = fake.now;
    CHECK_EQ(miura_poll(&q, 1, 25), 0);
    CHECK_EQ(fake.now - t0, 25000000ull);
    struct pollfd w[2] = {{.fd = fd, .events = POLLOUT},
                          {.fd = FD_CONSOLES + 3000, .events = POLLIN}};
    CHECK_EQ(miura_poll(w, 2, 0), 2);
    CHECK_EQ(w[0].revents, POLLOUT);
    CHECK_EQ(w[1].revents, POLLNVAL);
    CHECK(fake_teardown());
}

TEST(fd_interface_and_errors)
{
    int fd = setup(0);
    struct stat st;
    CHECK_EQ(miura_fstat(fd, &st), 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK_EQ(miura_fstat(FD_CONSOLES + 100, &st), -1);
    CHECK_EQ(errno, EBADF);
    peer_send("abc", 3);
    char buf[8];
    CHECK_EQ(miura_read(fd, buf, sizeof(buf)), 3);
    CHECK_EQ(miura_write(fd, "xyz", 3), 3);
    CHECK_EQ(miura_read(FD_CONSOLES + 100, buf, 1), -1);
    CHECK_EQ(errno, EBADF);
    CHECK_EQ(miura_recv(1, buf, 1, 0), -1); /* the console */
    CHECK_EQ(errno, ENOTSOCK);
    CHECK_EQ(miura_recv(77, buf, 1, 0), -1);
    CHECK_EQ(errno, EBADF);
    CHECK_EQ(miura_listen(fd, 1), -1); /* connected */
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(miura_recv(lfd, buf, 1, 0), -1);
    CHECK_EQ(errno, ENOTCONN);
    int u = miura_socket(AF_VSOCK, SOCK_STREAM, 0);
    CHECK_EQ(miura_listen(u, 1), -1); /* not bound */
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(miura_accept(u, NULL, NULL), -1);
    CHECK_EQ(errno, EINVAL);
    struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = PORT};
    CHECK_EQ(miura_bind(u, (struct sockaddr *)&sa, sizeof(sa)), -1);
    CHECK_EQ(errno, EADDRINUSE);
    sa.svm_cid = 99;
    sa.svm_port = 77;
    CHECK_EQ(miura_bind(u, (struct sockaddr *)&sa, sizeof(sa)), -1);
    CHECK_EQ(errno, EADDRNOTAVAIL);
    sa.svm_cid = FAKE_GUEST_CID;
    CHECK_EQ(miura_bind(u, (struct sockaddr *)&sa, sizeof(sa)), 0);
    CHECK_EQ(miura_bind(u, (struct sockaddr *)&sa, sizeof(sa)), -1);
    CHECK_EQ(errno, EINVAL);
    socklen_t len = sizeof(sa);
    CHECK_EQ(miura_getpeername(u, (struct sockaddr *)&sa, &len), -1);
    CHECK_EQ(errno, ENOTCONN);
    CHECK_EQ(miura_socket(2, SOCK_STREAM, 0), -1);
    CHECK_EQ(errno, EAFNOSUPPORT);
    CHECK_EQ(miura_socket(AF_VSOCK, 2, 0), -1);
    CHECK_EQ(errno, ESOCKTNOSUPPORT);
    int v;
    len = sizeof(v);
    CHECK_EQ(miura_getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len), 0);
    CHECK_EQ(v, SOCK_STREAM);
    CHECK_EQ(miura_getsockopt(fd, 6, 1, &v, &len), -1);
    CHECK_EQ(errno, ENOPROTOOPT);
    CHECK_EQ(fd_close(fd), 0);
    CHECK_EQ(fd_close(fd), -EBADF);
    CHECK(fake_teardown());
}

TEST(rcvbuf_change_is_announced)
{
    int fd = setup(0);
    uint64_t bad = vsock_net_stats.rx_bad_credit;
    int v = 128 * 1024;
    CHECK_EQ(miura_setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)), 0);
    CHECK_EQ(fake_last()->hdr.op, VSOCK_OP_CREDIT_UPDATE);
    CHECK_EQ(fake_last()->hdr.buf_alloc, 128 * 1024);
    static uint8_t chunk[4096];
    for (int i = 0; i < 32; i++)
        peer_send(chunk, sizeof(chunk));
    CHECK_EQ(fake_sock(fd)->rx_bytes, 128 * 1024);
    CHECK_EQ(vsock_net_stats.rx_bad_credit, bad);
    CHECK(fake_teardown());
}

/* spec/vsock.pml (RCVBUF_SHRINK): the peer may use the window it was given
 * before it hears of a smaller SO_RCVBUF; that data was once dropped. */
TEST(rcvbuf_shrink_keeps_data_sent_within_the_old_window)
{
    int fd = setup(0xffff0000u); /* and across the u32 wrap */
    uint64_t bad = vsock_net_stats.rx_bad_credit;
    static uint8_t chunk[4096];
    for (int i = 0; i < 8; i++) /* 32 KiB queued of the 64 KiB given */
        peer_send(chunk, sizeof(chunk));
    int v = (int)VSOCK_BUF_MIN;
    CHECK_EQ(miura_setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)), 0);
    CHECK_EQ(fake_last()->hdr.buf_alloc, VSOCK_BUF_MIN);
    for (int i = 0; i < 8; i++) /* the other 32 KiB, sent before the update arrived */
        peer_send(chunk, sizeof(chunk));
    CHECK_EQ(vsock_net_stats.rx_bad_credit, bad);
    CHECK_EQ(fake_sock(fd)->rx_bytes, VSOCK_BUF_DEFAULT);
    peer_send("!", 1); /* beyond every window given */
    CHECK_EQ(vsock_net_stats.rx_bad_credit, bad + 1);
    static uint8_t in[VSOCK_BUF_DEFAULT];
    CHECK_EQ(miura_recv(fd, in, sizeof(in), MSG_DONTWAIT), (long)VSOCK_BUF_DEFAULT);
    CHECK(fake_teardown());
}

/* ---- memory */

TEST(a_thousand_idle_connections_fit_in_16_mib)
{
    (void)fake_teardown();
    fake_init();
    vsock_net_initial_cnt = 0;
    lfd = fake_listen(PORT, 1000);
    uint64_t base = vsock_net_stats.mem_bytes;
    for (uint32_t i = 0; i < 1000; i++) {
        int fd = fake_accept_new(lfd, PORT, 10000 + i);
        if (fd < 0) {
            CHECK(fd >= 0);
        }
        /* one request byte each, read: then idle */
        fake_inject(VSOCK_OP_RW, 10000 + i, PORT, 0, VSOCK_BUF_DEFAULT, 0, "x", 1);
        char b;
        CHECK_EQ(miura_recv(fd, &b, 1, 0), 1);
    }
    uint64_t used = vsock_net_stats.mem_bytes - base;
    uint64_t tables = sizeof(struct fd_object *) * FD_MAX + 16 * (512 + 256);
    uint64_t total = used + tables;
    printf("# 1000 idle connections: %llu bytes of sockets (%zu each) + %llu bytes of tables\n",
           (unsigned long long)used, sizeof(struct vsock_sock), (unsigned long long)tables);
    CHECK_EQ(vsock_net_stats.rx_bufs_held, 0);
    CHECK_EQ(used, 1000 * sizeof(struct vsock_sock));
    CHECK(total < 16ull * 1024 * 1024);
    CHECK(sizeof(struct vsock_sock) <= 256);
    CHECK(fake_teardown());
}
