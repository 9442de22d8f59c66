/* SPDX-License-Identifier: BSD-2-Clause */
#include "vsockd/endpoint.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"

int tcp_listener_adopt(int fd, struct publish_spec *spec, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    if (listener_adopt(fd, AF_INET, "--publish-fd", err, errlen) < 0)
        return -1;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0 && sa.sin_family == AF_INET) {
        inet_ntop(AF_INET, &sa.sin_addr, spec->addr, sizeof(spec->addr));
        spec->host_port = ntohs(sa.sin_port);
    }
    return 0;
}

/*
 * One client of a listener, if the gate lets one in (common/gate.h): at the
 * connection limit, or for a moment after running out of descriptors, the
 * client stays in the kernel's listen queue.
 */
static int accept_fd(struct vsock_dev *d, int listen_fd, enum conn_kind kind, uint64_t now)
{
    if (!gate_open(&d->gate, device_gate_count(d), now))
        return -1;
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            gate_hold(&d->gate, now, ACCEPT_HOLD_MS, "accept", errno);
        else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            log_error("accept: %s", strerror(errno));
        return -1;
    }
    if (kind == CONN_FROM_TCP) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
}

static struct vsock_conn *accept_one(struct vsock_dev *d, int listen_fd, enum conn_kind kind)
{
    uint64_t now = d->host->now_ms();
    int fd = accept_fd(d, listen_fd, kind, now);
    if (fd < 0)
        return NULL;
    struct vsock_conn *c = conn_new(d, fd, kind);
    if (!c) { /* out of memory: the gate kept a slot free */
        log_error("closing a %s client: out of memory", kind == CONN_FROM_TCP ? "tcp" : "uds");
        close(fd);
        gate_hold(&d->gate, now, ACCEPT_HOLD_MS, "a new connection", ENOMEM);
        return NULL;
    }
    d->stats.accepted++;
    return c;
}

void endpoint_accept_uds(struct vsock_dev *d, int listen_fd)
{
    /* A bounded batch per wake-up: the listener is level-triggered. */
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct vsock_conn *c = accept_one(d, listen_fd, CONN_FROM_UDS);
        if (!c)
            break;
        log_event("uds client accepted");
        endpoint_connect_line(d, c);
    }
    gate_update(&d->gate, device_gate_count(d), d->host->now_ms());
}

void endpoint_accept_tcp(struct vsock_dev *d, struct tcp_listener *l)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        if (l->pool && l->pool->ready) { /* pre-opened (pool.c): no handshake to wait for */
            int fd = accept_fd(d, l->w.fd, CONN_FROM_TCP, d->host->now_ms());
            if (fd < 0)
                break;
            pool_pair(d, pool_take(d, l->pool), fd);
            continue;
        }
        struct vsock_conn *c = accept_one(d, l->w.fd, CONN_FROM_TCP);
        if (!c)
            break;
        if (l->pool)
            pool_take(d, l->pool); /* none ready: counted as a miss */
        conn_start_to_guest(d, c, l->spec->guest_port);
    }
    gate_update(&d->gate, device_gate_count(d), d->host->now_ms());
}

void endpoint_connect_line(struct vsock_dev *d, struct vsock_conn *c)
{
    uint8_t buf[PORT_LINE_MAX];
    while (c->state == CONN_CONNECT_LINE && c->readable) {
        ssize_t n = recv(c->w.fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            c->readable = false;
            return;
        }
        if (n <= 0) {
            conn_close(d, c, false, n == 0 ? "left before CONNECT" : strerror(errno));
            return;
        }
        /* Consume exactly the line's bytes; what follows it is stream data. */
        size_t used = port_line_feed(&c->line, buf, (size_t)n);
        if (recv(c->w.fd, buf, used, MSG_DONTWAIT) != (ssize_t)used) {
            conn_close(d, c, false, "lost bytes of the CONNECT line");
            return;
        }
        if (c->line.status == PORT_LINE_ERROR) {
            conn_close(d, c, false, "bad CONNECT line");
            return;
        }
        if (c->line.status == PORT_LINE_DONE)
            conn_start_to_guest(d, c, (uint32_t)c->line.port);
    }
}

int endpoint_connect_unix_port(const char *uds_path, uint32_t port)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!uds_path)
        return -1;
    int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", uds_path, port);
    if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* A Unix connect completes at once or fails (EAGAIN: backlog full; the
     * caller tries again later, errno tells it). */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}
