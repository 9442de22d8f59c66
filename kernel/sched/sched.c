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
 *
 * Every CPU has its own run queue and timeouts, touched only by that CPU.
 * A thread stays on the CPU it was created for. Waking a thread of another
 * CPU pushes it on that CPU's inbox (lock-free); the owner moves it to its
 * run queue at its next schedule() or yield, or in the idle loop. Only an
 * idle CPU (halted, or about to) is sent VECTOR_WAKE, and only by the push
 * that found the inbox empty: a busy CPU would not run the thread before
 * its next schedule() anyway, and an IPI costs both CPUs. Wait queue
 * lists and the woken flags are shared: sched_lock guards them (and the
 * state of mutexes and condition variables, which are wait queues).
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
static struct spinlock sched_lock = SPINLOCK_INIT(LOCK_SCHED);

static int wait_locked(struct waitq *wq, uint64_t deadline_ns);
static int wake_all_locked(struct waitq *wq);

_Static_assert(__builtin_offsetof(struct cpu, id) == ARCH_CPU_INDEX, "arch reads %gs:8");
_Static_assert(__builtin_offsetof(struct cpu, locks) == ARCH_CPU_LOCKS, "arch reads %gs:12");

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

/* The list is in deadline order, equal deadlines first come first. It is
 * searched from both ends at once: most deadlines are "now + the same
 * timeout" (a connection's idle timeout: the latest, found at the back in one
 * step) or short ones (a driver's reaping: near the front), and a walk from
 * one end made each wait of a server with n connections cost n steps. */
static void timer_add(struct cpu *c, struct thread *t, uint64_t deadline)
{
    t->wake_at = deadline;
    struct list *front = c->timers.next, *back = c->timers.prev, *pos;
    for (;;) {
        if (back == &c->timers ||
            list_entry(back, struct thread, timer_link)->wake_at <= deadline) {
            pos = back->next;
            break;
        }
        if (list_entry(front, struct thread, timer_link)->wake_at > deadline) {
            pos = front;
            break;
        }
        front = front->next;
        back = back->prev;
    }
    list_insert_before(pos, &t->timer_link);
    if (c->timers.next == &t->timer_link)
        timer_program(c);
}

/* A blocked thread goes to the run queue. Its wait queue entries stay
 * linked: the thread takes them off itself when it runs (waitq_wait_any). */
static void make_ready(struct cpu *c, struct thread *t)
{
    if (t->cpu != c->id)
        panic("sched: thread %llu of CPU %u made ready on CPU %u", (unsigned long long)t->id,
              t->cpu, c->id);
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
        __atomic_store_n(&t->timed_out, true, __ATOMIC_RELAXED);
        make_ready(c, t);
    }
}

static void timer_interrupt(void *arg)
{
    (void)arg;
    struct cpu *c = this_cpu();
    c->armed_at = 0;
    timers_expire(c);
    timer_program(c);
}

/* ---- remote wakes: other CPUs push onto the owner's inbox, then an IPI */

/* A thread is on at most one inbox at a time (queued); one that leaves
 * another way first finds its entry drained before its stack and
 * descriptor go (finish_switch). */
static void inbox_drain(struct cpu *c)
{
    struct inbox_node *n = inbox_take_all(&c->inbox);
    while (n) {
        struct thread *t = list_entry(n, struct thread, inbox_link);
        n = n->next;
        __atomic_store_n(&t->queued, false, __ATOMIC_RELEASE);
        if (t->state == THREAD_BLOCKED)
            make_ready(c, t);
    }
}

static void wake_interrupt(void *arg)
{
    (void)arg;
    inbox_drain(this_cpu());
}

