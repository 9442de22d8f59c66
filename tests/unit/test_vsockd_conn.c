/* SPDX-License-Identifier: BSD-2-Clause */
/* miura-vsockd connection state machine and credit, against fake rings. */
#include <errno.h>
#include <sys/epoll.h>

#include "test.h"
#include "vsockd_fake.h"

#define GPORT 5000

/* A host client connection (as from --publish) established with the guest. */
static struct vsock_conn *establish_tcp(struct fake *f, int *peer, uint32_t guest_buf)
{
    int sv[2];
    struct vsock_hdr h;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
        return NULL;
    struct vsock_conn *c = conn_new(&f->dev, sv[0], CONN_FROM_TCP);
    conn_start_to_guest(&f->dev, c, GPORT);
    fake_post_rx(f, 32, VSOCK_HDR_SIZE + 4096);
    device_run(&f->dev);
    if (fake_recv(f, &h, NULL, 0) != 1 || h.op != VSOCK_OP_REQUEST || h.dst_port != GPORT ||
        h.src_port != c->host_port || h.dst_cid != FAKE_CID)
        return NULL;
    fake_send(f, VSOCK_OP_RESPONSE, GPORT, c->host_port, 0, NULL, 0, guest_buf, 0);
    *peer = sv[1];
    return c->state == CONN_ESTABLISHED ? c : NULL;
}

static struct vsock_conn *closing_conn(struct fake *f, int *peer)
{
    struct vsock_conn *c = establish_tcp(f, peer, 65536);
    if (!c)
        return NULL;
    uint32_t hp = c->host_port;
    fake_send(f, VSOCK_OP_SHUTDOWN, GPORT, hp, VSOCK_SHUTDOWN_SEND, NULL, 0, 65536, 0);
    close(*peer);
    *peer = -1;
    conn_host_event(&f->dev, c, EPOLLIN);
    device_run(&f->dev);
    return c->state == CONN_CLOSING ? c : NULL;
}

TEST(request_to_guest_then_response_establishes)
{
    struct fake f;
    int peer;
    fake_init(&f);
    struct vsock_conn *c = establish_tcp(&f, &peer, 65536);
    CHECK(c != NULL);
    CHECK(c->host_port >= (1u << 30));
    CHECK_EQ(c->peer_buf_alloc, 65536);
    close(peer);
    fake_fini(&f);
}

/* Expected outcome of each guest op per state: 0 stays, 1 closed quietly, 2 closed with RST. */
struct outcome {
    uint16_t op;
    int connecting, established, closing;
};

static const struct outcome table[] = {
    {VSOCK_OP_INVALID, 2, 2, 0},
    {VSOCK_OP_REQUEST, 2, 2, 0},
    {VSOCK_OP_RESPONSE, 0, 2, 0},
    {VSOCK_OP_RST, 1, 1, 1},
    {VSOCK_OP_SHUTDOWN, 2, 0, 2},
    {VSOCK_OP_RW, 2, 0, 0},
    {VSOCK_OP_CREDIT_UPDATE, 2, 0, 0},
    {VSOCK_OP_CREDIT_REQUEST, 2, 0, 0},
    {99, 2, 2, 0},
};

static int run_case(int state, uint16_t op, char *why)
{
    struct fake f;
    int sv[2], peer = -1;
    struct vsock_conn *c = NULL;
    struct vsock_hdr h;
    fake_init(&f);
    if (state == 0) {
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
        c = conn_new(&f.dev, sv[0], CONN_FROM_TCP);
        conn_start_to_guest(&f.dev, c, GPORT);
        fake_post_rx(&f, 32, VSOCK_HDR_SIZE + 4096);
        device_run(&f.dev);
        fake_count_op(&f, VSOCK_OP_REQUEST, NULL);
        peer = sv[1];
    } else if (state == 1) {
        c = establish_tcp(&f, &peer, 65536);
    } else {
        c = closing_conn(&f, &peer);
        fake_count_op(&f, VSOCK_OP_SHUTDOWN, NULL);
    }
    if (!c) {
        strcpy(why, "setup failed");
        return -1;
    }
    uint32_t hp = c->host_port;
    enum conn_state before = c->state;
    fake_send(&f, op, GPORT, hp, op == VSOCK_OP_SHUTDOWN && state == 1 ? 0 : VSOCK_SHUTDOWN_BOTH,
              "x", op == VSOCK_OP_RW ? 1 : 0, 65536, 0);
    int result;
    struct vsock_conn *now = conn_lookup(&f.dev, hp, GPORT);
    int rsts = fake_count_op(&f, VSOCK_OP_RST, &h);
    if (now)
        result =
            now->state == before || (before == CONN_CONNECTING && op == VSOCK_OP_RESPONSE) ? 0 : 3;
    else
        result = rsts ? 2 : 1;
    if (rsts && now) {
        strcpy(why, "RST sent but connection kept");
        result = 4;
    }
    if (peer >= 0)
        close(peer);
    fake_fini(&f);
    return result;
}

