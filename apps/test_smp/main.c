/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * SMP stress in a real guest: threads on every CPU doing cross-CPU
 * wake-ups, mutex ping-pong, contended counting, remote frees, sleeps and
 * create/join across CPUs, each checked against an exact count; then file
 * and socket I/O from every CPU at once (io.c). Prints a line per check
 * ("name: ok ..." or "name: FAIL ..."), the costs it measured, and "smp:
 * done" at the end; tests/e2e/smp.sh reads it.
 *
 * mode=panic: a thread on the last CPU panics while the others print; the
 * report must be the last output. mode=crash: the same with a NULL write.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "miura/miura.h"
#include "miura/thread.h"
#include "mm/heap.h"
#include "sched/sched.h"
#include "smp.h"

unsigned ncpu;
static int failures;

void check(const char *name, int ok, const char *fmt, unsigned long long a, unsigned long long b)
{
    printf("%s: %s ", name, ok ? "ok" : "FAIL");
    printf(fmt, a, b);
    printf("\n");
    if (!ok)
        failures++;
}

/* ---- placement: a thread created for CPU c runs there, and stays */

static void *where(void *arg)
{
    unsigned first = miura_cpu_id();
    thread_yield();
    thread_sleep_ms(1);
    return (void *)(uintptr_t)(first == (uintptr_t)arg && miura_cpu_id() == first);
}

static void placement(void)
{
    unsigned good = 0;
    for (unsigned c = 0; c < ncpu; c++) {
        thread_t *t = thread_create((int)c, 0, where, (void *)(uintptr_t)c);
        void *rv = NULL;
        if (t && thread_join(t, &rv) == 0 && rv)
            good++;
    }
    errno = 0;
    thread_t *bad = thread_create((int)ncpu, 0, where, NULL);
    check("placement", good == ncpu && !bad && errno == EINVAL, "%llu of %llu CPUs", good, ncpu);
}

/* ---- ping-pong: two threads on different CPUs hand a token back and forth */

#define ROUNDS 2000
struct pingpong {
    thread_mutex_t m;
    thread_cond_t cv;
    unsigned turn; /* 0: ping's, 1: pong's */
    unsigned count[2];
};

struct player {
    struct pingpong *pp;
    unsigned side;
};

static void *play(void *arg)
{
    struct player *p = arg;
    struct pingpong *pp = p->pp;
    for (unsigned i = 0; i < ROUNDS; i++) {
        thread_mutex_lock(&pp->m);
        while (pp->turn != p->side)
            thread_cond_wait(&pp->cv, &pp->m);
        pp->count[p->side]++;
        pp->turn = !p->side;
        thread_cond_signal(&pp->cv);
        thread_mutex_unlock(&pp->m);
    }
    return NULL;
}

static void pingpong(void)
{
    unsigned pairs = ncpu, good = 0;
    struct pingpong pp[8];
    struct player pl[8][2];
    thread_t *t[8][2];
    if (pairs > 8)
        pairs = 8;
    uint64_t t0 = miura_clock_ns();
    for (unsigned i = 0; i < pairs; i++) {
        thread_mutex_init(&pp[i].m);
        thread_cond_init(&pp[i].cv);
        pp[i].turn = 0;
        pp[i].count[0] = pp[i].count[1] = 0;
        for (unsigned s = 0; s < 2; s++) {
            pl[i][s] = (struct player){&pp[i], s};
            /* pair i: CPU i and CPU i+1 (the same CPU when there is one) */
            t[i][s] = thread_create((int)((i + s) % ncpu), 0, play, &pl[i][s]);
        }
    }
    for (unsigned i = 0; i < pairs; i++) {
        for (unsigned s = 0; s < 2; s++)
            if (t[i][s])
                thread_join(t[i][s], NULL);
        good += t[i][0] && t[i][1] && pp[i].count[0] == ROUNDS && pp[i].count[1] == ROUNDS;
    }
    uint64_t ns = miura_clock_ns() - t0;
    check("pingpong", good == pairs, "%llu of %llu pairs passed the token exactly", good, pairs);
    /* one round = two hand-overs, each a wake of a thread on another CPU */
    printf("cost: handover %llu ns (mean over %u, %u pairs at once)\n",
           (unsigned long long)(ns / ((uint64_t)ROUNDS * 2)), ROUNDS * 2, pairs);
}

/* ---- contended counting: mutual exclusion across CPUs */

#define COUNT_THREADS 8
#define COUNT_EACH    500
static thread_mutex_t count_m;
static unsigned long counter, inside;
static int overlap;

static void *count(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < COUNT_EACH; i++) {
        thread_mutex_lock(&count_m);
        if (__atomic_fetch_add(&inside, 1, __ATOMIC_SEQ_CST) != 0)
            overlap = 1;
        unsigned long v = counter;
        if (i % 16 == 0)
            thread_yield(); /* hold it across a switch now and then */
        counter = v + 1;
        __atomic_fetch_sub(&inside, 1, __ATOMIC_SEQ_CST);
        thread_mutex_unlock(&count_m);
    }
    return NULL;
}

