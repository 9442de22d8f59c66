/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The HTTP readiness probe against small loopback servers, one behaviour
 * each: a real HTTP answer (also split in two writes), a non-HTTP answer, a
 * close without a reply, silence (the probe's timeout), nothing listening.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
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
