/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Memory unit and lib/inbox.h on real pthreads, one per CPU (mm_cpu_id()
 * is per thread), under ThreadSanitizer (mm_heap_tsan.mk). Each case ends
 * with exact counts: every block back, every remote free counted once, every
 * double free reported once, the page allocator where it started.
 *
 * Pointers go from the allocating thread to the freeing ones through
 * one-way rings big enough for the whole run, so the freeing threads never
 * signal back: the only edge from a remote free to the owner's reuse of the
 * slot is the heap's own remote-free list, and TSan sees it if it is wrong.
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/inbox.h"
#include "lib/libc_name.h"
#include "lib/list.h" /* container_of */
#include "mm/heap.h"
#include "mm/page.h"
#include "mm_shim.h"
#include "test.h"

/* A TSan report fails the run (exit status 66) even without TSAN_OPTIONS. */
const char *__tsan_default_options(void)
{
    return "halt_on_error=1:exitcode=66";
}

#define MiB (1024UL * 1024)

static char *heap_mem;
static char *lazy_mem; /* a region left lazily described (page_desc_of_undescribed) */

static void setup(void)
{
    if (heap_mem == NULL) {
        /* Room for everything the producers may get ahead by (they never
         * wait for the consumers): at most about 100 MiB. */
        heap_mem = mm_test_memory(256 * MiB);
        page_add_region((uintptr_t)heap_mem, 256 * MiB);
        page_prepare();
        lazy_mem = mm_test_memory(16 * MiB);
        page_add_region((uintptr_t)lazy_mem, 16 * MiB);
    }
    mm_test_cpu = 0;
}

struct snapshot {
    struct heap_stats heap;
    size_t free_pages;
    int reports;
};

/* Every CPU gives back its cached slabs, then the counters (no thread runs). */
static void snapshot(struct snapshot *s)
{
    unsigned saved = mm_test_cpu;

    for (unsigned c = 0; c < mm_test_cpus; c++) {
        mm_test_cpu = c;
        heap_trim();
    }
    mm_test_cpu = saved;
    heap_stats(&s->heap);
    s->free_pages = page_free_count();
    s->reports = __atomic_load_n(&mm_test_reports, __ATOMIC_RELAXED);
}

/* The first failure a thread saw (threads cannot CHECK). */
static const char *thread_failure;

static void thread_fail(const char *why)
{
    const char *none = NULL;
    __atomic_compare_exchange_n(&thread_failure, &none, why, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

static int thread_failed(void)
{
    return __atomic_load_n(&thread_failure, __ATOMIC_RELAXED) != NULL;
}

static void fill(void *p, size_t n, unsigned seed)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(seed * 31 + i * 7);
}

static int intact(const void *p, size_t n, unsigned seed)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != (unsigned char)(seed * 31 + i * 7))
            return 0;
    }
    return 1;
}

/* ---- a one-way ring: one producer, one consumer, never full */

struct ring {
    void **slot;
    size_t cap;
    size_t tail; /* written by the producer (release) */
};

static void ring_init(struct ring *r, size_t cap)
{
    r->slot = calloc(cap, sizeof(void *));
    r->cap = cap;
    r->tail = 0;
}

static void ring_put(struct ring *r, void *p)
{
    size_t t = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
    r->slot[t] = p;
    /* Release: the consumer sees the slot and the block's contents. */
    __atomic_store_n(&r->tail, t + 1, __ATOMIC_RELEASE);
}

/* The item at index head, waiting for the producer; NULL if a thread failed. */
static void *ring_get(struct ring *r, size_t head)
{
    while (__atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) <= head) {
        if (thread_failed())
            return NULL;
        sched_yield();
    }
    return r->slot[head];
}

/* ---- (a) CPU 0 allocates slots, CPUs 1 and 2 free them remotely */

enum { HANDED = 60000, CONSUMERS = 2 };

static const size_t small_sizes[] = {16, 24, 48, 100, 128, 200, 256, 500, 640, 900, 1500, 2048};
#define NSMALL (sizeof(small_sizes) / sizeof(small_sizes[0]))

