/* SPDX-License-Identifier: BSD-2-Clause */
#include "common/control.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/publish.h"

int control_open(struct control *c, const char *path, unsigned listen_kind, unsigned client_kind,
                 control_stats_fn stats, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    c->stats = stats;
    c->path = path;
    c->listen_w = (struct watch){.fd = -1, .kind = listen_kind, .obj = c};
    for (unsigned i = 0; i < CONTROL_CLIENTS; i++)
        c->client[i].w = (struct watch){.fd = -1, .kind = client_kind, .obj = c};
    c->listen_w.fd = unix_listen(path, err, errlen);
    if (c->listen_w.fd < 0)
        return -1;
    if (loop_add(&c->listen_w, EPOLLIN) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(c->listen_w.fd);
        unlink(path);
        c->listen_w.fd = -1;
        return -1;
    }
    return 0;
}

static void client_close(struct control_client *cl)
{
    if (cl->w.fd < 0)
        return;
    loop_del(&cl->w);
    close(cl->w.fd);
    cl->w.fd = -1;
}

void control_accept(struct control *c)
{
    for (;;) {
        int fd = accept4(c->listen_w.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or out of descriptors: the client waits in the queue */
        struct control_client *slot = &c->client[0];
        for (unsigned i = 0; i < CONTROL_CLIENTS; i++) {
            struct control_client *cl = &c->client[i];
            if (cl->w.fd < 0) {
                slot = cl;
                break;
            }
            if (cl->since < slot->since)
                slot = cl;
        }
        client_close(slot); /* all busy: the oldest makes room */
        slot->w.fd = fd;
        slot->len = 0;
        slot->since = ++c->arrivals;
        if (loop_add(&slot->w, EPOLLIN) < 0)
            client_close(slot);
    }
}

static void answer(struct control *c, struct control_client *cl)
{
    char reply[CONTROL_REPLY];
    size_t n;
    if (cl->len == 5 && memcmp(cl->line, "stats", 5) == 0) {
        n = c->stats(reply, sizeof(reply));
    } else {
        /* Echo at most 32 bytes of it, anything unprintable as '?'. */
        char shown[33];
        unsigned k = cl->len < 32 ? cl->len : 32;
        for (unsigned i = 0; i < k; i++)
            shown[i] = cl->line[i] >= 0x20 && cl->line[i] < 0x7f ? cl->line[i] : '?';
        shown[k] = '\0';
        n = (size_t)snprintf(reply, sizeof(reply), "error unknown command '%s' (try stats)\n",
                             shown);
    }
    if (n > sizeof(reply))
        n = sizeof(reply);
    /* A fresh socket's buffer takes a few KiB whole; never wait for a slow reader. */
    if (send(cl->w.fd, reply, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        /* the client went away: nothing to do */
    }
    client_close(cl);
}

void control_input(struct control *c, struct watch *w)
{
    struct control_client *cl = NULL;
    for (unsigned i = 0; i < CONTROL_CLIENTS; i++)
        if (&c->client[i].w == w)
            cl = &c->client[i];
    if (!cl || cl->w.fd < 0)
        return;
    for (;;) {
        char buf[CONTROL_LINE_MAX];
        ssize_t r = recv(cl->w.fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (r <= 0) {
            client_close(cl);
            return;
        }
        for (ssize_t i = 0; i < r; i++) {
            if (buf[i] == '\n' || buf[i] == '\r') {
                cl->line[cl->len] = '\0';
                answer(c, cl);
                return;
            }
            if (cl->len == CONTROL_LINE_MAX - 1) { /* no command is this long */
                client_close(cl);
                return;
            }
            cl->line[cl->len++] = buf[i];
        }
    }
}

void control_close(struct control *c)
{
    for (unsigned i = 0; i < CONTROL_CLIENTS; i++)
        client_close(&c->client[i]);
    if (c->listen_w.fd >= 0) {
        loop_del(&c->listen_w);
        close(c->listen_w.fd);
        c->listen_w.fd = -1;
        unlink(c->path);
    }
}

void control_kv(char *buf, size_t len, size_t *off, const char *key, uint64_t value)
{
    if (*off >= len)
        return;
    int n = snprintf(buf + *off, len - *off, "%s %llu\n", key, (unsigned long long)value);
    if (n > 0)
        *off += (size_t)n < len - *off ? (size_t)n : len - *off - 1;
}

int control_query(const char *path, const char *cmd, char *out, size_t len, int timeout_ms)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t got = 0;
    if (strlen(path) >= sizeof(sa.sun_path) || len == 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    char line[CONTROL_LINE_MAX + 1];
    int n = snprintf(line, sizeof(line), "%s\n", cmd);
    if (n < 0 || n > CONTROL_LINE_MAX) { /* no command is this long */
        errno = EINVAL;
        goto fail;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        send(fd, line, (size_t)n, MSG_NOSIGNAL) != n)
        goto fail;
    uint64_t deadline = monotonic_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = monotonic_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (now >= deadline) {
            errno = ETIMEDOUT;
            goto fail;
        }
        int r = poll(&p, 1, (int)(deadline - now));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto fail;
        if (r == 0)
            continue;
        ssize_t k = recv(fd, out + got, len - 1 - got, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            goto fail;
        if (k == 0 || got + (size_t)k == len - 1) {
            got += (size_t)(k > 0 ? k : 0);
            break;
        }
        got += (size_t)k;
    }
    out[got] = '\0';
    close(fd);
    return 0;
fail:;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}
