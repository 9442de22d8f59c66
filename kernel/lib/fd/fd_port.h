/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What poll() needs from the rest of the kernel: a section in which no
 * wake-up can slip between looking at readiness and going to sleep, a
 * sleep on several wait queues at once with a deadline, and the clock;
 * and the I/O section every descriptor and path call runs in (IO_CALL;
 * fd_io_check checks it is held). The
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
static inline void io_enter(void) {}
static inline void io_leave(void) {}
static inline void fd_io_check(void) {}

#else

#include "arch/x86_64/arch.h"
#include "sched/sched.h"

/* The I/O section (sched.h): nothing else in it runs, on any CPU, until
 * the caller sleeps; interrupts off as well, for the drivers under us. */
static inline uint64_t fd_lock(void)
{
    io_enter();
    return irq_save();
}
static inline void fd_unlock(uint64_t flags)
{
    irq_restore(flags);
    io_leave();
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
/* The Filesystem and Networking units, and the descriptors over them,
 * have no locks but the I/O section: every public call runs inside it
 * (docs/kernel.md, SMP). The table and path walks check that it does. */
void fd_io_stop(void);
static inline void fd_io_check(void)
{
    if (__builtin_expect(!coop_held(COOP_IO), 0))
        fd_io_stop();
}

#endif

/* A call made inside the I/O section. */
#define IO_CALL(expr)                     \
    ({                                    \
        io_enter();                       \
        __typeof__(expr) io_rc_ = (expr); \
        io_leave();                       \
        io_rc_;                           \
    })

#endif