static struct ring rings[CONSUMERS];
static pthread_barrier_t barrier;
static size_t freed_by[CONSUMERS];

static void *small_producer(void *arg)
{
    void *local[8] = {0};

    (void)arg;
    mm_test_cpu = 0;
    for (unsigned i = 0; i < HANDED && !thread_failed(); i++) {
        size_t size = small_sizes[i % NSMALL];
        void *p = i % 5 == 0 ? miura_calloc(1, size) : miura_malloc(size);
        if (p == NULL) {
            thread_fail("producer: malloc failed");
            break;
        }
        fill(p, size < 32 ? size : 32, i);
        ring_put(&rings[i % CONSUMERS], p);
        /* Local traffic too: frees that empty a slab drain the remote list. */
        unsigned k = i % 8;
        miura_free(local[k]);
        local[k] = miura_malloc(small_sizes[(i * 7) % NSMALL]);
        if (i % 64 == 0)
            heap_reclaim();
    }
    for (unsigned k = 0; k < 8; k++)
        miura_free(local[k]);
    pthread_barrier_wait(&barrier); /* the consumers are done */
    heap_trim();                    /* takes back every remote free */
    return NULL;
}

static void *small_consumer(void *arg)
{
    unsigned me = (unsigned)(uintptr_t)arg;
    size_t n = 0;

    mm_test_cpu = 1 + me;
    for (unsigned i = me; i < HANDED; i += CONSUMERS) {
        void *p = ring_get(&rings[me], n++);
        if (p == NULL)
            break;
        size_t size = small_sizes[i % NSMALL];
        if (!intact(p, size < 32 ? size : 32, i))
            thread_fail("consumer: a block changed while it was live");
        miura_free(p);
        freed_by[me]++;
    }
    pthread_barrier_wait(&barrier);
    heap_trim();
    return NULL;
}

TEST(remote_frees_from_two_cpus_while_the_owner_allocates)
{
    struct snapshot before, after;
    pthread_t t[1 + CONSUMERS];

    setup();
    snapshot(&before);
    thread_failure = NULL;
    for (unsigned c = 0; c < CONSUMERS; c++) {
        ring_init(&rings[c], HANDED / CONSUMERS);
        freed_by[c] = 0;
    }
    CHECK(pthread_barrier_init(&barrier, NULL, 1 + CONSUMERS) == 0);
    CHECK(pthread_create(&t[0], NULL, small_producer, NULL) == 0);
    for (unsigned c = 0; c < CONSUMERS; c++)
        CHECK(pthread_create(&t[1 + c], NULL, small_consumer, (void *)(uintptr_t)c) == 0);
    for (unsigned c = 0; c < 1 + CONSUMERS; c++)
        CHECK(pthread_join(t[c], NULL) == 0);
    pthread_barrier_destroy(&barrier);
    for (unsigned c = 0; c < CONSUMERS; c++)
        free(rings[c].slot);
    if (thread_failure != NULL)
        test_fail(__FILE__, __LINE__, "%s", thread_failure);
    CHECK(thread_failure == NULL);
    CHECK_EQ(freed_by[0] + freed_by[1], HANDED);

    snapshot(&after);
    CHECK_EQ(after.heap.bytes_in_use, before.heap.bytes_in_use);
    CHECK_EQ(after.heap.live_allocations, before.heap.live_allocations);
    CHECK_EQ(after.heap.pages_held, before.heap.pages_held);
    CHECK_EQ(after.heap.remote_frees, before.heap.remote_frees + HANDED);
    CHECK_EQ(after.heap.double_frees, before.heap.double_frees);
    CHECK_EQ(after.heap.invalid_frees, before.heap.invalid_frees);
    CHECK_EQ(after.heap.failed_allocations, before.heap.failed_allocations);
    CHECK_EQ(after.reports, before.reports);
    CHECK_EQ(after.free_pages, before.free_pages);
    CHECK_EQ(page_check(), 0);
}

/* ---- (b) two CPUs free the same slot at once: one free, one report */

enum { ROUNDS = 2000 };

