/* SPDX-License-Identifier: BSD-2-Clause */
/* The vsock protocol against a fake transport: packets, states, credit. */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net/socket.h"
#include "net/vsock.h"
#include "net_fake.h"
#include "test.h"

#define PORT 1234
#define PEER 5000
#define KIB  1024u

static void start(void)
{
    (void)fake_teardown(); /* whatever a failed test left */
    fake_init();
    vsock_net_initial_cnt = 0;
}

/* ---- every packet type in every state */

enum where { NOWHERE, LISTENING, CONNECTING, ESTABLISHED, CLOSING, WHERE_COUNT };
#define NONE  0xffff
#define FREED 0xfe

struct cell {
    uint16_t reply;      /* op net answers with, NONE for silence */
    uint8_t state_after; /* of the connection (or FREED) */
};

/* Rows: the state; columns: the op received (0 = INVALID .. 7, then 99). */
static const uint16_t ops[] = {
    VSOCK_OP_INVALID,       VSOCK_OP_REQUEST,        VSOCK_OP_RESPONSE,
    VSOCK_OP_RST,           VSOCK_OP_SHUTDOWN,       VSOCK_OP_RW,
    VSOCK_OP_CREDIT_UPDATE, VSOCK_OP_CREDIT_REQUEST, 99,
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))
#define R    VSOCK_OP_RST
#define E    VSOCK_ESTABLISHED
#define C    VSOCK_CLOSED
#define G    VSOCK_CLOSING
#define K    VSOCK_CONNECTING
static const struct cell expect[WHERE_COUNT][NOPS] = {
    /*            INVALID    REQUEST                 RESPONSE   RST        SHUTDOWN   RW CRED_UPD
       CRED_REQ                     99 */
    [NOWHERE] = {{R, 0}, {R, 0}, {R, 0}, {NONE, 0}, {R, 0}, {R, 0}, {R, 0}, {R, 0}, {R, 0}},
    [LISTENING] =
        {{R, 0}, {VSOCK_OP_RESPONSE, E}, {R, 0}, {NONE, 0}, {R, 0}, {R, 0}, {R, 0}, {R, 0}, {R, 0}},
    [CONNECTING] = {{R, C}, {R, C}, {NONE, E}, {NONE, C}, {R, C}, {R, C}, {R, C}, {R, C}, {R, C}},
    [ESTABLISHED] = {{NONE, E},
                     {NONE, E},
                     {NONE, E},
                     {NONE, C},
                     {NONE, E},
                     {NONE, E},
                     {NONE, E},
                     {VSOCK_OP_CREDIT_UPDATE, E},
                     {NONE, E}},
    [CLOSING] = {{NONE, G},
                 {NONE, G},
                 {NONE, G},
                 {NONE, FREED},
                 {NONE, G},
                 {NONE, G},
                 {NONE, G},
                 {NONE, G},
                 {NONE, G}},
};