TEST(every_op_in_every_state)
{
    static const char *const states[] = {"connecting", "established", "closing"};
    for (unsigned i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        const int want[3] = {table[i].connecting, table[i].established, table[i].closing};
        for (int s = 0; s < 3; s++) {
            char why[64] = "";
            int got = run_case(s, table[i].op, why);
            if (got != want[s]) {
                test_fail(__FILE__, __LINE__, "op %u in %s: outcome %d, want %d %s", table[i].op,
                          states[s], got, want[s], why);
                return;
            }
        }
    }
}

TEST(packets_without_connection)
{
    struct fake f;
    struct vsock_hdr h;
    int sv[2];
    fake_init(&f);
    fake_post_rx(&f, 32, VSOCK_HDR_SIZE + 4096);
    /* REQUEST with no host listener: RST back to the guest's port. */
    fake_send(&f, VSOCK_OP_REQUEST, 1234, 80, 0, NULL, 0, 4096, 0);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RST, &h), 1);
    CHECK_EQ(h.dst_port, 1234);
    CHECK_EQ(h.src_port, 80);
    /* REQUEST with a listener: RESPONSE, connection established. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    fake_listener_fd = sv[0];
    fake_send(&f, VSOCK_OP_REQUEST, 1234, 80, 0, NULL, 0, 4096, 0);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RESPONSE, NULL), 1);
    struct vsock_conn *c = conn_lookup(&f.dev, 80, 1234);
    CHECK(c && c->state == CONN_ESTABLISHED && c->kind == CONN_FROM_GUEST);
    /* Every other op to an unknown pair gets RST, and an RST gets nothing. */
    for (uint16_t op = VSOCK_OP_RESPONSE; op <= VSOCK_OP_CREDIT_REQUEST; op++) {
        fake_send(&f, op, 999, 80, 0, NULL, 0, 4096, 0);
        CHECK_EQ(fake_count_op(&f, VSOCK_OP_RST, NULL), op == VSOCK_OP_RST ? 0 : 1);
    }
    close(sv[1]);
    fake_fini(&f);
}

TEST(data_both_ways)
{
    struct fake f;
    int peer;
    uint8_t buf[4096];
    struct vsock_hdr h;
    fake_init(&f);
    struct vsock_conn *c = establish_tcp(&f, &peer, 65536);
    CHECK(c);
    fake_send(&f, VSOCK_OP_RW, GPORT, c->host_port, 0, "from guest", 10, 65536, 0);
    CHECK_EQ(recv(peer, buf, sizeof(buf), MSG_DONTWAIT), 10);
    CHECK(memcmp(buf, "from guest", 10) == 0);
    CHECK_EQ(c->fwd_cnt, 10);
    CHECK_EQ(send(peer, "from host", 9, 0), 9);
    conn_host_event(&f.dev, c, EPOLLIN);
    device_run(&f.dev);
    CHECK_EQ(fake_recv(&f, &h, buf, sizeof(buf)), 1);
    CHECK_EQ(h.op, VSOCK_OP_RW);
    CHECK_EQ(h.len, 9);
    CHECK(memcmp(buf, "from host", 9) == 0);
    CHECK_EQ(h.buf_alloc, CONN_BUF_ALLOC);
    CHECK_EQ(h.fwd_cnt, 10);
    CHECK_EQ(c->tx_cnt, 9);
    CHECK_EQ(f.dev.bytes_buffered, 0); /* the socket took it all: no copy */
    close(peer);
    fake_fini(&f);
}

/* The host peer writes s (and shuts down if `end`); the event comes; the
 * device runs. Returns the payload length of the guest's next packet if it
 * is RW (into buf), else -1. */
static int host_writes(struct fake *f, struct vsock_conn *c, int peer, const char *s, bool end,
                       uint8_t *buf, size_t cap)
{
    struct vsock_hdr h;
    if (send(peer, s, strlen(s), 0) != (ssize_t)strlen(s))
        return -1;
    if (end)
        shutdown(peer, SHUT_WR);
    conn_host_event(&f->dev, c, end ? EPOLLIN | EPOLLRDHUP : EPOLLIN);
    device_run(&f->dev);
    return fake_recv(f, &h, buf, cap) == 1 && h.op == VSOCK_OP_RW ? (int)h.len : -1;
}

/* A read shorter than asked for empties the socket: the next read waits for
 * the next event (edge-triggered), one readv per packet instead of two. */
TEST(short_read_waits_for_the_next_event)
{
    struct fake f;
    int peer;
    uint8_t buf[64];
    fake_init(&f);
    struct vsock_conn *c = establish_tcp(&f, &peer, 65536);
    CHECK(c);
    CHECK_EQ(host_writes(&f, c, peer, "hello", false, buf, sizeof(buf)), 5);
    CHECK(!c->readable);
    CHECK_EQ(send(peer, "again", 5, 0), 5);
    device_run(&f.dev); /* no event yet: not read */
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RW, NULL), 0);
    conn_host_event(&f.dev, c, EPOLLIN);
    device_run(&f.dev);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RW, NULL), 1);
    close(peer);
    fake_fini(&f);
}

