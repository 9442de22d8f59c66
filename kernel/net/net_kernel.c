/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * net's port to the kernel (net_port.h): the timer thread that runs
 * vsock_net_timers() (close and connect timeouts) when they are due. It
 * sleeps on a wait queue until the earliest deadline, and net_timer_kick()
 * wakes it when an earlier one appears. No tick: with no deadlines it
 * sleeps until kicked. It is started at boot, not on first need, so that a
 * guest short of memory later still has its close timeouts.
 */
#include <errno.h>
#include <stdio.h>

#include "lib/init.h"
#include "miura/thread.h"
#include "net/net_port.h"
#include "net/vsock.h"

static struct net_waitq timer_wq;
static bool timer_started;

static void *timer_thread(void *arg)
{
    (void)arg;
    uint64_t f = net_lock();
    for (;;) {
        uint64_t next = vsock_net_timers(net_clock_ns());
        (void)net_wait(&timer_wq, next);
    }
    net_unlock(f);
    return NULL;
}

static int net_timer_start(void)
{
    net_waitq_init(&timer_wq);
    thread_t *t = thread_create(THREAD_CPU_CURRENT, 8 * 1024, timer_thread, NULL);
    if (!t) {
        printf("net: no timer thread; close timeouts will not run\n");
        return -ENOMEM;
    }
    (void)thread_detach(t);
    timer_started = true;
    return 0;
}
MIURA_INIT(INIT_LEVEL_EARLY, net_timer_start);

void net_timer_kick(void)
{
    if (timer_started)
        net_wake_all(&timer_wq);
}
