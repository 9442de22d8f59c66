/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What poll() needs from the rest of the kernel: a section in which no
 * wake-up can slip between looking at readiness and going to sleep, a
 * sleep on a wait queue with a deadline, and the clock. The guest
 * implements them over the Process unit; host tests provide fakes.
 */
#ifndef MIURA_LIB_FD_PORT_H
#define MIURA_LIB_FD_PORT_H

#include <stdint.h>

struct waitq;

#ifdef MIURA_HOST_TEST

uint64_t fd_lock(void);
void fd_unlock(uint64_t flags);
/* Sleeps until wq is woken (never, if wq is NULL) or deadline_ns (0: no
 * deadline). 0 when woken, -ETIMEDOUT; spurious wakes are allowed. */
int fd_wait(struct waitq *wq, uint64_t deadline_ns);
uint64_t fd_clock_ns(void);

#else

#include "arch/x86_64/arch.h"
#include "sched/sched.h"

/* Interrupts off: threads are cooperative, so nothing else runs on this
 * CPU until the caller sleeps, and waitq_wait wants interrupts off. */
static inline uint64_t fd_lock(void)
{
    return irq_save();
}
static inline void fd_unlock(uint64_t flags)
{
    irq_restore(flags);
}
static inline int fd_wait(struct waitq *wq, uint64_t deadline_ns)
{
    static struct waitq nobody_wakes = WAITQ_INIT(nobody_wakes);
    return waitq_wait(wq ? wq : &nobody_wakes, deadline_ns);
}
static inline uint64_t fd_clock_ns(void)
{
    return clock_ns();
}

#endif

#endif
