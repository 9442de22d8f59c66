/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The real scheduler (kernel/sched/sched.c) on the host: a simulated CPU is a
 * pthread, a Miura thread is a fiber of its CPU (ucontext, announced to
 * ThreadSanitizer), an IPI is a futex wake-up. sched_host.c implements what
 * sched.c needs from arch and mm; tests/unit/sched_tsan.mk builds sched.c
 * with its allocations counted (sched_host_calloc/free).
 *
 * Interrupts: a wake-up from another CPU (smp_wake) or the CPU's one-shot
 * timer (timer_arm) is taken when the CPU's interrupt flag goes on
 * (irq_restore, irq_enable) and in irq_enable_and_halt, which sleeps until
 * one comes. The shim adds no happens-before edge of its own between CPUs:
 * the pending bits are relaxed atomics and the futex is a raw system call,
 * so ThreadSanitizer sees exactly the ordering sched.c establishes.
 */
#ifndef MIURA_TEST_SCHED_HOST_H
#define MIURA_TEST_SCHED_HOST_H

#include <stdbool.h>

#include "miura/thread.h"

/*
 * Boots a machine of ncpus CPU pthreads (2 .. MIURA_MAX_CPUS): CPU 0 runs
 * sched_init, the others sched_init_cpu, then CPU 0 creates root(arg) as a
 * detached thread and every CPU enters sched_idle_loop. Returns once root
 * has returned and every CPU has halted with nothing left to do (their
 * pthreads are joined, so everything the threads wrote is visible). Aborts
 * if root has not returned after several minutes (a hang).
 */
void sched_host_run(unsigned ncpus, thread_fn root, void *arg);

struct sched_host_stats {
    long threads_live;          /* thread descriptors allocated and not freed */
    long stack_pages;           /* stack pages allocated and not freed */
    unsigned long stack_allocs; /* page_alloc calls (stacks taken from the allocator) */
    unsigned long ipis;         /* smp_wake calls */
    unsigned long halts;        /* futex waits of halted CPUs */
    unsigned timers_left;       /* CPUs that stopped with their timer armed */
};
/* Counters since the process started; call between runs. */
void sched_host_stats(struct sched_host_stats *s);

#endif
