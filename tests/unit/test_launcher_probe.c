/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The HTTP readiness probe against small loopback servers, one behaviour
 * each: a real HTTP answer (also split in two writes), a non-HTTP answer, a
 * close without a reply, silence (the probe's timeout), nothing listening;
 * and the hybrid CONNECT probe against a Unix server that answers OK, closes,
 * answers something else, stays silent, or is not there.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "launcher/probe.h"
#include "test.h"

enum mode { SERVE_HTTP, SERVE_SPLIT, SERVE_SSH, SERVE_CLOSE, SERVE_SILENT };

struct server {
    int listen_fd;
    uint16_t port;
    enum mode mode;
    pthread_t thread;
    char request[64]; /* what the probe sent */
};

static void *serve(void *arg)
{
    struct server *s = arg;
    int fd = accept(s->listen_fd, NULL, NULL);
    size_t got = 0;
    if (fd < 0)
        return NULL;
    if (s->mode != SERVE_CLOSE) {
        /* The request is complete at the blank line. */
        while (got < sizeof(s->request) - 1 && !strstr(s->request, "\r\n\r\n")) {
            ssize_t n = recv(fd, s->request + got, sizeof(s->request) - 1 - got, 0);
            if (n <= 0)
                break;
            got += (size_t)n;
            s->request[got] = '\0';
        }
    }
    switch (s->mode) {
    case SERVE_HTTP:
        send(fd, "HTTP/1.0 200 OK\r\n\r\n", 19, MSG_NOSIGNAL);
        break;
    case SERVE_SPLIT:
        send(fd, "HT", 2, MSG_NOSIGNAL);
        usleep(100000);
        send(fd, "TP/1.1 204 No Content\r\n\r\n", 25, MSG_NOSIGNAL);
        break;
    case SERVE_SSH:
        send(fd, "SSH-2.0-x\r\n", 11, MSG_NOSIGNAL);
        break;
    case SERVE_CLOSE:
        break;
    case SERVE_SILENT: { /* until the probe gives up and closes (30 s at most) */
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, 30000);
        break;
    }
    }
    close(fd);
    return NULL;
}

static int server_start(struct server *s, enum mode mode)
{
    memset(s, 0, sizeof(*s));
    s->mode = mode;
    s->listen_fd = test_listen_loopback(4, &s->port);
    if (s->listen_fd < 0)
        return -1;
    return pthread_create(&s->thread, NULL, serve, s);
}

static void server_stop(struct server *s)
{
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
}

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

TEST(http_answer_is_ready)
{
    struct server s;
    CHECK(server_start(&s, SERVE_HTTP) == 0);
    enum probe_result r = http_probe("127.0.0.1", s.port, 30000);
    server_stop(&s);
    CHECK_EQ(r, PROBE_READY);
    CHECK_STR(s.request, "HEAD / HTTP/1.0\r\n\r\n");
}

TEST(split_answer_is_ready)
{
    struct server s;
    CHECK(server_start(&s, SERVE_SPLIT) == 0);
    enum probe_result r = http_probe("127.0.0.1", s.port, 30000);
    server_stop(&s);
    CHECK_EQ(r, PROBE_READY);
}

TEST(any_address_probes_loopback)
{
    struct server s;
    CHECK(server_start(&s, SERVE_HTTP) == 0);
    enum probe_result r = http_probe("0.0.0.0", s.port, 30000);
    server_stop(&s);
    CHECK_EQ(r, PROBE_READY);
}

TEST(non_http_answer)
{
    struct server s;
    CHECK(server_start(&s, SERVE_SSH) == 0);
    enum probe_result r = http_probe("127.0.0.1", s.port, 30000);
    server_stop(&s);
    CHECK_EQ(r, PROBE_NOT_HTTP);
}

TEST(close_without_answer)
{
    struct server s;
    CHECK(server_start(&s, SERVE_CLOSE) == 0);
    enum probe_result r = http_probe("127.0.0.1", s.port, 30000);
    server_stop(&s);
    CHECK(r == PROBE_CLOSED || r == PROBE_REFUSED); /* a reset may beat the send */
    CHECK(r != PROBE_READY);
}

