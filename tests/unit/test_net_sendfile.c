/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The zero-copy path: a socket's sendfile op (what sendfile() reaches
 * through fd_sendfile), and the packets it hands to the device. A
 * fake file stands for the Filesystem unit: its read writes into the packet
 * it is given, as the FUSE client's READ does. (sendfile()'s own argument
 * checks are the Filesystem unit's, tested in fs_posix.) The fake device
 * (net_fake.c) keeps every packet until the test completes it and checks
 * then that it is exactly what was sent; ASan reports a packet freed twice
 * or while the device held it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "lib/fd/fd.h"
#include "net/socket.h"
#include "net/vsock.h"
#include "net_fake.h"
#include "test.h"

#define PORT 1234
#define PEER 5000
#define KIB  1024u

/* ---- a fake file */

struct ffile {
    struct fd_object fdo;
    uint8_t *data;
    size_t size;
    int64_t pos;
    int refs;    /* the descriptor's and sendfile's */
    int reads;   /* read op calls */
    int fail_at; /* the read with this number (1-based) fails with EIO */
    /* runs inside the read with this number, with the net lock free, as
     * the rest of the guest would while the FUSE READ is in flight */
    int hook_at;
    void (*hook)(void);
    size_t truncate_at; /* before the hook_at read the file shrinks to this (if set) */
    bool truncate;
};

static int ffile_close(struct fd_object *o);
static const struct fd_kind ffile_kind = {ffile_close, S_IFREG};
static struct ffile file;

static int64_t ffile_read(struct fd_object *o, void *buf, size_t n, const int64_t *at)
{
    struct ffile *f = (struct ffile *)o;
    int64_t off = at ? *at : f->pos;
    if (fake.lock_depth)
        abort(); /* a FUSE read blocks: net must not hold its lock */
    f->reads++;
    if (f->reads == f->hook_at) {
        if (f->truncate)
            f->size = f->truncate_at;
        if (f->hook)
            f->hook();
    }
    if (f->reads == f->fail_at)
        return -EIO;
    if ((uint64_t)off >= f->size)
        return 0;
    if (n > f->size - (size_t)off)
        n = f->size - (size_t)off;
    memcpy(buf, f->data + off, n);
    if (!at)
        f->pos += (int64_t)n;
    return (int64_t)n;
}

/* sendfile() as fs defines it, reduced to what this test needs: the
 * file held, the call dispatched to the socket's op. */
static ssize_t miura_sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
    struct fd_object *out = fd_lookup(out_fd), *in = fd_lookup(in_fd);
    int64_t pos = offset ? *offset : 0;
    if (!out || !in || in->kind != &ffile_kind)
        abort(); /* the tests pass a socket and the file */
    ((struct ffile *)in)->refs++;
    int64_t rc = fd_sendfile(out, in, ffile_read, offset ? &pos : NULL, count);
    ((struct ffile *)in)->refs--;
    if (offset)
        *offset = pos;
    if (rc < 0) {
        errno = (int)-rc;
        return -1;
    }
    return (ssize_t)rc;
}

static int ffile_close(struct fd_object *o)
{
    ((struct ffile *)o)->refs--;
    return 0;
}

/* A file of size pattern bytes, open read-only. */
static int open_file(size_t size)
{
    free(file.data);
    memset(&file, 0, sizeof(file));
    file.data = malloc(size ? size : 1);
    for (size_t i = 0; i < size; i++)
        file.data[i] = (uint8_t)(i * 7 + i / 251);
    file.size = size;
    file.refs = 1;
    file.fdo.kind = &ffile_kind;
    file.fdo.flags = O_RDONLY;
    return fd_install(&file.fdo);
}

/* ---- the connection */

static int lfd;
static uint32_t peer_fwd; /* what the peer has consumed */

