/* SPDX-License-Identifier: BSD-2-Clause */
#include "host_io.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "common.h"

uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int tcp_connect(uint16_t port)
{
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int unix_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int uds_connect(const char *path, uint32_t port, uint32_t *host_port, char *line, size_t linelen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {10, 0};
    char req[32];
    size_t n = 0;
    line[0] = 0;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int len = snprintf(req, sizeof(req), "CONNECT %u\n", port);
    if (send(fd, req, (size_t)len, MSG_NOSIGNAL) != len)
        goto fail;
    /* One byte at a time: nothing after the newline belongs to the line. */
    while (n + 1 < linelen) {
        if (recv(fd, line + n, 1, 0) != 1)
            goto fail;
        if (line[n++] == '\n')
            break;
    }
    line[n] = 0;
    unsigned v;
    if (sscanf(line, "OK %u\n", &v) != 1)
        goto fail;
    *host_port = v;
    tv.tv_sec = 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
fail:
    if (fd >= 0)
        close(fd);
    return -1;
}

int exchange(int fd, const void *prefix, size_t prefix_len, uint64_t seed, uint64_t len,
             uint64_t *rx_len, uint64_t *rx_hash, int timeout_ms)
{
    static _Thread_local uint8_t out[65536], in[65536];
    struct stream_hash h;
    uint64_t sent = 0, deadline = now_us() + (uint64_t)timeout_ms * 1000;
    size_t pre_sent = 0, out_len = 0, out_off = 0;
    bool wr_done = false;
    int rc = -1;
    hash_init(&h);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    for (;;) {
        if (!wr_done && pre_sent == prefix_len && sent == len && out_off == out_len) {
            shutdown(fd, SHUT_WR);
            wr_done = true;
        }
        struct pollfd p = {fd, (short)(POLLIN | (wr_done ? 0 : POLLOUT)), 0};
        uint64_t now = now_us();
        if (now >= deadline)
            break;
        if (poll(&p, 1, (int)((deadline - now) / 1000) + 1) < 0 && errno != EINTR)
            break;
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(fd, in, sizeof(in), 0);
            if (r == 0) {
                rc = wr_done ? 0 : -1;
                break;
            }
            if (r < 0 && errno != EAGAIN && errno != EINTR)
                break;
            if (r > 0)
                hash_update(&h, in, (size_t)r);
        }
        if (!wr_done && (p.revents & POLLOUT)) {
            if (pre_sent < prefix_len) {
                ssize_t r = send(fd, (const uint8_t *)prefix + pre_sent, prefix_len - pre_sent,
                                 MSG_NOSIGNAL);
                if (r < 0 && errno != EAGAIN)
                    break;
                if (r > 0)
                    pre_sent += (size_t)r;
                continue;
            }
            if (out_off == out_len && sent < len) {
                out_len = len - sent < sizeof(out) ? (size_t)(len - sent) : sizeof(out);
                pattern_fill(out, seed, sent, out_len);
                out_off = 0;
            }
            if (out_off < out_len) {
                ssize_t r = send(fd, out + out_off, out_len - out_off, MSG_NOSIGNAL);
                if (r < 0 && errno != EAGAIN)
                    break;
                if (r > 0) {
                    out_off += (size_t)r;
                    sent += (uint64_t)r;
                }
            }
        }
    }
    *rx_len = h.count;
    *rx_hash = hash_final(&h);
    return rc;
}

int send_pattern(int fd, uint64_t seed, uint64_t len)
{
    static _Thread_local uint8_t out[65536];
    for (uint64_t off = 0; off < len;) {
        size_t n = len - off < sizeof(out) ? (size_t)(len - off) : sizeof(out);
        pattern_fill(out, seed, off, n);
        for (size_t done = 0; done < n;) {
            ssize_t w = send(fd, out + done, n - done, MSG_NOSIGNAL);
            if (w <= 0)
                return -1;
            done += (size_t)w;
        }
        off += n;
    }
    return 0;
}

int drain(int fd, uint8_t *keep, size_t keep_len, uint64_t *rx_len, uint64_t *rx_hash,
          int timeout_ms)
{
    struct stream_hash h;
    int rc = 0;
    uint8_t in[65536];
    uint64_t deadline = now_us() + (uint64_t)timeout_ms * 1000;
    hash_init(&h);
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        uint64_t now = now_us();
        if (now >= deadline)
            return -1;
        poll(&p, 1, (int)((deadline - now) / 1000) + 1);
        ssize_t r = recv(fd, in, sizeof(in), MSG_DONTWAIT);
        if (r == 0)
            break;
        if (r < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            if (errno != ECONNRESET)
                return -1;
            rc = 1; /* closed with a reset */
            break;
        }
        if (h.count < keep_len)
            memcpy(keep + h.count, in,
                   keep_len - h.count < (size_t)r ? keep_len - h.count : (size_t)r);
        hash_update(&h, in, (size_t)r);
    }
    *rx_len = h.count;
    *rx_hash = hash_final(&h);
    return rc;
}

static void *echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    uint8_t buf[65536];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
            if (w <= 0)
                goto out;
            off += w;
        }
    }
    shutdown(fd, SHUT_WR);
    /* wait for the daemon to close its end */
    while (recv(fd, buf, sizeof(buf), 0) > 0) {
    }
out:
    close(fd);
    return NULL;
}

static void *echo_accept(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        struct timeval tv = {20, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        pthread_t t;
        if (pthread_create(&t, NULL, echo_conn, (void *)(intptr_t)fd) == 0)
            pthread_detach(t);
        else
            close(fd);
    }
    return NULL;
}

int echo_server_start(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 256) < 0)
        return -1;
    pthread_t t;
    if (pthread_create(&t, NULL, echo_accept, (void *)(intptr_t)fd))
        return -1;
    pthread_detach(t);
    return 0;
}