static void *victim;
static int round_failed = -1; /* the first round whose counts were wrong */

/* After the round's barrier, every thread of the race spins until all have
 * arrived, so that their frees start within a few hundred nanoseconds (a
 * barrier's wake-ups alone are microseconds apart, and the windows the race
 * needs are far shorter). */
static unsigned race_threads, race_arrived;

static void race_start(int round)
{
    unsigned want = race_threads * (unsigned)(round + 1);
    __atomic_add_fetch(&race_arrived, 1, __ATOMIC_ACQ_REL);
    for (unsigned spins = 0; __atomic_load_n(&race_arrived, __ATOMIC_ACQUIRE) < want; spins++)
        if (spins > 20000)
            sched_yield(); /* more threads than host cores: let the others run */
}

/* CPU 0, the owner: a victim each round for the racers to free, and with
 * arg non-NULL the owner frees it too, at the same moment. Every round:
 * one double free reported, nothing left live; the drain reports nothing
 * (no free slot was pushed); with only remote racers one remote free. */
static void *double_free_owner(void *arg)
{
    struct heap_stats st, start;
    void *holder;

    mm_test_cpu = 0;
    holder = miura_malloc(48); /* keeps the slab alive between rounds */
    heap_stats(&start);
    for (int r = 0; r < ROUNDS; r++) {
        victim = miura_malloc(48);
        if (victim == NULL)
            thread_fail("owner: malloc failed");
        pthread_barrier_wait(&barrier); /* the racers free victim now */
        race_start(r);
        if (arg)
            miura_free(victim);
        pthread_barrier_wait(&barrier);
        int reports = __atomic_load_n(&mm_test_reports, __ATOMIC_RELAXED);
        heap_reclaim();
        heap_stats(&st);
        if (round_failed < 0 && (__atomic_load_n(&mm_test_reports, __ATOMIC_RELAXED) != reports ||
                                 st.double_frees != start.double_frees + (size_t)r + 1 ||
                                 (!arg && st.remote_frees != start.remote_frees + (size_t)r + 1) ||
                                 st.live_allocations != start.live_allocations))
            round_failed = r;
    }
    miura_free(holder);
    heap_trim();
    return NULL;
}

static void *double_free_racer(void *arg)
{
    mm_test_cpu = (unsigned)(uintptr_t)arg;
    for (int r = 0; r < ROUNDS; r++) {
        pthread_barrier_wait(&barrier);
        race_start(r);
        miura_free(victim);
        pthread_barrier_wait(&barrier);
    }
    return NULL;
}

/* Runs the owner (CPU 0; freeing the victim too when owner_frees) against
 * `racers` threads on CPUs 1.. that free it each round, then checks: no round went wrong, every
 * round's double free reported once, and the heap and the page allocator back where they were. */
static void double_free_race(bool owner_frees, unsigned racers, struct snapshot *before,
                             struct snapshot *after)
{
    pthread_t t[3];