TEST(every_op_in_every_state)
{
    for (int w = 0; w < WHERE_COUNT; w++) {
        for (unsigned o = 0; o < NOPS; o++) {
            start();
            int fd = -1, lfd = -1;
            uint32_t local = PORT;
            struct vsock_sock *s = NULL;
            if (w == LISTENING)
                lfd = fake_listen(PORT, 8);
            if (w == CONNECTING) {
                fd = miura_socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK, 0);
                struct sockaddr_vm a = {
                    .svm_family = AF_VSOCK, .svm_cid = FAKE_PEER_CID, .svm_port = PEER};
                CHECK(miura_connect(fd, (struct sockaddr *)&a, sizeof(a)) == -1);
                CHECK_EQ(errno, EINPROGRESS);
                local = fake_last()->hdr.src_port;
            }
            if (w == ESTABLISHED || w == CLOSING) {
                fd = fake_connect_new(PEER, &local);
                CHECK(fd >= 0);
            }
            if (fd >= 0) {
                s = fake_sock(fd);
                vsock_sock_hold(s); /* keep it to look at after the packet */
            }
            if (w == CLOSING) {
                CHECK_EQ(fd_close(fd), 0);
                CHECK_EQ(s->state, VSOCK_CLOSING);
            }
            unsigned before = fake.nsent;
            uint8_t byte = 'x';
            bool rw = ops[o] == VSOCK_OP_RW;
            fake_inject(ops[o], PEER, local, 0, VSOCK_BUF_DEFAULT, 0, rw ? &byte : NULL, rw);
            const struct cell *want = &expect[w][o];
            unsigned replies = fake.nsent - before;
            if (want->reply == NONE) {
                if (replies) {
                    test_fail(__FILE__, __LINE__, "state %d op %u: reply %u, expected none", w,
                              ops[o], fake_last()->hdr.op);
                    return;
                }
            } else {
                CHECK_EQ(replies, 1);
                if (fake_last()->hdr.op != want->reply) {
                    test_fail(__FILE__, __LINE__, "state %d op %u: reply %u, expected %u", w,
                              ops[o], fake_last()->hdr.op, want->reply);
                    return;
                }
                /* Replies go back to the sender, from the guest. */
                CHECK_EQ(fake_last()->hdr.dst_port, PEER);
                CHECK_EQ(fake_last()->hdr.dst_cid, FAKE_PEER_CID);
                CHECK_EQ(fake_last()->hdr.src_cid, FAKE_GUEST_CID);
                CHECK_EQ(fake_last()->hdr.src_port, local);
            }
            if (s) {
                uint8_t st = want->state_after == FREED ? VSOCK_CLOSED : want->state_after;
                if (s->state != st || s->hashed != (st != VSOCK_CLOSED)) {
                    test_fail(__FILE__, __LINE__, "state %d op %u: now %u (hashed %d), expected %u",
                              w, ops[o], s->state, s->hashed, want->state_after);
                    return;
                }
                uint64_t f = net_lock();
                vsock_sock_put(s);
                net_unlock(f);
            }
            if (w == LISTENING && want->state_after == E)
                CHECK_EQ(fake_sock(lfd)->pending, 1);
            CHECK(fake_teardown());
        }
    }
}

/* ---- listening */

TEST(request_gets_response_and_accept_gives_peer)
{
    start();
    int lfd = fake_listen(PORT, 4);
    CHECK(lfd >= FD_CONSOLES);
    fake_inject(VSOCK_OP_REQUEST, PEER, PORT, 0, 32 * KIB, 0, NULL, 0);
    const struct fake_sent *r = fake_last();
    CHECK(r != NULL);
    CHECK_EQ(r->hdr.op, VSOCK_OP_RESPONSE);
    CHECK_EQ(r->hdr.type, VSOCK_TYPE_STREAM);
    CHECK_EQ(r->hdr.src_cid, FAKE_GUEST_CID);
    CHECK_EQ(r->hdr.dst_cid, FAKE_PEER_CID);
    CHECK_EQ(r->hdr.src_port, PORT);
    CHECK_EQ(r->hdr.dst_port, PEER);
    CHECK_EQ(r->hdr.buf_alloc, VSOCK_BUF_DEFAULT);
    CHECK_EQ(r->hdr.len, 0);
    struct sockaddr_vm a;
    socklen_t len = sizeof(a);
    int fd = miura_accept(lfd, (struct sockaddr *)&a, &len);
    CHECK(fd >= FD_CONSOLES);
    CHECK_EQ(len, sizeof(a));
    CHECK_EQ(a.svm_family, AF_VSOCK);
    CHECK_EQ(a.svm_cid, FAKE_PEER_CID);
    CHECK_EQ(a.svm_port, PEER);
    memset(&a, 0, sizeof(a));
    len = sizeof(a);
    CHECK_EQ(miura_getsockname(fd, (struct sockaddr *)&a, &len), 0);
    CHECK_EQ(a.svm_cid, FAKE_GUEST_CID);
    CHECK_EQ(a.svm_port, PORT);
    len = sizeof(a);
    CHECK_EQ(miura_getpeername(fd, (struct sockaddr *)&a, &len), 0);
    CHECK_EQ(a.svm_port, PEER);
    CHECK_EQ(fake_sock(fd)->peer_buf_alloc, 32 * KIB);
    CHECK(fake_teardown());
}

