/* SPDX-License-Identifier: BSD-2-Clause */
/* The published ports' listening sockets; see listeners.h. */
#include "launcher/listeners.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/tcp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int listeners_open(const struct publish_spec *specs, unsigned n, int *fds, char *err, size_t errlen)
{
    for (unsigned i = 0; i < n; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(specs[i].host_port)};
        int one = 1;
        inet_pton(AF_INET, specs[i].addr, &sa.sin_addr);
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fds[i] < 0 || setsockopt(fds[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0 || listener_block(fds[i]) < 0 ||
            listen(fds[i], LISTENER_BACKLOG) < 0) {
            snprintf(err, errlen, "--publish %s:%u: %s", specs[i].addr, specs[i].host_port,
                     strerror(errno));
            listeners_close(fds, i + 1);
            return -1;
        }
    }
    return 0;
}

void listeners_close(int *fds, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        fds[i] = -1;
    }
}

int listener_block(int fd)
{
    /* Classic BPF: "return 0" keeps no byte of any packet, i.e. drops it. */
    struct sock_filter drop_all[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
    struct sock_fprog prog = {.len = 1, .filter = drop_all};
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

int listener_unblock(int fd)
{
    int zero = 0;
    return setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &zero, sizeof(zero));
}

#define TCP_STATE_ESTABLISHED 0x01 /* include/net/tcp_states.h */
#define TCP_STATE_LISTEN      0x0a

static bool port_listed(uint16_t port, const uint16_t *ports, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (ports[i] == port)
            return true;
    return false;
}

unsigned tcp_inflight_parse(const char *text, const uint16_t *ports, unsigned n)
{
    unsigned count = 0;
    for (const char *line = text; line && *line;) {
        const char *next = strchr(line, '\n');
        unsigned lport, state;
        unsigned long inode;
        /* sl: local rem st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf(line, " %*u: %*x:%x %*x:%*x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &lport, &state,
                   &inode) == 3 &&
            state != TCP_STATE_LISTEN && (inode != 0 || state == TCP_STATE_ESTABLISHED) &&
            port_listed((uint16_t)lport, ports, n))
            count++;
        line = next ? next + 1 : NULL;
    }
    return count;
}

int tcp_diag_count(const void *buf, size_t len, const uint16_t *ports, unsigned n, unsigned *count)
{
    const char *p = buf;
    while (len >= sizeof(struct nlmsghdr)) {
        struct nlmsghdr h;
        memcpy(&h, p, sizeof(h));
        if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len)
            return -1;
        if (h.nlmsg_type == NLMSG_DONE)
            return 1;
        if (h.nlmsg_type == NLMSG_ERROR)
            return -1;
        struct inet_diag_msg m;
        size_t body = h.nlmsg_len - NLMSG_HDRLEN;
        if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY && h.nlmsg_len >= NLMSG_HDRLEN &&
            body >= sizeof(m)) {
            memcpy(&m, p + NLMSG_HDRLEN, sizeof(m));
            uint16_t port = ntohs(m.id.idiag_sport);
            bool held = m.idiag_inode != 0;
            if (m.idiag_state != TCP_STATE_LISTEN && port_listed(port, ports, n) &&
                (held || m.idiag_state == TCP_STATE_ESTABLISHED)) {
                /* The attributes: INET_DIAG_INFO is struct tcp_info. */
                struct tcp_info ti;
                bool have_info = false;
                size_t off = NLMSG_ALIGN(sizeof(m));
                while (off + sizeof(struct nlattr) <= body) {
                    struct nlattr a;
                    memcpy(&a, p + NLMSG_HDRLEN + off, sizeof(a));
                    if (a.nla_len < sizeof(a) || a.nla_len > body - off)
                        break;
                    if ((a.nla_type & NLA_TYPE_MASK) == INET_DIAG_INFO) {
                        size_t got = a.nla_len - NLA_HDRLEN;
                        memset(&ti, 0, sizeof(ti));
                        memcpy(&ti, p + NLMSG_HDRLEN + off + NLA_HDRLEN,
                               got < sizeof(ti) ? got : sizeof(ti));
                        have_info = got >= offsetof(struct tcp_info, tcpi_last_ack_recv);
                    }
                    off += NLA_ALIGN(a.nla_len);
                }
                bool idle = held && m.idiag_state == TCP_STATE_ESTABLISHED && have_info &&
                            m.idiag_rqueue == 0 && m.idiag_wqueue == 0 &&
                            /* >=: a response sent within the request's
                             * tick shows the same times (jiffies) */
                            ti.tcpi_last_data_recv >= ti.tcpi_last_data_sent &&
                            ti.tcpi_last_data_sent >= TCP_IDLE_QUIET_MS;
                if (!idle)
                    (*count)++;
            }
        }
        size_t step = NLMSG_ALIGN(h.nlmsg_len);
        if (step >= len)
            break;
        p += step;
        len -= step;
    }
    return 0;
}

/* The dump over NETLINK_SOCK_DIAG; -1 if it cannot be had. */
static long tcp_diag_inflight(const uint16_t *ports, unsigned n)
{
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0)
        return -1;
    struct {
        struct nlmsghdr h;
        struct inet_diag_req_v2 r;
    } req = {
        .h = {.nlmsg_len = sizeof(req),
              .nlmsg_type = SOCK_DIAG_BY_FAMILY,
              .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
        .r = {.sdiag_family = AF_INET,
              .sdiag_protocol = IPPROTO_TCP,
              .idiag_ext = 1u << (INET_DIAG_INFO - 1),
              .idiag_states = ~(1u << TCP_STATE_LISTEN)},
    };
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    unsigned count = 0;
    int done = -1;
    static char buf[65536];
    if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) ==
        (ssize_t)sizeof(req)) {
        for (done = 0; done == 0;) {
            ssize_t got = recv(fd, buf, sizeof(buf), 0);
            if (got <= 0) {
                done = -1;
                break;
            }
            done = tcp_diag_count(buf, (size_t)got, ports, n, &count);
        }
    }
    close(fd);
    return done < 0 ? -1 : (long)count;
}

static unsigned proc_tcp_inflight(const uint16_t *ports, unsigned n)
{
    FILE *f = fopen("/proc/net/tcp", "re");
    char *text = NULL;
    size_t cap = 0, len = 0;
    unsigned count;
    if (!f)
        return 0;
    for (;;) {
        if (cap - len < 65536) {
            char *t = realloc(text, cap + 262144);
            if (!t)
                break;
            text = t;
            cap += 262144;
        }
        size_t got = fread(text + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    if (!text)
        return 0;
    text[len] = '\0';
    count = tcp_inflight_parse(text, ports, n);
    free(text);
    return count;
}

unsigned tcp_inflight(const uint16_t *ports, unsigned n)
{
    long busy = tcp_diag_inflight(ports, n);
    return busy >= 0 ? (unsigned)busy : proc_tcp_inflight(ports, n);
}
