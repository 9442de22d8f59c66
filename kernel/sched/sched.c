/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Per-CPU cooperative scheduler: threads, run queue, timeouts, idle.
 *
 * A CPU runs its current thread until it yields, blocks or exits; then
 * schedule() picks the head of the run queue, or the idle thread when the
 * queue is empty. The idle thread runs expired timeouts, programs the LAPIC
 * timer for the earliest remaining one and halts with interrupts on, so an
 * idle CPU costs nothing and there is no periodic tick. The timer interrupt
 * itself only moves expired threads to the run queue.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/arch.h"
#include "miura/miura.h"
#include "mm/page.h"
#include "sched/sched.h"

extern void switch_context(uint64_t *save_rsp, uint64_t new_rsp);
extern void thread_start(void);

static struct cpu cpus[MIURA_MAX_CPUS];
static struct thread idle_threads[MIURA_MAX_CPUS];
static uint64_t next_thread_id = 1;

/* ---- timeouts */

static void timer_program(struct cpu *c)
{
    uint64_t next = 0;
    if (!list_empty(&c->timers))
        next = list_entry(c->timers.next, struct thread, timer_link)->wake_at;
    if (next != c->armed_at) {
        c->armed_at = next;
        timer_arm(next);
    }
}

static void timer_add(struct cpu *c, struct thread *t, uint64_t deadline)
{
    t->wake_at = deadline;
    struct list *pos = c->timers.next;
    while (pos != &c->timers && list_entry(pos, struct thread, timer_link)->wake_at <= deadline)
        pos = pos->next;
    list_insert_before(pos, &t->timer_link);
    if (c->timers.next == &t->timer_link)
        timer_program(c);
}

/* A blocked thread goes to the run queue. Its wait queue entries stay
 * linked: the thread takes them off itself when it runs (waitq_wait_any). */
static void make_ready(struct cpu *c, struct thread *t)
{
    if (t->wake_at) {
        list_remove(&t->timer_link);
        t->wake_at = 0;
    }
    t->state = THREAD_READY;
    list_push_back(&c->runq, &t->link);
}

static void timers_expire(struct cpu *c)
{
    if (list_empty(&c->timers))
        return; /* no clock read: an appliance that never sleeps never calibrates */
    uint64_t now = clock_ns();
    while (!list_empty(&c->timers)) {
        struct thread *t = list_entry(c->timers.next, struct thread, timer_link);
        if (t->wake_at > now)
            break;
        t->timed_out = true;
        make_ready(c, t);
    }
}

static void timer_interrupt(void *arg)
{
    struct cpu *c = arg;
    c->armed_at = 0;
    timers_expire(c);
    timer_program(c);
}

/* ---- remote wakes: other CPUs push onto the owner's inbox, then an IPI */

static void inbox_drain(struct cpu *c)
{
    struct thread *t = __atomic_exchange_n(&c->inbox, NULL, __ATOMIC_ACQUIRE);
    while (t) {
        struct thread *next = t->inbox_next;
        if (t->state == THREAD_BLOCKED)
            make_ready(c, t);
        t = next;
    }
}

static void wake_interrupt(void *arg)
{
    inbox_drain(arg);
}

void sched_wake(struct thread *t)
{
    uint64_t flags = irq_save();
    struct cpu *c = this_cpu();
    if (t->cpu == c->id) {
        if (t->state == THREAD_BLOCKED)
            make_ready(c, t);
    } else {
        /* Today's kernel starts one CPU; this is the path a second one takes. */
        struct cpu *owner = &cpus[t->cpu];
        struct thread *head = __atomic_load_n(&owner->inbox, __ATOMIC_RELAXED);
        do
            t->inbox_next = head;
        while (!__atomic_compare_exchange_n(&owner->inbox, &head, t, true, __ATOMIC_RELEASE,
                                            __ATOMIC_RELAXED));
    }
    irq_restore(flags);
}

/* ---- switching */

/*
 * stackcheck on the kernel command line: every new stack is filled with a
 * pattern, and when a thread exits, the deepest use seen so far is printed if
 * this thread went deeper. A measurement tool for sizing stacks (the web
 * server's e2e test checks its connection threads with it), off by default:
 * the fill costs a write of every stack page.
 */
#define STACK_FILL 0x5a
static int stack_check = -1; /* -1 = command line not read yet */
static size_t stack_check_max;

static bool stack_check_on(void)
{
    if (stack_check < 0)
        stack_check = miura_getarg("stackcheck") != NULL;
    return stack_check == 1;
}

