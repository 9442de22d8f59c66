/* SPDX-License-Identifier: BSD-2-Clause */
/* HTTP readiness probe; see probe.h. */
#include "launcher/probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"

/* Signed, for deadline arithmetic. */
static int64_t now_ms(void)
{
    return (int64_t)monotonic_ms();
}

/* Waits for events on fd until the deadline; returns revents, 0 on timeout. */
static short wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        struct pollfd p = {.fd = fd, .events = events};
        if (left <= 0)
            return 0;
        int r = poll(&p, 1, (int)left);
        if (r > 0)
            return p.revents;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return POLLERR;
    }
}

enum probe_result http_probe(const char *addr, uint16_t port, int timeout_ms)
{
    static const char request[] = "HEAD / HTTP/1.0\r\n\r\n";
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    int64_t deadline = now_ms() + timeout_ms;
    enum probe_result res;
    char reply[5];
    size_t got = 0;
    int fd, err = 0;
    socklen_t elen = sizeof(err);

    if (strcmp(addr, "0.0.0.0") == 0)
        addr = "127.0.0.1";
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
        return PROBE_REFUSED;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return PROBE_REFUSED;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (errno != EINPROGRESS) {
            res = PROBE_REFUSED;
            goto out;
        }
        if (!(wait_fd(fd, POLLOUT, deadline) & (POLLOUT | POLLERR | POLLHUP))) {
            res = PROBE_TIMEOUT;
            goto out;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0) {
            res = PROBE_REFUSED;
            goto out;
        }
    }
    if (send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(request) - 1) {
        res = PROBE_CLOSED;
        goto out;
    }
    while (got < sizeof(reply)) {
        if (!(wait_fd(fd, POLLIN, deadline) & (POLLIN | POLLERR | POLLHUP))) {
            res = PROBE_TIMEOUT;
            goto out;
        }
        ssize_t n = recv(fd, reply + got, sizeof(reply) - got, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0) {
            res = got ? PROBE_NOT_HTTP : PROBE_CLOSED;
            goto out;
        }
        got += (size_t)n;
        if (memcmp(reply, "HTTP/", got) != 0) {
            res = PROBE_NOT_HTTP;
            goto out;
        }
    }
    res = PROBE_READY;
out:
    close(fd);
    return res;
}

enum probe_result vsock_accept_probe(const char *uds_path, uint32_t port, int timeout_ms)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int64_t deadline = now_ms() + timeout_ms;
    enum probe_result res = PROBE_READY;
    char line[32];
    size_t got = 0;
    int fd, n;
    if (strlen(uds_path) >= sizeof(sa.sun_path))
        return PROBE_REFUSED;
    strcpy(sa.sun_path, uds_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return PROBE_REFUSED;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return PROBE_REFUSED;
    }
    n = snprintf(line, sizeof(line), "CONNECT %u\n", port);
    if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return PROBE_CLOSED;
    }
    while (got < 3) {
        if (!(wait_fd(fd, POLLIN, deadline) & (POLLIN | POLLERR | POLLHUP))) {
            res = PROBE_TIMEOUT;
            break;
        }
        ssize_t r = recv(fd, line + got, 3 - got, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r <= 0 || memcmp(line, "OK ", got + (size_t)r) != 0) {
            res = PROBE_CLOSED;
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    return res;
}

const char *probe_result_name(enum probe_result r)
{
    switch (r) {
    case PROBE_READY:
        return "ready";
    case PROBE_REFUSED:
        return "connection refused";
    case PROBE_CLOSED:
        return "closed without a reply";
    case PROBE_TIMEOUT:
        return "no reply in time";
    case PROBE_NOT_HTTP:
        return "reply is not HTTP";
    }
    return "?";
}
