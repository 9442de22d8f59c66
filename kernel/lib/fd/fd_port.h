/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What poll() needs from the rest of the kernel: a section in which no
 * wake-up can slip between looking at readiness and going to sleep, a
 * sleep on several wait queues at once with a deadline, and the clock;
 * and what every descriptor and path call checks first (fd_cpu_check). The
 * guest implements them over the Process unit; host tests provide fakes.
 */
#ifndef MIURA_LIB_FD_PORT_H
#define MIURA_LIB_FD_PORT_H

#include <stdint.h>

struct waitq;

#ifdef MIURA_HOST_TEST

struct waitq_entry {
    void *unused; /* the fakes keep no per-queue state */
};
uint64_t fd_lock(void);
void fd_unlock(uint64_t flags);
/* Sleeps until one of the n queues is woken (n may be 0: none can) or
 * deadline_ns (0: no deadline), using entries[0..n) as its places on them.
 * 0 when woken, -ETIMEDOUT; spurious wakes are allowed. */
int fd_wait_any(struct waitq *const *wqs, struct waitq_entry *entries, unsigned n,
                uint64_t deadline_ns);
uint64_t fd_clock_ns(void);
static inline void fd_cpu_check(void) {}

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
static inline int fd_wait_any(struct waitq *const *wqs, struct waitq_entry *entries, unsigned n,
                              uint64_t deadline_ns)
{
    return waitq_wait_any(wqs, entries, n, deadline_ns);
}
static inline uint64_t fd_clock_ns(void)
{
    return clock_ns();
}
/* The Filesystem and Networking units, and the descriptors over them, are
 * CPU 0's for now (docs/kernel.md, SMP): their state has no locks but
 * cooperative scheduling. A call from a thread of another CPU is a
 * programming error, stopped before it can corrupt anything. */
void fd_cpu_stop(void);
static inline void fd_cpu_check(void)
{
    if (__builtin_expect(arch_cpu_index() != 0, 0))
        fd_cpu_stop();
}

#endif

#endif