    setup();
    snapshot(before);
    thread_failure = NULL;
    round_failed = -1;
    race_threads = racers + 1;
    race_arrived = 0;
    CHECK(pthread_barrier_init(&barrier, NULL, racers + 1) == 0);
    CHECK(pthread_create(&t[0], NULL, double_free_owner, owner_frees ? &t[0] : NULL) == 0);
    for (unsigned i = 1; i <= racers; i++)
        CHECK(pthread_create(&t[i], NULL, double_free_racer, (void *)(uintptr_t)i) == 0);
    for (unsigned i = 0; i <= racers; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    pthread_barrier_destroy(&barrier);
    CHECK(thread_failure == NULL);
    CHECK_EQ(round_failed, -1);

    snapshot(after);
    CHECK_EQ(after->heap.double_frees, before->heap.double_frees + ROUNDS);
    CHECK_EQ(after->reports, before->reports + ROUNDS);
    CHECK_EQ(after->heap.invalid_frees, before->heap.invalid_frees);
    CHECK_EQ(after->heap.bytes_in_use, before->heap.bytes_in_use);
    CHECK_EQ(after->heap.live_allocations, before->heap.live_allocations);
    CHECK_EQ(after->heap.pages_held, before->heap.pages_held);
    CHECK_EQ(after->free_pages, before->free_pages);
    CHECK_EQ(page_check(), 0);
}

TEST(racing_remote_double_free_is_reported_once)
{
    struct snapshot before, after;

    double_free_race(false, 2, &before, &after);
    CHECK_EQ(after.heap.remote_frees, before.heap.remote_frees + ROUNDS);
}

/* The owner's own free of a block racing a free of it on another CPU:
 * exactly one of the two frees it, the other is reported where it
 * happens, and the remote-free list never holds a slot already free (a
 * slot the owner could hand out again before it drains: the drain would
 * then free the new block under its user). */
TEST(owner_free_racing_a_remote_free_is_reported_once)
{
    struct snapshot before, after;

    double_free_race(true, 1, &before, &after);
}

/* free(p) on a thread acting as CPU cpu (frees given twice when twice). */
struct free_job {
    unsigned cpu, times;
    void *p;
};

static void *free_job_main(void *arg)
{
    struct free_job *job = arg;

    mm_test_cpu = job->cpu;
    for (unsigned i = 0; i < job->times; i++)
        miura_free(job->p);
    return NULL;
}

static int free_on_cpu(unsigned cpu, void *p, unsigned times)
{
    struct free_job job = {cpu, times, p};
    pthread_t t;

    if (pthread_create(&t, NULL, free_job_main, &job) != 0)
        return -1;
    return pthread_join(t, NULL);
}

/* The orders of two frees of one slot that do not overlap: each is reported
 * once, and the slot goes back once. This thread is CPU 0, the owner. */
TEST(remote_double_free_sequences_are_reported_once)
{
    struct snapshot before, after;
    void *holder, *p;

    setup();
    snapshot(&before);
    holder = miura_malloc(64); /* keeps the slab */

    /* CPU 1 frees twice before the owner drains. */
    p = miura_malloc(64);
    CHECK_EQ(free_on_cpu(1, p, 2), 0);
    CHECK_EQ(mm_test_reports, before.reports + 1);
    heap_reclaim();
    /* CPU 1 frees, the owner drains, CPU 2 frees again. */
    p = miura_malloc(64);
    CHECK_EQ(free_on_cpu(1, p, 1), 0);
    heap_reclaim();
    CHECK_EQ(free_on_cpu(2, p, 1), 0);
    CHECK_EQ(mm_test_reports, before.reports + 2);
    heap_reclaim();
    /* CPU 1 frees, the owner frees the slot waiting on its list. */
    p = miura_malloc(64);
    CHECK_EQ(free_on_cpu(1, p, 1), 0);
    miura_free(p);
    CHECK_EQ(mm_test_reports, before.reports + 3);
    heap_reclaim();
    miura_free(holder);

    snapshot(&after);
    CHECK_EQ(after.reports, before.reports + 3);
    CHECK_EQ(after.heap.double_frees, before.heap.double_frees + 3);
    CHECK_EQ(after.heap.remote_frees, before.heap.remote_frees + 3);
    CHECK_EQ(after.heap.invalid_frees, before.heap.invalid_frees);
    CHECK_EQ(after.heap.live_allocations, before.heap.live_allocations);
    CHECK_EQ(after.heap.bytes_in_use, before.heap.bytes_in_use);
    CHECK_EQ(after.heap.pages_held, before.heap.pages_held);
    CHECK_EQ(after.free_pages, before.free_pages);
}

/* ---- (c) large blocks (whole pages) freed on other CPUs */

enum { LARGE_HANDED = 1200 }; /* at most ~50 MiB in flight */

static const size_t large_sizes[] = {2049, 4097, 3 * 4096, 5 * 4096 + 7, 16 * 4096, 33 * 4096};
#define NLARGE (sizeof(large_sizes) / sizeof(large_sizes[0]))

static void *large_producer(void *arg)
{
    (void)arg;
    mm_test_cpu = 0;
    for (unsigned i = 0; i < LARGE_HANDED && !thread_failed(); i++) {
        size_t size = large_sizes[i % NLARGE];
        void *p = i % 7 == 3 ? miura_aligned_alloc(65536, size) : miura_malloc(size);
        if (p == NULL) {
            thread_fail("producer: large malloc failed");
            break;
        }
        fill(p, 16, i);
        fill((char *)p + size - 16, 16, i + 1);
        ring_put(&rings[i % CONSUMERS], p);
    }
    pthread_barrier_wait(&barrier);
    heap_trim();
    return NULL;
}

static void *large_consumer(void *arg)
{
    unsigned me = (unsigned)(uintptr_t)arg;
    size_t n = 0;

    mm_test_cpu = 1 + me;
    for (unsigned i = me; i < LARGE_HANDED; i += CONSUMERS) {
        char *p = ring_get(&rings[me], n++);
        if (p == NULL)
            break;
        size_t size = large_sizes[i % NLARGE];
        if (!intact(p, 16, i) || !intact(p + size - 16, 16, i + 1))
            thread_fail("consumer: a large block changed while it was live");
        if (size == 16 * 4096) /* shrunk in place on this CPU first: 5 pages back */
            p = miura_realloc(p, 11 * 4096);
        miura_free(p);
        /* Its own large traffic, so the page allocator's lock is contended. */
        void *q = miura_malloc(4 * 4096 + 1);
        if (q == NULL)
            thread_fail("consumer: large malloc failed");
        fill(q, 16, me);
        miura_free(q);
        freed_by[me]++;
    }
    pthread_barrier_wait(&barrier);
    heap_trim();
    return NULL;
}

TEST(large_blocks_freed_on_other_cpus)
{
    struct snapshot before, after;
    pthread_t t[1 + CONSUMERS];

    setup();
    snapshot(&before);
    thread_failure = NULL;
    for (unsigned c = 0; c < CONSUMERS; c++) {
        ring_init(&rings[c], LARGE_HANDED / CONSUMERS);
        freed_by[c] = 0;
    }
    CHECK(pthread_barrier_init(&barrier, NULL, 1 + CONSUMERS) == 0);
    CHECK(pthread_create(&t[0], NULL, large_producer, NULL) == 0);
    for (unsigned c = 0; c < CONSUMERS; c++)
        CHECK(pthread_create(&t[1 + c], NULL, large_consumer, (void *)(uintptr_t)c) == 0);
    for (unsigned c = 0; c < 1 + CONSUMERS; c++)
        CHECK(pthread_join(t[c], NULL) == 0);
    pthread_barrier_destroy(&barrier);
    for (unsigned c = 0; c < CONSUMERS; c++)
        free(rings[c].slot);
    if (thread_failure != NULL)
        test_fail(__FILE__, __LINE__, "%s", thread_failure);
    CHECK(thread_failure == NULL);
    CHECK_EQ(freed_by[0] + freed_by[1], LARGE_HANDED);

    snapshot(&after);
    CHECK_EQ(after.free_pages, before.free_pages);
    CHECK_EQ(page_check(), 0);
    CHECK_EQ(after.heap.bytes_in_use, before.heap.bytes_in_use);
    CHECK_EQ(after.heap.live_allocations, before.heap.live_allocations);
    CHECK_EQ(after.heap.pages_held, before.heap.pages_held);
    CHECK_EQ(after.heap.remote_frees, before.heap.remote_frees); /* pages are not slots */
    CHECK_EQ(after.heap.double_frees, before.heap.double_frees);
    CHECK_EQ(after.heap.invalid_frees, before.heap.invalid_frees);
    CHECK_EQ(after.heap.failed_allocations, before.heap.failed_allocations);
    CHECK_EQ(after.reports, before.reports);
}

/* ---- pointers into memory the page allocator has not described yet */

enum { LOOKUPS = 2000 };

static void *undescribed_lookups(void *arg)
{
    char *p = lazy_mem + 12 * MiB; /* past the first 4 MiB, which are ready */

    mm_test_cpu = (unsigned)(uintptr_t)arg;
    for (int i = 0; i < LOOKUPS; i++) {
        struct page_desc *d = page_desc_of(p);
        if (d == NULL || d->state != PAGE_FREE)
            thread_fail("page_desc_of: not a free page");
        if (i % 100 == 0)
            miura_free(p); /* a foreign pointer: reported as already freed */
    }
    return NULL;
}

TEST(page_desc_of_undescribed)
{
    struct snapshot before, after;
    pthread_t t[2];

    setup();
    snapshot(&before);
    thread_failure = NULL;
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, undescribed_lookups, (void *)(uintptr_t)i) == 0);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(thread_failure == NULL);
    snapshot(&after);
    CHECK_EQ(after.heap.double_frees, before.heap.double_frees + 2 * LOOKUPS / 100);
    CHECK_EQ(after.reports, before.reports + 2 * LOOKUPS / 100);
}