TEST(backlog_overflow_is_refused_and_accept_keeps_arrival_order)
{
    start();
    int lfd = fake_listen(PORT, 2);
    uint64_t dropped = vsock_net_stats.backlog_dropped;
    fake_inject(VSOCK_OP_REQUEST, 7002, PORT, 0, VSOCK_BUF_DEFAULT, 0, NULL, 0);
    CHECK_EQ(fake_last()->hdr.op, VSOCK_OP_RESPONSE);
    fake_inject(VSOCK_OP_REQUEST, 7001, PORT, 0, VSOCK_BUF_DEFAULT, 0, NULL, 0);
    CHECK_EQ(fake_last()->hdr.op, VSOCK_OP_RESPONSE);
    fake_inject(VSOCK_OP_REQUEST, 7003, PORT, 0, VSOCK_BUF_DEFAULT, 0, NULL, 0);
    CHECK_EQ(fake_last()->hdr.op, VSOCK_OP_RST);
    CHECK_EQ(fake_last()->hdr.dst_port, 7003);
    CHECK_EQ(vsock_net_stats.backlog_dropped, dropped + 1);
    struct sockaddr_vm a;
    socklen_t len = sizeof(a);
    CHECK(miura_accept(lfd, (struct sockaddr *)&a, &len) >= 0);
    CHECK_EQ(a.svm_port, 7002);
    CHECK(miura_accept(lfd, (struct sockaddr *)&a, &len) >= 0);
    CHECK_EQ(a.svm_port, 7001);
    /* Room again: the next REQUEST is taken. */
    fake_inject(VSOCK_OP_REQUEST, 7004, PORT, 0, VSOCK_BUF_DEFAULT, 0, NULL, 0);
    CHECK_EQ(fake_last()->hdr.op, VSOCK_OP_RESPONSE);
    CHECK(fake_teardown());
}

TEST(data_between_response_and_accept_is_kept)
{
    start();
    int lfd = fake_listen(PORT, 4);
    fake_inject(VSOCK_OP_REQUEST, PEER, PORT, 0, VSOCK_BUF_DEFAULT, 0, NULL, 0);
    fake_inject(VSOCK_OP_RW, PEER, PORT, 0, VSOCK_BUF_DEFAULT, 0, "GET /", 5);
    fake_inject(VSOCK_OP_RW, PEER, PORT, 0, VSOCK_BUF_DEFAULT, 0, " HTTP", 5);
    fake_inject(VSOCK_OP_SHUTDOWN, PEER, PORT, VSOCK_SHUTDOWN_SEND, VSOCK_BUF_DEFAULT, 0, NULL, 0);
    int fd = miura_accept(lfd, NULL, NULL);
    CHECK(fd >= 0);
    char buf[32];
    CHECK_EQ(miura_recv(fd, buf, sizeof(buf), 0), 10);
    CHECK(memcmp(buf, "GET / HTTP", 10) == 0);
    CHECK_EQ(miura_recv(fd, buf, sizeof(buf), 0), 0); /* then the end */
    CHECK(fake_teardown());
}

TEST(listener_close_resets_pending_children)
{
    start();
    int lfd = fake_listen(PORT, 4);
    fake_inject(VSOCK_OP_REQUEST, 7001, PORT, 0, VSOCK_BUF_DEFAULT, 0, NULL, 0);
    fake_inject(VSOCK_OP_REQUEST, 7002, PORT, 0, VSOCK_BUF_DEFAULT, 0, NULL, 0);
    unsigned before = fake.nsent;
    CHECK_EQ(fd_close(lfd), 0);
    CHECK_EQ(fake_count_op(before, VSOCK_OP_RST), 2);
    CHECK_EQ(vsock_net_stats.socks, 0);
    /* The port is free again; its packets go nowhere. */
    fake_inject(VSOCK_OP_REQUEST, 7003, PORT, 0, VSOCK_BUF_DEFAULT, 0, NULL, 0);
    CHECK_EQ(fake_last()->hdr.op, VSOCK_OP_RST);
    CHECK(fake_teardown());
}

