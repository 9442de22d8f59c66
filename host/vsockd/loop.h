/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The epoll loop's registry. Every watched fd has a `struct watch` whose
 * address is the epoll cookie; `kind` says which handler gets its events.
 */
#ifndef VSOCKD_LOOP_H
#define VSOCKD_LOOP_H

#include <stdint.h>

enum watch_kind {
    WATCH_VU_LISTEN,  /* vhost-user listening socket */
    WATCH_VU_CONN,    /* the frontend's (QEMU's) connection */
    WATCH_KICK,       /* a queue's kick eventfd; obj = device, index in `index` */
    WATCH_UDS_LISTEN, /* --uds listener (host -> guest via CONNECT) */
    WATCH_TCP_LISTEN, /* a --publish listener */
    WATCH_HOST_CONN,  /* a host-side stream of a connection */
    WATCH_TIMER,
    WATCH_SIGNAL,
};

struct watch {
    int fd;
    enum watch_kind kind;
    unsigned index;
    void *obj;
};

extern int loop_epfd; /* -1 until loop_init */

int loop_init(void);
int loop_add(struct watch *w, uint32_t events);
void loop_del(struct watch *w);

#endif
