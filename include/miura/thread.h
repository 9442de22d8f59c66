/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Process unit: threads and per-CPU cooperative scheduling.
 *
 * A thread runs on the CPU it was created for until it blocks, yields or
 * exits; nothing preempts it. Threads of one CPU therefore never run at the
 * same time and need no locks among themselves.
 */
#ifndef MIURA_THREAD_H
#define MIURA_THREAD_H

#include <stddef.h>
#include <stdint.h>

typedef struct thread thread_t;
typedef void *(*thread_fn)(void *arg);

#define THREAD_STACK_DEFAULT (32 * 1024)
#define THREAD_CPU_CURRENT   (-1)

/*
 * Creates a thread that runs fn(arg) on `cpu` (THREAD_CPU_CURRENT for the
 * caller's) with a stack of stack_size bytes (rounded up to pages; 0 means
 * THREAD_STACK_DEFAULT). A guard page below the stack turns an overflow into
 * a crash report. Returns NULL with errno ENOMEM or EINVAL (bad cpu).
 * The thread must be joined (or detached) to free its stack.
 */
thread_t *thread_create(int cpu, size_t stack_size, thread_fn fn, void *arg);

/* Waits for t to exit, stores its exit value in *ret (if non-NULL) and frees
 * it. Returns 0, or -EINVAL if t is the caller or already joined/detached. */
int thread_join(thread_t *t, void **ret);

/* Frees t's resources by itself when it exits. */
int thread_detach(thread_t *t);

/* Lets the other ready threads of this CPU run; returns when they have. */
void thread_yield(void);

/* Ends the calling thread with `value` (as if fn returned it). */
_Noreturn void thread_exit(void *value);

thread_t *thread_self(void);

/* Sleeps at least ns / ms; the CPU halts if nothing else is ready. */
void thread_sleep_ns(uint64_t ns);
void thread_sleep_ms(uint64_t ms);

#endif
