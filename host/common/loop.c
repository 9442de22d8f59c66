/* SPDX-License-Identifier: BSD-2-Clause */
#include "common/loop.h"

#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

int loop_epfd = -1;

int loop_init(void)
{
    loop_epfd = epoll_create1(EPOLL_CLOEXEC);
    return loop_epfd < 0 ? -1 : 0;
}

int loop_add(struct watch *w, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = w};
    if (loop_epfd < 0)
        return 0;
    return epoll_ctl(loop_epfd, EPOLL_CTL_ADD, w->fd, &ev);
}

int loop_mod(struct watch *w, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = w};
    if (loop_epfd < 0 || w->fd < 0)
        return 0;
    return epoll_ctl(loop_epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

void loop_del(struct watch *w)
{
    if (loop_epfd >= 0 && w->fd >= 0)
        epoll_ctl(loop_epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

int loop_add_signals(struct watch *w, unsigned kind)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
        return -1;
    *w = (struct watch){.fd = signalfd(-1, &mask, SFD_CLOEXEC), .kind = kind};
    if (w->fd < 0)
        return -1;
    return loop_add(w, EPOLLIN);
}
