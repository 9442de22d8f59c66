/* SPDX-License-Identifier: BSD-2-Clause */
#include "proxy/publish.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Decimal digits only (no sign, no spaces), 1..10 of them, value <= max. */
static int parse_decimal(const char *s, size_t n, uint64_t max, uint64_t *out)
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
    uint64_t host_port, guest_port;
    struct in_addr a;
    memset(p, 0, sizeof(*p));
    if (!last)
        goto bad;
    const char *mid = last; /* HOSTPORT starts at mid */
    while (mid > spec && mid[-1] != ':')
        mid--;
    if (parse_decimal(last + 1, strlen(last + 1), UINT32_MAX, &guest_port) ||
        parse_decimal(mid, (size_t)(last - mid), 65535, &host_port) || host_port == 0)
        goto bad;
    if (mid == spec) {
        strcpy(p->addr, "127.0.0.1");
    } else {
        size_t len = (size_t)(mid - 1 - spec);
        if (len == 0 || len >= sizeof(p->addr))
            goto bad;
        memcpy(p->addr, spec, len);
        p->addr[len] = 0;
        if (inet_pton(AF_INET, p->addr, &a) != 1)
            goto bad;
    }
    p->host_port = (uint16_t)host_port;
    p->guest_port = (uint32_t)guest_port;
    return 0;
bad:
    snprintf(err, errlen, "bad --publish '%s': want [ADDR:]HOSTPORT:GUESTPORT (IPv4 ADDR)", spec);
    return -1;
}

int publish_listen(const struct publish *p, char *err, size_t errlen)
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
    return fd;
}
