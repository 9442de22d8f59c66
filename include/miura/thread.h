/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Miura threads: the Process unit's public interface.
 *
 * A thread runs on the CPU it was created for until it blocks, yields or
 * exits; nothing preempts it. Threads of one CPU therefore never run at the
 * same time and need no locks among themselves; threads of different CPUs
 * share state through thread_mutex/thread_cond, cooperative sections
 * (below) or atomics.
 *
 * Errors follow POSIX's convention for functions that are not pthreads':
 * a failed call returns NULL or -1 and sets errno (per thread) to one of
 * the values listed with it, and to nothing else.
 */
#ifndef MIURA_THREAD_H
#define MIURA_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct thread thread_t;
typedef void *(*thread_fn)(void *arg);

#define THREAD_STACK_DEFAULT (32 * 1024)
#define THREAD_STACK_MAX     (1024 * 1024 * 1024)
#define THREAD_CPU_CURRENT   (-1)

/*
 * Creates a thread that runs fn(arg) on `cpu` (THREAD_CPU_CURRENT: the
 * caller's; CPUs are 0 .. miura_cpu_count() - 1) and stays there for good with a stack of
 * stack_size bytes, rounded up to whole pages (0: THREAD_STACK_DEFAULT). A guard page below the
 * stack turns an overflow into a crash report. The thread becomes ready at once and runs after the
 * threads already ready on its CPU, the caller first if it is one of them.
 *
 * Returns the thread, or NULL with errno:
 *   EINVAL  fn is NULL, stack_size > THREAD_STACK_MAX, or cpu is neither
 *           THREAD_CPU_CURRENT nor a CPU that runs threads;
 *   ENOMEM  no memory for the thread or its stack.
 * The caller MUST eventually join or detach the thread, or its stack and
 * descriptor stay allocated after it exits.
 */
thread_t *thread_create(int cpu, size_t stack_size, thread_fn fn, void *arg);

/*
 * Waits until t has exited, stores its exit value in *ret (when ret is not
 * NULL) and frees t. Returns 0, or -1 with errno:
 *   EINVAL   t is NULL, or was detached;
 *   EDEADLK  t is the caller.
 * t MUST NOT be joined twice or by two threads: after a join it is gone.
 */
int thread_join(thread_t *t, void **ret);

/*
 * Lets t free itself when it exits (at once if it has already). Returns 0,
 * or -1 with errno EINVAL: t is NULL or already detached. t MUST NOT be
 * joined or detached afterwards.
 */
int thread_detach(thread_t *t);

/* Lets the other ready threads of this CPU run; returns after they have
 * run (at once if there are none). */
void thread_yield(void);

/* Ends the calling thread with `value`, as if its function had returned
 * it. Never returns. */
_Noreturn void thread_exit(void *value);

/* The calling thread; never NULL. */
thread_t *thread_self(void);

/* Sleeps at least ns nanoseconds / ms milliseconds (0: at least until the
 * next timer interrupt). The CPU halts if no other thread is ready. */
void thread_sleep_ns(uint64_t ns);
void thread_sleep_ms(uint64_t ms);

/*
 * Mutexes and condition variables, for threads on any CPUs. Initialise
 * before use (thread_mutex_init, thread_cond_init); a mutex is not
 * recursive and is unlocked by its owner only (else a panic). A waiter
 * blocks (its CPU runs other threads or halts); no spinning.
 * thread_cond_timedwait's deadline is in miura_clock_ns() time (0: none);
 * it returns 0 when signalled (spurious returns are allowed: check the
 * condition again) or -ETIMEDOUT, always with the mutex held again.
 */
typedef struct thread_mutex {
    thread_t *owner;
    struct {
        void *next, *prev;
    } waiters;
} thread_mutex_t;
typedef struct thread_cond {
    struct {
        void *next, *prev;
    } waiters;
} thread_cond_t;
void thread_mutex_init(thread_mutex_t *m);
void thread_mutex_lock(thread_mutex_t *m);
bool thread_mutex_trylock(thread_mutex_t *m); /* true: taken */
void thread_mutex_unlock(thread_mutex_t *m);
void thread_cond_init(thread_cond_t *cv);
void thread_cond_wait(thread_cond_t *cv, thread_mutex_t *m);
int thread_cond_timedwait(thread_cond_t *cv, thread_mutex_t *m, uint64_t deadline_ns);
void thread_cond_signal(thread_cond_t *cv);
void thread_cond_broadcast(thread_cond_t *cv);

/*
 * A cooperative section: while a thread is inside one, no other thread in
 * it runs, on any CPU, until this one blocks (any sleep, wait, or call that
 * waits for I/O), yields, exits or leaves. It is the guarantee threads of
 * one CPU have among themselves, kept across CPUs: state that code written
 * for one cooperative CPU touches between two blocking calls stays safe if
 * that code runs inside the section. Cheaper to write than a mutex around
 * state that is used across blocking calls (the section is given up while
 * blocked, so nothing waits on a blocked holder), dearer at run time than
 * per-object locks when many CPUs want it at once. Reentrant: a thread
 * leaves as often as it entered. Not for interrupt handlers.
 */
void thread_coop_enter(void);
void thread_coop_leave(void);

#endif
