/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * miura-vsockd's pre-opened connections (--preopen, host/vsockd/pool.c),
 * against the fake guest (vsockd_fake.h): the pool fills once the rx ring
 * runs; a client (a Unix listener stands in for a --publish one) is paired
 * with a ready connection at once and its bytes go to the guest with no
 * REQUEST; the pool refills; anything but credit on an unpaired connection
 * drops it and its bytes reach no client; refusals and early drops pause the
 * refill to one connection at a time; an idle end teaches the pool an age
 * limit; a reset empties it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/un.h>

#include "test.h"
#include "vsockd/endpoint.h"
#include "vsockd_fake.h"

#define GPORT 80

/* Drains rx: the host ports of the REQUESTs to GPORT (up to max), their count. */
static int requests(struct fake *f, uint32_t *ports, int max)
{
    struct vsock_hdr h;
    int n = 0;
    while (fake_recv(f, &h, NULL, 0) == 1)
        if (h.op == VSOCK_OP_REQUEST && h.dst_port == GPORT && n < max)
            ports[n++] = h.src_port;
    return n;
}

static void pool_start(struct fake *f, unsigned n, struct preopen_pool **p)
{
    fake_init(f);
    f->dev.preopen = n;
    *p = pool_add(&f->dev, GPORT);
    fake_post_rx(f, 48, VSOCK_HDR_SIZE + 4096);
}

/* Runs the device and answers every REQUEST with RESPONSE; returns how many. */
static int accept_all(struct fake *f)
{
    uint32_t ports[64];
    device_run(&f->dev);
    int n = requests(f, ports, 64);
    for (int i = 0; i < n; i++)
        fake_send(f, VSOCK_OP_RESPONSE, GPORT, ports[i], 0, NULL, 0, 65536, 0);
    return n;
}

TEST(pool_fills_and_a_client_is_paired_at_once)
{
    struct fake f;
    struct preopen_pool *p;
    struct vsock_hdr h;
    uint8_t data[64];
    char text[2048];
    int sv[2], sv2[2];
    pool_start(&f, 4, &p);
    CHECK_EQ(accept_all(&f), 4);
    CHECK_EQ(p->ready, 4);
    CHECK_EQ(f.dev.stats.preopened, 4);
    CHECK_EQ(f.dev.nconns, 4);
    CHECK_EQ(device_gate_count(&f.dev), 0); /* ready ones leave the gate open */
    device_run(&f.dev);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_REQUEST, NULL), 0); /* full: nothing more */

    /* A client: its bytes go to the guest with no REQUEST before them. */
    struct vsock_conn *c = pool_take(&f.dev, p);
    CHECK(c != NULL && c->state == CONN_ESTABLISHED && c->pool == NULL);
    uint32_t hp = c->host_port;
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    pool_pair(&f.dev, c, sv[0]);
    CHECK(send(sv[1], "GET / HTTP/1.1\r\n\r\n", 18, 0) == 18);
    conn_host_event(&f.dev, c, EPOLLIN);
    device_run(&f.dev);
    int rw = 0, req = 0;
    while (fake_recv(&f, &h, data, sizeof(data)) == 1) {
        if (h.op == VSOCK_OP_RW && h.src_port == hp) {
            CHECK_EQ(h.len, 18);
            CHECK(memcmp(data, "GET / HTTP/1.1\r\n\r\n", 18) == 0);
            rw++;
        }
        if (h.op == VSOCK_OP_REQUEST)
            req++;
    }
    CHECK_EQ(rw, 1);
    CHECK_EQ(req, 0); /* no refill on the client's time */
    CHECK_EQ(p->held, 1);
    /* The guest's answer reaches the client; 3 of 4 left: no refill yet. */
    fake_send(&f, VSOCK_OP_RW, GPORT, hp, 0, "HTTP/1.1 200 OK\r\n", 17, 65536, 18);
    CHECK(recv(sv[1], data, sizeof(data), 0) == 17);
    CHECK(memcmp(data, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK_EQ(p->held, 0);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_REQUEST, NULL), 0);
    /* A second client: at half full, once the guest answers it, the refill
     * goes in one batch (several REQUESTs per guest wake-up). */
    c = pool_take(&f.dev, p);
    CHECK(c != NULL && c->host_port != hp);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv2) == 0);
    pool_pair(&f.dev, c, sv2[0]);
    device_run(&f.dev);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_REQUEST, NULL), 0);
    device_stats_text(&f.dev, text, sizeof(text));
    CHECK(strstr(text, "preopen 4\n") != NULL);
    CHECK(strstr(text, "preopen_ready 2\n") != NULL);
    CHECK(strstr(text, "preopen_paired 2\n") != NULL);
    fake_send(&f, VSOCK_OP_RW, GPORT, c->host_port, 0, "x", 1, 65536, 0);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_REQUEST, NULL), 2);
    CHECK_EQ(f.dev.stats.preopen_paired, 2);
    CHECK_EQ(f.dev.stats.accepted, 2);
    CHECK_EQ(f.dev.stats.established, 2);
    close(sv[1]);
    close(sv2[1]);
    fake_fini(&f);
}