/* ---- lib/inbox.h: 4 producers, one consumer taking everything */

enum { PRODUCERS = 4, PUSHES = 100000 };

struct item {
    struct inbox_node node;
    uint32_t producer, seq;
    uint64_t payload; /* written before the push, plain */
};

static struct item items[PRODUCERS][PUSHES];
static struct inbox inbox;
static size_t started_batch[PRODUCERS]; /* pushes that found the inbox empty */

static uint64_t payload_of(uint32_t producer, uint32_t seq)
{
    return ((uint64_t)producer << 32 | seq) * 0x9e3779b97f4a7c15ULL;
}

static void *inbox_producer(void *arg)
{
    uint32_t me = (uint32_t)(uintptr_t)arg;
    size_t started = 0;

    for (uint32_t s = 0; s < PUSHES; s++) {
        struct item *it = &items[me][s];
        it->producer = me;
        it->seq = s;
        it->payload = payload_of(me, s);
        if (inbox_push(&inbox, &it->node))
            started++;
    }
    started_batch[me] = started;
    return NULL;
}

static size_t batches, received;
static uint32_t next_seq[PRODUCERS];

static void *inbox_consumer(void *arg)
{
    (void)arg;
    while (received < (size_t)PRODUCERS * PUSHES && !thread_failed()) {
        struct inbox_node *n = inbox_take_all(&inbox);
        if (n == NULL) {
            sched_yield();
            continue;
        }
        batches++;
        for (n = inbox_reverse(n); n != NULL; n = n->next) {
            struct item *it = container_of(n, struct item, node);
            if (it->producer >= PRODUCERS || it->seq != next_seq[it->producer] ||
                it->payload != payload_of(it->producer, it->seq)) {
                thread_fail("inbox: an item out of order, twice, or torn");
                return NULL;
            }
            next_seq[it->producer]++;
            received++;
        }
    }
    return NULL;
}

