/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Process unit's scheduler (kernel/sched/sched.c, unchanged) on 2-4
 * simulated CPUs, one pthread each, under ThreadSanitizer (sched_tsan.mk,
 * shim in sched_host.c). Threads on different CPUs share state only through
 * what sched.c offers (thread_mutex/thread_cond, wait queues, join), so
 * TSan checks the ordering those give; each case ends with exact counts,
 * and with every thread descriptor and stack page freed.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "arch/x86_64/arch.h" /* clock_ns */
#include "miura/miura.h"
#include "sched/sched.h"
#include "sched_host.h"
#include "test.h"

/* A TSan report fails the run (exit status 66) even without TSAN_OPTIONS. */
const char *__tsan_default_options(void)
{
    return "halt_on_error=1:exitcode=66";
}

/* The first failure a Miura thread saw (threads cannot CHECK). */
static const char *thread_failure;

static void thread_fail(const char *why)
{
    const char *none = NULL;
    __atomic_compare_exchange_n(&thread_failure, &none, why, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

static thread_t *spawn(unsigned cpu, thread_fn fn, void *arg)
{
    thread_t *t = thread_create((int)cpu, 0, fn, arg);
    if (!t)
        thread_fail("thread_create failed");
    return t;
}

static void *join(thread_t *t)
{
    void *ret = NULL;
    if (t && thread_join(t, &ret) != 0)
        thread_fail("thread_join failed");
    return ret;
}

/* A small xorshift, per thread (seeded by the caller). */
static unsigned next_random(unsigned *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* What the CPUs did in a case (their struct cpu counters): root calls
 * count_cpus(n, -1) first and count_cpus(n, 1) last. */
static long remote_wakes, context_switches;

static void *cpu_counters(void *arg)
{
    long sign = (long)(intptr_t)arg;
    struct cpu *c = this_cpu(); /* its own CPU's: no lock needed */
    __atomic_fetch_add(&remote_wakes, sign * (long)c->remote_wakes, __ATOMIC_RELAXED);
    __atomic_fetch_add(&context_switches, sign * (long)c->context_switches, __ATOMIC_RELAXED);
    return NULL;
}

static void count_cpus(unsigned ncpus, long sign)
{
    thread_t *t[MIURA_MAX_CPUS];
    for (unsigned i = 0; i < ncpus; i++)
        t[i] = spawn(i, cpu_counters, (void *)(intptr_t)sign);
    for (unsigned i = 0; i < ncpus; i++)
        join(t[i]);
}

static struct sched_host_stats stats_before;

/* Before a case: no failure yet, the counters as they are. */
static void begin(void)
{
    thread_failure = NULL;
    remote_wakes = context_switches = 0;
    sched_host_stats(&stats_before);
}

/* After a case's machine stopped: nothing leaked. */
#define CHECK_NOTHING_LEFT()                                                                    \
    do {                                                                                        \
        struct sched_host_stats after_;                                                         \
        sched_host_stats(&after_);                                                              \
        if (thread_failure != NULL)                                                             \
            test_fail(__FILE__, __LINE__, "%s", thread_failure);                                \
        CHECK(thread_failure == NULL);                                                          \
        CHECK_EQ(after_.threads_live, stats_before.threads_live);                               \
        CHECK_EQ(after_.stack_pages, stats_before.stack_pages);                                 \
        CHECK_EQ(after_.timers_left, stats_before.timers_left);                                 \
        printf("# %ld remote wakes, %ld context switches, %lu IPIs, %lu halts\n", remote_wakes, \
               context_switches, after_.ipis - stats_before.ipis,                               \
               after_.halts - stats_before.halts);                                              \
    } while (0)

/* ---- (1) ping-pong across CPUs through a mutex and a condition variable */

enum { HANDOVERS = 20000, PAIRS = 2 };

struct pingpong {
    thread_mutex_t m;
    thread_cond_t cv;
    unsigned turn;           /* the side that may go next */
    unsigned long handovers; /* plain: the mutex orders them */
    unsigned long payload;   /* written by one side, checked by the other */
    unsigned long by[2];
};
static struct pingpong pairs[PAIRS];

struct side {
    struct pingpong *pp;
    unsigned me;
};

static void *pingpong_side(void *arg)
{
    struct side *s = arg;
    struct pingpong *pp = s->pp;

    thread_mutex_lock(&pp->m);
    for (;;) {
        while (pp->turn != s->me && pp->handovers < HANDOVERS)
            thread_cond_wait(&pp->cv, &pp->m);
        if (pp->handovers >= HANDOVERS)
            break;
        if (pp->payload != pp->handovers * 3 + 1 - (pp->handovers == 0))
            thread_fail("ping-pong: the other side's write is not visible");
        pp->handovers++;
        pp->payload = pp->handovers * 3 + 1;
        pp->by[s->me]++;
        pp->turn = !s->me;
        thread_cond_signal(&pp->cv);
    }
    thread_mutex_unlock(&pp->m);
    return NULL;
}

static void *pingpong_root(void *arg)
{
    static struct side sides[PAIRS][2];
    thread_t *t[PAIRS][2];

    (void)arg;
    count_cpus(4, -1);
    for (unsigned p = 0; p < PAIRS; p++) {
        memset(&pairs[p], 0, sizeof(pairs[p]));
        thread_mutex_init(&pairs[p].m);
        thread_cond_init(&pairs[p].cv);
        for (unsigned s = 0; s < 2; s++) {
            sides[p][s] = (struct side){&pairs[p], s};
            /* Pair 0 on CPUs 0 and 1, pair 1 on CPUs 3 and 2. */
            t[p][s] = spawn(p == 0 ? s : 3 - s, pingpong_side, &sides[p][s]);
        }
    }
    for (unsigned p = 0; p < PAIRS; p++)
        for (unsigned s = 0; s < 2; s++)
            join(t[p][s]);
    count_cpus(4, 1);
    return NULL;
}

TEST(pingpong_mutex_cond_across_cpus)
{
    begin();
    sched_host_run(4, pingpong_root, NULL);
    CHECK_NOTHING_LEFT();
    for (unsigned p = 0; p < PAIRS; p++) {
        CHECK_EQ(pairs[p].handovers, HANDOVERS);
        CHECK_EQ(pairs[p].by[0], HANDOVERS / 2);
        CHECK_EQ(pairs[p].by[1], HANDOVERS / 2);
        CHECK_EQ(pairs[p].payload, HANDOVERS * 3 + 1);
        CHECK(pairs[p].m.owner == NULL);
    }
}

/* ---- (2) one mutex, threads on every CPU counting under it */

enum { COUNT_CPUS = 4, COUNTERS_PER_CPU = 3, COUNT_ITERATIONS = 2000 };

static thread_mutex_t count_mutex;
static unsigned long count_total; /* plain: the mutex guards it */
static int count_inside;          /* threads in the critical section */

static void *counter_main(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u + 1;

    for (unsigned i = 0; i < COUNT_ITERATIONS; i++) {
        unsigned r = next_random(&seed);
        if (r % 8 == 0) {
            while (!thread_mutex_trylock(&count_mutex))
                thread_yield();
        } else {
            thread_mutex_lock(&count_mutex);
        }
        if (count_inside++ != 0 || count_mutex.owner != thread_self())
            thread_fail("two threads inside the mutex");
        unsigned long seen = count_total;
        if (r % 16 == 1)
            thread_yield(); /* the others of this CPU run, and block on it */
        else if (r % 64 == 3)
            thread_sleep_ns(r % 20000); /* so do the other CPUs' */
        else
            for (unsigned spin = r % 512; spin; spin--) /* long enough to overlap */
                __asm__ volatile("pause");
        count_total = seen + 1;
        count_inside--;
        thread_mutex_unlock(&count_mutex);
        if (r % 32 == 2)
            thread_sleep_ns(r % 20000);
    }
    return NULL;
}

static void *count_root(void *arg)
{
    thread_t *t[COUNT_CPUS * COUNTERS_PER_CPU];

    (void)arg;
    count_cpus(COUNT_CPUS, -1);
    thread_mutex_init(&count_mutex);
    count_total = 0;
    count_inside = 0;
    for (unsigned i = 0; i < COUNT_CPUS * COUNTERS_PER_CPU; i++)
        t[i] = spawn(i % COUNT_CPUS, counter_main, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < COUNT_CPUS * COUNTERS_PER_CPU; i++)
        join(t[i]);
    count_cpus(COUNT_CPUS, 1);
    return NULL;
}

TEST(contended_mutex_counts_exactly)
{
    begin();
    sched_host_run(COUNT_CPUS, count_root, NULL);
    CHECK_NOTHING_LEFT();
    CHECK_EQ(count_total, COUNT_CPUS * COUNTERS_PER_CPU * COUNT_ITERATIONS);
    CHECK_EQ(count_inside, 0);
    CHECK(count_mutex.owner == NULL);
}

/*
 * ---- (3) waitq_wait with deadlines against waitq_wake_one from other CPUs
 *
 * Waiters on CPUs 0 and 2 wait on one queue, with no deadline, a short one,
 * or one already past; wakers on CPU 1 (remote) and CPU 0 (local) wake one
 * at a time until every waiter is done. waitq_wake_one returning 1 means it
 * marked a waiter that had not timed out as woken, and that wait must
 * return 0; returning 0 means it found nobody to wake. So the 1s the wakers
 * got equal the 0s the waiters got, and a wake lost (the waiter times out,
 * or never wakes) or spent twice breaks the equality.
 *
 * One thing besides a wake returns 0: a stale remote wake, pushed for a
 * wait that its deadline ended first, drained while the thread waits again
 * (a spurious return, which waitq_wait allows). Each waiter lets its CPU
 * drain such an entry (thread->queued) before it waits again, so every 0 it
 * counts is a wake; how often it had to is printed.
 */
enum { WAIT_CPUS = 3, WAITERS = 4, WAITS = 3000, WAKERS = 2 };

static struct waitq wake_queue;
static unsigned waiters_done;
static unsigned long waits_woken[WAITERS], waits_timed_out[WAITERS], stale_seen[WAITERS];
static unsigned long wakes_given[WAKERS], wakes_unused[WAKERS];

static void *waiter_main(void *arg)
{
    unsigned me = (unsigned)(uintptr_t)arg, seed = me * 7919u + 3;
    thread_t *self = thread_self();

    for (unsigned i = 0; i < WAITS; i++) {
        unsigned r = next_random(&seed);
        uint64_t deadline = 0;
        if (r % 4 == 1)
            deadline = clock_ns() + r % 50000;
        else if (r % 4 == 2)
            deadline = clock_ns(); /* past by the time the timer is checked */
        else if (r % 4 == 3)
            deadline = clock_ns() + 1000;
        uint64_t flags = irq_save();
        int rc = waitq_wait(&wake_queue, deadline);
        irq_restore(flags);
        if (rc == 0) {
            waits_woken[me]++;
        } else if (rc == -ETIMEDOUT) {
            waits_timed_out[me]++;
            if (deadline == 0 || clock_ns() < deadline)
                thread_fail("waitq_wait timed out before its deadline");
        } else {
            thread_fail("waitq_wait: not 0 nor -ETIMEDOUT");
        }
        if (__atomic_load_n(&self->queued, __ATOMIC_ACQUIRE)) {
            stale_seen[me]++;
            while (__atomic_load_n(&self->queued, __ATOMIC_ACQUIRE))
                thread_yield(); /* its irq_restore takes the wake-up */
        }
    }
    __atomic_fetch_add(&waiters_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void *waker_main(void *arg)
{
    unsigned me = (unsigned)(uintptr_t)arg, seed = me * 104729u + 11;

    while (__atomic_load_n(&waiters_done, __ATOMIC_ACQUIRE) < WAITERS) {
        unsigned r = next_random(&seed);
        int n = waitq_wake_one(&wake_queue);
        if (n == 1)
            wakes_given[me]++;
        else if (n == 0)
            wakes_unused[me]++;
        else
            thread_fail("waitq_wake_one: not 0 nor 1");
        if (r % 4 == 0)
            thread_sleep_ns(r % 30000); /* so that some deadlines pass */
        else
            thread_yield();
    }
    return NULL;
}

static void *wait_root(void *arg)
{
    thread_t *w[WAITERS], *k[WAKERS];

    (void)arg;
    count_cpus(WAIT_CPUS, -1);
    waitq_init(&wake_queue);
    waiters_done = 0;
    for (unsigned i = 0; i < WAITERS; i++)
        w[i] = spawn(i % 2 ? 2 : 0, waiter_main, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < WAKERS; i++)
        k[i] = spawn(i == 0 ? 1 : 0, waker_main, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < WAITERS; i++)
        join(w[i]);
    for (unsigned i = 0; i < WAKERS; i++)
        join(k[i]);
    count_cpus(WAIT_CPUS, 1);
    return NULL;
}

TEST(waitq_deadlines_race_wake_one)
{
    unsigned long woken = 0, timed_out = 0, stale = 0, given = 0, unused = 0;

    begin();
    sched_host_run(WAIT_CPUS, wait_root, NULL);
    CHECK_NOTHING_LEFT();
    for (unsigned i = 0; i < WAITERS; i++) {
        woken += waits_woken[i];
        timed_out += waits_timed_out[i];
        stale += stale_seen[i];
    }
    for (unsigned i = 0; i < WAKERS; i++) {
        given += wakes_given[i];
        unused += wakes_unused[i];
    }
    printf("# waits %lu: woken %lu, timed out %lu (stale wakes drained %lu); wakes %lu given, "
           "%lu found nobody\n",
           woken + timed_out, woken, timed_out, stale, given, unused);
    CHECK_EQ(woken + timed_out, (unsigned long)WAITERS * WAITS);
    CHECK_EQ(given, woken);
    CHECK(woken > 0); /* the waits without a deadline end only so */
    CHECK(list_empty(&wake_queue.waiters));
}

/*
 * ---- (4) create, join and detach across CPUs
 *
 * A creator on each CPU j makes children on the other CPUs k; most are
 * handed to a joiner on a third CPU l (neither j nor k) through its
 * mailbox (a mutex, a condition variable and a ring), some are detached by
 * the creator at once, some by the joiner (perhaps after they exited).
 * Children return or thread_exit a value from their argument, after
 * running straight through, yielding or sleeping. Every join gets its
 * child's value; every detached child runs; nothing is left allocated.
 */
enum { CHURN_CPUS = 4, CHURN_ROUNDS = 400, MAILBOX_SLOTS = CHURN_CPUS * CHURN_ROUNDS };

enum churn_fate { JOIN, DETACH_AT_ONCE, DETACH_BY_JOINER };

struct mailbox {
    thread_mutex_t m;
    thread_cond_t cv;
    struct {
        thread_t *t;
        uintptr_t value;
        bool detach;
    } slot[MAILBOX_SLOTS];
    unsigned head, tail, expected;
};
static struct mailbox mailboxes[CHURN_CPUS];
static unsigned detached_ran, detached_made;
static unsigned long joins_checked;

static enum churn_fate fate_of(unsigned round)
{
    return round % 5 == 0 ? DETACH_AT_ONCE : round % 5 == 3 ? DETACH_BY_JOINER : JOIN;
}

static unsigned child_cpu(unsigned j, unsigned round)
{
    return (j + 1 + round % (CHURN_CPUS - 1)) % CHURN_CPUS;
}

static unsigned joiner_cpu(unsigned j, unsigned k)
{
    unsigned l = 0;
    while (l == j || l == k)
        l++;
    return l;
}

static uintptr_t child_value(uintptr_t arg)
{
    return arg * 2654435761u ^ 0x5a5a;
}

static void *child_main(void *arg)
{
    uintptr_t a = (uintptr_t)arg;
    unsigned round = (unsigned)(a >> 8);

    switch (round % 4) {
    case 1:
        thread_yield();
        thread_yield();
        break;
    case 2:
        thread_sleep_ns(round % 7 * 1000);
        break;
    default:
        break;
    }
    if (fate_of(round) != JOIN)
        __atomic_fetch_add(&detached_ran, 1, __ATOMIC_RELAXED);
    if (round % 3 == 0)
        thread_exit((void *)child_value(a));
    return (void *)child_value(a);
}

static void *creator_main(void *arg)
{
    unsigned j = (unsigned)(uintptr_t)arg;

    for (unsigned round = 0; round < CHURN_ROUNDS; round++) {
        unsigned k = child_cpu(j, round);
        uintptr_t a = (uintptr_t)round << 8 | j;
        size_t stack = round % 3 == 0 ? 0 : (round % 3) * PAGE_SIZE * 2;
        thread_t *t = thread_create((int)k, stack, child_main, (void *)a);
        if (!t) {
            thread_fail("thread_create failed");
            return NULL;
        }
        if (fate_of(round) == DETACH_AT_ONCE) {
            if (thread_detach(t) != 0)
                thread_fail("thread_detach failed");
            continue;
        }
        struct mailbox *mb = &mailboxes[joiner_cpu(j, k)];
        thread_mutex_lock(&mb->m);
        mb->slot[mb->tail].t = t;
        mb->slot[mb->tail].value = child_value(a);
        mb->slot[mb->tail].detach = fate_of(round) == DETACH_BY_JOINER;
        mb->tail++;
        thread_cond_signal(&mb->cv);
        thread_mutex_unlock(&mb->m);
        if (round % 8 == 7)
            thread_yield();
    }
    return NULL;
}

static void *joiner_main(void *arg)
{
    struct mailbox *mb = &mailboxes[(uintptr_t)arg];
    unsigned long checked = 0;

    for (unsigned n = 0; n < mb->expected; n++) {
        thread_mutex_lock(&mb->m);
        while (mb->head == mb->tail)
            thread_cond_wait(&mb->cv, &mb->m);
        thread_t *t = mb->slot[mb->head].t;
        uintptr_t value = mb->slot[mb->head].value;
        bool detach = mb->slot[mb->head].detach;
        mb->head++;
        thread_mutex_unlock(&mb->m);
        if (detach) {
            if (thread_detach(t) != 0)
                thread_fail("thread_detach failed");
        } else if ((uintptr_t)join(t) != value) {
            thread_fail("thread_join: not the child's value");
        } else {
            checked++;
        }
    }
    __atomic_fetch_add(&joins_checked, checked, __ATOMIC_RELAXED);
    return NULL;
}

static void *churn_root(void *arg)
{
    thread_t *creators[CHURN_CPUS], *joiners[CHURN_CPUS];

    (void)arg;
    count_cpus(CHURN_CPUS, -1);
    detached_ran = detached_made = 0;
    joins_checked = 0;
    memset(mailboxes, 0, sizeof(mailboxes));
    for (unsigned l = 0; l < CHURN_CPUS; l++) {
        thread_mutex_init(&mailboxes[l].m);
        thread_cond_init(&mailboxes[l].cv);
    }
    for (unsigned j = 0; j < CHURN_CPUS; j++)
        for (unsigned round = 0; round < CHURN_ROUNDS; round++) {
            if (fate_of(round) != JOIN)
                detached_made++;
            if (fate_of(round) != DETACH_AT_ONCE)
                mailboxes[joiner_cpu(j, child_cpu(j, round))].expected++;
        }
    for (unsigned l = 0; l < CHURN_CPUS; l++)
        joiners[l] = spawn(l, joiner_main, (void *)(uintptr_t)l);
    for (unsigned j = 0; j < CHURN_CPUS; j++)
        creators[j] = spawn(j, creator_main, (void *)(uintptr_t)j);
    for (unsigned j = 0; j < CHURN_CPUS; j++)
        join(creators[j]);
    for (unsigned l = 0; l < CHURN_CPUS; l++)
        join(joiners[l]);
    /* Detached children tell only by counting: wait for the last ones. */
    while (__atomic_load_n(&detached_ran, __ATOMIC_RELAXED) < detached_made)
        thread_sleep_ns(100000);
    count_cpus(CHURN_CPUS, 1);
    return NULL;
}

TEST(create_join_detach_churn_across_cpus)
{
    unsigned long joined = 0;

    begin();
    sched_host_run(CHURN_CPUS, churn_root, NULL);
    /* The detached children have exited; their CPUs freed them before
     * they halted (sched_host_run returns after that). */
    CHECK_NOTHING_LEFT();
    for (unsigned j = 0; j < CHURN_CPUS; j++)
        for (unsigned round = 0; round < CHURN_ROUNDS; round++)
            joined += fate_of(round) == JOIN;
    CHECK_EQ(joins_checked, joined);
    CHECK_EQ(detached_ran, detached_made);
    CHECK_EQ(joined + detached_made, CHURN_CPUS * CHURN_ROUNDS);
    for (unsigned l = 0; l < CHURN_CPUS; l++)
        CHECK_EQ(mailboxes[l].head, mailboxes[l].expected);
}

/*
 * ---- (5) thread_cond_timedwait timing out on one CPU while another signals
 *
 * Consumers on CPU 0 take events a producer on CPU 1 makes (a counter under
 * the mutex, a signal per event), waiting with short deadlines; the producer
 * sleeps now and then so that some waits time out. Every event is taken
 * once; a wait returns with the mutex held, and -ETIMEDOUT only after its
 * deadline. Each consumer first waits on a condition nobody signals, which
 * must time out.
 */
enum { CONSUMERS = 2, EVENTS = 5000 };

static thread_mutex_t event_mutex;
static thread_cond_t event_cond, silent_cond;
static unsigned long produced, consumed, taken_by[CONSUMERS], timeouts_of[CONSUMERS];
static bool producer_done;

static void check_timedwait(int rc, uint64_t deadline)
{
    if (event_mutex.owner != thread_self())
        thread_fail("thread_cond_timedwait returned without the mutex");
    if (rc == -ETIMEDOUT && clock_ns() < deadline)
        thread_fail("thread_cond_timedwait timed out before its deadline");
    if (rc != 0 && rc != -ETIMEDOUT)
        thread_fail("thread_cond_timedwait: not 0 nor -ETIMEDOUT");
}

static void *consumer_main(void *arg)
{
    unsigned me = (unsigned)(uintptr_t)arg, seed = me * 31337u + 5;
    int rc;

    thread_mutex_lock(&event_mutex);
    do { /* 0 is a spurious return (allowed): it ends only by timing out */
        uint64_t deadline = clock_ns() + 2000;
        rc = thread_cond_timedwait(&silent_cond, &event_mutex, deadline);
        check_timedwait(rc, deadline);
    } while (rc != -ETIMEDOUT);
    for (;;) {
        if (consumed < produced) {
            consumed++;
            taken_by[me]++;
            continue;
        }
        if (producer_done)
            break;
        uint64_t deadline = clock_ns() + next_random(&seed) % 40000;
        rc = thread_cond_timedwait(&event_cond, &event_mutex, deadline);
        check_timedwait(rc, deadline);
        if (rc == -ETIMEDOUT)
            timeouts_of[me]++;
    }
    thread_mutex_unlock(&event_mutex);
    return NULL;
}

static void *producer_main(void *arg)
{
    unsigned seed = 77;

    (void)arg;
    for (unsigned i = 0; i < EVENTS; i++) {
        thread_mutex_lock(&event_mutex);
        produced++;
        thread_cond_signal(&event_cond);
        thread_mutex_unlock(&event_mutex);
        unsigned r = next_random(&seed);
        if (r % 8 == 0)
            thread_sleep_ns(r % 60000);
    }
    thread_mutex_lock(&event_mutex);
    producer_done = true;
    thread_cond_broadcast(&event_cond);
    thread_mutex_unlock(&event_mutex);
    return NULL;
}

static void *cond_root(void *arg)
{
    thread_t *c[CONSUMERS], *p;

    (void)arg;
    count_cpus(2, -1);
    thread_mutex_init(&event_mutex);
    thread_cond_init(&event_cond);
    thread_cond_init(&silent_cond);
    produced = consumed = 0;
    producer_done = false;
    for (unsigned i = 0; i < CONSUMERS; i++)
        c[i] = spawn(0, consumer_main, (void *)(uintptr_t)i);
    p = spawn(1, producer_main, NULL);
    for (unsigned i = 0; i < CONSUMERS; i++)
        join(c[i]);
    join(p);
    count_cpus(2, 1);
    return NULL;
}

TEST(cond_timedwait_times_out_while_another_cpu_signals)
{
    unsigned long taken = 0, timeouts = 0;

    begin();
    sched_host_run(2, cond_root, NULL);
    CHECK_NOTHING_LEFT();
    for (unsigned i = 0; i < CONSUMERS; i++) {
        taken += taken_by[i];
        timeouts += timeouts_of[i];
    }
    printf("# events %lu taken, %lu waits timed out\n", taken, timeouts);
    CHECK_EQ(produced, EVENTS);
    CHECK_EQ(consumed, EVENTS);
    CHECK_EQ(taken, EVENTS);
    CHECK(event_mutex.owner == NULL);
    CHECK(list_empty((struct list *)&event_cond.waiters));
    CHECK(list_empty((struct list *)&silent_cond.waiters));
}

/*
 * ---- (6) threads that exit with a late wake on their CPU's inbox
 *
 * Short-lived threads on CPU 0 wait once with a deadline already past and
 * exit; a waker on CPU 1 keeps waking the queue. When the wake is pushed
 * but the deadline makes the thread ready first, the thread exits with its
 * entry still on CPU 0's inbox: finish_switch must drain it before the
 * descriptor goes (the shim panics when a queued thread is freed: the
 * later drain would be on the same CPU, where TSan sees no race). The
 * shim's clock jitter makes this happen some tens of times a run; how many
 * is printed. The wakes given still equal the waits that returned 0.
 */
enum { LATE_ROUNDS = 1500, LATE_BATCH = 4 };

static struct waitq late_queue;
static bool late_done;
static unsigned long late_woken, late_timed_out, late_queued_at_exit, late_given;

static void *late_waiter(void *arg)
{
    (void)arg;
    irq_save();
    int rc = waitq_wait(&late_queue, clock_ns());
    /* CPU 0's threads run one at a time: plain counters suffice. */
    if (rc == 0)
        late_woken++;
    else
        late_timed_out++;
    /* Interrupts stay off to the end, so a wake-up pending for this CPU
     * is not taken before the switch away. */
    if (__atomic_load_n(&thread_self()->queued, __ATOMIC_ACQUIRE))
        late_queued_at_exit++;
    thread_exit(NULL);
}

static void *late_waker(void *arg)
{
    unsigned long given = 0;

    (void)arg;
    while (!__atomic_load_n(&late_done, __ATOMIC_ACQUIRE)) {
        given += (unsigned long)waitq_wake_one(&late_queue);
        thread_yield();
    }
    late_given = given;
    return NULL;
}

/* On CPU 2, so that CPU 0 runs only the waiters (and idles between them). */
static void *late_driver(void *arg)
{
    thread_t *batch[LATE_BATCH];

    (void)arg;
    for (unsigned r = 0; r < LATE_ROUNDS; r++) {
        for (unsigned i = 0; i < LATE_BATCH; i++)
            batch[i] = spawn(0, late_waiter, NULL);
        for (unsigned i = 0; i < LATE_BATCH; i++) {
            if (r % 2)
                join(batch[i]);
            else if (thread_detach(batch[i]) != 0)
                thread_fail("thread_detach failed");
        }
    }
    return NULL;
}

static void *late_root(void *arg)
{
    (void)arg;
    count_cpus(3, -1);
    waitq_init(&late_queue);
    late_done = false;
    late_woken = late_timed_out = late_queued_at_exit = late_given = 0;
    thread_t *waker = spawn(1, late_waker, NULL);
    join(spawn(2, late_driver, NULL));
    /* The last detached waiters may still run: their deadlines end them. */
    __atomic_store_n(&late_done, true, __ATOMIC_RELEASE);
    join(waker);
    count_cpus(3, 1);
    return NULL;
}

TEST(late_wakes_of_exiting_threads)
{
    begin();
    sched_host_run(3, late_root, NULL);
    CHECK_NOTHING_LEFT();
    printf("# late waits %lu: woken %lu, timed out %lu, exited with a wake queued %lu\n",
           late_woken + late_timed_out, late_woken, late_timed_out, late_queued_at_exit);
    CHECK_EQ(late_woken + late_timed_out, LATE_ROUNDS * LATE_BATCH);
    CHECK_EQ(late_given, late_woken);
    CHECK(list_empty(&late_queue.waiters));
}

/*
 * ---- (7) cooperative sections: threads on every CPU in one section
 *
 * Between two blocking points a thread inside the section is alone in it
 * (checked by a plain count of threads inside, and by a plain read-modify-
 * write of the total that ThreadSanitizer reports if two overlap); a
 * yield or a sleep gives the section up and has it back before the thread
 * runs on; a nested enter keeps it. The I/O section runs inside it the same
 * way.
 */

enum { COOP_CPUS = 4, COOP_PER_CPU = 3, COOP_ITERATIONS = 2000 };

static unsigned long coop_total;                            /* plain: the section guards it */
static int coop_inside;                                     /* threads inside, between blocks */
static unsigned long coop_nested[COOP_CPUS * COOP_PER_CPU]; /* each thread's own */

static void coop_alone(void)
{
    if (coop_inside++ != 0)
        thread_fail("two threads inside the cooperative section");
}

static void *coop_main(void *arg)
{
    unsigned me = (unsigned)(uintptr_t)arg;
    unsigned seed = me * 2654435761u + 7;

    for (unsigned i = 0; i < COOP_ITERATIONS; i++) {
        unsigned r = next_random(&seed);
        thread_coop_enter();
        coop_alone();
        unsigned long seen = coop_total;
        for (unsigned spin = r % 512; spin; spin--) /* long enough to overlap */
            __asm__ volatile("pause");
        coop_total = seen + 1;
        if (r % 8 == 5) {
            thread_coop_enter(); /* nested: still alone */
            io_enter();
            coop_total++;
            coop_nested[me]++;
            io_leave();
            thread_coop_leave();
        }
        if (r % 16 == 1 || r % 64 == 3) {
            coop_inside--;
            if (r % 16 == 1)
                thread_yield(); /* the others of this CPU run, and take it */
            else
                thread_sleep_ns(r % 20000); /* so do the other CPUs' */
            coop_alone();
            if (!coop_held(COOP_APP))
                thread_fail("section not held again after a block");
        }
        coop_inside--;
        thread_coop_leave();
        if (r % 32 == 2)
            thread_sleep_ns(r % 20000);
    }
    if (coop_held(COOP_APP) || coop_held(COOP_IO))
        thread_fail("section still held after the last leave");
    return NULL;
}

static void *coop_root(void *arg)
{
    thread_t *t[COOP_CPUS * COOP_PER_CPU];

    (void)arg;
    count_cpus(COOP_CPUS, -1);
    coop_total = 0;
    coop_inside = 0;
    for (unsigned i = 0; i < COOP_CPUS * COOP_PER_CPU; i++) {
        coop_nested[i] = 0;
        t[i] = spawn(i % COOP_CPUS, coop_main, (void *)(uintptr_t)i);
    }
    for (unsigned i = 0; i < COOP_CPUS * COOP_PER_CPU; i++)
        join(t[i]);
    count_cpus(COOP_CPUS, 1);
    return NULL;
}

TEST(cooperative_section_excludes_across_cpus)
{
    begin();
    sched_host_run(COOP_CPUS, coop_root, NULL);
    CHECK_NOTHING_LEFT();
    unsigned long nested = 0;
    for (unsigned i = 0; i < COOP_CPUS * COOP_PER_CPU; i++)
        nested += coop_nested[i];
    CHECK(nested > 0);
    CHECK_EQ(coop_total, COOP_CPUS * COOP_PER_CPU * COOP_ITERATIONS + nested);
    CHECK_EQ(coop_inside, 0);
}

/*
 * ---- (8) timeouts expire in deadline order, equal deadlines first come
 * first served
 *
 * CPU 0 (of two): the root makes the threads, each of which waits on a condition
 * nobody signals until its deadline (one shared base plus an offset, in an
 * order that lands some at the list's front, some at its back and some in
 * its middle, each offset twice). The cooperative CPU runs them all into
 * their waits before the first deadline (the base is 300 ms ahead); the
 * timer then makes them ready in list order, so the order they wake in is
 * the list's. The list is searched from both ends (sched.c, timer_add).
 */
enum { ORDERED = 48 };

static thread_mutex_t order_mutex;
static thread_cond_t order_cond;
static uint64_t order_base, order_woke_at[ORDERED];
static unsigned order_seq[ORDERED], order_next, order_enqueued;

static uint64_t order_deadline(unsigned i)
{
    /* 0, 23, 2, 21, ...: offsets alternately low and high, each twice */
    unsigned k = i % (ORDERED / 2), off = k % 2 ? ORDERED / 2 - k : k;
    return order_base + off * 1000000ull;
}

static void *order_main(void *arg)
{
    unsigned me = (unsigned)(uintptr_t)arg;
    uint64_t deadline = order_deadline(me);
    int rc;

    thread_mutex_lock(&order_mutex);
    order_enqueued++;
    do /* 0 is a spurious return (allowed): it ends only by timing out */
        rc = thread_cond_timedwait(&order_cond, &order_mutex, deadline);
    while (rc == 0);
    if (rc != -ETIMEDOUT)
        thread_fail("thread_cond_timedwait: not -ETIMEDOUT");
    order_woke_at[me] = clock_ns();
    order_seq[order_next++] = me;
    thread_mutex_unlock(&order_mutex);
    return NULL;
}

static void *order_root(void *arg)
{
    thread_t *t[ORDERED];

    (void)arg;
    thread_mutex_init(&order_mutex);
    thread_cond_init(&order_cond);
    order_next = order_enqueued = 0;
    order_base = clock_ns() + 300000000ull;
    for (unsigned i = 0; i < ORDERED; i++)
        t[i] = spawn(0, order_main, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < ORDERED; i++)
        join(t[i]);
    return NULL;
}

TEST(timeouts_expire_in_deadline_order)
{
    begin();
    sched_host_run(2, order_root, NULL);
    CHECK_NOTHING_LEFT();
    CHECK_EQ(order_enqueued, ORDERED);
    CHECK_EQ(order_next, ORDERED);
    for (unsigned n = 0; n < ORDERED; n++) {
        unsigned i = order_seq[n];
        CHECK(order_woke_at[i] >= order_deadline(i));
        if (n == 0)
            continue;
        unsigned p = order_seq[n - 1];
        /* deadline order; equal deadlines in the order they waited (by index) */
        CHECK(order_deadline(p) < order_deadline(i) ||
              (order_deadline(p) == order_deadline(i) && p < i));
    }
}

/*
 * ---- (9) an exited thread's stack is the next one's (sched.c's spare stacks)
 *
 * Root on CPU 0 creates threads on CPU 1 one after another, each joined
 * before the next: after the first, each takes the stack the one before
 * left (no page_alloc, the same addresses), and runs on it from a clean
 * frame (its argument, its return value). A thread of another size does
 * not take it: it gets stack pages of its own, and the next thread of the
 * first size allocates again (one spare per CPU, the last one parked).
 */
enum { REUSES = 50 };

static uintptr_t reuse_frame[REUSES + 2];
static unsigned long reuse_allocs[3];

static void *reuse_main(void *arg)
{
    volatile unsigned here = (unsigned)(uintptr_t)arg;
    reuse_frame[here] = (uintptr_t)&here & ~(uintptr_t)(PAGE_SIZE - 1);
    return (void *)(uintptr_t)(here * 3 + 1);
}

static unsigned long stack_allocs_now(void)
{
    struct sched_host_stats s;
    sched_host_stats(&s);
    return s.stack_allocs;
}

static void *reuse_root(void *arg)
{
    (void)arg;
    unsigned long at = stack_allocs_now();
    for (unsigned i = 0; i < REUSES; i++) {
        thread_t *t = thread_create(1, 8192, reuse_main, (void *)(uintptr_t)i);
        if (!t)
            thread_fail("thread_create failed");
        else if ((uintptr_t)join(t) != i * 3 + 1)
            thread_fail("a thread on a reused stack returned the wrong value");
    }
    reuse_allocs[0] = stack_allocs_now() - at;
    thread_t *big = thread_create(1, 32768, reuse_main, (void *)(uintptr_t)REUSES);
    if ((uintptr_t)join(big) != REUSES * 3 + 1)
        thread_fail("the other size's thread returned the wrong value");
    reuse_allocs[1] = stack_allocs_now() - at;
    thread_t *small = thread_create(1, 8192, reuse_main, (void *)(uintptr_t)(REUSES + 1));
    if ((uintptr_t)join(small) != (REUSES + 1) * 3 + 1)
        thread_fail("the last thread returned the wrong value");
    reuse_allocs[2] = stack_allocs_now() - at;
    return NULL;
}

TEST(exited_threads_stack_is_reused_by_the_next_of_its_size)
{
    begin();
    sched_host_run(2, reuse_root, NULL);
    CHECK_NOTHING_LEFT(); /* the spare went back when the machine stopped */
    CHECK_EQ(reuse_allocs[0], 1);
    CHECK_EQ(reuse_allocs[1], 2);
    CHECK_EQ(reuse_allocs[2], 3);
    for (unsigned i = 1; i < REUSES; i++)
        CHECK_EQ(reuse_frame[i], reuse_frame[0]);
    CHECK(reuse_frame[REUSES] != reuse_frame[0]);
}