/* Clients that stay silent (the guest never answers them) do not keep the pool empty. */
TEST(pool_refills_when_silent_clients_took_all)
{
    struct fake f;
    struct preopen_pool *p;
    int sv[2][2];
    pool_start(&f, 2, &p);
    CHECK_EQ(accept_all(&f), 2);
    for (int i = 0; i < 2; i++) {
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv[i]) == 0);
        pool_pair(&f.dev, pool_take(&f.dev, p), sv[i][0]);
    }
    CHECK_EQ(p->held, 2);
    CHECK_EQ(accept_all(&f), 2); /* empty: refilled although neither was answered */
    CHECK_EQ(p->ready, 2);
    close(sv[0][1]);
    close(sv[1][1]);
    fake_fini(&f);
}

TEST(pool_off_adds_no_stats_and_opens_nothing)
{
    struct fake f;
    char text[2048];
    fake_init(&f);
    fake_post_rx(&f, 8, VSOCK_HDR_SIZE + 4096);
    device_run(&f.dev);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_REQUEST, NULL), 0);
    device_stats_text(&f.dev, text, sizeof(text));
    CHECK(strstr(text, "accepted 0\n") != NULL);
    CHECK(strstr(text, "preopen") == NULL);
    fake_fini(&f);
}

TEST(pool_waits_for_the_rx_ring)
{
    struct fake f;
    struct preopen_pool *p;
    pool_start(&f, 2, &p);
    f.dev.vu.vq[0].started = false; /* the guest has not set up its rx ring yet */
    device_run(&f.dev);
    CHECK_EQ(f.dev.nconns, 0);
    CHECK_EQ(device_next_deadline(&f.dev), 0); /* and no timer for it */
    f.dev.vu.vq[0].started = true;
    CHECK_EQ(accept_all(&f), 2);
    CHECK_EQ(p->ready, 2);
    fake_fini(&f);
}

/* Data, SHUTDOWN or RST on an unpaired connection drops it; credit does not. */
TEST(pool_drops_an_unpaired_connection_the_guest_touched)
{
    static const uint16_t ops[] = {VSOCK_OP_RW, VSOCK_OP_SHUTDOWN, VSOCK_OP_RST};
    for (unsigned i = 0; i < 3; i++) {
        struct fake f;
        struct preopen_pool *p;
        struct vsock_hdr h;
        uint8_t data[64];
        int sv[2];
        pool_start(&f, 1, &p);
        CHECK_EQ(accept_all(&f), 1);
        struct vsock_conn *c = p->ready_head;
        uint32_t hp = c->host_port;
        fake_send(&f, VSOCK_OP_CREDIT_UPDATE, GPORT, hp, 0, NULL, 0, 65536, 0);
        CHECK_EQ(p->ready, 1);
        fake_send(&f, ops[i], GPORT, hp, VSOCK_SHUTDOWN_BOTH, "220 hello\r\n",
                  ops[i] == VSOCK_OP_RW ? 11 : 0, 65536, 0);
        CHECK(conn_lookup(&f.dev, hp, GPORT) == NULL);
        CHECK_EQ(p->ready, 0);
        CHECK_EQ(f.dev.stats.preopen_dropped, 1);
        CHECK_EQ(f.dev.nconns, 0);
        int rst = 0;
        while (fake_recv(&f, &h, NULL, 0) == 1)
            if (h.op == VSOCK_OP_RST && h.src_port == hp)
                rst++;
        CHECK_EQ(rst, ops[i] == VSOCK_OP_RST ? 0 : 1);
        /* A client now misses (the drop was early: the refill pauses) and
         * gets nothing of those bytes. */
        CHECK(pool_take(&f.dev, p) == NULL);
        CHECK_EQ(f.dev.stats.preopen_misses, 1);
        fake_clock += POOL_GAP_FIRST_MS;
        CHECK_EQ(accept_all(&f), 1);
        c = pool_take(&f.dev, p);
        CHECK(c != NULL && c->host_port != hp);
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
        pool_pair(&f.dev, c, sv[0]);
        device_run(&f.dev);
        CHECK(recv(sv[1], data, sizeof(data), 0) < 0 && errno == EAGAIN);
        close(sv[1]);
        fake_fini(&f);
    }
}