static void contention(void)
{
    thread_t *t[COUNT_THREADS];
    thread_mutex_init(&count_m);
    for (unsigned i = 0; i < COUNT_THREADS; i++)
        t[i] = thread_create((int)(i % ncpu), 0, count, NULL);
    for (unsigned i = 0; i < COUNT_THREADS; i++)
        if (t[i])
            thread_join(t[i], NULL);
    check("mutex", counter == COUNT_THREADS * COUNT_EACH && !overlap, "count %llu of %llu", counter,
          COUNT_THREADS * COUNT_EACH);
}

/* ---- a waiter for a cooperative section halts, and gets it when it is
 * given up: this thread holds the application's section until the waiter
 * on the last CPU has halted for it (or 10 s passed: a failure) */

static int waiter_ready, holder_inside;

static void *section_waiter(void *arg)
{
    (void)arg;
    __atomic_store_n(&waiter_ready, 1, __ATOMIC_RELEASE);
    thread_coop_enter();
    int ok = !__atomic_load_n(&holder_inside, __ATOMIC_ACQUIRE);
    thread_coop_leave();
    return (void *)(uintptr_t)ok;
}

static void section_halt(void)
{
    unsigned last = ncpu - 1;
    uint64_t before = sched_coop_halts(last), halts = before;
    waiter_ready = 0;
    thread_coop_enter();
    __atomic_store_n(&holder_inside, 1, __ATOMIC_RELEASE);
    thread_t *t = thread_create((int)last, 0, section_waiter, NULL);
    uint64_t give_up = miura_clock_ns() + 10000000000ull;
    while (t && miura_clock_ns() < give_up) { /* no sleeping: that gives the section up */
        halts = sched_coop_halts(last);
        if (halts != before && __atomic_load_n(&waiter_ready, __ATOMIC_ACQUIRE))
            break;
    }
    __atomic_store_n(&holder_inside, 0, __ATOMIC_RELEASE);
    thread_coop_leave();
    void *ok = NULL;
    if (t)
        thread_join(t, &ok);
    check("section-halt", t && halts > before && ok, "CPU %llu halted %llu times for it", last,
          halts - before);
}

/* ---- remote frees: blocks allocated on CPU 0, freed on the others */

#define BLOCKS 3000
static void *blocks[BLOCKS];

struct freer {
    unsigned from, to;
    uint64_t ns;
};

static void *free_range(void *arg)
{
    struct freer *f = arg;
    uint64_t t0 = miura_clock_ns();
    for (unsigned i = f->from; i < f->to; i++)
        free(blocks[i]);
    f->ns = miura_clock_ns() - t0;
    return NULL;
}

static void *trim(void *arg)
{
    (void)arg;
    heap_trim();
    return NULL;
}

/* Every CPU trims; then this one again, for the frees that the trimming
 * threads' own exits sent back to it. */
void trim_all(void)
{
    for (unsigned c = 0; c < ncpu; c++) {
        thread_t *t = thread_create((int)c, 0, trim, NULL);
        if (t)
            thread_join(t, NULL);
    }
    heap_trim();
}

static void remote_free(void)
{
    struct heap_stats before, after;
    trim_all();
    heap_stats(&before);
    for (int round = 0; round < 2; round++) {
        for (unsigned i = 0; i < BLOCKS; i++)
            blocks[i] = malloc(16 + (i * 37) % 2000);
        /* round 0: this CPU frees a third itself, for the local cost */
        struct freer local = {0, BLOCKS / 3, 0};
        unsigned from = 0;
        if (round == 0) {
            free_range(&local);
            from = local.to;
        }
        unsigned others = ncpu > 1 ? ncpu - 1 : 1, per = (BLOCKS - from) / others;
        struct freer fr[MIURA_MAX_CPUS];
        thread_t *t[MIURA_MAX_CPUS];
        for (unsigned k = 0; k < others; k++) {
            fr[k] =
                (struct freer){from + k * per, k == others - 1 ? BLOCKS : from + (k + 1) * per, 0};
            t[k] = thread_create((int)(ncpu > 1 ? k + 1 : 0), 0, free_range, &fr[k]);
        }
        for (unsigned k = 0; k < others; k++)
            if (t[k])
                thread_join(t[k], NULL);
        if (round == 0 && ncpu > 1)
            printf("cost: free local %llu ns, remote %llu ns (mean of %u and %u)\n",
                   (unsigned long long)(local.ns / local.to),
                   (unsigned long long)(fr[0].ns / (fr[0].to - fr[0].from)), local.to,
                   fr[0].to - fr[0].from);
    }
    trim_all();
    heap_stats(&after);
    check("remote-free",
          after.live_allocations == before.live_allocations &&
              after.bytes_in_use == before.bytes_in_use && after.double_frees == 0 &&
              after.invalid_frees == 0,
          "live %llu -> %llu", before.live_allocations, after.live_allocations);
    unsigned long long remote = after.remote_frees - before.remote_frees;
    unsigned long long want = ncpu > 1 ? 2 * BLOCKS - BLOCKS / 3 : 0;
    check("remote-count", remote == want, "%llu remote frees, want %llu", remote, want);
    check("heap-pages", after.pages_held == before.pages_held, "pages %llu -> %llu",
          before.pages_held, after.pages_held);
}