/* Data and the end in one event (EPOLLRDHUP): the short read does not stop
 * the reading, so the end is seen and passed on without another event. */
TEST(short_read_with_the_end_seen_reads_on)
{
    struct fake f;
    int peer;
    uint8_t buf[64];
    struct vsock_hdr h;
    fake_init(&f);
    struct vsock_conn *c = establish_tcp(&f, &peer, 65536);
    CHECK(c);
    CHECK_EQ(host_writes(&f, c, peer, "last", true, buf, sizeof(buf)), 4);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_SHUTDOWN, &h), 1);
    CHECK_EQ(h.flags, VSOCK_SHUTDOWN_SEND);
    CHECK(c->host_eof);
    close(peer);
    fake_fini(&f);
}

/* MIURA_VSOCKD_TRACE: a host client that went through every step is
 * counted, one that did not (refused) is not; the keys appear only then. */
TEST(trace_counts_complete_connections_only)
{
    struct fake f;
    int peer, sv[2];
    char text[4096];
    fake_init(&f);
    device_stats_text(&f.dev, text, sizeof(text));
    CHECK(strstr(text, "trace_conns") == NULL); /* off by default */
    f.dev.trace = true;
    struct vsock_conn *c = establish_tcp(&f, &peer, 65536);
    CHECK(c);
    uint32_t hp = c->host_port;
    CHECK_EQ(send(peer, "GET", 3, 0), 3);
    conn_host_event(&f.dev, c, EPOLLIN);
    device_run(&f.dev);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RW, NULL), 1);
    fake_send(&f, VSOCK_OP_RW, GPORT, hp, 0, "200", 3, 65536, 0);
    CHECK_EQ(f.dev.trace_conns, 0);
    fake_send(&f, VSOCK_OP_SHUTDOWN, GPORT, hp, VSOCK_SHUTDOWN_BOTH, NULL, 0, 65536, 0);
    CHECK(conn_lookup(&f.dev, hp, GPORT) == NULL);
    CHECK_EQ(f.dev.trace_conns, 1);
    /* Refused by the guest: never established, not counted. */
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    struct vsock_conn *r = conn_new(&f.dev, sv[0], CONN_FROM_TCP);
    conn_start_to_guest(&f.dev, r, GPORT + 1);
    device_run(&f.dev);
    uint32_t rp = r->host_port;
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_REQUEST, NULL), 1);
    fake_send(&f, VSOCK_OP_RST, GPORT + 1, rp, 0, NULL, 0, 0, 0);
    CHECK(conn_lookup(&f.dev, rp, GPORT + 1) == NULL);
    CHECK_EQ(f.dev.trace_conns, 1);
    device_stats_text(&f.dev, text, sizeof(text));
    CHECK(strstr(text, "trace_conns 1\n") != NULL);
    CHECK(strstr(text, "trace_response_us ") != NULL);
    CHECK(strstr(text, "trace_closed_us ") != NULL);
    close(sv[1]);
    close(peer);
    fake_fini(&f);
}

TEST(credit_free_wraps)
{
    CHECK_EQ(vsock_credit_free(1000, 0xffffff00u, 0x100u), 1000 - 0x200);
    CHECK_EQ(vsock_credit_free(1000, 0xfffffff0u, 0xfffffff0u), 1000);
    CHECK_EQ(vsock_credit_free(1000, 0xfffffc18u, 0x0u), 0); /* exactly full across the wrap */
    CHECK_EQ(vsock_credit_free(1000, 5, 3), 0);              /* peer claims more than sent */
    CHECK_EQ(vsock_credit_free(0, 0, 0), 0);
}

TEST(credit_accounting_across_wraparound)
{
    struct fake f;
    int peer;
    uint8_t buf[8192];
    struct vsock_hdr h;
    fake_init(&f);
    struct vsock_conn *c = establish_tcp(&f, &peer, 3000);
    CHECK(c);
    /* Counters just below 2^32 on both sides. */
    c->rx_cnt = c->fwd_cnt = c->last_fwd_sent = 0xffffff00u;
    c->tx_cnt = 0xfffffe00u;
    fake_send(&f, VSOCK_OP_CREDIT_UPDATE, GPORT, c->host_port, 0, NULL, 0, 3000, 0xfffffe00u);
    CHECK_EQ(conn_peer_credit(c), 3000);
    memset(buf, 'a', sizeof(buf));
    fake_send(&f, VSOCK_OP_RW, GPORT, c->host_port, 0, buf, 4000, 3000, 0xfffffe00u);
    CHECK_EQ(c->rx_cnt, 0xffffff00u + 4000);
    CHECK_EQ(c->fwd_cnt, c->rx_cnt); /* written through, wrapped */
    CHECK_EQ(recv(peer, buf, sizeof(buf), MSG_DONTWAIT), 4000);
    /* Host -> guest: the guest granted 3000; 5000 bytes wait behind the credit. */
    CHECK_EQ(send(peer, buf, 5000, 0), 5000);
    conn_host_event(&f.dev, c, EPOLLIN);
    device_run(&f.dev);
    uint32_t got = 0;
    while (fake_recv(&f, &h, NULL, 0) == 1)
        if (h.op == VSOCK_OP_RW)
            got += h.len;
    CHECK_EQ(got, 3000);
    CHECK_EQ(c->tx_cnt, 0xfffffe00u + 3000); /* wrapped past 2^32 */
    CHECK_EQ(conn_peer_credit(c), 0);
    /* The guest consumes 3000: credit returns across the wrap. */
    fake_send(&f, VSOCK_OP_CREDIT_UPDATE, GPORT, c->host_port, 0, NULL, 0, 3000,
              0xfffffe00u + 3000);
    got = 0;
    while (fake_recv(&f, &h, NULL, 0) == 1)
        if (h.op == VSOCK_OP_RW)
            got += h.len;
    CHECK_EQ(got, 2000);
    close(peer);
    fake_fini(&f);
}