/* No listener: one REQUEST at a time, the pause doubling; a RESPONSE fills the pool. */
TEST(pool_backs_off_while_the_guest_refuses)
{
    struct fake f;
    struct preopen_pool *p;
    uint32_t ports[64];
    pool_start(&f, 4, &p);
    fake_clock = 1000;
    device_run(&f.dev);
    int n = requests(&f, ports, 64);
    CHECK_EQ(n, 4);
    for (int i = 0; i < n; i++)
        fake_send(&f, VSOCK_OP_RST, GPORT, ports[i], 0, NULL, 0, 0, 0);
    CHECK_EQ(f.dev.stats.preopen_refused, 4);
    CHECK_EQ(f.dev.stats.refused, 0); /* no client was refused */
    CHECK_EQ(f.dev.nconns, 0);
    uint64_t gap = device_next_deadline(&f.dev) - fake_clock;
    CHECK(gap >= POOL_GAP_FIRST_MS);
    device_run(&f.dev);
    CHECK_EQ(requests(&f, ports, 64), 0); /* paused */
    uint64_t last_gap = 0;
    for (int round = 0; round < 8; round++) {
        fake_clock = device_next_deadline(&f.dev);
        device_timer(&f.dev, fake_clock);
        device_run(&f.dev);
        CHECK_EQ(requests(&f, ports, 64), 1); /* one probe */
        fake_send(&f, VSOCK_OP_RST, GPORT, ports[0], 0, NULL, 0, 0, 0);
        gap = device_next_deadline(&f.dev) - fake_clock;
        CHECK(gap >= last_gap && gap <= POOL_GAP_MAX_MS);
        last_gap = gap;
    }
    CHECK_EQ(last_gap, POOL_GAP_MAX_MS);
    /* The listener is there now. */
    fake_clock = device_next_deadline(&f.dev);
    device_run(&f.dev);
    CHECK_EQ(requests(&f, ports, 64), 1);
    fake_send(&f, VSOCK_OP_RESPONSE, GPORT, ports[0], 0, NULL, 0, 65536, 0);
    CHECK_EQ(accept_all(&f), 3);
    CHECK_EQ(p->ready, 4);
    fake_fini(&f);
}

