/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * miura-proxy's relay, driven over socketpairs (and a loopback TCP pair where
 * a reset is needed): the test plays both the TCP client and the VMM's hybrid
 * vsock socket. Every run reports both sides ready (spurious readiness is
 * allowed: the relay must take EAGAIN in its stride).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/relay.h"
#include "test.h"

struct fx {
    int client;      /* the test's end of the TCP client */
    int vmm;         /* the test's end of the VMM socket */
    int relay_fd[2]; /* the relay's ends, indexed by enum relay_side */
    struct relay r;
};

static void nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int fx_init_fds(struct fx *f, int client_pair[2], uint32_t port)
{
    int v[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, v) < 0)
        return -1;
    f->client = client_pair[0];
    f->relay_fd[RELAY_CLIENT] = client_pair[1];
    f->vmm = v[0];
    f->relay_fd[RELAY_VMM] = v[1];
    for (int i = 0; i < 2; i++) {
        nonblock(client_pair[i]);
        nonblock(v[i]);
    }
    relay_init(&f->r, f->relay_fd[RELAY_CLIENT], f->relay_fd[RELAY_VMM], port, false);
    return 0;
}

static int fx_init(struct fx *f, uint32_t port)
{
    int c[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, c) < 0)
        return -1;
    return fx_init_fds(f, c, port);
}

static void fx_close(struct fx *f)
{
    relay_free(&f->r);
    close(f->client);
    close(f->vmm);
    close(f->relay_fd[0]);
    close(f->relay_fd[1]);
}

/* Both sides ready, then run until the relay waits or ends. */
static void run(struct fx *f)
{
    for (int i = 0; i < 1000; i++) {
        relay_event(&f->r, RELAY_CLIENT, EPOLLIN | EPOLLOUT);
        relay_event(&f->r, RELAY_VMM, EPOLLIN | EPOLLOUT);
        if (!relay_run(&f->r, 1 << 20))
            return;
    }
}