TEST(slow_host_socket_stops_credit)
{
    struct fake f;
    int peer, small = 4096;
    static uint8_t buf[65536];
    fake_init(&f);
    struct vsock_conn *c = establish_tcp(&f, &peer, 65536);
    CHECK(c);
    setsockopt(c->w.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    fake_count_op(&f, VSOCK_OP_CREDIT_UPDATE, NULL);
    /* The guest fills our whole buffer (within credit): the host peer reads nothing. */
    uint32_t sent = 0;
    while (sent < CONN_BUF_ALLOC) {
        fake_send(&f, VSOCK_OP_RW, GPORT, c->host_port, 0, buf, 4096, 65536, 0);
        sent += 4096;
        CHECK(conn_lookup(&f.dev, c->host_port, GPORT) == c);
    }
    CHECK(c->buf_len > 0);
    CHECK(c->buf_len <= CONN_BUF_ALLOC);
    CHECK_EQ(c->rx_cnt - c->fwd_cnt, c->buf_len);
    CHECK_EQ(f.dev.bytes_buffered, c->buf_len); /* what the socket left was copied */
    /* No credit was granted for bytes the host has not taken. */
    struct vsock_hdr h;
    int updates = 0;
    while (fake_recv(&f, &h, NULL, 0) == 1)
        if (h.op == VSOCK_OP_CREDIT_UPDATE) {
            updates++;
            CHECK((uint32_t)(c->rx_cnt - h.fwd_cnt) >= c->buf_len);
        }
    /* One more byte is over the credit: the connection is reset. */
    uint32_t hp = c->host_port;
    if (c->buf_len == CONN_BUF_ALLOC) {
        fake_send(&f, VSOCK_OP_RW, GPORT, hp, 0, buf, 1, 65536, 0);
        CHECK(conn_lookup(&f.dev, hp, GPORT) == NULL);
        CHECK_EQ(fake_count_op(&f, VSOCK_OP_RST, NULL), 1);
        close(peer);
        fake_fini(&f);
        return;
    }
    /* Otherwise: the peer reads, we flush and grant credit again. */
    while (recv(peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
        ;
    conn_host_event(&f.dev, c, EPOLLOUT);
    device_run(&f.dev);
    CHECK(fake_count_op(&f, VSOCK_OP_CREDIT_UPDATE, NULL) >= 1);
    close(peer);
    fake_fini(&f);
}

TEST(guest_over_credit_is_reset)
{
    struct fake f;
    int peer, small = 4096;
    static uint8_t buf[8192];
    fake_init(&f);
    struct vsock_conn *c = establish_tcp(&f, &peer, 65536);
    CHECK(c);
    setsockopt(c->w.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    uint32_t hp = c->host_port;
    for (int i = 0; i < 200 && conn_lookup(&f.dev, hp, GPORT); i++)
        fake_send(&f, VSOCK_OP_RW, GPORT, hp, 0, buf, 4096, 65536, 0);
    CHECK(conn_lookup(&f.dev, hp, GPORT) == NULL); /* 200 * 4 KiB > 256 KiB + socket */
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RST, NULL), 1);
    close(peer);
    fake_fini(&f);
}

TEST(no_guest_credit_stops_reading)
{
    struct fake f;
    int peer;
    fake_init(&f);
    struct vsock_conn *c = establish_tcp(&f, &peer, 0);
    CHECK(c);
    CHECK_EQ(send(peer, "data", 4, 0), 4);
    conn_host_event(&f.dev, c, EPOLLIN);
    device_run(&f.dev);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RW, NULL), 0);
    /* The bytes are still in the socket, not in a buffer of ours. */
    char b[8];
    CHECK_EQ(recv(c->w.fd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT), 4);
    fake_send(&f, VSOCK_OP_CREDIT_UPDATE, GPORT, c->host_port, 0, NULL, 0, 2, 0);
    struct vsock_hdr h;
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RW, &h), 1);
    CHECK_EQ(h.len, 2);
    close(peer);
    fake_fini(&f);
}