/* ---- sleeps on every CPU at once: per-CPU timers */

static void *sleeper(void *arg)
{
    (void)arg;
    unsigned early = 0;
    for (int i = 0; i < 5; i++) {
        uint64_t t0 = miura_clock_ns();
        thread_sleep_ms(5);
        early += miura_clock_ns() - t0 < 5000000;
    }
    return (void *)(uintptr_t)(early == 0 ? 1 : 0);
}

static void sleeps(void)
{
    unsigned good = 0;
    thread_t *t[MIURA_MAX_CPUS * 2];
    for (unsigned i = 0; i < ncpu * 2; i++)
        t[i] = thread_create((int)(i % ncpu), 0, sleeper, NULL);
    for (unsigned i = 0; i < ncpu * 2; i++) {
        void *rv = NULL;
        if (t[i] && thread_join(t[i], &rv) == 0 && rv)
            good++;
    }
    check("sleep", good == ncpu * 2, "%llu of %llu sleepers never woke early", good, ncpu * 2);
}

/* ---- timed wait on a condition nobody signals */

static void *timed(void *arg)
{
    (void)arg;
    thread_mutex_t m;
    thread_cond_t cv;
    thread_mutex_init(&m);
    thread_cond_init(&cv);
    thread_mutex_lock(&m);
    uint64_t t0 = miura_clock_ns();
    int rc = thread_cond_timedwait(&cv, &m, t0 + 3000000);
    uint64_t took = miura_clock_ns() - t0;
    thread_mutex_unlock(&m);
    return (void *)(uintptr_t)(rc == -ETIMEDOUT && took >= 3000000);
}

/* ---- churn: create on every CPU, join from here */

static void *value(void *arg)
{
    return (void *)((uintptr_t)arg * 3 + miura_cpu_id());
}

static void churn(void)
{
    unsigned good = 0, n = 600;
    for (unsigned i = 0; i < n; i += 4) {
        thread_t *t[4];
        for (unsigned k = 0; k < 4; k++)
            t[k] = thread_create((int)((i + k) % ncpu), 0, value, (void *)(uintptr_t)(i + k));
        for (unsigned k = 0; k < 4; k++) {
            void *rv = NULL;
            if (t[k] && thread_join(t[k], &rv) == 0 &&
                (uintptr_t)rv == (i + k) * 3 + (i + k) % ncpu)
                good++;
        }
    }
    check("churn", good == n, "%llu of %llu threads", good, n);
    /* detached threads on other CPUs free themselves */
    for (unsigned i = 0; i < 64; i++) {
        thread_t *t = thread_create((int)(i % ncpu), 0, value, NULL);
        if (t)
            thread_detach(t);
    }
    thread_sleep_ms(20);
}

/* ---- panic / crash from the last CPU while every other CPU prints */

static volatile int stop_printing;

static void *printer(void *arg)
{
    unsigned n = 0;
    while (!stop_printing) {
        printf("tick %u cpu %u\n", n++, (unsigned)(uintptr_t)arg);
        thread_yield();
    }
    return NULL;
}

static void *die(void *arg)
{
    thread_sleep_ms(20);
    if (arg)
        *(volatile int *)(uintptr_t)arg = 1; /* NULL + 8: a page fault */
    abort();
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    ncpu = miura_cpu_count();
    printf("smp: %u CPUs\n", ncpu);
    const char *mode = miura_getarg("mode");
    if (mode && (!strcmp(mode, "panic") || !strcmp(mode, "crash"))) {
        for (unsigned c = 0; c + 1 < ncpu || c == 0; c++)
            thread_detach(thread_create((int)c, 0, printer, (void *)(uintptr_t)c));
        thread_join(thread_create((int)ncpu - 1, 0, die, !strcmp(mode, "crash") ? (void *)8 : NULL),
                    NULL);
        return 1; /* not reached */
    }
    placement();
    pingpong();
    contention();
    remote_free();
    sleeps();
    thread_t *t = thread_create((int)ncpu - 1, 0, timed, NULL);
    void *rv = NULL;
    check("cond-timeout", t && thread_join(t, &rv) == 0 && rv, "on CPU %llu%.0llu", ncpu - 1, 0);
    churn();
    if (ncpu > 1)
        section_halt();
    io_checks();
    printf("smp: done, %d failures\n", failures);
    return failures ? 1 : 0;
}