TEST(duplicate_request_on_a_connection_is_ignored)
{
    start();
    int lfd = fake_listen(PORT, 4);
    int fd = fake_accept_new(lfd, PORT, PEER);
    CHECK(fd >= 0);
    uint64_t unexpected = vsock_net_stats.rx_unexpected;
    unsigned before = fake.nsent;
    fake_inject(VSOCK_OP_REQUEST, PEER, PORT, 0, VSOCK_BUF_DEFAULT, 0, NULL, 0);
    CHECK_EQ(fake.nsent, before);
    CHECK_EQ(vsock_net_stats.rx_unexpected, unexpected + 1);
    CHECK_EQ(fake_sock(lfd)->pending, 0);
    CHECK(fake_teardown());
}

/* ---- packets to nowhere and lying packets */

TEST(packets_to_nowhere_get_rst_but_rst_does_not)
{
    start();
    uint64_t rst = vsock_net_stats.rst_sent;
    fake_inject(VSOCK_OP_RW, 9, 4321, 0, VSOCK_BUF_DEFAULT, 0, "abc", 3);
    const struct fake_sent *r = fake_last();
    CHECK(r != NULL);
    CHECK_EQ(r->hdr.op, VSOCK_OP_RST);
    CHECK_EQ(r->hdr.src_port, 4321);
    CHECK_EQ(r->hdr.dst_port, 9);
    CHECK_EQ(r->hdr.src_cid, FAKE_GUEST_CID);
    CHECK_EQ(r->hdr.dst_cid, FAKE_PEER_CID);
    CHECK_EQ(vsock_net_stats.rst_sent, rst + 1);
    unsigned before = fake.nsent;
    fake_inject(VSOCK_OP_RST, 9, 4321, 0, 0, 0, NULL, 0);
    CHECK_EQ(fake.nsent, before); /* no RST storms */
    CHECK_EQ(fake.rx_injected, fake.rx_released);
    CHECK(fake_teardown());
}

TEST(packets_with_lying_lengths_are_dropped_and_counted)
{
    start();
    int lfd = fake_listen(PORT, 4);
    int fd = fake_accept_new(lfd, PORT, PEER);
    CHECK(fd >= 0);
    uint64_t bad = vsock_net_stats.rx_bad_len;
    unsigned before = fake.nsent;
    /* len beyond the buffer's capacity */
    struct vsock_hdr h = {.src_cid = FAKE_PEER_CID,
                          .dst_cid = FAKE_GUEST_CID,
                          .src_port = PEER,
                          .dst_port = PORT,
                          .len = 100,
                          .type = VSOCK_TYPE_STREAM,
                          .op = VSOCK_OP_RW,
                          .buf_alloc = VSOCK_BUF_DEFAULT};
    fake_inject_raw(&h, "x", 1, 50);
    CHECK_EQ(vsock_net_stats.rx_bad_len, bad + 1);
    CHECK_EQ(fake_sock(fd)->rx_bytes, 0);
    /* payload on an op that carries none */
    h.op = VSOCK_OP_CREDIT_UPDATE;
    h.len = 8;
    fake_inject_raw(&h, "12345678", 8, 64);
    CHECK_EQ(vsock_net_stats.rx_bad_len, bad + 2);
    /* a lying packet even to nowhere gets no answer */
    h.op = VSOCK_OP_REQUEST;
    h.dst_port = 9999;
    h.len = 1 << 20;
    fake_inject_raw(&h, NULL, 0, 16);
    CHECK_EQ(vsock_net_stats.rx_bad_len, bad + 3);
    /* the device wrote less than a header, or more than the header says */
    h.len = 0;
    fake.lie_written = true;
    fake.written = VSOCK_HDR_SIZE - 1;
    fake_inject_raw(&h, NULL, 0, 16);
    CHECK_EQ(vsock_net_stats.rx_bad_len, bad + 4);
    h.op = VSOCK_OP_RW;
    h.dst_port = PORT;
    h.len = 2;
    fake.lie_written = true;
    fake.written = VSOCK_HDR_SIZE + 3;
    fake_inject_raw(&h, "abc", 3, 16);
    CHECK_EQ(vsock_net_stats.rx_bad_len, bad + 5);
    CHECK_EQ(fake_sock(fd)->rx_bytes, 0);
    CHECK_EQ(fake.nsent, before);
    CHECK_EQ(fake.rx_injected, fake.rx_released);
    CHECK_EQ(fake_sock(fd)->state, VSOCK_ESTABLISHED);
    CHECK(fake_teardown());
}