static int setup(void)
{
    (void)fake_teardown();
    fake_init();
    vsock_net_initial_cnt = 0;
    peer_fwd = 0;
    lfd = fake_listen(PORT, 16);
    return fake_accept_new(lfd, PORT, PEER); /* the peer gives 64 KiB of credit */
}

static void peer_op(uint16_t op, uint32_t flags, uint32_t buf_alloc)
{
    fake_inject(op, PEER, PORT, flags, buf_alloc, peer_fwd, NULL, 0);
}

/* The device reads every packet, and the peer consumes all and says so. */
static void device_and_peer_catch_up(void)
{
    fake_complete_tx();
    peer_fwd = 0;
    for (unsigned i = 0; i < fake.nsent; i++)
        if (fake.sent[i].hdr.op == VSOCK_OP_RW)
            peer_fwd += fake.sent[i].hdr.len;
    peer_op(VSOCK_OP_CREDIT_UPDATE, 0, VSOCK_BUF_DEFAULT);
}

static void catch_up_hook(struct net_waitq *wq, uint64_t deadline)
{
    (void)wq, (void)deadline;
    device_and_peer_catch_up();
}

/* Checks that the RW payloads sent from packet `from` on are the file's
 * bytes [off, off + n), in order, and that none lies in flight beyond the
 * credit the peer gave (64 KiB here). */
static bool sent_is_file(unsigned from, size_t off, size_t n)
{
    size_t got = 0;
    for (unsigned i = from; i < fake.nsent; i++) {
        const struct fake_sent *r = &fake.sent[i];
        if (r->hdr.op != VSOCK_OP_RW)
            continue;
        if (got + r->hdr.len > n || memcmp(r->payload, file.data + off + got, r->hdr.len) != 0)
            return false;
        got += r->hdr.len;
    }
    return got == n;
}

TEST(sendfile_sends_the_file_without_a_copy)
{
    int fd = setup();
    int in = open_file(1000 * KIB + 123);
    uint64_t copied = vsock_net_stats.tx_copied, zero = vsock_net_stats.tx_zero_copy;
    unsigned from = fake.nsent;
    fake.wait_hook = catch_up_hook; /* blocked on credit: the peer reads */
    off_t off = 0;
    CHECK_EQ(miura_sendfile(fd, in, &off, file.size), file.size);
    CHECK_EQ(off, file.size);
    CHECK_EQ(file.pos, 0); /* with an offset, the file position stays */
    CHECK(sent_is_file(from, 0, file.size));
    CHECK_EQ(vsock_net_stats.tx_copied, copied); /* nothing went through the CPU */
    CHECK_EQ(vsock_net_stats.tx_zero_copy, zero + file.size);
    /* every packet within the credit (64 KiB) and within one allocation */
    for (unsigned i = from; i < fake.nsent; i++)
        CHECK(fake.sent[i].hdr.len <= VSOCK_BUF_DEFAULT &&
              fake.sent[i].hdr.len <= VSOCK_TX_PKT_MAX);
    CHECK_EQ(file.refs, 1); /* sendfile's reference went back */
    CHECK(fake_teardown());
    CHECK_EQ(file.refs, 0);
}

TEST(sendfile_without_offset_moves_the_file_position)
{
    int fd = setup();
    int in = open_file(10 * KIB);
    file.pos = 1000;
    unsigned from = fake.nsent;
    CHECK_EQ(miura_sendfile(fd, in, NULL, 4000), 4000);
    CHECK_EQ(file.pos, 5000);
    CHECK_EQ(miura_sendfile(fd, in, NULL, 100 * KIB), 10 * KIB - 5000); /* to the end */
    CHECK_EQ(file.pos, 10 * KIB);
    CHECK_EQ(miura_sendfile(fd, in, NULL, 100), 0); /* at the end */
    CHECK(sent_is_file(from, 1000, 10 * KIB - 1000));
    CHECK(fake_teardown());
}

