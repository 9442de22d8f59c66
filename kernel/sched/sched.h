/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Process unit, kernel side: per-CPU cooperative scheduling, wait queues
 * and timeouts. The public thread API is include/miura/thread.h.
 *
 * Rules: scheduler state of a CPU is touched only by that CPU, with
 * interrupts off (an interrupt handler may wake a thread). A thread is woken
 * on its own CPU; a wake from another CPU goes through the owner's inbox.
 * Wait queues may be shared by threads of several CPUs: their lists are
 * guarded by the scheduler's lock, which the functions below take.
 */
#ifndef MIURA_SCHED_H
#define MIURA_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/inbox.h"
#include "lib/list.h"
#include "miura/thread.h"

#define MAIN_STACK_SIZE (64 * 1024)

enum thread_state { THREAD_READY, THREAD_RUNNING, THREAD_BLOCKED, THREAD_EXITED };

/*
 * Cooperative sections (thread.h): the application's (thread_coop_enter)
 * and the kernel's I/O section (io_enter: the Filesystem and Networking
 * units, the descriptor table and the drivers under them). Each is a
 * lock that its holder gives up whenever it switches away (blocks,
 * yields, exits) and has again before it runs on, so that code holding one
 * sees what code written for one cooperative CPU sees: nobody else in the
 * section runs until it blocks. Entered in this order (application, then
 * I/O), never with a spinlock held (checked); reentrant.
 */
enum { COOP_APP, COOP_IO, COOP_SECTIONS };
void coop_enter(unsigned section);
void coop_leave(unsigned section);
bool coop_held(unsigned section);
static inline void io_enter(void)
{
    coop_enter(COOP_IO);
}
static inline void io_leave(void)
{
    coop_leave(COOP_IO);
}

struct waitq {
    struct list waiters; /* struct waitq_entry, in arrival order */
};
#define WAITQ_INIT(name)          \
    {                             \
        LIST_INIT((name).waiters) \
    }

struct thread {
    uint64_t rsp;           /* saved stack pointer while not running */
    struct list link;       /* run queue or wait queue */
    struct list timer_link; /* the CPU's timeout list, sorted by wake_at */
    uint64_t wake_at;       /* deadline in clock_ns, 0 = none */
    enum thread_state state;
    bool timed_out; /* the deadline of the current sleep passed */
    bool woken;     /* a queue it waits on woke it (since it began waiting) */
    bool detached;
    unsigned cpu;
    int errno_value;
    uint64_t id;
    void *stack; /* lowest page is the guard */
    size_t stack_pages;
    thread_fn fn;
    void *arg;
    void *retval;
    struct waitq joiners;
    struct inbox_node inbox_link;
    bool queued;                  /* on its CPU's inbox */
    uint16_t coop[COOP_SECTIONS]; /* depth in each cooperative section */
};

struct cpu {
    struct cpu *self; /* at offset 0: this_cpu() reads %gs:0; set once online */
    unsigned id;      /* offset 8 (ARCH_CPU_INDEX) */
    unsigned locks;   /* offset 12 (ARCH_CPU_LOCKS): spinlock levels held */
    struct thread *current;
    struct thread *idle;
    struct thread *dead; /* exited; its stack is freed after the switch */
    struct list runq;
    struct list timers;
    uint64_t armed_at;  /* deadline the hardware timer is set for, 0 = none */
    struct inbox inbox; /* threads other CPUs woke */
    uint64_t context_switches;
    uint64_t idle_halts;
    uint64_t remote_wakes; /* threads of other CPUs this one woke */
    uint64_t wake_ipis;    /* of which needed an IPI (that CPU was idle) */
    uint64_t coop_halts;   /* halts waiting for a cooperative section */
    int sleeping;          /* idle and about to halt: a remote wake sends an IPI */
    void *spare_stack;     /* an exited thread's, guard still set (sched.c) */
};

static inline struct cpu *this_cpu(void)
{
    struct cpu *c;
    __asm__ volatile("movq %%gs:0, %0" : "=r"(c));
    return c;
}

void sched_init(void);
void sched_init_cpu(unsigned id);
/* How often `cpu` halted waiting for a cooperative section (any CPU may ask). */
uint64_t sched_coop_halts(unsigned cpu);
_Noreturn void sched_idle_loop(void);

/*
 * Wait queues. A thread waits on a queue through an entry (its place in the
 * queue's list); waitq_wait keeps one on its stack, and a thread waiting for
 * any of several queues (poll) has one on each.
 *
 * Call with interrupts off, after checking the condition:
 *     uint64_t f = irq_save();
 *     while (!cond) if (waitq_wait(&wq, deadline) == -ETIMEDOUT) break;
 *     irq_restore(f);
 * That pattern is free of lost wake-ups only when the waker runs on the
 * same CPU (or in its interrupt handler); state shared across CPUs waits
 * through thread_mutex/thread_cond (include/miura/thread.h).
 * deadline is in clock_ns (0 = none). Returns 0 when woken, -ETIMEDOUT.
 * Spurious returns are allowed: the caller checks its condition again.
 */
struct waitq_entry {
    struct list link; /* on the queue; unlinked (self) once woken */
    struct thread *thread;
};
void waitq_init(struct waitq *wq);
int waitq_wait(struct waitq *wq, uint64_t deadline_ns);
/*
 * Sleeps until any of the n queues wakes the calling thread, or the
 * deadline: 0 or -ETIMEDOUT. The caller gives n entries of storage (one per
 * queue; the same queue twice is allowed) and the same rule holds: interrupts
 * off, conditions checked first. Every entry is off its queue on return.
 */
int waitq_wait_any(struct waitq *const *wqs, struct waitq_entry *entries, unsigned n,
                   uint64_t deadline_ns);
/* Wake one / all waiters; safe from interrupt handlers. Return how many.
 * waitq_wake_one passes over threads that something else (another queue, a
 * deadline) already woke, so a wake is never spent on a thread that is
 * leaving anyway. */
/* waitq_wait, unless *count is no longer seen: for a waiter whose waker
 * may run on another CPU outside the waiter's section (an interrupt
 * handler), which adds to *count before it wakes the queue. */
int waitq_wait_unless(struct waitq *wq, uint64_t deadline_ns, const unsigned *count, unsigned seen);
int waitq_wake_one(struct waitq *wq);
int waitq_wake_all(struct waitq *wq);

/* Makes a blocked thread ready (from any context). */
void sched_wake(struct thread *t);

#endif