TEST(credit_request_answered)
{
    struct fake f;
    int peer;
    struct vsock_hdr h;
    fake_init(&f);
    struct vsock_conn *c = establish_tcp(&f, &peer, 65536);
    CHECK(c);
    fake_send(&f, VSOCK_OP_CREDIT_REQUEST, GPORT, c->host_port, 0, NULL, 0, 65536, 0);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_CREDIT_UPDATE, &h), 1);
    CHECK_EQ(h.buf_alloc, CONN_BUF_ALLOC);
    close(peer);
    fake_fini(&f);
}

TEST(orderly_close_host_first)
{
    struct fake f;
    int peer;
    struct vsock_hdr h;
    char b[16];
    fake_init(&f);
    struct vsock_conn *c = establish_tcp(&f, &peer, 65536);
    CHECK(c);
    uint32_t hp = c->host_port;
    shutdown(peer, SHUT_WR);
    conn_host_event(&f.dev, c, EPOLLIN);
    device_run(&f.dev);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_SHUTDOWN, &h), 1);
    CHECK_EQ(h.flags, VSOCK_SHUTDOWN_SEND);
    /* Half-closed: the guest may still send. */
    fake_send(&f, VSOCK_OP_RW, GPORT, hp, 0, "late", 4, 65536, 0);
    CHECK_EQ(recv(peer, b, sizeof(b), MSG_DONTWAIT), 4);
    fake_send(&f, VSOCK_OP_SHUTDOWN, GPORT, hp, VSOCK_SHUTDOWN_SEND, NULL, 0, 65536, 0);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_SHUTDOWN, &h), 1);
    CHECK_EQ(h.flags, VSOCK_SHUTDOWN_BOTH);
    CHECK_EQ(recv(peer, b, sizeof(b), MSG_DONTWAIT), 0); /* host sees EOF */
    CHECK(conn_lookup(&f.dev, hp, GPORT)->state == CONN_CLOSING);
    fake_send(&f, VSOCK_OP_RST, GPORT, hp, 0, NULL, 0, 0, 0);
    CHECK(conn_lookup(&f.dev, hp, GPORT) == NULL);
    close(peer);
    fake_fini(&f);
}

TEST(guest_full_shutdown_answered_with_rst)
{
    struct fake f;
    int peer;
    char b[16];
    fake_init(&f);
    struct vsock_conn *c = establish_tcp(&f, &peer, 65536);
    CHECK(c);
    uint32_t hp = c->host_port;
    fake_send(&f, VSOCK_OP_RW, GPORT, hp, 0, "bye", 3, 65536, 0);
    fake_send(&f, VSOCK_OP_SHUTDOWN, GPORT, hp, VSOCK_SHUTDOWN_BOTH, NULL, 0, 65536, 0);
    CHECK(conn_lookup(&f.dev, hp, GPORT) == NULL);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RST, NULL), 1);
    CHECK_EQ(recv(peer, b, sizeof(b), MSG_DONTWAIT), 3); /* data first, then EOF */
    CHECK_EQ(recv(peer, b, sizeof(b), MSG_DONTWAIT), 0);
    close(peer);
    fake_fini(&f);
}

TEST(timeouts)
{
    struct fake f;
    int sv[2], peer;
    fake_init(&f);
    fake_post_rx(&f, 32, VSOCK_HDR_SIZE + 4096);
    fake_clock = 1000;
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    struct vsock_conn *c = conn_new(&f.dev, sv[0], CONN_FROM_TCP);
    conn_start_to_guest(&f.dev, c, GPORT);
    uint32_t hp = c->host_port;
    device_run(&f.dev);
    CHECK_EQ(device_next_deadline(&f.dev), 1000 + CONNECT_TIMEOUT_MS); /* the timer's target */
    device_timer(&f.dev, 1000 + CONNECT_TIMEOUT_MS - 1);
    CHECK(conn_lookup(&f.dev, hp, GPORT) == c);
    device_timer(&f.dev, 1000 + CONNECT_TIMEOUT_MS);
    device_run(&f.dev);
    CHECK(conn_lookup(&f.dev, hp, GPORT) == NULL);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RST, NULL), 1);
    CHECK_EQ(device_next_deadline(&f.dev), 0); /* nothing waits: the timer is off */
    close(sv[1]);
    /* A Unix client that sends half a CONNECT line and then nothing. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    c = conn_new(&f.dev, sv[0], CONN_FROM_UDS);
    CHECK_EQ(send(sv[1], "CONN", 4, 0), 4);
    conn_host_event(&f.dev, c, EPOLLIN);
    device_run(&f.dev);
    CHECK_EQ(f.dev.nconns, 1);
    CHECK(c->state == CONN_CONNECT_LINE);
    device_timer(&f.dev, 1000 + CONNECT_TIMEOUT_MS);
    device_run(&f.dev);
    CHECK_EQ(f.dev.nconns, 0);
    char b[4];
    CHECK(recv(sv[1], b, sizeof(b), MSG_DONTWAIT) <= 0);
    close(sv[1]);
    /* CLOSING without the guest's RST: we send one after CLOSE_TIMEOUT_MS. */
    fake_clock = 50000;
    c = closing_conn(&f, &peer);
    CHECK(c);
    hp = c->host_port;
    device_timer(&f.dev, 50000 + CLOSE_TIMEOUT_MS);
    device_run(&f.dev);
    CHECK(conn_lookup(&f.dev, hp, GPORT) == NULL);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RST, NULL), 1);
    fake_fini(&f);
}