/* Reads what is there (non-blocking); *eof set when the peer shut down. */
static size_t take(int fd, void *buf, size_t max, int *eof)
{
    size_t got = 0;
    if (eof)
        *eof = 0;
    while (got < max) {
        ssize_t n = read(fd, (char *)buf + got, max - got);
        if (n == 0 && eof)
            *eof = 1;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return got;
}

static int put(int fd, const char *s)
{
    size_t n = strlen(s);
    return write(fd, s, n) == (ssize_t)n ? 0 : -1;
}

/* The handshake with "OK 77\n" + tail from the fake VMM. */
static int open_stream(struct fx *f, const char *tail)
{
    char buf[64] = {0};
    run(f);
    if (take(f->vmm, buf, sizeof(buf) - 1, NULL) != 13 || strcmp(buf, "CONNECT 5000\n") != 0)
        return -1;
    if (put(f->vmm, "OK 77\n") < 0 || put(f->vmm, tail) < 0)
        return -1;
    run(f);
    return f->r.state == RELAY_STREAM ? 0 : -1;
}

TEST(handshake_then_both_ways)
{
    struct fx f;
    char buf[64] = {0};
    int eof;
    CHECK_EQ(fx_init(&f, 5000), 0);
    run(&f);
    CHECK_EQ(f.r.state, RELAY_HANDSHAKE);
    CHECK_EQ(take(f.vmm, buf, sizeof(buf), NULL), 13);
    CHECK(memcmp(buf, "CONNECT 5000\n", 13) == 0);
    /* The stream bytes in the same write as the OK line reach the client. */
    CHECK_EQ(put(f.vmm, "OK 77\nhello"), 0);
    run(&f);
    CHECK_EQ(f.r.state, RELAY_STREAM);
    CHECK_EQ(f.r.ok.port, 77);
    memset(buf, 0, sizeof(buf));
    CHECK_EQ(take(f.client, buf, sizeof(buf), &eof), 5);
    CHECK_STR(buf, "hello");
    CHECK_EQ(eof, 0);
    CHECK_EQ(put(f.client, "ping"), 0);
    run(&f);
    memset(buf, 0, sizeof(buf));
    CHECK_EQ(take(f.vmm, buf, sizeof(buf), NULL), 4);
    CHECK_STR(buf, "ping");
    CHECK_EQ(f.r.up.bytes, 4);
    CHECK_EQ(f.r.down.bytes, 5);
    fx_close(&f);
}

TEST(ok_split_and_client_bytes_held_until_ok)
{
    struct fx f;
    char buf[64] = {0};
    CHECK_EQ(fx_init(&f, 4294967295u), 0);
    CHECK_EQ(put(f.client, "early"), 0);
    run(&f);
    /* Only the CONNECT line has gone to the VMM; the client's bytes wait. */
    CHECK_EQ(take(f.vmm, buf, sizeof(buf) - 1, NULL), 19);
    CHECK_STR(buf, "CONNECT 4294967295\n");
    static const char *const parts[] = {"O", "K", " 1", "23\r"};
    for (size_t i = 0; i < 4; i++) {
        CHECK_EQ(put(f.vmm, parts[i]), 0);
        run(&f);
        CHECK_EQ(f.r.state, RELAY_HANDSHAKE);
        CHECK_EQ(take(f.vmm, buf, sizeof(buf), NULL), 0);
        CHECK_EQ(take(f.client, buf, sizeof(buf), NULL), 0);
    }
    CHECK_EQ(put(f.vmm, "\n"), 0);
    run(&f);
    CHECK_EQ(f.r.state, RELAY_STREAM);
    CHECK_EQ(f.r.ok.port, 123);
    memset(buf, 0, sizeof(buf));
    CHECK_EQ(take(f.vmm, buf, sizeof(buf) - 1, NULL), 5);
    CHECK_STR(buf, "early");
    /* Nothing of the reply line reached the client. */
    CHECK_EQ(take(f.client, buf, sizeof(buf), NULL), 0);
    fx_close(&f);
}

TEST(bad_replies_fail)
{
    static const char *const replies[] = {"NOPE\n", "OK x\n", "OK 4294967296\n",
                                          "OK 1111111111111111111111111111111111111", "OK \n"};
    for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
        struct fx f;
        char buf[64];
        CHECK_EQ(fx_init(&f, 5000), 0);
        run(&f);
        take(f.vmm, buf, sizeof(buf), NULL);
        CHECK_EQ(put(f.vmm, replies[i]), 0);
        run(&f);
        CHECK_EQ(f.r.state, RELAY_FAILED);
        CHECK(strstr(f.r.why, "OK <port>") != NULL);
        /* The client got nothing of it. */
        CHECK_EQ(take(f.client, buf, sizeof(buf), NULL), 0);
        fx_close(&f);
    }
}

TEST(vmm_closes_before_ok)
{
    struct fx f;
    char buf[64];
    CHECK_EQ(fx_init(&f, 4999), 0);
    run(&f);
    take(f.vmm, buf, sizeof(buf), NULL);
    CHECK_EQ(put(f.vmm, "OK 1"), 0); /* half a line, then EOF */
    shutdown(f.vmm, SHUT_WR);
    run(&f);
    CHECK_EQ(f.r.state, RELAY_FAILED);
    CHECK(strstr(f.r.why, "without OK") != NULL);
    fx_close(&f);
}

TEST(client_eof_before_ok_is_passed_on_after_it)
{
    struct fx f;
    char buf[64] = {0};
    int eof;
    CHECK_EQ(fx_init(&f, 5000), 0);
    CHECK_EQ(put(f.client, "x"), 0);
    shutdown(f.client, SHUT_WR);
    run(&f);
    CHECK_EQ(f.r.state, RELAY_HANDSHAKE);
    CHECK_EQ(take(f.vmm, buf, sizeof(buf), &eof), 13);
    CHECK_EQ(eof, 0); /* not shut down before the OK */
    CHECK_EQ(put(f.vmm, "OK 1\n"), 0);
    run(&f);
    CHECK_EQ(f.r.state, RELAY_STREAM);
    CHECK_EQ(take(f.vmm, buf, sizeof(buf), &eof), 1);
    CHECK_EQ(buf[0], 'x');
    CHECK_EQ(take(f.vmm, buf, sizeof(buf), &eof), 0);
    CHECK_EQ(eof, 1);
    /* The other direction still works, then ends the relay. */
    CHECK_EQ(put(f.vmm, "bye"), 0);
    shutdown(f.vmm, SHUT_WR);
    run(&f);
    CHECK_EQ(f.r.state, RELAY_DONE);
    memset(buf, 0, sizeof(buf));
    CHECK_EQ(take(f.client, buf, sizeof(buf), &eof), 3);
    CHECK_STR(buf, "bye");
    CHECK_EQ(take(f.client, buf, sizeof(buf), &eof), 0);
    CHECK_EQ(eof, 1);
    fx_close(&f);
}

