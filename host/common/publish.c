/* SPDX-License-Identifier: BSD-2-Clause */
#include "common/publish.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/number.h"

int publish_parse(const char *s, struct publish_spec *p)
{
    const char *c1 = strchr(s, ':'), *c2;
    const char *host, *guest;
    uint64_t hp, gp;
    if (!c1)
        return -1;
    c2 = strchr(c1 + 1, ':');
    memset(p, 0, sizeof(*p));
    if (c2) {
        size_t alen = (size_t)(c1 - s);
        struct in_addr a;
        if (strchr(c2 + 1, ':') || alen == 0 || alen >= sizeof(p->addr))
            return -1;
        memcpy(p->addr, s, alen);
        p->addr[alen] = '\0';
        if (inet_pton(AF_INET, p->addr, &a) != 1)
            return -1;
        host = c1 + 1;
        guest = c2 + 1;
    } else {
        strcpy(p->addr, "127.0.0.1");
        host = s;
        guest = c1 + 1;
        c2 = c1;
    }
    /* HOSTPORT runs from host up to c2. */
    int n = parse_digits(host, 65535, &hp);
    if (n < 0 || host + n != c2 || hp == 0)
        return -1;
    if (parse_decimal(guest, 1, 0xfffffffeu, &gp))
        return -1;
    p->host_port = (uint16_t)hp;
    p->guest_port = (uint32_t)gp;
    return 0;
}

int publish_listen(const struct publish_spec *p, char *err, size_t errlen)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p->host_port)};
    int one = 1;
    inet_pton(AF_INET, p->addr, &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
        snprintf(err, errlen, "--publish %s:%u: %s", p->addr, p->host_port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
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
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(fd, LISTEN_BACKLOG) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}
