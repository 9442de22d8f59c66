/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host stand-ins for what kernel/sched/sched.c needs from arch and mm (see
 * sched_host.h). One struct host_cpu per simulated CPU; the pthread of CPU k
 * has its %gs base at sched.c's struct cpu (wrmsr in sched_init_cpu), as in
 * the guest.
 *
 * Context switches: sched.c calls switch_context(&prev->rsp, next->rsp)
 * with c->current already next. The fiber of a thread (its ucontext and
 * TSan fiber) lives in its stack's guard page, which the guest leaves
 * unmapped and nothing else touches; the idle thread's is the CPU pthread's
 * own context. prev->rsp keeps the address of prev's fiber, so a later
 * switch back finds it; a new thread's rsp points into its stack (the frame
 * sched.c built for switch.S, unused here) and its fiber starts in
 * thread_entry. The fiber of an exited thread goes with its stack
 * (page_free, after the switch away from it), or when a new thread starts
 * on that stack (sched.c keeps an exited thread's stack for the next).
 */
#include <asm/prctl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sanitizer/tsan_interface.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "arch/x86_64/arch.h"
#include "miura/miura.h"
#include "mm/page.h"
#include "sched/sched.h"
#include "sched_host.h"

/* Defined in sched.c, called by switch.S in the guest. */
void thread_entry(void);

/* Also sched.c's: struct cpu is static there, so the pthread keeps the
 * pointer sched_init_cpu gave %gs. */
_Static_assert(__builtin_offsetof(struct thread, rsp) == 0, "switch_context finds prev");

#define HOST_WAKE  1u   /* smp_wake: VECTOR_WAKE pending */
#define HOST_STOP  2u   /* sched_host_run: stop at the next halt with nothing to do */
#define HALT_SPINS 2000 /* looks at pending before a halted CPU sleeps */

struct host_fiber {
    ucontext_t context;
    void *tsan; /* TSan's fiber, NULL until it first runs */
};
_Static_assert(sizeof(struct host_fiber) <= PAGE_SIZE, "fits the guard page");

struct host_cpu {
    unsigned id;
    uint32_t pending; /* HOST_*: a futex word; other pthreads set bits (relaxed) */
    /* Touched by the CPU's own pthread only: */
    bool irq_on;
    uint64_t timer_deadline; /* timer_arm's, 0 = none */
    struct host_fiber idle;  /* the pthread's own context: the idle thread */
    jmp_buf stop;            /* back to host_cpu_main out of the idle loop */
    pthread_t pthread;
};

static struct host_cpu host_cpus[MIURA_MAX_CPUS];
static __thread struct host_cpu *host_me;
static struct {
    irq_handler_fn fn;
    void *arg;
} handlers[2]; /* VECTOR_TIMER, VECTOR_WAKE: set by sched_init on CPU 0 */
static long threads_live, stack_pages, timers_left;
static unsigned long stack_allocs;
static unsigned long ipis, halts;

/* ---- futex: a raw system call, which TSan does not see as synchronisation */

static void futex_wait(uint32_t *word, uint32_t seen, uint64_t deadline_ns)
{
    struct timespec at = {(time_t)(deadline_ns / 1000000000), (long)(deadline_ns % 1000000000)};
    /* FUTEX_WAIT_BITSET: an absolute CLOCK_MONOTONIC deadline (clock_ns). */
    syscall(SYS_futex, word, FUTEX_WAIT_BITSET_PRIVATE, seen, deadline_ns ? &at : NULL, NULL,
            FUTEX_BITSET_MATCH_ANY);
}

static void futex_wake(uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* ---- arch: errors, time, MSRs, interrupts */

void panic(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "panic: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    abort();
}

/* Now and then a simulated CPU stalls a little where it reads the clock
 * (as a vCPU may): this widens windows between sched.c's steps, e.g. the
 * idle loop's inbox drain and its timer expiry, that the host would
 * otherwise almost never split. */
static __thread unsigned jitter_seed;

static void jitter(void)
{
    unsigned s = jitter_seed ? jitter_seed : (unsigned)(uintptr_t)&jitter_seed | 1;
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    jitter_seed = s;
    if (s % 8 == 0)
        for (unsigned n = s >> 20; n; n--) /* up to ~4096 pauses */
            cpu_relax();
    else if (s % 64 == 1)
        sched_yield();
}

uint64_t clock_ns(void)
{
    struct timespec ts;

    jitter();

    clock_gettime(CLOCK_MONOTONIC, &ts); /* never 0, as sched.c's deadlines need */
    return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

const char *miura_getarg(const char *key)
{
    (void)key;
    return NULL; /* no stackcheck */
}

void wrmsr(uint32_t msr, uint64_t v)
{
    if (msr != MSR_GS_BASE)
        panic("wrmsr %#x", msr);
    if (syscall(SYS_arch_prctl, ARCH_SET_GS, v) != 0)
        panic("arch_prctl(ARCH_SET_GS) failed");
}

void irq_set_vector_handler(unsigned vector, irq_handler_fn fn, void *arg)
{
    if (vector != VECTOR_TIMER && vector != VECTOR_WAKE)
        panic("irq_set_vector_handler %#x", vector);
    handlers[vector - VECTOR_TIMER].fn = fn;
    handlers[vector - VECTOR_TIMER].arg = arg;
}

static void interrupt(struct host_cpu *h, unsigned vector)
{
    h->irq_on = false;
    handlers[vector - VECTOR_TIMER].fn(handlers[vector - VECTOR_TIMER].arg);
    h->irq_on = true;
}

static bool timer_due(struct host_cpu *h)
{
    return h->timer_deadline && clock_ns() >= h->timer_deadline;
}

/* Interrupts just went on: take the pending ones. */
static void interrupts_take(struct host_cpu *h)
{
    for (;;) {
        if (__atomic_load_n(&h->pending, __ATOMIC_RELAXED) & HOST_WAKE) {
            __atomic_fetch_and(&h->pending, ~HOST_WAKE, __ATOMIC_RELAXED);
            interrupt(h, VECTOR_WAKE);
        } else if (timer_due(h)) {
            h->timer_deadline = 0; /* one-shot */
            interrupt(h, VECTOR_TIMER);
        } else {
            return;
        }
    }
}

#define RFLAGS_IF (1u << 9)

uint64_t irq_save(void)
{
    uint64_t flags = host_me->irq_on ? RFLAGS_IF : 0;
    host_me->irq_on = false;
    return flags;
}

void irq_restore(uint64_t flags)
{
    if (flags & RFLAGS_IF)
        irq_enable();
}

void irq_disable(void)
{
    host_me->irq_on = false;
}

void irq_enable(void)
{
    struct host_cpu *h = host_me;
    if (!h->irq_on) {
        h->irq_on = true;
        interrupts_take(h);
    }
}

bool irq_enabled(void)
{
    return host_me->irq_on;
}

void irq_enable_and_halt(void)
{
    struct host_cpu *h = host_me;
    unsigned spins = 0;
    for (;;) {
        uint32_t pending = __atomic_load_n(&h->pending, __ATOMIC_RELAXED);
        if (pending & HOST_WAKE || timer_due(h))
            break;
        if (pending & HOST_STOP) {
            if (h->timer_deadline) /* some thread still sleeps */
                __atomic_fetch_add(&timers_left, 1, __ATOMIC_RELAXED);
            longjmp(h->stop, 1);
        }
        if (spins++ < HALT_SPINS) { /* a wake-up is often on its way: cheaper than a futex */
            cpu_relax();
            continue;
        }
        spins = 0;
        __atomic_fetch_add(&halts, 1, __ATOMIC_RELAXED);
        futex_wait(&h->pending, pending, h->timer_deadline);
    }
    irq_enable();
}

void timer_arm(uint64_t deadline_ns)
{
    host_me->timer_deadline = deadline_ns;
}

void smp_wake(unsigned cpu)
{
    struct host_cpu *h = &host_cpus[cpu];
    __atomic_fetch_add(&ipis, 1, __ATOMIC_RELAXED);
    /* Relaxed: an IPI orders nothing; the inbox's release/acquire does. */
    __atomic_fetch_or(&h->pending, HOST_WAKE, __ATOMIC_RELAXED);
    futex_wake(&h->pending);
}

/* Spin loops' poll (smp.c answers TLB shootdowns there): here, a turn for
 * the pthread being waited for now and then. */
void smp_poll(void)
{
    static __thread unsigned polls;
    if (++polls % 64 == 0)
        sched_yield();
}

/* ---- spinlocks, as smp.c's: interrupts off, levels in %gs:ARCH_CPU_LOCKS */

uint64_t spin_lock(struct spinlock *l)
{
    uint64_t flags = irq_save();
    unsigned held = arch_cpu_locks();
    if (held >> l->level)
        panic("lock order: taking level %u with %#x held", l->level, held);
    unsigned spins = 0;
    while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED)) {
            /* The holder's pthread may be preempted (more simulated CPUs
             * than host ones): let it run rather than spin its time away. */
            if (++spins % 64 == 0)
                sched_yield();
            else
                cpu_relax();
        }
    arch_cpu_set_locks(held | 1u << l->level);
    return flags;
}

void spin_unlock(struct spinlock *l, uint64_t flags)
{
    arch_cpu_set_locks(arch_cpu_locks() & ~(1u << l->level));
    __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
    irq_restore(flags);
}

/* ---- memory: stacks and thread descriptors, counted */

void *page_alloc(size_t npages)
{
    void *p = aligned_alloc(PAGE_SIZE, npages * PAGE_SIZE);
    if (p) {
        memset(p, 0, PAGE_SIZE); /* the guard page: no fiber yet */
        __atomic_fetch_add(&stack_pages, (long)npages, __ATOMIC_RELAXED);
        __atomic_fetch_add(&stack_allocs, 1, __ATOMIC_RELAXED);
    }
    return p;
}

void page_free(void *p, size_t npages)
{
    struct host_fiber *f = p;
    if (f->tsan) /* the exited thread's; we run on another fiber of its CPU */
        __tsan_destroy_fiber(f->tsan);
    __atomic_fetch_sub(&stack_pages, (long)npages, __ATOMIC_RELAXED);
    free(p);
}

int paging_set_guard(uintptr_t addr, bool guard)
{
    (void)addr;
    (void)guard;
    return 0;
}

void *sched_host_calloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p)
        __atomic_fetch_add(&threads_live, 1, __ATOMIC_RELAXED);
    return p;
}