/* A guest REQUEST to a host listener whose accept queue is full waits for
 * room (no RST, no RESPONSE), tried again at growing gaps, until the connect
 * goes through, the guest gives up (RST), the listener goes, or the connect
 * timeout. */
TEST(guest_connect_busy_listener)
{
    struct fake f;
    struct vsock_hdr h;
    int sv[2];
    uint8_t buf[64];
    fake_init(&f);
    fake_post_rx(&f, 32, VSOCK_HDR_SIZE + 4096);
    fake_clock = 1000;
    /* Full three times, then room. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    fake_listener_busy = 3;
    fake_listener_fd = sv[0];
    fake_connects = 0;
    fake_send(&f, VSOCK_OP_REQUEST, 1234, 80, 0, NULL, 0, 4096, 0);
    CHECK_EQ(fake_recv(&f, &h, NULL, 0), 0); /* nothing yet: it waits */
    struct vsock_conn *c = conn_lookup(&f.dev, 80, 1234);
    CHECK(c && c->kind == CONN_FROM_GUEST && c->state == CONN_CONNECTING && c->w.fd < 0);
    CHECK_EQ(f.dev.stats.guest_refused, 0);
    uint64_t last_gap = 0;
    for (int i = 0; i < 3; i++) {
        uint64_t next = device_next_deadline(&f.dev);
        CHECK(next > fake_clock && next - fake_clock >= last_gap && next - fake_clock <= 25);
        last_gap = next - fake_clock;
        fake_clock = next;
        device_timer(&f.dev, fake_clock);
        device_run(&f.dev);
    }
    CHECK_EQ(fake_connects, 4);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RESPONSE, &h), 1);
    CHECK(h.src_port == 80 && h.dst_port == 1234);
    CHECK(conn_lookup(&f.dev, 80, 1234) == c && c->state == CONN_ESTABLISHED && c->w.fd == sv[0]);
    CHECK_EQ(f.dev.stats.guest_connects, 1);
    CHECK_EQ(device_next_deadline(&f.dev), 0);
    fake_send(&f, VSOCK_OP_RW, 1234, 80, 0, "late hi", 7, 4096, 0);
    CHECK_EQ(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), 7);
    CHECK(memcmp(buf, "late hi", 7) == 0);
    close(sv[1]);
    /* The guest gives up (its connect timeout, RST): closed, no RST back. */
    fake_listener_busy = 1000000;
    fake_send(&f, VSOCK_OP_REQUEST, 1235, 80, 0, NULL, 0, 4096, 0);
    CHECK(conn_lookup(&f.dev, 80, 1235) != NULL);
    fake_send(&f, VSOCK_OP_RST, 1235, 80, 0, NULL, 0, 4096, 0);
    CHECK(conn_lookup(&f.dev, 80, 1235) == NULL);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RST, NULL), 0);
    CHECK_EQ(f.dev.stats.guest_refused, 1);
    /* Full until the connect timeout: RST to the guest then, not before. */
    uint64_t t0 = fake_clock;
    fake_send(&f, VSOCK_OP_REQUEST, 1236, 80, 0, NULL, 0, 4096, 0);
    unsigned tries = 0;
    while (conn_lookup(&f.dev, 80, 1236) && tries < 10000) {
        CHECK_EQ(fake_count_op(&f, VSOCK_OP_RST, NULL), 0);
        fake_clock = device_next_deadline(&f.dev);
        device_timer(&f.dev, fake_clock);
        device_run(&f.dev);
        tries++;
    }
    CHECK(fake_clock - t0 >= CONNECT_TIMEOUT_MS && fake_clock - t0 <= CONNECT_TIMEOUT_MS + 25);
    CHECK(tries >= CONNECT_TIMEOUT_MS / 25); /* tried again and again, gaps of at most 25 ms */
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RST, &h), 1);
    CHECK(h.src_port == 80 && h.dst_port == 1236);
    CHECK_EQ(f.dev.stats.guest_refused, 2);
    /* The listener goes away while a REQUEST waits: RST at the next try. */
    fake_listener_busy = 1;
    fake_send(&f, VSOCK_OP_REQUEST, 1237, 80, 0, NULL, 0, 4096, 0);
    CHECK(conn_lookup(&f.dev, 80, 1237) != NULL);
    fake_clock = device_next_deadline(&f.dev);
    device_timer(&f.dev, fake_clock);
    device_run(&f.dev);
    CHECK(conn_lookup(&f.dev, 80, 1237) == NULL);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RST, NULL), 1);
    CHECK_EQ(f.dev.stats.guest_refused, 3);
    /* A listener this daemon may not connect to: refused at once, and said
     * whatever the log level (rate-limited); no listener at all is not. */
    CHECK(!f.dev.denied_log.said);
    fake_send(&f, VSOCK_OP_REQUEST, 1239, 81, 0, NULL, 0, 4096, 0);
    CHECK(!f.dev.denied_log.said);
    fake_refuse_errno = EACCES;
    fake_send(&f, VSOCK_OP_REQUEST, 1240, 81, 0, NULL, 0, 4096, 0);
    fake_refuse_errno = 0;
    CHECK(f.dev.denied_log.said);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RST, NULL), 2);
    CHECK(conn_lookup(&f.dev, 81, 1240) == NULL);
    /* A device reset while one waits frees it. */
    fake_listener_busy = 1;
    fake_send(&f, VSOCK_OP_REQUEST, 1238, 80, 0, NULL, 0, 4096, 0);
    CHECK_EQ(f.dev.nconns, 2); /* the established one and this one */
    fake_listener_busy = 0;
    fake_fini(&f);
}