TEST(packets_stay_with_the_device_until_it_hands_them_back)
{
    int fd = setup();
    int in = open_file(40 * KIB);
    uint64_t mem = vsock_net_stats.mem_bytes;
    off_t off = 0;
    CHECK_EQ(miura_sendfile(fd, in, &off, file.size), file.size);
    CHECK_EQ(miura_send(fd, "tail", 4, 0), 4);
    CHECK(vsock_net_stats.mem_bytes >= mem + file.size + 4); /* the device holds them */
    CHECK_EQ(fake_sock(fd)->tx_inflight, file.size + 4);
    /* The application and the peer are done with the connection... */
    CHECK_EQ(fd_close(fd), 0);
    peer_op(VSOCK_OP_RST, 0, VSOCK_BUF_DEFAULT);
    /* ...but the packets are the device's: nothing freed, the socket alive. */
    CHECK_EQ(vsock_net_stats.socks, 2);
    CHECK(vsock_net_stats.mem_bytes >= mem + file.size + 4);
    fake_complete_tx(); /* each checked intact, then freed once */
    CHECK_EQ(vsock_net_stats.socks, 1);
    CHECK_EQ(vsock_net_stats.mem_bytes, mem - sizeof(struct vsock_sock)); /* and the socket */
    CHECK(fake_teardown());
}

TEST(sendfile_honours_credit_and_sndbuf)
{
    int fd = setup();
    int in = open_file(300 * KIB);
    CHECK_EQ(miura_fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    unsigned from = fake.nsent;
    off_t off = 0;
    /* 64 KiB of credit: that much goes, then EAGAIN and one CREDIT_REQUEST */
    CHECK_EQ(miura_sendfile(fd, in, &off, file.size), 64 * KIB);
    CHECK_EQ(off, 64 * KIB);
    CHECK_EQ(miura_sendfile(fd, in, &off, file.size), -1);
    CHECK_EQ(errno, EAGAIN);
    CHECK_EQ(off, 64 * KIB);
    CHECK_EQ(fake_count_op(from, VSOCK_OP_CREDIT_REQUEST), 1);
    /* the peer grants 1 MiB, but SO_SNDBUF (32 KiB) bounds what the device holds */
    int v = 32 * KIB;
    CHECK_EQ(miura_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)), 0);
    fake_complete_tx();
    peer_fwd = 0;
    peer_op(VSOCK_OP_CREDIT_UPDATE, 0, 1024 * KIB);
    CHECK_EQ(miura_sendfile(fd, in, &off, file.size), 32 * KIB);
    CHECK_EQ(miura_sendfile(fd, in, &off, file.size), -1);
    CHECK_EQ(errno, EAGAIN);
    CHECK_EQ(fake_sock(fd)->tx_inflight, 32 * KIB);
    fake_complete_tx();
    CHECK_EQ(miura_sendfile(fd, in, &off, 10), 10);
    CHECK(sent_is_file(from, 0, 96 * KIB + 10));
    CHECK(fake_teardown());
}

/* The device hands the packets back only if net asked for them while they
 * were in flight (want_tx_done): a sender that sleeps without asking would
 * wait for the transport's slow reaping. */
static unsigned asked_hooks;
static void asked_then_done_hook(struct net_waitq *wq, uint64_t deadline)
{
    (void)wq, (void)deadline;
    if (fake.want_tx_done != asked_hooks + 1 || fake.want_tx_undone == 0)
        return; /* not asked: nothing comes back, the test sees it stuck */
    asked_hooks++;
    fake_complete_tx();
}

