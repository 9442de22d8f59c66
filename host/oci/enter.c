/* SPDX-License-Identifier: BSD-2-Clause */
/* Network namespace, limits and console of the container; see enter.h. */
#include "oci/enter.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void add_note(char *notes, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_note(char *notes, size_t len, const char *fmt, ...)
{
    size_t n = strlen(notes);
    va_list ap;
    if (n + 8 >= len)
        return;
    if (n)
        n += (size_t)snprintf(notes + n, len - n, "; ");
    va_start(ap, fmt);
    vsnprintf(notes + n, len - n, fmt, ap);
    va_end(ap);
}

/* A new network namespace has only lo, and it is down. */
static int loopback_up(void)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1;
    if (fd < 0)
        return -1;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    close(fd);
    return rc;
}

int enter_netns(const struct oci_spec *s, char *err, size_t len)
{
    int fd;
    switch (s->netns) {
    case OCI_NETNS_HOST:
        return 0;
    case OCI_NETNS_NEW:
        if (unshare(CLONE_NEWNET) < 0 || loopback_up() < 0) {
            snprintf(err, len, "cannot create a network namespace: %s", strerror(errno));
            return -1;
        }
        return 0;
    case OCI_NETNS_PATH:
        fd = open(s->netns_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
            snprintf(err, len, "network namespace %.200s: %s", s->netns_path, strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        close(fd);
        return 0;
    }
    return 0;
}

static rlim_t rlim_of(uint64_t v)
{
    return v >= (uint64_t)RLIM_INFINITY ? RLIM_INFINITY : (rlim_t)v;
}

void enter_rlimits(const struct oci_spec *s, char *notes, size_t len)
{
    for (unsigned i = 0; i < s->nrlimits; i++) {
        const struct oci_rlimit *r = &s->rlimits[i];
        struct rlimit want = {.rlim_cur = rlim_of(r->soft), .rlim_max = rlim_of(r->hard)}, now;
        if (want.rlim_cur > want.rlim_max)
            want.rlim_cur = want.rlim_max;
        if (setrlimit(r->resource, &want) == 0)
            continue;
        if (errno != EPERM || getrlimit(r->resource, &now) < 0 || want.rlim_max <= now.rlim_max) {
            add_note(notes, len, "%s: %s", r->name, strerror(errno));
            continue;
        }
        /* Raising a hard limit needs CAP_SYS_RESOURCE: keep this host's. */
        want.rlim_max = now.rlim_max;
        if (want.rlim_cur > want.rlim_max)
            want.rlim_cur = want.rlim_max;
        if (setrlimit(r->resource, &want) == 0)
            add_note(notes, len, "%s %llu above this host's hard limit: kept %llu", r->name,
                     (unsigned long long)r->hard, (unsigned long long)now.rlim_max);
        else
            add_note(notes, len, "%s: %s", r->name, strerror(errno));
    }
}

/* Sends fd with its terminal name over the console socket. */
static int send_fd(const char *socket_path, int fd, const char *name)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *c;
    int sock, rc, e;
    if (strlen(socket_path) >= sizeof(sa.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
    sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return -1;
    if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        e = errno;
        close(sock);
        errno = e;
        return -1;
    }
    memset(u.buf, 0, sizeof(u.buf));
    c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    rc = sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
    e = errno;
    close(sock);
    errno = e;
    return rc;
}

int enter_console(const char *socket_path, char *err, size_t len)
{
    char name[64];
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), slave;
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
        ptsname_r(master, name, sizeof(name)) != 0) {
        snprintf(err, len, "cannot open a pseudo-terminal: %s", strerror(errno));
        if (master >= 0)
            close(master);
        return -1;
    }
    slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) {
        snprintf(err, len, "%s: %s", name, strerror(errno));
        close(master);
        return -1;
    }
    if (send_fd(socket_path, master, name) < 0) {
        snprintf(err, len, "--console-socket %.200s: %s", socket_path, strerror(errno));
        close(master);
        close(slave);
        return -1;
    }
    close(master); /* the engine holds it now */
    return slave;
}
