/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The packets net hands the device: control packets come from a pool and
 * never from an allocation, but for an RST reply to a packet of no
 * connection when the pool is empty (owed ones wait for the pool, in protocol order,
 * and data never overtakes them), and each socket's wait queue wakes only
 * its own waiters and pollers. The fake device (net_fake.c) keeps every
 * packet until the test completes it and checks then that it is unchanged.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "net/socket.h"
#include "net/vsock.h"
#include "net_fake.h"
#include "test.h"

#define PORT 1234
#define PEER 5000

static int lfd;

static int setup(void)
{
    (void)fake_teardown();
    fake_init();
    vsock_net_initial_cnt = 0;
    lfd = fake_listen(PORT, 16);
    return fake_accept_new(lfd, PORT, PEER);
}

/* ---- control packets: a pool, never an allocation */

TEST(control_packets_wait_for_the_pool_and_data_never_overtakes_them)
{
    CHECK(setup() >= 0);
    int l = fake_listen(PORT + 1, 128);
    CHECK(l >= 0);
    fake.hold_ctrl = true; /* the device keeps every control packet */
    uint64_t deferred = vsock_net_stats.ctrl_deferred;
    unsigned asked = fake.want_tx_done;
    /* RESPONSEs to new clients use up the pool */
    unsigned first = fake.nsent;
    for (unsigned i = 0; i <= VSOCK_CTRL_POOL; i++)
        fake_inject(VSOCK_OP_REQUEST, PEER + 1 + i, PORT + 1, 0, VSOCK_BUF_DEFAULT, 0, NULL, 0);
    CHECK_EQ(fake_count_op(first, VSOCK_OP_RESPONSE), VSOCK_CTRL_POOL);
    CHECK_EQ(vsock_net_stats.ctrl_in_use, VSOCK_CTRL_POOL);
    CHECK_EQ(vsock_net_stats.ctrl_deferred, deferred + 1);
    /* and net asked for the pool back while all of it was in flight */
    CHECK_EQ(fake.want_tx_done, asked + 1);
    CHECK_EQ(fake.want_tx_undone, VSOCK_CTRL_POOL);
    /* the last client's RESPONSE waits: its connection accepts, but sends nothing */
    int last = -1;
    for (unsigned i = 0; i <= VSOCK_CTRL_POOL; i++)
        CHECK((last = miura_accept(l, NULL, NULL)) >= 0);
    CHECK_EQ(miura_send(last, "x", 1, MSG_DONTWAIT), -1);
    CHECK_EQ(errno, EAGAIN);
    struct pollfd p = {.fd = last, .events = POLLOUT};
    CHECK_EQ(miura_poll(&p, 1, 0), 0);
    /* an RST reply to a packet of no connection is not owed (no socket to
     * owe it) nor dropped (the peer would wait for its connect timeout, as
     * a refused REQUEST's client did): it comes from the heap and is freed
     * when the device hands it back */
    uint64_t dropped = vsock_net_stats.rst_dropped, mem = vsock_net_stats.mem_bytes;
    unsigned n = fake.nsent;
    fake_inject(VSOCK_OP_REQUEST, 9999, 4321, 0, VSOCK_BUF_DEFAULT, 0, NULL, 0);
    CHECK_EQ(vsock_net_stats.rst_dropped, dropped);
    CHECK_EQ(fake.nsent, n + 1);
    CHECK_EQ(fake.sent[n].hdr.op, VSOCK_OP_RST);
    CHECK_EQ(fake.sent[n].hdr.dst_port, 9999);
    CHECK_EQ(vsock_net_stats.ctrl_in_use, VSOCK_CTRL_POOL);
    CHECK(vsock_net_stats.mem_bytes > mem);
    /* the device hands the pool back: the RESPONSE goes, then data may */
    unsigned before = fake.nsent;
    fake.hold_ctrl = false;
    fake_complete_tx();
    CHECK_EQ(fake.sent[before].hdr.op, VSOCK_OP_RESPONSE);
    CHECK_EQ(fake.sent[before].hdr.dst_port, PEER + 1 + VSOCK_CTRL_POOL);
    CHECK_EQ(miura_poll(&p, 1, 0), 1);
    CHECK_EQ(miura_send(last, "x", 1, MSG_DONTWAIT), 1);
    CHECK_EQ(vsock_net_stats.ctrl_in_use, 0);
    CHECK(fake_teardown()); /* net's memory back to 0: the heap RST was freed */
}

TEST(owed_control_packets_go_in_protocol_order)
{
    int fd = setup();
    fake.hold_ctrl = true;
    /* fill the pool with RSTs to nowhere */
    for (unsigned i = 0; i < VSOCK_CTRL_POOL; i++)
        fake_inject(VSOCK_OP_RW, 7000 + i, 4321, 0, 0, 0, "?", 1);
    CHECK_EQ(vsock_net_stats.ctrl_in_use, VSOCK_CTRL_POOL);
    /* a credit request, then a shutdown, are owed */
    CHECK_EQ(miura_shutdown(fd, SHUT_WR), 0);
    uint64_t f = net_lock();
    vsock_request_credit(fake_sock(fd));
    net_unlock(f);
    unsigned before = fake.nsent;
    fake.hold_ctrl = false;
    fake_complete_tx();
    CHECK_EQ(fake.sent[before].hdr.op, VSOCK_OP_CREDIT_REQUEST);
    CHECK_EQ(fake.sent[before + 1].hdr.op, VSOCK_OP_SHUTDOWN);
    CHECK_EQ(fake.sent[before + 1].hdr.flags, VSOCK_SHUTDOWN_SEND);
    CHECK(fake_teardown());
}

/* ---- poll: each socket wakes its own pollers only */

static int other_fd;
static void packet_for_the_other(struct net_waitq *wq, uint64_t deadline)
{
    (void)deadline;
    if (wq != &fake_sock(other_fd)->wq)
        abort(); /* poll sleeps on the queue of the socket it polls */
    fake.wait_hook = NULL;
    fake_inject(VSOCK_OP_RW, PEER, PORT, 0, VSOCK_BUF_DEFAULT, 0, "hi", 2);
}

TEST(a_packet_wakes_only_the_pollers_of_its_socket)
{
    int fd = setup();
    other_fd = fake_accept_new(lfd, PORT, PEER + 1);
    CHECK(other_fd >= 0);
    struct pollfd p = {.fd = other_fd, .events = POLLIN};
    fake.wait_hook = packet_for_the_other;
    uint64_t t0 = fake.now;
    CHECK_EQ(miura_poll(&p, 1, 50), 0); /* data for fd did not wake it */
    CHECK_EQ(fake.now - t0, 50000000ull);
    CHECK_EQ(fake_sock(fd)->rx_bytes, 2);
    /* both polled: sleeping on both queues, the packet wakes it */
    struct pollfd two[2] = {{.fd = other_fd, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    char b[2];
    CHECK_EQ(miura_recv(fd, b, 2, 0), 2);
    fake.wait_hook = packet_for_the_other;
    CHECK_EQ(miura_poll(two, 2, -1), 1);
    CHECK_EQ(two[1].revents, POLLIN);
    CHECK_EQ(fake.stuck, 0);
    CHECK(fake_teardown());
}