/* sched.c frees nothing but thread descriptors; one still on an inbox
 * would be read by the next drain (sched.c's finish_switch rule). */
void sched_host_free(void *p)
{
    if (p) {
        if (__atomic_load_n(&((struct thread *)p)->queued, __ATOMIC_ACQUIRE))
            panic("a thread freed while still on an inbox");
        __atomic_fetch_sub(&threads_live, 1, __ATOMIC_RELAXED);
    }
    free(p);
}

/* ---- context switches */

void thread_start(void)
{
    panic("thread_start: the host starts threads in host_fiber_main");
}

static void host_fiber_main(void)
{
    thread_entry();
}

static struct host_fiber *fiber_of(struct cpu *c, struct thread *t)
{
    return t == c->idle ? &host_me->idle : (struct host_fiber *)t->stack;
}

void switch_context(uint64_t *save_rsp, uint64_t new_rsp)
{
    struct cpu *c = this_cpu();
    struct thread *prev = (struct thread *)save_rsp, *next = c->current;
    struct host_fiber *from = fiber_of(c, prev), *to = fiber_of(c, next);

    if (next->rsp != new_rsp || next == prev)
        panic("switch_context: not to this CPU's current thread");
    if (new_rsp != (uint64_t)to) {
        /* A new thread: new_rsp is the top of the frame sched.c built. Its
         * stack may be an exited thread's (sched.c's spare stacks): that
         * thread's fiber, never to run again, goes first. */
        char *base = (char *)next->stack + PAGE_SIZE;
        if (new_rsp <= (uint64_t)base ||
            new_rsp > (uint64_t)next->stack + next->stack_pages * PAGE_SIZE)
            panic("switch_context: a new thread's rsp outside its stack");
        if (to->tsan)
            __tsan_destroy_fiber(to->tsan);
        getcontext(&to->context);
        to->context.uc_stack.ss_sp = base;
        to->context.uc_stack.ss_size = new_rsp - (uint64_t)base;
        to->context.uc_link = NULL;
        makecontext(&to->context, host_fiber_main, 0);
        to->tsan = __tsan_create_fiber(0);
    } else if (!to->tsan) {
        panic("switch_context: a thread's rsp is its fiber before it ran");
    }
    *save_rsp = (uint64_t)from;
    /* Synchronising switch: one CPU runs its threads one after the other. */
    __tsan_switch_to_fiber(to->tsan, 0);
    swapcontext(&from->context, &to->context);
}