static void stack_check_measure(const struct thread *t)
{
    const uint8_t *lo = (const uint8_t *)t->stack + PAGE_SIZE; /* above the guard */
    size_t size = (t->stack_pages - 1) * PAGE_SIZE, untouched = 0;
    while (untouched < size && lo[untouched] == STACK_FILL)
        untouched++;
    if (size - untouched > stack_check_max) {
        stack_check_max = size - untouched;
        printf("sched: stackcheck: deepest stack use %zu of %zu bytes (thread %llu)\n",
               stack_check_max, size, (unsigned long long)t->id);
    }
}

static void finish_switch(struct cpu *c)
{
    struct thread *dead = c->dead;
    if (dead && stack_check == 1)
        stack_check_measure(dead);
    if (!dead)
        return;
    c->dead = NULL;
    paging_set_guard((uintptr_t)dead->stack, false);
    page_free(dead->stack, dead->stack_pages);
    dead->stack = NULL;
    if (dead->detached)
        free(dead);
}

/* Runs the next ready thread (or idle). Interrupts must be off. */
static void schedule(void)
{
    struct cpu *c = this_cpu();
    struct thread *prev = c->current;
    struct list *n = list_pop_front(&c->runq);
    struct thread *next = n ? list_entry(n, struct thread, link) : c->idle;
    if (next == prev) {
        prev->state = THREAD_RUNNING;
        return;
    }
    next->state = THREAD_RUNNING;
    c->current = next;
    c->context_switches++;
    switch_context(&prev->rsp, next->rsp);
    finish_switch(this_cpu());
}

void thread_entry(void)
{
    struct cpu *c = this_cpu();
    finish_switch(c);
    irq_enable();
    struct thread *t = c->current;
    thread_exit(t->fn(t->arg));
}

/* ---- public API */

thread_t *thread_create(int cpu, size_t stack_size, thread_fn fn, void *arg)
{
    struct cpu *c = this_cpu();
    if (cpu == THREAD_CPU_CURRENT)
        cpu = (int)c->id;
    if (cpu < 0 || (unsigned)cpu >= MIURA_MAX_CPUS || cpus[cpu].self == NULL || !fn) {
        errno = EINVAL;
        return NULL;
    }
    if (stack_size == 0)
        stack_size = THREAD_STACK_DEFAULT;
    if (stack_size > THREAD_STACK_MAX) {
        errno = EINVAL;
        return NULL;
    }
    struct thread *t = calloc(1, sizeof(*t));
    if (!t) {
        errno = ENOMEM;
        return NULL;
    }
    t->stack_pages = (stack_size + PAGE_SIZE - 1) / PAGE_SIZE + 1;
    t->stack = page_alloc(t->stack_pages);
    if (!t->stack || paging_set_guard((uintptr_t)t->stack, true) < 0) {
        if (t->stack)
            page_free(t->stack, t->stack_pages);
        free(t);
        errno = ENOMEM;
        return NULL;
    }
    if (stack_check_on())
        memset((uint8_t *)t->stack + PAGE_SIZE, STACK_FILL, (t->stack_pages - 1) * PAGE_SIZE);
    t->fn = fn;
    t->arg = arg;
    t->cpu = (unsigned)cpu;
    list_init(&t->link);
    list_init(&t->timer_link);
    waitq_init(&t->joiners);

    /* Initial frame for switch_context: six callee-saved registers, then
     * thread_start as the return address; rsp is 16-byte aligned after ret. */
    uint64_t top = ((uint64_t)t->stack + t->stack_pages * PAGE_SIZE - 16) & ~15ull;
    uint64_t *sp = (uint64_t *)top;
    *--sp = (uint64_t)thread_start;
    for (int i = 0; i < 6; i++)
        *--sp = 0;
    t->rsp = (uint64_t)sp;

    uint64_t flags = irq_save();
    t->id = next_thread_id++;
    t->state = THREAD_BLOCKED;
    irq_restore(flags);
    sched_wake(t);
    return t;
}

_Noreturn void thread_exit(void *value)
{
    irq_disable();
    struct cpu *c = this_cpu();
    struct thread *t = c->current;
    if (t == c->idle)
        panic("the idle thread cannot exit");
    t->retval = value;
    t->state = THREAD_EXITED;
    waitq_wake_all(&t->joiners);
    c->dead = t; /* its stack goes after the switch away from it */
    schedule();
    panic("an exited thread was scheduled");
}

int thread_join(thread_t *t, void **ret)
{
    if (!t || t->detached || t == thread_self()) {
        errno = t && !t->detached ? EDEADLK : EINVAL;
        return -1;
    }
    uint64_t flags = irq_save();
    while (t->state != THREAD_EXITED || t->stack)
        waitq_wait(&t->joiners, 0);
    irq_restore(flags);
    if (ret)
        *ret = t->retval;
    free(t);
    return 0;
}

