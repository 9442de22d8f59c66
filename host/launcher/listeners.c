/* SPDX-License-Identifier: BSD-2-Clause */
/* The published ports' listening sockets; see listeners.h. */
#include "launcher/listeners.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
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
            state != TCP_STATE_LISTEN && (inode != 0 || state == TCP_STATE_ESTABLISHED)) {
            for (unsigned i = 0; i < n; i++)
                if (ports[i] == lport) {
                    count++;
                    break;
                }
        }
        line = next ? next + 1 : NULL;
    }
    return count;
}

unsigned tcp_inflight(const uint16_t *ports, unsigned n)
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
