/* SPDX-License-Identifier: BSD-2-Clause */
#include "vsockd/endpoint.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vsockd/log.h"

static int parse_u32(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 10)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

int publish_parse(const char *spec, struct publish *p, char *err, size_t errlen)
{
    const char *last = strrchr(spec, ':');
    uint64_t hp, gp;
    memset(p, 0, sizeof(*p));
    p->w.fd = -1;
    if (!last)
        goto bad;
    const char *mid = last;
    while (mid > spec && mid[-1] != ':')
        mid--;
    /* spec = [ADDR:]HOSTPORT:GUESTPORT; HOSTPORT starts at mid. */
    if (parse_u32(last + 1, strlen(last + 1), UINT32_MAX, &gp) ||
        parse_u32(mid, (size_t)(last - mid), 65535, &hp) || hp == 0)
        goto bad;
    if (mid == spec) {
        strcpy(p->addr, "127.0.0.1");
    } else {
        size_t alen = (size_t)(mid - 1 - spec);
        if (alen == 0 || alen >= sizeof(p->addr))
            goto bad;
        memcpy(p->addr, spec, alen);
        p->addr[alen] = 0;
        struct in_addr a;
        if (inet_pton(AF_INET, p->addr, &a) != 1)
            goto bad;
    }
    p->host_port = (uint16_t)hp;
    p->guest_port = (uint32_t)gp;
    return 0;
bad:
    snprintf(err, errlen, "bad --publish '%s': want [ADDR:]HOSTPORT:GUESTPORT (IPv4 ADDR)", spec);
    return -1;
}

int publish_listen(struct publish *p, char *err, size_t errlen)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p->host_port)};
    int one = 1;
    inet_pton(AF_INET, p->addr, &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 512) < 0) {
        snprintf(err, errlen, "--publish %s:%u: %s", p->addr, p->host_port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    p->w.fd = fd;
    p->w.kind = WATCH_TCP_LISTEN;
    p->w.obj = p;
    return 0;
}

int unix_listen(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "%s: path too long for a Unix socket", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    /* Replace a stale socket left by a killed daemon, never any other file. */
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "%s exists and is not a socket", path);
            return -1;
        }
        unlink(path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 512) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static struct vsock_conn *accept_one(struct vsock_dev *d, int listen_fd, enum conn_kind kind,
                                     bool *again)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    *again = fd >= 0;
    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR)
            log_error("accept: %s", strerror(errno));
        return NULL;
    }
    if (kind == CONN_FROM_TCP) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    struct vsock_conn *c = conn_new(d, fd, kind);
    if (!c) {
        log_event("refusing a %s client: %u connections (--max-conns)",
                  kind == CONN_FROM_TCP ? "tcp" : "uds", d->nconns);
        close(fd);
    }
    return c;
}

void endpoint_accept_uds(struct vsock_dev *d, int listen_fd)
{
    bool again = true;
    while (again) {
        struct vsock_conn *c = accept_one(d, listen_fd, CONN_FROM_UDS, &again);
        if (c) {
            log_event("uds client accepted");
            endpoint_connect_line(d, c);
        }
    }
}

void endpoint_accept_tcp(struct vsock_dev *d, struct publish *p)
{
    bool again = true;
    while (again) {
        struct vsock_conn *c = accept_one(d, p->w.fd, CONN_FROM_TCP, &again);
        if (c)
            conn_start_to_guest(d, c, p->guest_port);
    }
}

void endpoint_connect_line(struct vsock_dev *d, struct vsock_conn *c)
{
    uint8_t buf[CONNECT_LINE_MAX];
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
        size_t used = connect_line_feed(&c->line, buf, (size_t)n);
        if (recv(c->w.fd, buf, used, MSG_DONTWAIT) != (ssize_t)used) {
            conn_close(d, c, false, "lost bytes of the CONNECT line");
            return;
        }
        if (c->line.status == CONNECT_LINE_ERROR) {
            conn_close(d, c, false, "bad CONNECT line");
            return;
        }
        if (c->line.status == CONNECT_LINE_DONE)
            conn_start_to_guest(d, c, (uint32_t)c->line.port);
    }
}

int endpoint_connect_unix_port(const char *uds_path, uint32_t port)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!uds_path)
        return -1;
    int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", uds_path, port);
    if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* A Unix connect completes at once or fails (EAGAIN: backlog full). */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}
