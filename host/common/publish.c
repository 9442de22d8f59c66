/* SPDX-License-Identifier: BSD-2-Clause */
#include "common/publish.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
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
    /* Replace a stale socket left by a killed daemon, never any other file,
     * nor a socket something still listens on (a connect that is not
     * refused: taking its path would cut that listener off for good). */
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "%s exists and is not a socket", path);
            return -1;
        }
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (probe >= 0 &&
            (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN)) {
            close(probe);
            snprintf(err, errlen, "%s is in use: another process listens on it", path);
            return -1;
        }
        if (probe >= 0)
            close(probe);
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

int listener_adopt(int fd, int family, const char *option, char *err, size_t errlen)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof(int), salen = sizeof(sa);
    int listening = 0, type = 0, fl;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &salen) < 0 || !listening || type != SOCK_STREAM ||
        sa.ss_family != family) {
        snprintf(err, errlen, "%s %d: %s", option, fd,
                 errno == EBADF      ? "not an open file descriptor"
                 : family == AF_UNIX ? "not a listening Unix stream socket"
                                     : "not a listening TCP socket");
        return -1;
    }
    if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        snprintf(err, errlen, "%s %d: %s", option, fd, strerror(errno));
        return -1;
    }
    return 0;
}

/* The sock_diag socket of listen_queued_open, or -1 (then one per query). */
static int diag_fd = -1;
static uint32_t diag_seq;

int listen_queued_open(void)
{
    struct timeval tv = {.tv_sec = 1};
    if (diag_fd >= 0)
        return 0;
    diag_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (diag_fd < 0)
        return -1;
    setsockopt(diag_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return 0;
}

/* A Unix listener's queue from the kernel's sock_diag (UNIX_DIAG_RQLEN: for a
 * listening socket, the connections waiting to be accepted). */
static int unix_queued(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -1;
    int nl = diag_fd;
    if (nl < 0) {
        struct timeval tv = {.tv_sec = 1};
        nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        if (nl < 0)
            return -1;
        setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    struct {
        struct nlmsghdr nlh;
        struct unix_diag_req req;
    } ask = {
        .nlh = {.nlmsg_len = sizeof(ask),
                .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                .nlmsg_flags = NLM_F_REQUEST,
                .nlmsg_seq = ++diag_seq},
        .req = {.sdiag_family = AF_UNIX,
                .udiag_states = ~0u,
                .udiag_ino = (unsigned)st.st_ino,
                .udiag_show = UDIAG_SHOW_RQLEN,
                .udiag_cookie = {~0u, ~0u}}, /* no cookie: look up by inode */
    };
    union {
        struct nlmsghdr nlh;
        char bytes[512];
    } reply;
    int queued = -1;
    ssize_t n;
    if (send(nl, &ask, sizeof(ask), 0) != (ssize_t)sizeof(ask))
        goto out;
    /* A reply to an earlier query that timed out may come first: skip it. */
    for (int tries = 0;; tries++) {
        n = recv(nl, &reply, sizeof(reply), 0);
        if (n < (ssize_t)sizeof(struct nlmsghdr) || tries == 8)
            goto out;
        if (reply.nlh.nlmsg_seq == ask.nlh.nlmsg_seq)
            break;
    }
    if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct unix_diag_msg)) || !NLMSG_OK(&reply.nlh, n) ||
        reply.nlh.nlmsg_type != SOCK_DIAG_BY_FAMILY)
        goto out;
    /* The attributes follow the fixed message; find UNIX_DIAG_RQLEN. */
    size_t off = NLMSG_LENGTH(sizeof(struct unix_diag_msg)), end = reply.nlh.nlmsg_len;
    while (off + sizeof(struct nlattr) <= end) {
        struct nlattr a;
        memcpy(&a, reply.bytes + off, sizeof(a));
        if (a.nla_len < sizeof(a) || off + a.nla_len > end)
            break;
        if (a.nla_type == UNIX_DIAG_RQLEN &&
            a.nla_len >= sizeof(a) + sizeof(struct unix_diag_rqlen)) {
            struct unix_diag_rqlen q;
            memcpy(&q, reply.bytes + off + sizeof(a), sizeof(q));
            queued = (int)q.udiag_rqueue;
            break;
        }
        off += NLA_ALIGN(a.nla_len);
    }
out:
    if (nl != diag_fd)
        close(nl);
    return queued;
}

int listen_queued(int fd)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return -1;
    if (sa.ss_family == AF_UNIX)
        return unix_queued(fd);
    /* A listening TCP socket reports its accept queue in tcpi_unacked. */
    struct tcp_info ti;
    len = sizeof(ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 || ti.tcpi_state != TCP_LISTEN)
        return -1;
    return (int)ti.tcpi_unacked;
}

unsigned long raise_fd_limit(unsigned long want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return (unsigned long)rl.rlim_cur;
}