void sched_wake(struct thread *t)
{
    uint64_t flags = irq_save();
    struct cpu *c = this_cpu();
    if (t->cpu == c->id) {
        if (t->state == THREAD_BLOCKED)
            make_ready(c, t);
    } else if (!__atomic_exchange_n(&t->queued, true, __ATOMIC_ACQ_REL)) {
        struct cpu *to = &cpus[t->cpu];
        c->remote_wakes++;
        /* An IPI only to an idle CPU: a busy one drains its inbox at its next
         * schedule(), which is as soon as the woken thread could run there
         * anyway (cooperative). Pairs with sched_idle_loop: either it sees
         * the push before it halts or this sees it sleeping. And only for
         * the push that starts a batch: the first one's check covers the
         * rest. */
        if (inbox_push(&to->inbox, &t->inbox_link)) {
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            if (__atomic_load_n(&to->sleeping, __ATOMIC_RELAXED)) {
                c->wake_ipis++;
                smp_wake(t->cpu);
            }
        }
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
static int stack_check = -1;   /* -1 = command line not read yet */
static size_t stack_check_max; /* any CPU: compare-and-swap */

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
    size_t used = size - untouched, max = __atomic_load_n(&stack_check_max, __ATOMIC_RELAXED);
    if (used > max && __atomic_compare_exchange_n(&stack_check_max, &max, used, false,
                                                  __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        printf("sched: stackcheck: deepest stack use %zu of %zu bytes (thread %llu)\n", used, size,
               (unsigned long long)t->id);
    }
}

/* Spare stacks. Setting a stack's guard page and clearing it again are a
 * TLB shootdown each with several CPUs, two per thread: with a thread per
 * connection, most of the cost of a connection at 4 CPUs. So each CPU keeps
 * the last stack a thread of it exited from, guard still set, its size in
 * pages in its first word above the guard, and the next thread created on
 * that CPU with the same size takes it (an atomic exchange: the creator
 * may run on another CPU). Anything else goes back to the page allocator. */
static void stack_release(void *stack, size_t pages)
{
    paging_set_guard((uintptr_t)stack, false);
    page_free(stack, pages);
}

static void stack_park(struct cpu *c, void *stack, size_t pages)
{
    *(size_t *)((uint8_t *)stack + PAGE_SIZE) = pages;
    void *old = __atomic_exchange_n(&c->spare_stack, stack, __ATOMIC_ACQ_REL);
    if (old)
        stack_release(old, *(size_t *)((uint8_t *)old + PAGE_SIZE));
}

static void *stack_get(struct cpu *c, size_t pages)
{
    void *s = __atomic_exchange_n(&c->spare_stack, NULL, __ATOMIC_ACQ_REL);
    if (s && *(size_t *)((uint8_t *)s + PAGE_SIZE) == pages)
        return s;
    if (s)
        stack_park(c, s, *(size_t *)((uint8_t *)s + PAGE_SIZE));
    s = page_alloc(pages);
    if (s && paging_set_guard((uintptr_t)s, true) < 0) {
        page_free(s, pages);
        s = NULL;
    }
    return s;
}

static void finish_switch(struct cpu *c)
{
    struct thread *dead = c->dead;
    if (!dead)
        return;
    if (stack_check == 1)
        stack_check_measure(dead);
    c->dead = NULL;
    inbox_drain(c); /* a late wake of the dead thread may be there */
    stack_park(c, dead->stack, dead->stack_pages);
    /* Under the lock: a joiner on another CPU frees the thread once it sees
     * the stack gone, so nothing here touches it after the unlock. */
    uint64_t flags = spin_lock(&sched_lock);
    dead->stack = NULL;
    bool detached = dead->detached;
    wake_all_locked(&dead->joiners);
    spin_unlock(&sched_lock, flags);
    if (detached)
        free(dead);
}

/* ---- cooperative sections (sched.h): test-and-set locks
 *
 * Not ticket locks: a vCPU whose VMM has descheduled it while it waits
 * would hold up every waiter behind its ticket (with 4 vCPUs on 2 host
 * cores, file I/O spread over the CPUs ran 15-150x slower than on one).
 * Here whichever waiter runs when the section comes free takes it.
 *
 * A waiter spins for COOP_SPIN_NS, then halts until the holder gives the
 * section up and sends it VECTOR_WAKE (the paravirtual-spinlock idea): a
 * section held that long means its holder's vCPU is not running (the host
 * preempted it, e.g. with more vCPUs than host cores), and spinning on
 * would only keep a host core from it. Measured on 2 vCPUs under TCG, four
 * fifths of the spinning was in waits over 20 us (100-200 us on average).
 * Either the giver sees the waiter's bit in `sleepers` after it freed the
 * section or the waiter sees the section free before it halts (a full
 * fence on each side); the halt is entered with interrupts off and sti;hlt
 * takes an IPI that came in between. */

#define COOP_SPIN_NS 20000

struct coop_lock {
    int locked;
    uint64_t sleepers; /* CPUs halted waiting for it (bit per CPU) */
};
static struct coop_lock coop_locks[COOP_SECTIONS];

static bool coop_try(struct coop_lock *l)
{
    return !__atomic_load_n(&l->locked, __ATOMIC_RELAXED) &&
           !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE);
}

static void coop_take(struct coop_lock *l)
{
    if (!__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
        return;
    uint64_t since = clock_ns();
    for (unsigned spins = 1;; spins++) {
        cpu_relax();
        smp_poll(); /* the holder may be waiting for this CPU's TLB ack */
        if (coop_try(l))
            return;
        if (spins % 64 || clock_ns() - since < COOP_SPIN_NS)
            continue;
        uint64_t me = 1ull << this_cpu()->id;
        uint64_t flags = irq_save();
        __atomic_fetch_or(&l->sleepers, me, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&l->locked, __ATOMIC_SEQ_CST)) {
            __atomic_store_n(&this_cpu()->coop_halts, this_cpu()->coop_halts + 1,
                             __ATOMIC_RELAXED); /* others read it: sched_coop_halts */
            irq_enable_and_halt();
        }
        __atomic_fetch_and(&l->sleepers, ~me, __ATOMIC_RELAXED);
        irq_restore(flags);
        since = clock_ns();
    }
}

static void coop_give(struct coop_lock *l)
{
    __atomic_store_n(&l->locked, 0, __ATOMIC_SEQ_CST);
    uint64_t waiting = __atomic_load_n(&l->sleepers, __ATOMIC_SEQ_CST);
    while (waiting) {
        unsigned cpu = (unsigned)__builtin_ctzll(waiting);
        waiting &= waiting - 1;
        smp_wake(cpu);
    }
}

void coop_enter(unsigned section)
{
    struct thread *t = this_cpu()->current;
    if (t->coop[section]++)
        return;
    if (arch_cpu_locks() || (section == COOP_APP && t->coop[COOP_IO]))
        panic("sched: section %u entered with spinlocks %#x held or out of order", section,
              arch_cpu_locks());
    coop_take(&coop_locks[section]);
}

void coop_leave(unsigned section)
{
    struct thread *t = this_cpu()->current;
    if (!t->coop[section])
        panic("sched: leaving section %u not entered", section);
    if (--t->coop[section] == 0)
        coop_give(&coop_locks[section]);
}

uint64_t sched_coop_halts(unsigned cpu)
{
    return __atomic_load_n(&cpus[cpu].coop_halts, __ATOMIC_RELAXED);
}

bool coop_held(unsigned section)
{
    return this_cpu()->current->coop[section] != 0;
}

void thread_coop_enter(void)
{
    coop_enter(COOP_APP);
}

void thread_coop_leave(void)
{
    coop_leave(COOP_APP);
}

/* Runs the next ready thread (or idle). Interrupts must be off. */
static void schedule(void)
{
    struct cpu *c = this_cpu();
    struct thread *prev = c->current;
    if (!inbox_is_empty(&c->inbox)) /* woken from other CPUs without an IPI */
        inbox_drain(c);
    struct list *n = list_pop_front(&c->runq);
    struct thread *next = n ? list_entry(n, struct thread, link) : c->idle;
    if (arch_cpu_locks())
        panic("sched: switching away with spinlocks %#x held", arch_cpu_locks());
    if (next == prev) {
        prev->state = THREAD_RUNNING;
        return;
    }
    next->state = THREAD_RUNNING;
    c->current = next;
    c->context_switches++;
    for (unsigned i = COOP_SECTIONS; i-- > 0;) /* inner first */
        if (prev->coop[i])
            coop_give(&coop_locks[i]);
    switch_context(&prev->rsp, next->rsp);
    finish_switch(this_cpu());
    for (unsigned i = 0; i < COOP_SECTIONS; i++)
        if (prev->coop[i])
            coop_take(&coop_locks[i]);
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
    if (cpu < 0 || (unsigned)cpu >= MIURA_MAX_CPUS ||
        !__atomic_load_n(&cpus[cpu].self, __ATOMIC_ACQUIRE) || !fn) {
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
    t->stack = stack_get(&cpus[cpu], t->stack_pages);
    if (!t->stack) {
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

    t->id = __atomic_fetch_add(&next_thread_id, 1, __ATOMIC_RELAXED);
    t->state = THREAD_BLOCKED;
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
    c->dead = t; /* its stack goes after the switch away from it; then joiners wake */
    schedule();
    panic("an exited thread was scheduled");
}

int thread_join(thread_t *t, void **ret)
{
    if (!t || t->detached || t == thread_self()) {
        errno = t && !t->detached ? EDEADLK : EINVAL;
        return -1;
    }
    /* Only t->stack tells: finish_switch clears it under the lock once t
     * has exited and its CPU is done with it. t->state is written by t's
     * CPU without the lock, so it is not read here. */
    uint64_t flags = spin_lock(&sched_lock);
    while (t->stack)
        wait_locked(&t->joiners, 0);
    spin_unlock(&sched_lock, flags);
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
    uint64_t flags = spin_lock(&sched_lock);
    bool gone = !t->stack; /* as in thread_join */
    t->detached = !gone;
    spin_unlock(&sched_lock, flags);
    if (gone)
        free(t);
    return 0;
}

void thread_yield(void)
{
    uint64_t flags = irq_save();
    struct cpu *c = this_cpu();
    if (!inbox_is_empty(&c->inbox)) /* threads other CPUs woke get their turn too */
        inbox_drain(c);
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
    t->timed_out = false;
    /* Only the deadline ends the sleep: a late wake meant for an earlier
     * wait (another CPU's) may make the thread ready before it. */
    while (!t->timed_out) {
        if (!t->wake_at)
            timer_add(c, t, deadline);
        t->state = THREAD_BLOCKED;
        schedule();
    }
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

/* With sched_lock held (and so interrupts off): joins the queues, drops the
 * lock while blocked, and has it again on return. */
static int wait_any_locked(struct waitq *const *wqs, struct waitq_entry *entries, unsigned n,
                           uint64_t deadline_ns)
{
    struct cpu *c = this_cpu();
    struct thread *t = c->current;
    int rc;

    t->woken = false;
    __atomic_store_n(&t->timed_out, false, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < n; i++) {
        entries[i].thread = t;
        list_push_back(&wqs[i]->waiters, &entries[i].link);
    }
    if (deadline_ns)
        timer_add(c, t, deadline_ns);
    t->state = THREAD_BLOCKED;
    /* Interrupts stay off until the switch: a wake from another CPU waits in
     * the inbox until this thread is off the CPU. */
    spin_unlock(&sched_lock, 0);
    while (t->state == THREAD_BLOCKED)
        schedule();
    spin_lock(&sched_lock);
    for (unsigned i = 0; i < n; i++)
        list_remove(&entries[i].link); /* a woken entry is unlinked already */
    bool timed_out = __atomic_load_n(&t->timed_out, __ATOMIC_RELAXED);
    rc = timed_out && !t->woken ? -ETIMEDOUT : 0;
    t->woken = false;
    __atomic_store_n(&t->timed_out, false, __ATOMIC_RELAXED);
    if (t->wake_at) { /* woken before its deadline on another CPU's say-so */
        list_remove(&t->timer_link);
        t->wake_at = 0;
    }
    return rc;
}

static int wait_locked(struct waitq *wq, uint64_t deadline_ns)
{
    struct waitq_entry e;
    return wait_any_locked(&wq, &e, 1, deadline_ns);
}

int waitq_wait_any(struct waitq *const *wqs, struct waitq_entry *entries, unsigned n,
                   uint64_t deadline_ns)
{
    uint64_t flags = spin_lock(&sched_lock);
    int rc = wait_any_locked(wqs, entries, n, deadline_ns);
    spin_unlock(&sched_lock, flags);
    return rc;
}

int waitq_wait_unless(struct waitq *wq, uint64_t deadline_ns, const unsigned *count, unsigned seen)
{
    uint64_t flags = spin_lock(&sched_lock);
    int rc = 0;
    if (__atomic_load_n(count, __ATOMIC_ACQUIRE) == seen)
        rc = wait_locked(wq, deadline_ns);
    spin_unlock(&sched_lock, flags);
    return rc;
}

int waitq_wait(struct waitq *wq, uint64_t deadline_ns)
{
    struct waitq_entry e;
    return waitq_wait_any(&wq, &e, 1, deadline_ns);
}

/* sched_lock held: the thread cannot leave its wait (and be freed) before
 * the wake is delivered. */
static int wake_one_locked(struct waitq *wq)
{
    struct list *l;
    while ((l = list_pop_front(&wq->waiters))) {
        struct thread *t = list_entry(l, struct waitq_entry, link)->thread;
        if (t->woken || __atomic_load_n(&t->timed_out, __ATOMIC_RELAXED))
            continue; /* woken by another queue or its deadline: leaving anyway */
        t->woken = true;
        sched_wake(t);
        return 1;
    }
    return 0;
}

static int wake_all_locked(struct waitq *wq)
{
    int n = 0;
    while (wake_one_locked(wq))
        n++;
    return n;
}

int waitq_wake_one(struct waitq *wq)
{
    uint64_t flags = spin_lock(&sched_lock);
    int n = wake_one_locked(wq);
    spin_unlock(&sched_lock, flags);
    return n;
}

int waitq_wake_all(struct waitq *wq)
{
    uint64_t flags = spin_lock(&sched_lock);
    int n = wake_all_locked(wq);
    spin_unlock(&sched_lock, flags);
    return n;
}

/* ---- mutexes and condition variables: wait queues under sched_lock */

_Static_assert(sizeof(struct waitq) == sizeof(((thread_mutex_t *)0)->waiters), "layout");

void thread_mutex_init(thread_mutex_t *m)
{
    m->owner = NULL;
    waitq_init((struct waitq *)&m->waiters);
}

static void mutex_take_locked(thread_mutex_t *m)
{
    while (m->owner)
        wait_locked((struct waitq *)&m->waiters, 0);
    m->owner = this_cpu()->current;
}

static void mutex_give_locked(thread_mutex_t *m)
{
    if (m->owner != this_cpu()->current)
        panic("thread_mutex_unlock: not the owner");
    m->owner = NULL;
    wake_one_locked((struct waitq *)&m->waiters);
}

void thread_mutex_lock(thread_mutex_t *m)
{
    uint64_t flags = spin_lock(&sched_lock);
    mutex_take_locked(m);
    spin_unlock(&sched_lock, flags);
}

bool thread_mutex_trylock(thread_mutex_t *m)
{
    uint64_t flags = spin_lock(&sched_lock);
    bool got = !m->owner;
    if (got)
        m->owner = this_cpu()->current;
    spin_unlock(&sched_lock, flags);
    return got;
}

void thread_mutex_unlock(thread_mutex_t *m)
{
    uint64_t flags = spin_lock(&sched_lock);
    mutex_give_locked(m);
    spin_unlock(&sched_lock, flags);
}

void thread_cond_init(thread_cond_t *cv)
{
    waitq_init((struct waitq *)&cv->waiters);
}

int thread_cond_timedwait(thread_cond_t *cv, thread_mutex_t *m, uint64_t deadline_ns)
{
    uint64_t flags = spin_lock(&sched_lock);
    mutex_give_locked(m);
    int rc = wait_locked((struct waitq *)&cv->waiters, deadline_ns);
    mutex_take_locked(m);
    spin_unlock(&sched_lock, flags);
    return rc;
}

void thread_cond_wait(thread_cond_t *cv, thread_mutex_t *m)
{
    thread_cond_timedwait(cv, m, 0);
}

void thread_cond_signal(thread_cond_t *cv)
{
    waitq_wake_one((struct waitq *)&cv->waiters);
}

void thread_cond_broadcast(thread_cond_t *cv)
{
    waitq_wake_all((struct waitq *)&cv->waiters);
}

/* ---- boot */

/* On the CPU itself: its scheduler, with the boot context (the PVH entry's
 * or ap.S's stack) as its idle thread. */
void sched_init_cpu(unsigned id)
{
    struct cpu *c = &cpus[id];
    c->id = id;
    list_init(&c->runq);
    list_init(&c->timers);
    c->idle = &idle_threads[id];
    c->idle->state = THREAD_RUNNING;
    c->idle->cpu = id;
    list_init(&c->idle->link);
    list_init(&c->idle->timer_link);
    c->current = c->idle;
    wrmsr(MSR_GS_BASE, (uint64_t)c);
    __atomic_store_n(&c->self, c, __ATOMIC_RELEASE); /* it runs threads from now on */
}

void sched_init(void)
{
    sched_init_cpu(0);
    irq_set_vector_handler(VECTOR_TIMER, timer_interrupt, NULL);
    irq_set_vector_handler(VECTOR_WAKE, wake_interrupt, NULL);
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
        /* From here on remote wakes send an IPI (sched_wake); one pushed
         * before they could see this is found by the look after it. */
        __atomic_store_n(&c->sleeping, 1, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (inbox_is_empty(&c->inbox)) {
            c->idle_halts++;
            irq_enable_and_halt();
        }
        __atomic_store_n(&c->sleeping, 0, __ATOMIC_RELAXED);
    }
}