TEST(half_close_client_first)
{
    struct fx f;
    char buf[64] = {0};
    int eof;
    CHECK_EQ(fx_init(&f, 5000), 0);
    CHECK_EQ(open_stream(&f, ""), 0);
    CHECK_EQ(put(f.client, "abc"), 0);
    shutdown(f.client, SHUT_WR);
    run(&f);
    CHECK_EQ(take(f.vmm, buf, sizeof(buf), &eof), 3);
    CHECK_EQ(take(f.vmm, buf, sizeof(buf), &eof), 0);
    CHECK_EQ(eof, 1);
    CHECK_EQ(f.r.state, RELAY_STREAM); /* the other way is still open */
    CHECK_EQ(put(f.vmm, "reply"), 0);
    run(&f);
    memset(buf, 0, sizeof(buf));
    CHECK_EQ(take(f.client, buf, sizeof(buf), &eof), 5);
    CHECK_STR(buf, "reply");
    CHECK_EQ(eof, 0);
    shutdown(f.vmm, SHUT_WR);
    run(&f);
    CHECK_EQ(f.r.state, RELAY_DONE);
    CHECK_EQ(take(f.client, buf, sizeof(buf), &eof), 0);
    CHECK_EQ(eof, 1);
    fx_close(&f);
}

TEST(half_close_vmm_first)
{
    struct fx f;
    char buf[64] = {0};
    int eof;
    CHECK_EQ(fx_init(&f, 5000), 0);
    CHECK_EQ(open_stream(&f, "last words"), 0);
    shutdown(f.vmm, SHUT_WR);
    run(&f);
    CHECK_EQ(take(f.client, buf, sizeof(buf), &eof), 10);
    CHECK_EQ(take(f.client, buf, sizeof(buf), &eof), 0);
    CHECK_EQ(eof, 1);
    CHECK_EQ(f.r.state, RELAY_STREAM);
    CHECK_EQ(put(f.client, "late"), 0);
    run(&f);
    memset(buf, 0, sizeof(buf));
    CHECK_EQ(take(f.vmm, buf, sizeof(buf), &eof), 4);
    CHECK_STR(buf, "late");
    shutdown(f.client, SHUT_WR);
    run(&f);
    CHECK_EQ(f.r.state, RELAY_DONE);
    fx_close(&f);
}

static uint8_t pattern(uint64_t i)
{
    return (uint8_t)(i * 2654435761u >> 13);
}

/*
 * Backpressure from `dst` (whose relay end gets a tiny send buffer): the
 * source side is filled as far as it goes; the relay must stop reading when
 * its ring is full, leaving the rest in the source socket, and everything
 * must arrive in order once the destination reads.
 */
