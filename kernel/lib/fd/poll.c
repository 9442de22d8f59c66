/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * poll() over any descriptor. Each object reports its readiness and the
 * wait queue that announces changes to it (its kind's poll op); an object
 * without one (a file, the console) is always ready. When nothing is ready,
 * poll sleeps on that queue until a wake or its deadline and looks again.
 *
 * Today every object that can become ready later (a socket) announces on
 * the Networking unit's one poll queue. Objects with queues of their own
 * (#11) will need a sleep on several queues at once; until the Process
 * unit has one, two different queues in one call are a kernel bug.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>

#include "lib/fd/fd.h"
#include "lib/fd/fd_op.h"
#include "lib/fd/fd_port.h"
#include "lib/libc_name.h"
#include "lib/posix_result.h"

#define NS_PER_MSEC  1000000ull
#define POLL_MAX_FDS 65536

FD_OP_SECTION(poll);

#ifdef MIURA_HOST_TEST
#include <stdlib.h>
#define poll_bug(msg) abort()
#else
#define poll_bug(msg) panic("poll: %s", msg)
#endif

static short poll_one(const struct pollfd *p, struct waitq **wq)
{
    const struct fd_op *op;
    struct fd_object *o;
    struct waitq *q = NULL;
    short m;

    if (p->fd < 0)
        return 0;
    o = fd_lookup(p->fd);
    if (!o)
        return POLLNVAL;
    op = fd_op_find(poll, o);
    if (!op)
        return (short)(p->events & (POLLIN | POLLOUT));
    m = op->fn.poll(o, p->events, &q);
    if (q && *wq && q != *wq)
        poll_bug("descriptors on two wait queues");
    if (q)
        *wq = q;
    return m;
}

int LIBC_NAME(poll)(struct pollfd *fds, nfds_t n, int timeout_ms)
{
    uint64_t deadline, flags;
    bool expired = timeout_ms == 0;
    int ready;

    if (n > POLL_MAX_FDS || (n && !fds))
        return (int)posix_result(-EINVAL);
    deadline = timeout_ms > 0 ? fd_clock_ns() + (uint64_t)timeout_ms * NS_PER_MSEC : 0;
    flags = fd_lock();
    for (;;) {
        struct waitq *wq = NULL;

        ready = 0;
        for (nfds_t i = 0; i < n; i++) {
            fds[i].revents = poll_one(&fds[i], &wq);
            if (fds[i].revents)
                ready++;
        }
        if (ready || expired)
            break;
        expired = fd_wait(wq, deadline) == -ETIMEDOUT;
    }
    fd_unlock(flags);
    return ready;
}
