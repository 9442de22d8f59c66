/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * miura/thread.h on POSIX threads for the Linux build (linux.h): one thread
 * at a time holds the CPU, handed over in ticket order.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "linux.h"
#include "miura/miura.h"

/* Glibc's functions need more stack than the guest's; a smaller request
 * gets this much (the guest's stack overflows are not reproduced here). */
#define LINUX_STACK_MIN (128 * 1024)

static pthread_mutex_t cpu_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cpu_turn = PTHREAD_COND_INITIALIZER;
static unsigned long cpu_next, cpu_serving; /* tickets taken, and the one running */

/* Takes a ticket (then sets *queued, if given, for thread_create) and
 * waits for its turn. */
static void cpu_enter(bool *queued)
{
    pthread_mutex_lock(&cpu_mutex);
    unsigned long ticket = cpu_next++;
    if (queued) {
        *queued = true;
        pthread_cond_broadcast(&cpu_turn);
    }
    while (cpu_serving != ticket)
        pthread_cond_wait(&cpu_turn, &cpu_mutex);
    pthread_mutex_unlock(&cpu_mutex);
}

void linux_cpu_enter(void)
{
    cpu_enter(NULL);
}

void linux_cpu_leave(void)
{
    pthread_mutex_lock(&cpu_mutex);
    cpu_serving++;
    pthread_cond_broadcast(&cpu_turn);
    pthread_mutex_unlock(&cpu_mutex);
}

/* Fields change only while their thread or its creator holds the CPU. */
struct thread {
    pthread_t pt;
    thread_fn fn;
    void *arg, *ret;
    bool detached; /* then the thread frees this when it ends */
    bool exited;   /* ended, not yet joined or detached */
    bool queued;   /* has its ticket (cpu_mutex) */
};

static struct thread main_thread;
static __thread struct thread *self;

void linux_thread_start(void)
{
    main_thread.pt = pthread_self();
    self = &main_thread;
    linux_cpu_enter();
}

/* The end of a thread, with the CPU held; gives the CPU up. */
static void thread_end(struct thread *t, void *value)
{
    if (t->detached) {
        free(t);
    } else {
        t->ret = value;
        t->exited = true;
    }
    linux_cpu_leave();
}

static void *thread_main(void *arg)
{
    struct thread *t = arg;
    self = t;
    cpu_enter(&t->queued);
    thread_end(t, t->fn(t->arg));
    return NULL;
}

thread_t *thread_create(int cpu, size_t stack_size, thread_fn fn, void *arg)
{
    if (!fn || stack_size > THREAD_STACK_MAX || (cpu != THREAD_CPU_CURRENT && cpu != 0)) {
        errno = EINVAL;
        return NULL;
    }
    struct thread *t = calloc(1, sizeof(*t));
    if (!t) {
        errno = ENOMEM;
        return NULL;
    }
    t->fn = fn;
    t->arg = arg;
    size_t stack = stack_size ? stack_size : THREAD_STACK_DEFAULT;
    pthread_attr_t attr;
    int rc = pthread_attr_init(&attr);
    if (!rc)
        rc = pthread_attr_setstacksize(&attr, stack < LINUX_STACK_MIN ? LINUX_STACK_MIN : stack);
    if (!rc)
        rc = pthread_create(&t->pt, &attr, thread_main, t);
    pthread_attr_destroy(&attr);
    if (rc) {
        free(t);
        errno = rc == EINVAL ? EINVAL : ENOMEM;
        return NULL;
    }
    /* Ready at once, behind the threads already waiting, as in the guest:
     * its ticket is taken before this returns. */
    pthread_mutex_lock(&cpu_mutex);
    while (!t->queued)
        pthread_cond_wait(&cpu_turn, &cpu_mutex);
    pthread_mutex_unlock(&cpu_mutex);
    return t;
}

int thread_join(thread_t *t, void **ret)
{
    if (!t || t->detached) {
        errno = EINVAL;
        return -1;
    }
    if (t == self) {
        errno = EDEADLK;
        return -1;
    }
    if (!t->exited)
        LINUX_BLOCKING(pthread_join(t->pt, NULL));
    else
        pthread_join(t->pt, NULL); /* it has given the CPU up: returns at once */
    if (ret)
        *ret = t->ret;
    free(t);
    return 0;
}

int thread_detach(thread_t *t)
{
    if (!t || t->detached || t == &main_thread) {
        errno = EINVAL;
        return -1;
    }
    if (t->exited) {
        pthread_join(t->pt, NULL);
        free(t);
        return 0;
    }
    t->detached = true;
    pthread_detach(t->pt);
    return 0;
}

/* Back in line behind the threads waiting now, then the CPU goes to the
 * first of them: the ticket is taken before the CPU is given up. */
void thread_yield(void)
{
    pthread_mutex_lock(&cpu_mutex);
    unsigned long ticket = cpu_next++;
    cpu_serving++;
    pthread_cond_broadcast(&cpu_turn);
    while (cpu_serving != ticket)
        pthread_cond_wait(&cpu_turn, &cpu_mutex);
    pthread_mutex_unlock(&cpu_mutex);
}

_Noreturn void thread_exit(void *value)
{
    if (self == &main_thread) /* the others go on, as in the guest */
        linux_cpu_leave();
    else
        thread_end(self, value);
    pthread_exit(NULL);
}

thread_t *thread_self(void)
{
    return self;
}

void thread_sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (LINUX_BLOCKING(nanosleep(&ts, &ts)) < 0 && errno == EINTR)
        ;
}

void thread_sleep_ms(uint64_t ms)
{
    thread_sleep_ns(ms * 1000000u);
}

/* One thread holds the CPU at a time and gives it up only where the guest's
 * would (a blocking call, a yield): the cooperative section holds already. */
void thread_coop_enter(void) {}

void thread_coop_leave(void) {}