TEST(packets_for_other_cids_or_types)
{
    start();
    int lfd = fake_listen(PORT, 4);
    uint64_t bad = vsock_net_stats.rx_bad_addr;
    struct vsock_hdr h = {.src_cid = FAKE_PEER_CID,
                          .dst_cid = 77,
                          .src_port = PEER,
                          .dst_port = PORT,
                          .type = VSOCK_TYPE_STREAM,
                          .op = VSOCK_OP_REQUEST};
    unsigned before = fake.nsent;
    fake_inject_raw(&h, NULL, 0, 16);
    h.dst_cid = FAKE_GUEST_CID;
    h.src_cid = 1ull << 40;
    fake_inject_raw(&h, NULL, 0, 16);
    CHECK_EQ(vsock_net_stats.rx_bad_addr, bad + 2);
    CHECK_EQ(fake.nsent, before);
    CHECK_EQ(fake_sock(lfd)->pending, 0);
    /* SEQPACKET is not supported: refused (the driver passes every type on) */
    h.src_cid = FAKE_PEER_CID;
    h.type = VSOCK_TYPE_SEQPACKET;
    fake_inject_raw(&h, NULL, 0, 16);
    CHECK_EQ(fake_last()->hdr.op, VSOCK_OP_RST);
    CHECK_EQ(fake_last()->hdr.type, VSOCK_TYPE_SEQPACKET);
    CHECK_EQ(fake_sock(lfd)->pending, 0);
    CHECK(fake_teardown());
}

/* ---- connect */

static void respond_hook(struct net_waitq *wq, uint64_t deadline)
{
    (void)wq;
    (void)deadline;
    const struct fake_sent *r = fake_last();
    fake.wait_hook = NULL;
    fake_inject(VSOCK_OP_RESPONSE, r->hdr.dst_port, r->hdr.src_port, 0, VSOCK_BUF_DEFAULT, 0, NULL,
                0);
}

static void refuse_hook(struct net_waitq *wq, uint64_t deadline)
{
    (void)wq;
    (void)deadline;
    const struct fake_sent *r = fake_last();
    fake.wait_hook = NULL;
    fake_inject(VSOCK_OP_RST, r->hdr.dst_port, r->hdr.src_port, 0, 0, 0, NULL, 0);
}

static int connect_to(uint32_t cid, uint32_t port)
{
    int fd = miura_socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port};
    if (fd < 0)
        return -2;
    return miura_connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 ? fd : -1;
}

TEST(blocking_connect_sleeps_until_response)
{
    start();
    fake.wait_hook = respond_hook;
    int fd = connect_to(FAKE_PEER_CID, 80);
    CHECK(fd >= 0);
    CHECK_EQ(fake.waits, 1);
    CHECK_EQ(fake.stuck, 0);
    const struct fake_sent *req = &fake.sent[0];
    CHECK_EQ(req->hdr.op, VSOCK_OP_REQUEST);
    CHECK_EQ(req->hdr.dst_port, 80);
    CHECK(req->hdr.src_port >= VSOCK_EPHEMERAL_FIRST && req->hdr.src_port <= VSOCK_EPHEMERAL_LAST);
    CHECK_EQ(req->hdr.buf_alloc, VSOCK_BUF_DEFAULT);
    CHECK_EQ(fake_sock(fd)->state, VSOCK_ESTABLISHED);
    CHECK_EQ(miura_send(fd, "hi", 2, 0), 2);
    CHECK_EQ(fake_last()->hdr.op, VSOCK_OP_RW);
    CHECK(memcmp(fake_last()->payload, "hi", 2) == 0);
    CHECK(fake_teardown());
}