/* A host client the guest accepts ends the pool's pause at once. */
TEST(pool_tries_again_when_the_port_answers_a_client)
{
    struct fake f;
    struct preopen_pool *p;
    uint32_t ports[64];
    struct vsock_hdr h;
    int sv[2];
    pool_start(&f, 2, &p);
    device_run(&f.dev);
    CHECK_EQ(requests(&f, ports, 64), 2);
    fake_send(&f, VSOCK_OP_RST, GPORT, ports[0], 0, NULL, 0, 0, 0);
    fake_send(&f, VSOCK_OP_RST, GPORT, ports[1], 0, NULL, 0, 0, 0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    struct vsock_conn *c = conn_new(&f.dev, sv[0], CONN_FROM_TCP);
    conn_start_to_guest(&f.dev, c, GPORT);
    device_run(&f.dev);
    CHECK(fake_recv(&f, &h, NULL, 0) == 1 && h.op == VSOCK_OP_REQUEST);
    CHECK(requests(&f, ports, 64) == 0); /* still paused */
    fake_send(&f, VSOCK_OP_RESPONSE, GPORT, c->host_port, 0, NULL, 0, 65536, 0);
    CHECK_EQ(accept_all(&f), 2); /* at once, no pause left */
    CHECK_EQ(p->ready, 2);
    close(sv[1]);
    fake_fini(&f);
}

/* An app that greets every connection: one at a time, paused, never N at once. */
TEST(pool_early_drops_keep_one_on_probation)
{
    struct fake f;
    struct preopen_pool *p;
    uint32_t ports[64];
    pool_start(&f, 8, &p);
    fake_clock = 5000;
    device_run(&f.dev);
    int n = requests(&f, ports, 64);
    CHECK_EQ(n, 8);
    for (int i = 0; i < n; i++) {
        fake_send(&f, VSOCK_OP_RESPONSE, GPORT, ports[i], 0, NULL, 0, 65536, 0);
        fake_send(&f, VSOCK_OP_RW, GPORT, ports[i], 0, "hi", 2, 65536, 0);
    }
    CHECK_EQ(f.dev.stats.preopen_dropped, 8);
    for (int round = 0; round < 5; round++) {
        fake_clock = device_next_deadline(&f.dev);
        CHECK(fake_clock != 0);
        device_timer(&f.dev, fake_clock);
        device_run(&f.dev);
        CHECK_EQ(requests(&f, ports, 64), 1);
        fake_send(&f, VSOCK_OP_RESPONSE, GPORT, ports[0], 0, NULL, 0, 65536, 0);
        fake_send(&f, VSOCK_OP_RW, GPORT, ports[0], 0, "hi", 2, 65536, 0);
    }
    /* The app stops greeting: the one on probation holds POOL_TRUST_MS, then the pool fills. */
    fake_clock = device_next_deadline(&f.dev);
    device_run(&f.dev);
    CHECK_EQ(requests(&f, ports, 64), 1);
    fake_send(&f, VSOCK_OP_RESPONSE, GPORT, ports[0], 0, NULL, 0, 65536, 0);
    device_run(&f.dev);
    CHECK_EQ(requests(&f, ports, 64), 0);
    fake_clock = device_next_deadline(&f.dev);
    device_timer(&f.dev, fake_clock);
    CHECK_EQ(accept_all(&f), 7);
    CHECK_EQ(p->ready, 8);
    fake_fini(&f);
}

/* The guest ends idle ones after 10 s: the pool closes its own after 5 s from then on. */
TEST(pool_learns_the_guest_idle_timeout_and_retires_before_it)
{
    struct fake f;
    struct preopen_pool *p;
    struct vsock_hdr h;
    uint32_t ports[64];
    pool_start(&f, 2, &p);
    fake_clock = 1000;
    CHECK_EQ(accept_all(&f), 2);
    CHECK_EQ(device_next_deadline(&f.dev), 1000 + POOL_MAX_AGE_MS);
    fake_clock = 11000;
    uint32_t hp = p->ready_head->host_port;
    fake_send(&f, VSOCK_OP_SHUTDOWN, GPORT, hp, VSOCK_SHUTDOWN_BOTH, NULL, 0, 65536, 0);
    CHECK_EQ(p->max_age_ms, 5000);
    CHECK_EQ(f.dev.stats.preopen_dropped, 1);
    /* Replaced at once (a late end is no fault). */
    device_run(&f.dev);
    CHECK_EQ(requests(&f, ports, 64), 1);
    fake_send(&f, VSOCK_OP_RESPONSE, GPORT, ports[0], 0, NULL, 0, 65536, 0);
    CHECK_EQ(p->ready, 2);
    /* The new one is retired at 5 s, the old one at POOL_MAX_AGE_MS. */
    fake_clock = 16000;
    device_timer(&f.dev, fake_clock);
    device_run(&f.dev);
    int shut = 0, req = 0;
    while (fake_recv(&f, &h, NULL, 0) == 1) {
        if (h.op == VSOCK_OP_SHUTDOWN && h.src_port == ports[0] && h.flags == VSOCK_SHUTDOWN_BOTH)
            shut++;
        if (h.op == VSOCK_OP_REQUEST)
            req++;
    }
    CHECK_EQ(shut, 1);
    CHECK_EQ(req, 1);
    CHECK_EQ(f.dev.stats.preopen_retired, 1);
    struct vsock_conn *c = conn_lookup(&f.dev, ports[0], GPORT);
    CHECK(c != NULL && c->state == CONN_CLOSING && c->pool == NULL);
    fake_send(&f, VSOCK_OP_RST, GPORT, ports[0], 0, NULL, 0, 65536, 0);
    CHECK(conn_lookup(&f.dev, ports[0], GPORT) == NULL);
    CHECK_EQ(f.dev.stats.refused, 0);
    fake_fini(&f);
}

/* Through the listener: a ready one is paired, none ready is today's path (a miss). */
TEST(pool_listener_pairs_or_falls_back)
{
    struct fake f;
    struct preopen_pool *p;
    struct vsock_hdr h;
    char dir[] = "/tmp/vsockd-pool.XXXXXX", path[128], err[160];
    struct publish_spec spec = {.guest_port = GPORT};
    pool_start(&f, 1, &p);
    CHECK(loop_init() == 0);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/l", dir);
    struct tcp_listener l = {.spec = &spec, .pool = p};
    l.w.fd = unix_listen(path, err, sizeof(err));
    CHECK(l.w.fd >= 0);
    CHECK_EQ(accept_all(&f), 1);
    uint32_t pooled = p->ready_head->host_port;
    int cl[2];
    for (int i = 0; i < 2; i++) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        memcpy(sa.sun_path, path, strlen(path) + 1);
        cl[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        CHECK(connect(cl[i], (struct sockaddr *)&sa, sizeof(sa)) == 0);
    }
    endpoint_accept_tcp(&f.dev, &l);
    CHECK_EQ(f.dev.stats.preopen_paired, 1);
    CHECK_EQ(f.dev.stats.preopen_misses, 1);
    CHECK_EQ(f.dev.stats.accepted, 2);
    struct vsock_conn *c = conn_lookup(&f.dev, pooled, GPORT);
    CHECK(c != NULL && c->w.fd >= 0 && c->state == CONN_ESTABLISHED);
    device_run(&f.dev);
    /* The second client's REQUEST (today's path), and the pool's refill
     * (empty: at once, whatever the first client does). */
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_REQUEST, &h), 2);
    close(cl[0]);
    conn_host_event(&f.dev, c, EPOLLIN | EPOLLRDHUP);
    device_run(&f.dev); /* SHUTDOWN to the guest */
    fake_send(&f, VSOCK_OP_RST, GPORT, pooled, 0, NULL, 0, 65536, 0);
    CHECK(conn_lookup(&f.dev, pooled, GPORT) == NULL);
    CHECK_EQ(p->held, 0);
    close(cl[1]);
    close(l.w.fd);
    unlink(path);
    rmdir(dir);
    fake_fini(&f);
}