TEST(hostile_headers)
{
    struct fake f;
    int peer;
    fake_init(&f);
    struct vsock_conn *c = establish_tcp(&f, &peer, 65536);
    CHECK(c);
    uint32_t hp = c->host_port;
    struct vq_chain chain = {0};
    struct vsock_hdr h = {.src_cid = FAKE_CID + 1,
                          .dst_cid = 2,
                          .src_port = GPORT,
                          .dst_port = hp,
                          .type = 1,
                          .op = VSOCK_OP_RST};
    chain.n_out = 1;
    chain.out[0].iov_base = &h;
    chain.out[0].iov_len = sizeof(h);
    chain.out_len = sizeof(h);
    /* Spoofed source CID: ignored (no reset of the real connection). */
    device_handle_tx_chain(&f.dev, &chain);
    CHECK(conn_lookup(&f.dev, hp, GPORT) == c);
    /* Wrong destination CID or type: RST, connection untouched. */
    h.src_cid = FAKE_CID;
    h.dst_cid = 5;
    h.op = VSOCK_OP_RW;
    device_handle_tx_chain(&f.dev, &chain);
    h.dst_cid = 2;
    h.type = VSOCK_TYPE_SEQPACKET;
    device_handle_tx_chain(&f.dev, &chain);
    device_run(&f.dev);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RST, NULL), 2);
    CHECK(conn_lookup(&f.dev, hp, GPORT) == c);
    /* Short header: dropped. Length beyond the buffer: that connection is reset. */
    h.type = VSOCK_TYPE_STREAM;
    chain.out_len = chain.out[0].iov_len = 20;
    device_handle_tx_chain(&f.dev, &chain);
    CHECK(conn_lookup(&f.dev, hp, GPORT) == c);
    chain.out_len = chain.out[0].iov_len = sizeof(h);
    h.len = 1;
    device_handle_tx_chain(&f.dev, &chain);
    CHECK(conn_lookup(&f.dev, hp, GPORT) == NULL);
    CHECK(f.dev.bad_packets >= 4);
    close(peer);
    fake_fini(&f);
}

TEST(connection_cap)
{
    struct fake f;
    fake_init(&f);
    f.dev.max_conns = 2;
    fake_post_rx(&f, 32, VSOCK_HDR_SIZE + 4096);
    for (int i = 0; i < 3; i++) {
        int sv[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
        fake_listener_fd = sv[0];
        fake_send(&f, VSOCK_OP_REQUEST, 100 + (uint32_t)i, 80, 0, NULL, 0, 4096, 0);
        if (fake_listener_fd >= 0)
            close(fake_listener_fd); /* not taken: refused before connecting */
        fake_listener_fd = -1;
        close(sv[1]);
    }
    CHECK_EQ(f.dev.nconns, 2);
    CHECK(conn_lookup(&f.dev, 80, 102) == NULL);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RST, NULL), 1);
    fake_fini(&f);
}

TEST(tiny_rx_buffer_breaks_queue_not_daemon)
{
    struct fake f;
    int peer;
    char b[4];
    fake_init(&f);
    struct vsock_conn *c = establish_tcp(&f, &peer, 65536);
    CHECK(c);
    while (fake_recv(&f, &(struct vsock_hdr){0}, NULL, 0) == 1)
        ;
    /* Use up the good buffers, then offer one smaller than a header. */
    f.dev.vu.vq[0].last_avail = f.rx_avail;
    fake_post_rx(&f, 1, 10);
    CHECK_EQ(send(peer, "x", 1, 0), 1);
    conn_host_event(&f.dev, c, EPOLLIN);
    device_run(&f.dev);
    CHECK(f.dev.vu.vq[0].broken);
    CHECK_EQ(f.dev.nconns, 0);
    /* host stream closed (reset: it had unread data) */
    ssize_t r = recv(peer, b, sizeof(b), MSG_DONTWAIT);
    CHECK(r == 0 || (r < 0 && errno == ECONNRESET));
    close(peer);
    fake_fini(&f);
}