TEST(inbox_four_producers_one_consumer)
{
    pthread_t t[PRODUCERS + 1];
    size_t started = 0;

    thread_failure = NULL;
    batches = received = 0;
    memset(next_seq, 0, sizeof(next_seq));
    CHECK(pthread_create(&t[PRODUCERS], NULL, inbox_consumer, NULL) == 0);
    for (int p = 0; p < PRODUCERS; p++)
        CHECK(pthread_create(&t[p], NULL, inbox_producer, (void *)(uintptr_t)p) == 0);
    for (int p = 0; p <= PRODUCERS; p++)
        CHECK(pthread_join(t[p], NULL) == 0);
    if (thread_failure != NULL)
        test_fail(__FILE__, __LINE__, "%s", thread_failure);
    CHECK(thread_failure == NULL);
    CHECK_EQ(received, (size_t)PRODUCERS * PUSHES);
    for (int p = 0; p < PRODUCERS; p++) {
        CHECK_EQ(next_seq[p], PUSHES);
        started += started_batch[p];
    }
    /* Every batch the consumer took began with exactly one push into an empty inbox. */
    CHECK_EQ(started, batches);
    CHECK(inbox_is_empty(&inbox));
    CHECK(inbox_take_all(&inbox) == NULL);
    printf("# inbox: %zu items in %zu batches\n", received, batches);
}
