/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Exercises the Process unit and prints what happened; tests/e2e/sched.sh
 * checks the lines against what the scheduler promises.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86_64/arch.h"
#include "miura/miura.h"
#include "sched/sched.h"

static char order[128];
static size_t order_len;

/* Appends to order[], truncating (the churn below appends more than fits). */
__attribute__((format(printf, 1, 2))) static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(order + order_len, sizeof(order) - order_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        order_len += (size_t)n;
    if (order_len > sizeof(order) - 1)
        order_len = sizeof(order) - 1;
}

static void *yielder(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < 3; i++) {
        note("%c%d ", (char)('A' + id), i);
        thread_yield();
    }
    return (void *)(id * 10);
}

static void *sleeper(void *arg)
{
    long ms = (long)arg;
    thread_sleep_ms((uint64_t)ms);
    note("%ld ", ms);
    return NULL;
}

static struct waitq items_wq = WAITQ_INIT(items_wq);
static int items;

static void *producer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5; i++) {
        thread_sleep_ms(2);
        items++;
        waitq_wake_one(&items_wq);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    thread_t *t[3];
    void *ret[3];

    /* 1. Creation order is run order; yield round-robins; join returns values. */
    for (long i = 0; i < 3; i++)
        t[i] = thread_create(THREAD_CPU_CURRENT, 0, yielder, (void *)i);
    for (int i = 0; i < 3; i++)
        thread_join(t[i], &ret[i]);
    printf("order: %s\n", order);
    printf("join: %ld %ld %ld\n", (long)ret[0], (long)ret[1], (long)ret[2]);

    /* 2. Sleepers wake in deadline order, not creation order. The gaps are
     * wide so that host scheduling noise under emulation cannot reorder
     * the deadlines themselves. */
    miura_clock_ns(); /* any clock calibration happens before the sleepers start */
    order_len = 0;
    long ms[3] = {300, 100, 200};
    for (int i = 0; i < 3; i++)
        t[i] = thread_create(THREAD_CPU_CURRENT, 0, sleeper, (void *)ms[i]);
    for (int i = 0; i < 3; i++)
        thread_join(t[i], NULL);
    printf("wake order: %s\n", order);

    /* 3. Sleep accuracy. */
    for (int i = 0; i < 10; i++) {
        uint64_t t0 = miura_clock_ns();
        thread_sleep_ms(10);
        printf("sleep 10ms: %llu ns\n", (unsigned long long)(miura_clock_ns() - t0));
    }

    /* 4. A wait queue: the consumer blocks until the producer wakes it. */
    thread_t *p = thread_create(THREAD_CPU_CURRENT, 0, producer, NULL);
    int got = 0;
    uint64_t flags = irq_save();
    while (got < 5) {
        while (items == 0)
            waitq_wait(&items_wq, 0);
        got += items;
        items = 0;
    }
    irq_restore(flags);
    thread_join(p, NULL);
    printf("waitq: consumer got %d items\n", got);

    /* 5. A wait with a deadline times out. */
    struct waitq never;
    waitq_init(&never);
    uint64_t t0 = miura_clock_ns();
    flags = irq_save();
    int rc = waitq_wait(&never, t0 + 5000000);
    irq_restore(flags);
    printf("timeout: rc=%d after %llu ns\n", rc, (unsigned long long)(miura_clock_ns() - t0));

    /* 6. Many threads, created and joined, leave no memory behind. */
    for (int round = 0; round < 50; round++) {
        thread_t *many[20];
        for (long i = 0; i < 20; i++)
            many[i] = thread_create(THREAD_CPU_CURRENT, 8192, yielder, (void *)0);
        for (int i = 0; i < 20; i++)
            if (!many[i] || thread_join(many[i], NULL) != 0)
                printf("thread churn failed at round %d\n", round);
        order_len = 0;
    }
    printf("churn: 1000 threads created and joined\n");

    /* 7. Errors as thread.h lists them: -1 and errno. */
    int self = thread_join(thread_self(), NULL), self_errno = errno;
    int null = thread_join(NULL, NULL), null_errno = errno;
    thread_t *d = thread_create(THREAD_CPU_CURRENT, 0, yielder, (void *)0);
    int once = thread_detach(d), twice = thread_detach(d), twice_errno = errno;
    thread_t *bad = thread_create(MIURA_MAX_CPUS, 0, yielder, NULL);
    printf("errors: join self %d %s, join NULL %d %s, detach %d then %d %s, bad cpu %s %s, "
           "cpu %u of %u\n",
           self, strerrorname_np(self_errno), null, strerrorname_np(null_errno), once, twice,
           strerrorname_np(twice_errno), bad ? "thread" : "NULL", strerrorname_np(errno),
           miura_cpu_id(), miura_cpu_count());
    printf("test_sched: done\n");
    return 0;
}