TEST(uds_client_gets_ok_line_after_response)
{
    struct fake f;
    int sv[2];
    char b[64];
    struct vsock_hdr h;
    fake_init(&f);
    fake_post_rx(&f, 32, VSOCK_HDR_SIZE + 4096);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    struct vsock_conn *c = conn_new(&f.dev, sv[0], CONN_FROM_UDS);
    CHECK_EQ(send(sv[1], "CONNECT 52\nrest", 15, 0), 15);
    conn_host_event(&f.dev, c, EPOLLIN);
    device_run(&f.dev);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_REQUEST, &h), 1);
    CHECK_EQ(h.dst_port, 52);
    CHECK_EQ(recv(sv[1], b, sizeof(b), MSG_DONTWAIT), -1); /* nothing before RESPONSE */
    fake_send(&f, VSOCK_OP_RESPONSE, 52, h.src_port, 0, NULL, 0, 4096, 0);
    ssize_t n = recv(sv[1], b, sizeof(b) - 1, MSG_DONTWAIT);
    CHECK(n > 0);
    b[n] = 0;
    char want[32];
    snprintf(want, sizeof(want), "OK %u\n", h.src_port);
    CHECK_STR(b, want);
    /* The bytes after the newline are stream data for the guest. */
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RW, &h), 1);
    CHECK_EQ(h.len, 4);
    close(sv[1]);
    fake_fini(&f);
}

TEST(uds_bad_line_and_guest_refusal_close_client)
{
    struct fake f;
    int sv[2];
    char b[8];
    struct vsock_hdr h;
    fake_init(&f);
    fake_post_rx(&f, 32, VSOCK_HDR_SIZE + 4096);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    struct vsock_conn *c = conn_new(&f.dev, sv[0], CONN_FROM_UDS);
    CHECK_EQ(send(sv[1], "CONNECT x\n", 10, 0), 10);
    conn_host_event(&f.dev, c, EPOLLIN);
    device_run(&f.dev);
    CHECK_EQ(f.dev.nconns, 0);
    CHECK(recv(sv[1], b, sizeof(b), MSG_DONTWAIT) <= 0);
    close(sv[1]);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    c = conn_new(&f.dev, sv[0], CONN_FROM_UDS);
    CHECK_EQ(send(sv[1], "CONNECT 9\n", 10, 0), 10);
    conn_host_event(&f.dev, c, EPOLLIN);
    device_run(&f.dev);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_REQUEST, &h), 1);
    fake_send(&f, VSOCK_OP_RST, 9, h.src_port, 0, NULL, 0, 0, 0);
    CHECK_EQ(f.dev.nconns, 0);
    CHECK_EQ(recv(sv[1], b, sizeof(b), MSG_DONTWAIT), 0); /* closed without OK */
    close(sv[1]);
    fake_fini(&f);
}

/* Found by fuzzing: a header-only rx buffer while data waits must not spin. */
TEST(header_only_rx_buffer_does_not_spin)
{
    struct fake f;
    int peer;
    struct vsock_hdr h;
    uint8_t b[64];
    fake_init(&f);
    struct vsock_conn *c = establish_tcp(&f, &peer, 65536);
    CHECK(c);
    while (fake_recv(&f, &h, NULL, 0) == 1)
        ;
    f.dev.vu.vq[0].last_avail = f.rx_avail; /* drop the big buffers */
    fake_post_rx(&f, 1, VSOCK_HDR_SIZE);
    CHECK_EQ(send(peer, "data", 4, 0), 4);
    conn_host_event(&f.dev, c, EPOLLIN);
    device_run(&f.dev); /* returns: the buffer cannot carry data */
    CHECK_EQ(fake_recv(&f, &h, NULL, 0), 0);
    CHECK(!f.dev.vu.vq[0].broken);
    /* A control packet can still use it, and data flows once a real buffer comes. */
    fake_send(&f, VSOCK_OP_CREDIT_REQUEST, GPORT, c->host_port, 0, NULL, 0, 65536, 0);
    CHECK_EQ(fake_recv(&f, &h, NULL, 0), 1);
    CHECK_EQ(h.op, VSOCK_OP_CREDIT_UPDATE);
    fake_post_rx(&f, 1, VSOCK_HDR_SIZE + 100);
    device_run(&f.dev);
    CHECK_EQ(fake_recv(&f, &h, b, sizeof(b)), 1);
    CHECK_EQ(h.op, VSOCK_OP_RW);
    CHECK(h.len == 4 && memcmp(b, "data", 4) == 0);
    close(peer);
    fake_fini(&f);
}