/* ---- machines */

static thread_fn root_fn;
static void *root_arg;
static uint32_t root_done; /* futex word */
static pthread_barrier_t boot_barrier;

static void *host_root(void *arg)
{
    (void)arg;
    root_fn(root_arg);
    /* Release: the main pthread joins the CPUs anyway; this only ends the wait. */
    __atomic_store_n(&root_done, 1, __ATOMIC_RELEASE);
    futex_wake(&root_done);
    return NULL;
}

static void *host_cpu_main(void *arg)
{
    struct host_cpu *h = arg;

    host_me = h;
    h->irq_on = false; /* as a CPU comes up */
    h->timer_deadline = 0;
    h->idle.tsan = __tsan_get_current_fiber();
    if (setjmp(h->stop)) {
        /* The machine stops: the CPU's spare stack (sched.c) goes with it,
         * its size in pages in its first word above the guard. */
        struct cpu *c = this_cpu();
        if (c->spare_stack)
            page_free(c->spare_stack, *(size_t *)((char *)c->spare_stack + PAGE_SIZE));
        c->spare_stack = NULL;
        return NULL;
    }
    /* As kmain and kmain_ap: CPU 0 first (it sets the vector handlers),
     * then the others; root is created once every CPU runs threads. */
    if (h->id == 0)
        sched_init();
    pthread_barrier_wait(&boot_barrier);
    if (h->id != 0)
        sched_init_cpu(h->id);
    pthread_barrier_wait(&boot_barrier);
    if (h->id == 0) {
        thread_t *t = thread_create(0, 0, host_root, NULL);
        if (!t || thread_detach(t) != 0)
            panic("sched_host_run: cannot start the root thread");
    }
    sched_idle_loop();
}