int thread_detach(thread_t *t)
{
    if (!t || t->detached) {
        errno = EINVAL;
        return -1;
    }
    uint64_t flags = irq_save();
    if (t->state == THREAD_EXITED && !t->stack)
        free(t);
    else
        t->detached = true;
    irq_restore(flags);
    return 0;
}

void thread_yield(void)
{
    uint64_t flags = irq_save();
    struct cpu *c = this_cpu();
    if (!list_empty(&c->runq)) {
        c->current->state = THREAD_READY;
        list_push_back(&c->runq, &c->current->link);
        schedule();
    }
    irq_restore(flags);
}

thread_t *thread_self(void)
{
    return this_cpu()->current;
}

unsigned miura_cpu_id(void)
{
    return this_cpu()->id;
}

void thread_sleep_ns(uint64_t ns)
{
    uint64_t flags = irq_save();
    struct cpu *c = this_cpu();
    struct thread *t = c->current;
    uint64_t deadline = clock_ns() + (ns ? ns : 1);
    timer_add(c, t, deadline);
    t->state = THREAD_BLOCKED;
    t->timed_out = false;
    while (t->state == THREAD_BLOCKED)
        schedule();
    t->timed_out = false;
    irq_restore(flags);
}

void thread_sleep_ms(uint64_t ms)
{
    thread_sleep_ns(ms * 1000000ull);
}

int *miura_errno_location(void)
{
    return &this_cpu()->current->errno_value;
}

/* ---- wait queues */

void waitq_init(struct waitq *wq)
{
    list_init(&wq->waiters);
}

int waitq_wait_any(struct waitq *const *wqs, struct waitq_entry *entries, unsigned n,
                   uint64_t deadline_ns)
{
    struct cpu *c = this_cpu();
    struct thread *t = c->current;
    int rc;

    /* Interrupts are off and threads are cooperative: nothing can wake the
     * thread between joining the queues and blocking. */
    t->woken = t->timed_out = false;
    for (unsigned i = 0; i < n; i++) {
        entries[i].thread = t;
        list_push_back(&wqs[i]->waiters, &entries[i].link);
    }
    if (deadline_ns)
        timer_add(c, t, deadline_ns);
    t->state = THREAD_BLOCKED;
    while (t->state == THREAD_BLOCKED)
        schedule();
    for (unsigned i = 0; i < n; i++)
        list_remove(&entries[i].link); /* a woken entry is unlinked already */
    rc = t->timed_out && !t->woken ? -ETIMEDOUT : 0;
    t->woken = t->timed_out = false;
    return rc;
}

int waitq_wait(struct waitq *wq, uint64_t deadline_ns)
{
    struct waitq_entry e;
    return waitq_wait_any(&wq, &e, 1, deadline_ns);
}

int waitq_wake_one(struct waitq *wq)
{
    uint64_t flags = irq_save();
    struct list *l;
    int n = 0;
    while (!n && (l = list_pop_front(&wq->waiters))) {
        struct thread *t = list_entry(l, struct waitq_entry, link)->thread;
        if (t->woken || t->timed_out)
            continue; /* woken by another queue or its deadline: leaving anyway */
        t->woken = true;
        sched_wake(t);
        n = 1;
    }
    irq_restore(flags);
    return n;
}

int waitq_wake_all(struct waitq *wq)
{
    int n = 0;
    while (waitq_wake_one(wq))
        n++;
    return n;
}

/* ---- boot */

void sched_init(void)
{
    struct cpu *c = &cpus[0];
    c->self = c;
    c->id = 0;
    list_init(&c->runq);
    list_init(&c->timers);
    c->idle = &idle_threads[0];
    c->idle->state = THREAD_RUNNING;
    list_init(&c->idle->link);
    list_init(&c->idle->timer_link);
    c->current = c->idle;
    wrmsr(MSR_GS_BASE, (uint64_t)c);
    irq_set_vector_handler(VECTOR_TIMER, timer_interrupt, c);
    irq_set_vector_handler(VECTOR_WAKE, wake_interrupt, c);
}

_Noreturn void sched_idle_loop(void)
{
    struct cpu *c = this_cpu();
    for (;;) {
        irq_disable();
        inbox_drain(c);
        timers_expire(c);
        if (!list_empty(&c->runq)) {
            schedule();
            continue;
        }
        timer_program(c);
        c->idle_halts++;
        irq_enable_and_halt();
    }
}
