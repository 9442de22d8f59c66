/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * miura-vsockd backpressure, against the fake guest (vsockd_fake.h): at the
 * connection limit accepting pauses (clients wait in the kernel's listen
 * queue, seen with a real epoll) and resumes when a connection ends; a guest
 * whose accept queue is full (RST to a REQUEST on a port that has accepted
 * before) makes clients wait and retry, oldest first, one probe at a time,
 * until the connect timeout; a port that never accepted refuses at once, and
 * so does one that accepted nobody during a waiter's whole wait.
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

static void fake_limit(struct fake *f, unsigned limit)
{
    f->dev.max_conns = limit;
    f->dev.gate.limit = limit;
}

/* Whether epoll reports the listener watch w now. */
static bool listener_ready(struct watch *w)
{
    struct epoll_event ev[64];
    int n = epoll_wait(loop_epfd, ev, 64, 0);
    for (int i = 0; i < n; i++)
        if (ev[i].data.ptr == w)
            return true;
    return false;
}

static int unix_client(const char *path, const char *line)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        send(fd, line, strlen(line), 0) != (ssize_t)strlen(line))
        return -1;
    return fd;
}

TEST(accept_pauses_at_the_limit_and_resumes)
{
    struct fake f;
    char dir[] = "/tmp/vsockd-bp.XXXXXX", path[128], err[160], text[1024];
    struct vsock_hdr h;
    int cl[3];
    fake_init(&f);
    fake_limit(&f, 2);
    fake_post_rx(&f, 32, VSOCK_HDR_SIZE + 4096);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/v.sock", dir);
    int l = unix_listen(path, err, sizeof(err));
    CHECK(l >= 0);
    CHECK_EQ(loop_init(), 0);
    struct watch lw = {.fd = l, .kind = WATCH_UDS_LISTEN};
    CHECK_EQ(loop_add(&lw, EPOLLIN), 0);
    CHECK_EQ(gate_add(&f.dev.gate, &lw), 0);
    for (int i = 0; i < 3; i++)
        CHECK((cl[i] = unix_client(path, "CONNECT 5000\n")) >= 0);
    CHECK(listener_ready(&lw));

    endpoint_accept_uds(&f.dev, l);
    CHECK_EQ(f.dev.nconns, 2);
    CHECK_EQ(f.dev.stats.accepted, 2);
    CHECK(f.dev.gate.paused);
    CHECK_EQ(f.dev.gate.pauses, 1);
    CHECK_EQ(listen_queued(l), 1); /* the third waits in the kernel's queue... */
    CHECK(!listener_ready(&lw));   /* ...and the loop no longer hears of it */
    device_run(&f.dev);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_REQUEST, &h), 2);
    char b[8];
    CHECK_EQ(recv(cl[2], b, sizeof(b), MSG_DONTWAIT), -1); /* not closed, not answered */
    CHECK_EQ(errno, EAGAIN);

    /* The guest refuses the last REQUEST (no listener): a slot frees, accepting resumes. */
    fake_send(&f, VSOCK_OP_RST, 5000, h.src_port, 0, NULL, 0, 0, 0);
    CHECK_EQ(f.dev.nconns, 1);
    CHECK_EQ(f.dev.stats.refused, 1);
    CHECK(!f.dev.gate.paused);
    CHECK(listener_ready(&lw));
    endpoint_accept_uds(&f.dev, l);
    CHECK_EQ(f.dev.stats.accepted, 3);
    CHECK_EQ(f.dev.nconns, 2);
    CHECK(f.dev.gate.paused);
    CHECK_EQ(f.dev.gate.pauses, 2);
    CHECK_EQ(listen_queued(l), 0);

    device_stats_text(&f.dev, text, sizeof(text));
    CHECK(strstr(text, "active 2\npeak 2\nlimit 2\nqueued 0\naccepting 0\naccepted 3\n") == text);
    CHECK(strstr(text, "\nrefused 1\n") != NULL);
    CHECK(strstr(text, "\nlimit_pauses 2\n") != NULL);
    for (int i = 0; i < 3; i++)
        close(cl[i]);
    fake_fini(&f);
    close(l);
    close(loop_epfd);
    loop_epfd = -1;
    unlink(path);
    rmdir(dir);
}

/* A --publish client (a socketpair's end) asking for GPORT; *peer is the client's side. */
static struct vsock_conn *tcp_client(struct fake *f, int *peer)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
        return NULL;
    struct vsock_conn *c = conn_new(&f->dev, sv[0], CONN_FROM_TCP);
    conn_start_to_guest(&f->dev, c, GPORT);
    device_run(&f->dev);
    *peer = sv[1];
    return c;
}

