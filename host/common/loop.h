/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The epoll loop's registry, one per process. Every watched fd has a
 * `struct watch` whose address is the epoll cookie; `kind` (the program's own
 * enum) says which handler gets its events.
 */
#ifndef HOST_COMMON_LOOP_H
#define HOST_COMMON_LOOP_H

#include <stdint.h>

struct watch {
    int fd;         /* -1: not open */
    unsigned kind;  /* the program's handler selector */
    unsigned index; /* a sub-index the handler may use (queue, relay side) */
    void *obj;
};

extern int loop_epfd; /* -1 until loop_init: then loop_add/mod/del do nothing (tests) */

int loop_init(void);
/* epoll_ctl ADD / MOD / DEL for w->fd with w as the cookie; 0 or -1 with errno. */
int loop_add(struct watch *w, uint32_t events);
int loop_mod(struct watch *w, uint32_t events);
void loop_del(struct watch *w);

/*
 * SIGINT and SIGTERM as events: blocks them, ignores SIGPIPE, and watches a
 * signalfd for them in *w (kind as given). 0, or -1 with errno.
 */
int loop_add_signals(struct watch *w, unsigned kind);

#endif