TEST(blocking_sendfile_on_a_full_sndbuf_asks_for_its_packets_back)
{
    int fd = setup();
    int in = open_file(100 * KIB);
    int v = 32 * KIB;
    CHECK_EQ(miura_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)), 0);
    peer_op(VSOCK_OP_CREDIT_UPDATE, 0, 1024 * KIB);
    unsigned from = fake.nsent;
    off_t off = 0;
    asked_hooks = 0;
    fake.wait_hook = asked_then_done_hook;
    CHECK_EQ(miura_sendfile(fd, in, &off, file.size), 100 * KIB);
    fake.wait_hook = NULL;
    CHECK_EQ(fake.waits, 3); /* after 32, 64 and 96 KiB */
    CHECK_EQ(asked_hooks, 3);
    CHECK_EQ(fake.stuck, 0);
    CHECK(sent_is_file(from, 0, 100 * KIB));
    CHECK(fake_teardown());
}

/* The first wait: 0.9 s pass, then the peer reads everything; later waits: nothing. */
static unsigned late_waits;
static void late_reader_hook(struct net_waitq *wq, uint64_t deadline)
{
    (void)wq, (void)deadline;
    if (late_waits++ == 0) {
        fake.now += 900000000ull;
        device_and_peer_catch_up();
    }
}