/* The only REQUEST the device sent since the last look: its host port, or 0. */
static uint32_t one_request(struct fake *f)
{
    struct vsock_hdr h;
    return fake_count_op(f, VSOCK_OP_REQUEST, &h) == 1 && h.dst_port == GPORT ? h.src_port : 0;
}

/* The guest answers op to the REQUEST from host port hp. */
static void guest_says(struct fake *f, uint16_t op, uint32_t hp)
{
    fake_send(f, op, GPORT, hp, 0, NULL, 0, 65536, 0);
}

TEST(full_accept_queue_clients_wait_and_retry_in_order)
{
    struct fake f;
    int pa, pb, pc;
    fake_init(&f);
    fake_post_rx(&f, 64, VSOCK_HDR_SIZE + 4096);
    fake_clock = 1000;
    struct vsock_conn *a = tcp_client(&f, &pa);
    guest_says(&f, VSOCK_OP_RESPONSE, one_request(&f)); /* the port has a listener */
    CHECK(a->state == CONN_ESTABLISHED);

    struct vsock_conn *b = tcp_client(&f, &pb);
    uint32_t hb = one_request(&f);
    CHECK(hb != 0);
    guest_says(&f, VSOCK_OP_RST, hb); /* its accept queue is full */
    CHECK(conn_lookup(&f.dev, hb, GPORT) == b);
    CHECK(b->state == CONN_CONNECTING && b->waiting);
    CHECK_EQ(f.dev.stats.guest_resets, 1);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RST, NULL), 0); /* we owe the guest nothing */
    CHECK_EQ(device_next_deadline(&f.dev), 1000 + RETRY_FIRST_MS);

    /* A newcomer queues behind b without asking the guest. */
    struct vsock_conn *c = tcp_client(&f, &pc);
    CHECK(c->waiting);
    CHECK_EQ(one_request(&f), 0);

    device_timer(&f.dev, 1000 + RETRY_FIRST_MS - 1);
    device_run(&f.dev);
    CHECK_EQ(one_request(&f), 0);
    fake_clock = 1000 + RETRY_FIRST_MS;
    device_timer(&f.dev, fake_clock);
    device_run(&f.dev);
    CHECK_EQ(one_request(&f), hb); /* one probe: the oldest */
    CHECK_EQ(f.dev.stats.retries, 1);
    guest_says(&f, VSOCK_OP_RST, hb); /* still full: the gap doubles */
    CHECK(b->waiting);
    CHECK_EQ(device_next_deadline(&f.dev), fake_clock + 2 * RETRY_FIRST_MS);
    fake_clock += 2 * RETRY_FIRST_MS;
    device_timer(&f.dev, fake_clock);
    device_run(&f.dev);
    CHECK_EQ(one_request(&f), hb); /* b kept its place at the head */
    guest_says(&f, VSOCK_OP_RESPONSE, hb);
    CHECK(b->state == CONN_ESTABLISHED);
    uint32_t hc = one_request(&f); /* room again: the next waiter goes at once */
    CHECK(hc != 0 && hc != hb);
    guest_says(&f, VSOCK_OP_RESPONSE, hc);
    CHECK(c->state == CONN_ESTABLISHED);
    CHECK_EQ(f.dev.stats.established, 3);
    CHECK_EQ(f.dev.stats.refused, 0);
    CHECK_EQ(f.dev.stats.retries, 3);
    CHECK_EQ(f.dev.nconns, 3);
    /* Established after waiting, the stream works as any other. */
    CHECK_EQ(send(pc, "hi", 2, 0), 2);
    conn_host_event(&f.dev, c, EPOLLIN);
    device_run(&f.dev);
    struct vsock_hdr h;
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RW, &h), 1);
    CHECK_EQ(h.src_port, hc);
    CHECK_EQ(h.len, 2);
    close(pa);
    close(pb);
    close(pc);
    fake_fini(&f);
}