TEST(connect_refused_by_rst)
{
    start();
    fake.wait_hook = refuse_hook;
    CHECK_EQ(connect_to(FAKE_PEER_CID, 80), -1);
    CHECK_EQ(errno, ECONNREFUSED);
    CHECK(fake_teardown());
}

TEST(connect_times_out_with_rst)
{
    start();
    uint64_t t0 = fake.now;
    CHECK_EQ(connect_to(FAKE_PEER_CID, 80), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    CHECK(fake.now - t0 >= VSOCK_CONNECT_TIMEOUT);
    CHECK_EQ(fake_last()->hdr.op, VSOCK_OP_RST);
    CHECK(fake_teardown());
}

TEST(nonblocking_connect_then_poll_and_so_error)
{
    start();
    int fd = miura_socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = FAKE_PEER_CID, .svm_port = 80};
    CHECK_EQ(miura_connect(fd, (struct sockaddr *)&a, sizeof(a)), -1);
    CHECK_EQ(errno, EINPROGRESS);
    CHECK_EQ(miura_connect(fd, (struct sockaddr *)&a, sizeof(a)), -1);
    CHECK_EQ(errno, EALREADY);
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    CHECK_EQ(miura_poll(&p, 1, 0), 0);
    char b;
    CHECK_EQ(miura_recv(fd, &b, 1, 0), -1);
    CHECK_EQ(errno, ENOTCONN);
    uint32_t local = fake_last()->hdr.src_port;
    fake_inject(VSOCK_OP_RESPONSE, 80, local, 0, VSOCK_BUF_DEFAULT, 0, NULL, 0);
    CHECK_EQ(miura_poll(&p, 1, 0), 1);
    CHECK_EQ(p.revents, POLLOUT);
    int err = -1;
    socklen_t len = sizeof(err);
    CHECK_EQ(miura_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    CHECK_EQ(err, 0);
    CHECK_EQ(miura_connect(fd, (struct sockaddr *)&a, sizeof(a)), -1);
    CHECK_EQ(errno, EISCONN);

    /* A refused one: POLLERR and SO_ERROR say so; a retry may follow. */
    int fd2 = miura_socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK_EQ(miura_connect(fd2, (struct sockaddr *)&a, sizeof(a)), -1);
    local = fake_last()->hdr.src_port;
    fake_inject(VSOCK_OP_RST, 80, local, 0, 0, 0, NULL, 0);
    p.fd = fd2;
    CHECK_EQ(miura_poll(&p, 1, 0), 1);
    CHECK(p.revents & POLLERR);
    len = sizeof(err);
    CHECK_EQ(miura_getsockopt(fd2, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    CHECK_EQ(err, ECONNREFUSED);
    CHECK_EQ(miura_connect(fd2, (struct sockaddr *)&a, sizeof(a)), -1);
    CHECK_EQ(errno, EINPROGRESS);
    CHECK(fake_teardown());
}

TEST(nonblocking_connect_timeout_runs_from_the_timer)
{
    start();
    int fd = miura_socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = FAKE_PEER_CID, .svm_port = 80};
    CHECK_EQ(miura_connect(fd, (struct sockaddr *)&a, sizeof(a)), -1);
    CHECK(fake.timer_kicks > 0);
    uint64_t f = net_lock();
    uint64_t next = vsock_net_timers(fake.now);
    net_unlock(f);
    CHECK_EQ(next, fake.now + VSOCK_CONNECT_TIMEOUT);
    f = net_lock();
    CHECK_EQ(vsock_net_timers(next), 0);
    net_unlock(f);
    CHECK_EQ(fake_sock(fd)->state, VSOCK_CLOSED);
    CHECK_EQ(fake_last()->hdr.op, VSOCK_OP_RST);
    int err = 0;
    socklen_t len = sizeof(err);
    CHECK_EQ(miura_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    CHECK_EQ(err, ETIMEDOUT);
    CHECK(fake_teardown());
}

TEST(connect_address_errors)
{
    start();
    int fd = miura_socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = 80};
    CHECK_EQ(miura_connect(fd, (struct sockaddr *)&a, sizeof(a)), -1);
    CHECK_EQ(errno, EINVAL);
    a.svm_cid = FAKE_GUEST_CID;
    CHECK_EQ(miura_connect(fd, (struct sockaddr *)&a, sizeof(a)), -1);
    CHECK_EQ(errno, ENETUNREACH);
    a.svm_family = 2;
    CHECK_EQ(miura_connect(fd, (struct sockaddr *)&a, sizeof(a)), -1);
    CHECK_EQ(errno, EAFNOSUPPORT);
    a.svm_family = AF_VSOCK;
    CHECK_EQ(miura_connect(fd, (struct sockaddr *)&a, 4), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(fake.nsent, 0);
    CHECK(fake_teardown());
}

/* ---- ephemeral ports */

TEST(ephemeral_ports_are_allocated_round_robin_and_reused)
{
    start();
    vsock_net_next_ephemeral = VSOCK_EPHEMERAL_LAST - 1;
    uint32_t p1, p2, p3;
    int a = fake_connect_new(80, &p1);
    int b = fake_connect_new(80, &p2);
    CHECK(a >= 0 && b >= 0);
    CHECK_EQ(p1, VSOCK_EPHEMERAL_LAST - 1);
    CHECK_EQ(p2, VSOCK_EPHEMERAL_LAST);
    /* wraps; a port someone bound is skipped */
    int bound = miura_socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm sa = {
        .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = VSOCK_EPHEMERAL_FIRST};
    CHECK_EQ(miura_bind(bound, (struct sockaddr *)&sa, sizeof(sa)), 0);
    int c = fake_connect_new(80, &p3);
    CHECK(c >= 0);
    CHECK_EQ(p3, VSOCK_EPHEMERAL_FIRST + 1);
    /* When the connection is over, its port is free for the next round. */
    CHECK_EQ(fd_close(a), 0);
    fake_inject(VSOCK_OP_RST, 80, p1, 0, 0, 0, NULL, 0);
    vsock_net_next_ephemeral = VSOCK_EPHEMERAL_LAST - 1;
    uint32_t p4;
    int d = fake_connect_new(80, &p4);
    CHECK(d >= 0);
    CHECK_EQ(p4, p1);
    /* getsockname of a connected client shows its port and the guest CID */
    socklen_t len = sizeof(sa);
    CHECK_EQ(miura_getsockname(d, (struct sockaddr *)&sa, &len), 0);
    CHECK_EQ(sa.svm_port, p4);
    CHECK_EQ(sa.svm_cid, FAKE_GUEST_CID);
    CHECK(fake_teardown());
}

TEST(ephemeral_ports_run_out_and_come_back)
{
    start();
    uint32_t span = VSOCK_EPHEMERAL_LAST - VSOCK_EPHEMERAL_FIRST + 1;
    struct vsock_sock **all = calloc(span, sizeof(*all));
    uint64_t f = net_lock();
    for (uint32_t i = 0; i < span; i++) {
        all[i] = vsock_sock_new();
        CHECK_EQ(vsock_bind(all[i], UINT32_MAX), 0);
    }
    struct vsock_sock *extra = vsock_sock_new();
    CHECK_EQ(vsock_bind(extra, UINT32_MAX), -EADDRNOTAVAIL);
    uint32_t freed = all[100]->local_port;
    vsock_sock_put(all[100]);
    all[100] = NULL;
    CHECK_EQ(vsock_bind(extra, UINT32_MAX), 0);
    CHECK_EQ(extra->local_port, freed);
    vsock_sock_put(extra);
    for (uint32_t i = 0; i < span; i++)
        if (all[i])
            vsock_sock_put(all[i]);
    net_unlock(f);
    free(all);
    CHECK(fake_teardown());
}