TEST(silence_times_out)
{
    struct server s;
    struct timespec t0;
    CHECK(server_start(&s, SERVE_SILENT) == 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    enum probe_result r = http_probe("127.0.0.1", s.port, 200);
    long ms = elapsed_ms(&t0);
    server_stop(&s);
    CHECK_EQ(r, PROBE_TIMEOUT); /* the server answers nothing until the probe closes */
    CHECK(ms >= 150);           /* its 200 ms, on its clock, lie within ours */
}

TEST(nothing_listening)
{
    struct server s;
    CHECK(server_start(&s, SERVE_HTTP) == 0);
    uint16_t port = s.port;
    /* Let the server's thread finish on a connection of our own, then close the port. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    send(fd, "\r\n\r\n", 4, MSG_NOSIGNAL);
    server_stop(&s);
    close(fd);
    CHECK_EQ(http_probe("127.0.0.1", port, 500), PROBE_REFUSED);
    CHECK_EQ(http_probe("not-an-address", port, 500), PROBE_REFUSED);
}

/* ---- the hybrid CONNECT probe: a Unix server stands in for miura-vsockd */

struct uds_server {
    int listen_fd, release[2]; /* release: the test says "done" to a silent server */
    char path[108];
    const char *answer; /* NULL: close at once; "": say nothing until released */
    char line[32];      /* what the probe sent */
    pthread_t thread;
};

static void *uds_serve(void *arg)
{
    struct uds_server *u = arg;
    int fd = accept(u->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    ssize_t n = recv(fd, u->line, sizeof(u->line) - 1, 0);
    u->line[n > 0 ? n : 0] = '\0';
    if (u->answer && u->answer[0])
        send(fd, u->answer, strlen(u->answer), MSG_NOSIGNAL);
    else if (u->answer) {
        char b;
        if (read(u->release[0], &b, 1) < 0)
            b = 0;
    }
    close(fd);
    return NULL;
}

static int uds_start(struct uds_server *u, const char *answer)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memset(u, 0, sizeof(*u));
    u->answer = answer;
    snprintf(u->path, sizeof(u->path), "/tmp/miura-probe-%d.sock", (int)getpid());
    unlink(u->path);
    strcpy(sa.sun_path, u->path);
    u->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (u->listen_fd < 0 || bind(u->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(u->listen_fd, 4) < 0 || pipe(u->release) < 0)
        return -1;
    return pthread_create(&u->thread, NULL, uds_serve, u);
}

static void uds_stop(struct uds_server *u)
{
    if (write(u->release[1], "", 1) < 0)
        perror("release");
    pthread_join(u->thread, NULL);
    close(u->listen_fd);
    close(u->release[0]);
    close(u->release[1]);
    unlink(u->path);
}

TEST(vsock_ok_is_ready)
{
    struct uds_server u;
    CHECK(uds_start(&u, "OK 1073741824\n") == 0);
    enum probe_result r = vsock_accept_probe(u.path, 80, 2000);
    uds_stop(&u);
    CHECK_EQ(r, PROBE_READY);
    CHECK_STR(u.line, "CONNECT 80\n");
}

TEST(vsock_closed_without_ok)
{
    struct uds_server u;
    CHECK(uds_start(&u, NULL) == 0); /* what miura-vsockd does when the guest answers RST */
    enum probe_result r = vsock_accept_probe(u.path, 4294967294u, 2000);
    uds_stop(&u);
    CHECK_EQ(r, PROBE_CLOSED);
    CHECK_STR(u.line, "CONNECT 4294967294\n");
    CHECK(uds_start(&u, "NO\n") == 0); /* anything but "OK " */
    r = vsock_accept_probe(u.path, 80, 2000);
    uds_stop(&u);
    CHECK_EQ(r, PROBE_CLOSED);
}

TEST(vsock_silence_times_out)
{
    struct uds_server u;
    CHECK(uds_start(&u, "") == 0); /* silent until released, after the probe returned */
    enum probe_result r = vsock_accept_probe(u.path, 80, 100);
    uds_stop(&u);
    CHECK_EQ(r, PROBE_TIMEOUT);
}

TEST(vsock_nothing_there)
{
    CHECK_EQ(vsock_accept_probe("/nonexistent/vsock.sock", 80, 100), PROBE_REFUSED);
}