TEST(waiting_ends_at_the_connect_timeout)
{
    struct fake f;
    int pa, pb, pc;
    fake_init(&f);
    fake_post_rx(&f, 64, VSOCK_HDR_SIZE + 4096);
    fake_clock = 5000;
    struct vsock_conn *a = tcp_client(&f, &pa);
    guest_says(&f, VSOCK_OP_RESPONSE, one_request(&f));
    CHECK(a->state == CONN_ESTABLISHED);
    fake_clock = 6000;
    struct vsock_conn *b = tcp_client(&f, &pb);
    uint32_t hb = one_request(&f);
    uint64_t started = fake_clock;
    guest_says(&f, VSOCK_OP_RST, hb);
    unsigned probes = 0;
    /* The guest refuses every probe; each one is a single REQUEST at the timer's time. */
    while (conn_lookup(&f.dev, hb, GPORT) == b) {
        uint64_t next = device_next_deadline(&f.dev);
        CHECK(next > fake_clock);
        CHECK(next - fake_clock <= RETRY_GAP_MAX_MS);
        fake_clock = next;
        device_timer(&f.dev, fake_clock);
        device_run(&f.dev);
        if (conn_lookup(&f.dev, hb, GPORT) != b)
            break;
        CHECK(!b->waiting); /* the probe is out */
        CHECK_EQ(one_request(&f), hb);
        probes++;
        guest_says(&f, VSOCK_OP_RST, hb);
        CHECK(probes < 100);
    }
    CHECK_EQ(fake_clock, started + CONNECT_TIMEOUT_MS);
    CHECK(probes >= 15);
    CHECK_EQ(f.dev.stats.refused, 1);
    CHECK_EQ(f.dev.nconns, 1);
    char x[4];
    CHECK_EQ(recv(pb, x, sizeof(x), MSG_DONTWAIT), 0); /* closed, never answered */
    /* Nobody got in the whole time: the listener seems gone, the next refusal is final... */
    struct vsock_conn *c = tcp_client(&f, &pc);
    CHECK(!c->waiting);
    guest_says(&f, VSOCK_OP_RST, one_request(&f));
    CHECK_EQ(f.dev.stats.refused, 2);
    CHECK_EQ(f.dev.nconns, 1);
    close(pc);
    /* ...until the port accepts again. */
    struct vsock_conn *d = tcp_client(&f, &pc);
    guest_says(&f, VSOCK_OP_RESPONSE, one_request(&f));
    CHECK(d->state == CONN_ESTABLISHED);
    CHECK(!f.dev.ports[0].stalled);
    close(pa);
    close(pb);
    close(pc);
    fake_fini(&f);
}

TEST(port_without_listener_refuses_at_once)
{
    struct fake f;
    int p;
    fake_init(&f);
    fake_post_rx(&f, 64, VSOCK_HDR_SIZE + 4096);
    struct vsock_conn *c = tcp_client(&f, &p);
    (void)c;
    uint32_t hp = one_request(&f);
    CHECK(hp != 0);
    guest_says(&f, VSOCK_OP_RST, hp);
    CHECK_EQ(f.dev.nconns, 0);
    CHECK_EQ(f.dev.stats.refused, 1);
    CHECK_EQ(device_next_deadline(&f.dev), 0); /* nothing to retry */
    char x[4];
    CHECK_EQ(recv(p, x, sizeof(x), MSG_DONTWAIT), 0);
    close(p);
    fake_fini(&f);
}

TEST(waiting_clients_leave_cleanly)
{
    struct fake f;
    int pa, pb, pc;
    fake_init(&f);
    fake_post_rx(&f, 64, VSOCK_HDR_SIZE + 4096);
    fake_clock = 100;
    struct vsock_conn *a = tcp_client(&f, &pa);
    guest_says(&f, VSOCK_OP_RESPONSE, one_request(&f));
    CHECK(a->state == CONN_ESTABLISHED);
    struct vsock_conn *b = tcp_client(&f, &pb);
    guest_says(&f, VSOCK_OP_RST, one_request(&f));
    struct vsock_conn *c = tcp_client(&f, &pc);
    CHECK(b->waiting && c->waiting);
    CHECK_EQ(f.dev.ports[0].waiting, 2);
    /* The head goes away (the host stream failed): the queue stays whole. */
    conn_close(&f.dev, b, false, "test");
    CHECK_EQ(f.dev.ports[0].waiting, 1);
    CHECK(f.dev.ports[0].head == c && f.dev.ports[0].tail == c);
    device_run(&f.dev);
    /* A guest reset closes everyone and forgets the port. */
    device_reset_conns(&f.dev);
    device_run(&f.dev);
    CHECK_EQ(f.dev.nconns, 0);
    CHECK_EQ(f.dev.nports, 0);
    CHECK_EQ(device_next_deadline(&f.dev), 0);
    close(pa);
    close(pb);
    close(pc);
    fake_fini(&f);
}

/*
 * A client that comes before the guest has set up its rings waits for them;
 * the rings stopping after they ran (a guest reset) closes everything.
 */