void sched_host_run(unsigned ncpus, thread_fn root, void *arg)
{
    if (ncpus < 2 || ncpus > MIURA_MAX_CPUS)
        panic("sched_host_run: %u CPUs", ncpus);
    root_fn = root;
    root_arg = arg;
    root_done = 0;
    pthread_barrier_init(&boot_barrier, NULL, ncpus);
    for (unsigned i = 0; i < ncpus; i++) {
        host_cpus[i].id = i;
        host_cpus[i].pending = 0;
        if (pthread_create(&host_cpus[i].pthread, NULL, host_cpu_main, &host_cpus[i]) != 0)
            panic("pthread_create");
    }
    /* A hang shows as root never returning: bounded, so the test fails. */
    uint64_t give_up = clock_ns() + 600 * 1000000000ull;
    while (!__atomic_load_n(&root_done, __ATOMIC_ACQUIRE)) {
        if (clock_ns() > give_up)
            panic("sched_host_run: root has not returned after 600 s");
        futex_wait(&root_done, 0, clock_ns() + 1000000000ull);
    }
    for (unsigned i = 0; i < ncpus; i++) {
        __atomic_fetch_or(&host_cpus[i].pending, HOST_STOP, __ATOMIC_RELAXED);
        futex_wake(&host_cpus[i].pending);
    }
    for (unsigned i = 0; i < ncpus; i++)
        pthread_join(host_cpus[i].pthread, NULL);
    pthread_barrier_destroy(&boot_barrier);
}

void sched_host_stats(struct sched_host_stats *s)
{
    s->threads_live = __atomic_load_n(&threads_live, __ATOMIC_RELAXED);
    s->stack_pages = __atomic_load_n(&stack_pages, __ATOMIC_RELAXED);
    s->stack_allocs = __atomic_load_n(&stack_allocs, __ATOMIC_RELAXED);
    s->ipis = __atomic_load_n(&ipis, __ATOMIC_RELAXED);
    s->halts = __atomic_load_n(&halts, __ATOMIC_RELAXED);
    s->timers_left = (unsigned)__atomic_load_n(&timers_left, __ATOMIC_RELAXED);
}