TEST(sendfile_timeout_counts_from_the_last_progress)
{
    /* SO_SNDTIMEO bounds a wait without progress (the web server's send
     * timeout: a client that takes nothing for idle_timeout), not the whole
     * call: 64 KiB at once, 64 KiB more after 0.9 s, then nothing: the call
     * gives up 1 s after that progress, at 1.9 s, not at 1 s. */
    int fd = setup();
    int in = open_file(200 * KIB);
    struct timeval tv = {.tv_sec = 1, .tv_usec = 0};
    CHECK_EQ(miura_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
    off_t off = 0;
    late_waits = 0;
    fake.now = 0;
    fake.wait_hook = late_reader_hook;
    CHECK_EQ(miura_sendfile(fd, in, &off, file.size), 128 * KIB);
    fake.wait_hook = NULL;
    CHECK_EQ(off, 128 * KIB);
    CHECK_EQ(late_waits, 2);
    CHECK_EQ(fake.now, 1900000000ull);
    CHECK(fake_teardown());
}

TEST(sendfile_waiting_for_credit_does_not_ask)
{
    int fd = setup();
    int in = open_file(100 * KIB);
    off_t off = 0;
    fake.wait_hook = catch_up_hook; /* 64 KiB of credit, then the peer's update */
    CHECK_EQ(miura_sendfile(fd, in, &off, file.size), 100 * KIB);
    fake.wait_hook = NULL;
    CHECK_EQ(fake.waits, 1);
    CHECK_EQ(fake.want_tx_done, 0);
    CHECK(fake_teardown());
}

static void peer_resets(void)
{
    peer_op(VSOCK_OP_RST, 0, VSOCK_BUF_DEFAULT);
}

TEST(a_reset_mid_file_stops_sendfile_and_frees_everything_once)
{
    int fd = setup();
    int in = open_file(500 * KIB);
    fake.wait_hook = catch_up_hook;
    file.hook_at = 3; /* the peer resets while the third READ is in flight */
    file.hook = peer_resets;
    unsigned from = fake.nsent;
    off_t off = 0;
    ssize_t n = miura_sendfile(fd, in, &off, file.size);
    CHECK(n > 0 && n < (ssize_t)file.size);
    CHECK_EQ(off, n);
    CHECK(sent_is_file(from, 0, (size_t)n)); /* the third packet never went out */
    CHECK_EQ(miura_sendfile(fd, in, &off, file.size), -1);
    CHECK_EQ(errno, ECONNRESET);
    CHECK_EQ(miura_sendfile(fd, in, &off, file.size), -1);
    CHECK_EQ(errno, EPIPE);
    CHECK(fake_teardown());
}

static void transport_resets(void)
{
    vsock_net_transport_reset(&fake.t, FAKE_GUEST_CID);
}

TEST(a_transport_reset_mid_file_gives_packets_back_through_the_device)
{
    int fd = setup();
    int in = open_file(200 * KIB);
    file.hook_at = 2;
    file.hook = transport_resets;
    off_t off = 0;
    uint64_t mem = vsock_net_stats.mem_bytes;
    CHECK_EQ(miura_sendfile(fd, in, &off, file.size), VSOCK_TX_PKT_MAX); /* the first packet */
    /* The first packet is still the device's: the reset does not free it. */
    CHECK(vsock_net_stats.mem_bytes > mem);
    CHECK_EQ(miura_sendfile(fd, in, &off, file.size), -1);
    CHECK_EQ(errno, ECONNRESET);
    fake_complete_tx();
    CHECK_EQ(vsock_net_stats.mem_bytes, mem);
    CHECK(fake_teardown());
}

static void peer_stops_reading(void)
{
    peer_op(VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_RCV, VSOCK_BUF_DEFAULT);
}

TEST(a_half_close_mid_file_stops_sendfile)
{
    int fd = setup();
    int in = open_file(500 * KIB);
    fake.wait_hook = catch_up_hook;
    file.hook_at = 2;
    file.hook = peer_stops_reading;
    off_t off = 0;
    CHECK_EQ(miura_sendfile(fd, in, &off, file.size), VSOCK_TX_PKT_MAX);
    CHECK_EQ(miura_sendfile(fd, in, &off, file.size), -1);
    CHECK_EQ(errno, EPIPE);
    /* our own SHUT_WR too */
    int fd2 = fake_accept_new(lfd, PORT, PEER + 1);
    CHECK(fd2 >= 0);
    CHECK_EQ(miura_shutdown(fd2, SHUT_WR), 0);
    CHECK_EQ(miura_sendfile(fd2, in, &off, 10), -1);
    CHECK_EQ(errno, EPIPE);
    CHECK(fake_teardown());
}

TEST(a_file_truncated_mid_send_gives_a_short_count_and_only_its_bytes)
{
    int fd = setup();
    int in = open_file(300 * KIB);
    fake.wait_hook = catch_up_hook;
    file.hook_at = 3;
    file.truncate = true;
    file.truncate_at = 150 * KIB + 7; /* the host shrinks it meanwhile */
    unsigned from = fake.nsent;
    off_t off = 0;
    CHECK_EQ(miura_sendfile(fd, in, &off, 300 * KIB), 150 * KIB + 7);
    CHECK_EQ(off, 150 * KIB + 7);
    CHECK(sent_is_file(from, 0, 150 * KIB + 7)); /* nothing past the new end */
    CHECK_EQ(miura_sendfile(fd, in, &off, 300 * KIB), 0);
    CHECK(fake_teardown());
}

TEST(a_read_error_after_some_bytes_returns_those_bytes)
{
    int fd = setup();
    int in = open_file(200 * KIB);
    fake.wait_hook = catch_up_hook;
    file.fail_at = 2;
    off_t off = 0;
    CHECK_EQ(miura_sendfile(fd, in, &off, file.size), VSOCK_TX_PKT_MAX);
    file.fail_at = file.reads + 1;
    CHECK_EQ(miura_sendfile(fd, in, &off, file.size), -1);
    CHECK_EQ(errno, EIO);
    CHECK_EQ(off, VSOCK_TX_PKT_MAX);
    CHECK(fake_teardown());
}

TEST(sendfile_errors)
{
    int fd = setup();
    int in = open_file(100);
    off_t off = 0;
    CHECK_EQ(miura_sendfile(in, in, &off, 10), -1); /* out is not a socket */
    CHECK_EQ(errno, EINVAL);
    int s = miura_socket(AF_VSOCK, SOCK_STREAM, 0);
    CHECK_EQ(miura_sendfile(s, in, &off, 10), -1);
    CHECK_EQ(errno, ENOTCONN);
    CHECK_EQ(miura_sendfile(fd, in, &off, 0), 0);
    CHECK_EQ(file.reads, 0);
    CHECK_EQ(file.refs, 1);
    CHECK(fake_teardown());
}
