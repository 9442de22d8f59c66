/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * poll() over any descriptor. Each object reports its readiness and the
 * wait queue that announces changes to it (its kind's poll op); an object
 * without one (a file, the console) is always ready. When nothing is ready,
 * poll sleeps on all those queues at once (every socket has its own) until
 * one is woken or the deadline passes, and looks again.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>

#include "lib/fd/fd.h"
#include "lib/fd/fd_op.h"
#include "lib/fd/fd_port.h"
#include "lib/libc_name.h"
#include "lib/posix_result.h"

#define NS_PER_MSEC  1000000ull
#define POLL_MAX_FDS 65536
#define POLL_STACK   8 /* descriptors whose queues fit on the stack */

FD_OP_SECTION(poll);

/* The queues to sleep on: one per descriptor that named one (the same
 * queue may come twice). */
struct poll_queues {
    struct waitq **wqs;
    struct waitq_entry *entries;
    unsigned n;
    struct waitq *wq_stack[POLL_STACK];
    struct waitq_entry entry_stack[POLL_STACK];
};

static short poll_one(const struct pollfd *p, struct poll_queues *q)
{
    const struct fd_op *op;
    struct fd_object *o;
    struct waitq *wq = NULL;
    short m;

    if (p->fd < 0)
        return 0;
    o = fd_lookup(p->fd);
    if (!o)
        return POLLNVAL;
    op = fd_op_find(poll, o);
    if (!op)
        return (short)(p->events & (POLLIN | POLLOUT));
    m = op->fn.poll(o, p->events, &wq);
    if (wq && q)
        q->wqs[q->n++] = wq;
    return m;
}

int LIBC_NAME(poll)(struct pollfd *fds, nfds_t n, int timeout_ms)
{
    struct poll_queues q;
    uint64_t deadline, flags;
    bool expired = timeout_ms == 0;
    int ready;

    if (n > POLL_MAX_FDS || (n && !fds))
        return (int)posix_result(-EINVAL);
    q.wqs = q.wq_stack;
    q.entries = q.entry_stack;
    if (n > POLL_STACK && !expired) {
        q.wqs = malloc(n * sizeof(*q.wqs));
        q.entries = malloc(n * sizeof(*q.entries));
        if (!q.wqs || !q.entries) {
            free(q.wqs);
            free(q.entries);
            return (int)posix_result(-ENOMEM);
        }
    }
    deadline = timeout_ms > 0 ? fd_clock_ns() + (uint64_t)timeout_ms * NS_PER_MSEC : 0;
    flags = fd_lock();
    for (;;) {
        ready = 0;
        q.n = 0;
        for (nfds_t i = 0; i < n; i++) {
            /* A poll that will not sleep collects no queues. */
            fds[i].revents = poll_one(&fds[i], expired ? NULL : &q);
            if (fds[i].revents)
                ready++;
        }
        if (ready || expired)
            break;
        expired = fd_wait_any(q.wqs, q.entries, q.n, deadline) == -ETIMEDOUT;
    }
    fd_unlock(flags);
    if (q.wqs != q.wq_stack) {
        free(q.wqs);
        free(q.entries);
    }
    return ready;
}