static void backpressure(enum relay_side src_side)
{
    struct fx f;
    CHECK_EQ(fx_init(&f, 5000), 0);
    CHECK_EQ(open_stream(&f, ""), 0);
    enum relay_side dst_side = src_side == RELAY_CLIENT ? RELAY_VMM : RELAY_CLIENT;
    int src = src_side == RELAY_CLIENT ? f.client : f.vmm;
    int dst = src_side == RELAY_CLIENT ? f.vmm : f.client;
    struct relay_dir *d = src_side == RELAY_CLIENT ? &f.r.up : &f.r.down;
    int small = 4096;
    CHECK_EQ(setsockopt(f.relay_fd[dst_side], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    static uint8_t chunk[8192];
    uint64_t sent = 0, got = 0;
    for (;;) { /* fill the source as far as it goes */
        for (size_t i = 0; i < sizeof(chunk); i++)
            chunk[i] = pattern(sent + i);
        ssize_t n = write(src, chunk, sizeof(chunk));
        if (n <= 0)
            break;
        sent += (uint64_t)n;
    }
    CHECK(sent > 2 * RELAY_RING);
    run(&f);
    /* Ring full, reading stopped, bytes left in the source socket. */
    CHECK_EQ(d->ring.tail - d->ring.head, RELAY_RING);
    int pending = 0;
    CHECK_EQ(ioctl(f.relay_fd[src_side], FIONREAD, &pending), 0);
    CHECK(pending > 0);
    CHECK(d->bytes < sent);
    run(&f); /* nothing changes without the destination reading */
    CHECK_EQ(d->ring.tail - d->ring.head, RELAY_RING);
    int rounds = 0;
    while (got < sent && rounds++ < 100000) {
        uint8_t in[8192];
        ssize_t n = read(dst, in, sizeof(in));
        for (ssize_t i = 0; i < n; i++)
            if (in[i] != pattern(got + (uint64_t)i)) {
                test_fail(__FILE__, __LINE__, "byte %llu differs",
                          (unsigned long long)(got + (uint64_t)i));
                return;
            }
        if (n > 0)
            got += (uint64_t)n;
        run(&f);
        CHECK(d->ring.tail - d->ring.head <= RELAY_RING);
    }
    CHECK_EQ(got, sent);
    CHECK_EQ(d->bytes, sent);
    CHECK_EQ(f.r.state, RELAY_STREAM);
    fx_close(&f);
}

TEST(backpressure_client_to_vmm)
{
    backpressure(RELAY_CLIENT);
}

TEST(backpressure_vmm_to_client)
{
    backpressure(RELAY_VMM);
}

TEST(budget_leaves_work_for_later)
{
    struct fx f;
    static uint8_t big[200000];
    CHECK_EQ(fx_init(&f, 5000), 0);
    CHECK_EQ(open_stream(&f, ""), 0);
    int large = 1 << 20;
    setsockopt(f.relay_fd[RELAY_VMM], SOL_SOCKET, SO_SNDBUF, &large, sizeof(large));
    setsockopt(f.client, SOL_SOCKET, SO_SNDBUF, &large, sizeof(large));
    ssize_t n = write(f.client, big, sizeof(big));
    CHECK(n > 2 * 4096);
    relay_event(&f.r, RELAY_CLIENT, EPOLLIN);
    CHECK(relay_run(&f.r, 4096)); /* stopped on the budget, more to do */
    CHECK(f.r.up.bytes < (uint64_t)n);
    while (relay_run(&f.r, 4096))
        ;
    CHECK_EQ(f.r.up.bytes, (uint64_t)n);
    fx_close(&f);
}

/* The VMM goes while the client sends: the client gets the end of the
 * stream (its bytes are dropped), and the relay ends with the client's. */
TEST(vmm_gone_ends_the_stream)
{
    struct fx f;
    char buf[64];
    int eof;
    CHECK_EQ(fx_init(&f, 5000), 0);
    CHECK_EQ(open_stream(&f, ""), 0);
    close(f.vmm);
    f.vmm = socket(AF_UNIX, SOCK_STREAM, 0); /* keep fx_close happy */
    CHECK_EQ(put(f.client, "data for nobody"), 0);
    run(&f);
    CHECK_EQ(f.r.state, RELAY_STREAM);
    CHECK(f.r.up.dst_gone);
    CHECK_EQ(take(f.client, buf, sizeof(buf), &eof), 0);
    CHECK_EQ(eof, 1);
    CHECK_EQ(put(f.client, "more for nobody"), 0);
    shutdown(f.client, SHUT_WR);
    run(&f);
    CHECK_EQ(f.r.state, RELAY_DONE);
    CHECK_EQ(f.r.up.bytes, 0);
    fx_close(&f);
}

/* The guest answers and closes with the client's bytes unread (a 405 to a
 * POST): the VMM socket reports a reset, and the client still gets the
 * answer, then the end of the stream (not a reset). */
TEST(vmm_reset_after_answer_delivers_it)
{
    struct fx f;
    char buf[64] = {0};
    int eof;
    CHECK_EQ(fx_init(&f, 5000), 0);
    CHECK_EQ(open_stream(&f, ""), 0);
    CHECK_EQ(put(f.client, "POST / with a body the guest never reads"), 0);
    run(&f);
    CHECK_EQ(put(f.vmm, "HTTP/1.1 405"), 0);
    close(f.vmm); /* unread bytes: the relay's end sees ECONNRESET */
    f.vmm = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_EQ(put(f.client, "the rest of the body"), 0);
    run(&f);
    CHECK_EQ(f.r.state, RELAY_STREAM);
    CHECK_EQ(take(f.client, buf, sizeof(buf) - 1, &eof), 12);
    CHECK_STR(buf, "HTTP/1.1 405");
    CHECK_EQ(take(f.client, buf, sizeof(buf), &eof), 0);
    CHECK_EQ(eof, 1);
    shutdown(f.client, SHUT_WR);
    run(&f);
    CHECK_EQ(f.r.state, RELAY_DONE);
    fx_close(&f);
}

/* A loopback TCP pair: pair[0] the client's end, pair[1] the accepted end. */
static int tcp_pair(int pair[2])
{
    uint16_t port;
    int l = test_listen_loopback(1, &port);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (l < 0)
        return -1;
    pair[0] = socket(AF_INET, SOCK_STREAM, 0);
    if (pair[0] < 0 || connect(pair[0], (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    pair[1] = accept(l, NULL, NULL);
    close(l);
    return pair[1] < 0 ? -1 : 0;
}

static void client_reset(bool as_error_event)
{
    struct fx f;
    int pair[2];
    CHECK_EQ(tcp_pair(pair), 0);
    CHECK_EQ(fx_init_fds(&f, pair, 5000), 0);
    CHECK_EQ(open_stream(&f, ""), 0);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(f.client, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(f.client);
    f.client = socket(AF_UNIX, SOCK_STREAM, 0);
    /* Wait for the RST to cross loopback (10 s at most). */
    struct pollfd p = {f.relay_fd[RELAY_CLIENT], POLLIN, 0};
    poll(&p, 1, 10000);
    if (as_error_event) {
        /* Nothing to read or write: only the error event tells. */
        relay_event(&f.r, RELAY_CLIENT, EPOLLERR | EPOLLHUP);
        CHECK_EQ(f.r.state, RELAY_FAILED);
    } else {
        run(&f);
        CHECK_EQ(f.r.state, RELAY_FAILED);
    }
    CHECK_EQ(f.r.err, ECONNRESET);
    fx_close(&f);
}

TEST(client_reset_while_reading)
{
    client_reset(false);
}

TEST(client_reset_reported_by_epollerr)
{
    client_reset(true);
}

TEST(connect_in_progress)
{
    int c[2], v[2];
    struct relay r;
    char buf[32] = {0};
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, c), 0);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, v), 0);
    nonblock(c[1]);
    nonblock(v[1]);
    nonblock(v[0]);
    relay_init(&r, c[1], v[1], 7, true);
    CHECK(!relay_run(&r, 1 << 20));
    CHECK_EQ(r.state, RELAY_CONNECTING); /* nothing until the VMM side is writable */
    CHECK_EQ(read(v[0], buf, sizeof(buf)), -1);
    relay_event(&r, RELAY_VMM, EPOLLOUT);
    relay_run(&r, 1 << 20);
    CHECK_EQ(r.state, RELAY_HANDSHAKE);
    CHECK_EQ(read(v[0], buf, sizeof(buf)), 10);
    CHECK_STR(buf, "CONNECT 7\n");
    relay_free(&r);
    close(c[0]), close(c[1]), close(v[0]), close(v[1]);
}

TEST(connect_refused_in_progress)
{
    /* A TCP connect to a closed loopback port fails after EINPROGRESS. */
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int closed = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_EQ(bind(closed, (struct sockaddr *)&a, sizeof(a)), 0);
    CHECK_EQ(getsockname(closed, (struct sockaddr *)&a, &len), 0); /* bound, not listening */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
    if (rc == 0 || errno != EINPROGRESS) {
        CHECK_EQ(errno, ECONNREFUSED); /* refused at once: nothing left to test */
    } else {
        struct relay r;
        int c[2];
        CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, c), 0);
        relay_init(&r, c[1], fd, 7, true);
        struct pollfd p = {fd, POLLOUT, 0}; /* the refusal is in (10 s at most) */
        poll(&p, 1, 10000);
        relay_event(&r, RELAY_VMM, EPOLLOUT | EPOLLERR | EPOLLHUP);
        relay_run(&r, 1 << 20);
        CHECK_EQ(r.state, RELAY_FAILED);
        CHECK_EQ(r.err, ECONNREFUSED);
        relay_free(&r);
        close(c[0]), close(c[1]);
    }
    close(fd);
    close(closed);
}