TEST(early_clients_wait_for_the_rings)
{
    struct fake f;
    int p;
    fake_init(&f);
    struct virtqueue *rx = &f.dev.vu.vq[0], *tx = &f.dev.vu.vq[1];
    rx->started = tx->started = false; /* the frontend is still setting them up */
    struct vsock_conn *c = tcp_client(&f, &p);
    CHECK(c->state == CONN_CONNECTING);
    vsock_vu_ops.queue_changed(&f.dev, 0); /* e.g. SET_VRING_ADDR before the first start */
    vsock_vu_ops.queue_changed(&f.dev, 1);
    CHECK_EQ(f.dev.nconns, 1);
    rx->started = tx->started = true;
    vsock_vu_ops.queue_changed(&f.dev, 0);
    fake_post_rx(&f, 8, VSOCK_HDR_SIZE + 4096);
    device_run(&f.dev);
    CHECK(one_request(&f) == c->host_port); /* the REQUEST goes out once rx is ready */
    rx->started = tx->started = false;      /* GET_VRING_BASE on both: a reset */
    vsock_vu_ops.queue_changed(&f.dev, 1);
    CHECK_EQ(f.dev.nconns, 0);
    close(p);
    fake_fini(&f);
}

/*
 * The RST the daemon owes for a connection it closes is never dropped, even
 * when the guest gives no rx buffers for long and RSTs for stray packets
 * (no connection) overflow their bounded queue: a guest thread may be
 * blocked on that connection (sending, waiting for credit), and nothing else
 * would ever tell it. Until it is written it holds a place under the limit.
 */
TEST(rst_owed_for_a_connection_is_never_dropped)
{
    struct fake f;
    struct vsock_hdr h;
    char text[2048];
    int pa, pb;
    fake_init(&f);
    fake_limit(&f, 2);
    fake_post_rx(&f, 2, VSOCK_HDR_SIZE + 4096);
    struct vsock_conn *a = tcp_client(&f, &pa);
    uint32_t ha = one_request(&f);
    guest_says(&f, VSOCK_OP_RESPONSE, ha);
    CHECK(a->state == CONN_ESTABLISHED);
    /* One buffer left: the first stray packet's RST takes it, the next
     * RST_QUEUE_SIZE wait, ten more are dropped. */
    for (uint32_t i = 0; i < RST_QUEUE_SIZE + 11; i++)
        fake_send(&f, VSOCK_OP_RW, 6000, 7000 + i, 0, NULL, 0, 65536, 0);
    CHECK_EQ(fake_count_op(&f, VSOCK_OP_RST, NULL), 1);
    CHECK_EQ(f.dev.rst_len, RST_QUEUE_SIZE);
    CHECK_EQ(f.dev.rst_dropped, 10);
    /* The guest shuts a down both ways: the daemon closes it and owes an RST. */
    fake_send(&f, VSOCK_OP_SHUTDOWN, GPORT, ha, VSOCK_SHUTDOWN_BOTH, NULL, 0, 65536, 0);
    CHECK(conn_lookup(&f.dev, ha, GPORT) == NULL);
    CHECK_EQ(f.dev.nconns, 0);
    CHECK_EQ(f.dev.nowed, 1);
    CHECK_EQ(f.dev.rst_dropped, 10);
    CHECK_EQ(device_gate_count(&f.dev), 1);
    device_stats_text(&f.dev, text, sizeof(text));
    CHECK(strstr(text, "\nrst_owed 1\nrst_dropped 10\n") != NULL);
    /* A second client fits (limit 2: one connection, one owed RST)... */
    struct vsock_conn *b = tcp_client(&f, &pb);
    CHECK(b != NULL);
    CHECK(conn_new(&f.dev, -1, CONN_FROM_TCP) == NULL); /* ...a third does not */
    /* Buffers come: the owed RST goes first, then the stray ones. */
    unsigned owed = 0, rsts = 0, requests = 0;
    for (int round = 0; round < 5; round++) { /* 320 buffers: 257 RSTs, b's REQUEST */
        fake_post_rx(&f, FAKE_QNUM, VSOCK_HDR_SIZE + 4096);
        device_run(&f.dev);
        while (fake_recv(&f, &h, NULL, 0) == 1) {
            if (h.op == VSOCK_OP_RST) {
                rsts++;
                if (h.src_port == ha && h.dst_port == GPORT)
                    owed += rsts == 1; /* the first of them */
            } else if (h.op == VSOCK_OP_REQUEST) {
                requests++;
            }
        }
    }
    CHECK_EQ(owed, 1);
    CHECK_EQ(rsts, RST_QUEUE_SIZE + 1);
    CHECK_EQ(requests, 1); /* b's */
    CHECK_EQ(f.dev.nowed, 0);
    CHECK_EQ(device_gate_count(&f.dev), 1);
    close(pa);
    close(pb);
    fake_fini(&f);
}