TEST(pool_reset_empties_it)
{
    struct fake f;
    struct preopen_pool *p;
    pool_start(&f, 3, &p);
    CHECK_EQ(accept_all(&f), 3);
    device_reset_conns(&f.dev);
    conn_free_dead(&f.dev);
    CHECK_EQ(p->ready, 0);
    CHECK_EQ(p->opening, 0);
    CHECK(p->ready_head == NULL);
    CHECK_EQ(f.dev.pool_ready, 0);
    CHECK_EQ(f.dev.nconns, 0);
    CHECK_EQ(f.dev.stats.refused, 0);
    CHECK_EQ(accept_all(&f), 3); /* and fills again */
    device_reset_conns(&f.dev);  /* REQUESTs out, unanswered: cut short, not refused */
    device_run(&f.dev);
    CHECK_EQ(f.dev.stats.preopen_refused, 0);
    CHECK_EQ(p->refusals, 0);
    CHECK_EQ(p->next_at, 0);
    fake_fini(&f);
}

/* At --max-conns the pool opens nothing more, and a client still takes a ready one. */
TEST(pool_respects_the_connection_limit)
{
    struct fake f;
    struct preopen_pool *p;
    pool_start(&f, 4, &p);
    f.dev.max_conns = f.dev.gate.limit = 2;
    CHECK_EQ(accept_all(&f), 2);
    CHECK_EQ(p->ready, 2);
    CHECK_EQ(f.dev.nconns, 2);
    CHECK(gate_open(&f.dev.gate, device_gate_count(&f.dev), fake_clock));
    fake_fini(&f);
}
