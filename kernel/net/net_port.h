/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The few kernel services net uses: a lock, wait queues, a clock and a
 * timer kick. A net wait queue is also a struct waitq (net_waitq_of) that
 * poll() in the descriptor layer sleeps on. The guest implements them here over the Process unit;
 * host tests (MIURA_HOST_TEST) provide fakes with the same contracts.
 *
 * Locking: all of net's state is touched with the net lock held. In the guest
 * the lock is the I/O section (sched.h: nothing else in it runs, on any
 * CPU, until the holder sleeps) with interrupts off (net runs only in
 * thread context, so nothing else can interleave). net_wait() gives the lock up while the thread
 * sleeps and holds it again when it returns: callers recheck their condition after it.
 */
#ifndef MIURA_NET_PORT_H
#define MIURA_NET_PORT_H

#include <stdint.h>

#ifdef MIURA_HOST_TEST

struct waitq {
    unsigned wakes; /* wakes since the last net_wait on it (fake) */
};
struct net_waitq {
    struct waitq wq;
};
void net_waitq_init(struct net_waitq *wq);
uint64_t net_lock(void);
void net_unlock(uint64_t flags);
/* Sleeps until woken or deadline_ns (0 = none). Returns 0 when woken,
 * -ETIMEDOUT. Spurious wakes are allowed. */
int net_wait(struct net_waitq *wq, uint64_t deadline_ns);
void net_wake_all(struct net_waitq *wq);
uint64_t net_clock_ns(void);
/* The earliest timer deadline of net changed: whoever runs vsock_net_timers()
 * must do so by the new deadline. */
void net_timer_kick(void);

#else

#include "arch/x86_64/arch.h"
#include "arch/x86_64/cpu.h"
#include "sched/sched.h"

struct net_waitq {
    struct waitq wq;
};
static inline void net_waitq_init(struct net_waitq *wq)
{
    waitq_init(&wq->wq);
}
static inline uint64_t net_lock(void)
{
    io_enter();
    return irq_save();
}
static inline void net_unlock(uint64_t flags)
{
    irq_restore(flags);
    io_leave();
}
static inline int net_wait(struct net_waitq *wq, uint64_t deadline_ns)
{
    return waitq_wait(&wq->wq, deadline_ns);
}
static inline void net_wake_all(struct net_waitq *wq)
{
    waitq_wake_all(&wq->wq);
}
static inline uint64_t net_clock_ns(void)
{
    return clock_ns();
}
void net_timer_kick(void); /* net_kernel.c: wakes the timer thread */

#endif

static inline struct waitq *net_waitq_of(struct net_waitq *wq)
{
    return &wq->wq;
}

#endif
