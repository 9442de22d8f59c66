/* SPDX-License-Identifier: BSD-2-Clause */
/* kernel/mm/heap.c over the page allocator, on host memory, with a fake CPU
 * id so that remote frees can be simulated (and, in one test, run for real on
 * two threads). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/libc_name.h"
#include "mm/heap.h"
#include "mm/page.h"
#include "mm_shim.h"
#include "test.h"

#define MiB   (1024UL * 1024)
#define NCPUS 4

static uint64_t rng_state = 0xda3e39cb94b95bdbULL;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static char *heap_mem;
static size_t heap_mem_size = 64 * MiB;

/* The heap's pages: one 64 MiB region, set up once for all cases. */
static void setup(void)
{
    if (heap_mem == NULL) {
        heap_mem = mm_test_memory(heap_mem_size);
        page_add_region((uintptr_t)heap_mem, heap_mem_size);
    }
    mm_test_cpu = 0;
    mm_test_reports = 0;
}

/* Trims every CPU and says whether the heap is back to holding nothing. */
static int all_returned(void)
{
    struct heap_stats st;
    unsigned saved = mm_test_cpu;

    for (unsigned c = 0; c < NCPUS; c++) {
        mm_test_cpu = c;
        heap_trim();
    }
    mm_test_cpu = saved;
    heap_stats(&st);
    return st.bytes_in_use == 0 && st.live_allocations == 0 && st.pages_held == 0 &&
           page_free_count() == page_total_count() && page_check() == 0;
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

TEST(every_small_size)
{
    static void *ptrs[2049];

    setup();
    for (size_t size = 0; size <= 2048; size++) {
        void *p = miura_malloc(size);
        size_t usable;
        CHECK(p != NULL);
        CHECK_EQ((uintptr_t)p & 15, 0);
        usable = heap_usable_size(p);
        CHECK(usable >= size && usable >= 16 && usable <= 2048);
        CHECK(usable <= size + size / 4 + 16); /* classes are within 25% */
        fill(p, size, (unsigned)size);
        ptrs[size] = p;
    }
    for (size_t size = 0; size <= 2048; size++) {
        CHECK(intact(ptrs[size], size, (unsigned)size));
        miura_free(ptrs[size]);
    }
    miura_free(NULL);
    CHECK_EQ(mm_test_reports, 0);
    CHECK(all_returned());
}

TEST(many_of_one_class_fill_slabs)
{
    static void *ptrs[5000];
    struct heap_stats st;

    setup();
    for (int i = 0; i < 5000; i++) {
        ptrs[i] = miura_malloc(48);
        CHECK(ptrs[i] != NULL);
        memset(ptrs[i], i & 0xff, 48);
    }
    heap_stats(&st);
    CHECK_EQ(st.live_allocations, 5000);
    CHECK_EQ(st.bytes_in_use, 5000 * 48);
    CHECK(st.pages_held >= 5000 * 48 / 4096 && st.pages_held <= 5000 * 48 / 4096 + 5);
    for (int i = 0; i < 5000; i += 2)
        miura_free(ptrs[i]);
    for (int i = 1; i < 5000; i += 2) {
        CHECK(((unsigned char *)ptrs[i])[47] == (i & 0xff));
        miura_free(ptrs[i]);
    }
    heap_stats(&st);
    CHECK_EQ(st.live_allocations, 0);
    CHECK(st.pages_held <= 2); /* at most two empty slabs kept for the class */
    CHECK(all_returned());
}

TEST(large_blocks)
{
    static const size_t sizes[] = {2049, 4095, 4096, 4097, 65536, MiB, 10 * MiB + 1};
    void *p[7];
    struct heap_stats st;

    setup();
    for (int i = 0; i < 7; i++) {
        p[i] = miura_malloc(sizes[i]);
        CHECK(p[i] != NULL);
        CHECK_EQ((uintptr_t)p[i] & 4095, 0);
        CHECK_EQ(heap_usable_size(p[i]), (sizes[i] + 4095) / 4096 * 4096);
        fill(p[i], sizes[i], (unsigned)i);
    }
    heap_stats(&st);
    CHECK_EQ(st.live_allocations, 7);
    for (int i = 0; i < 7; i++) {
        CHECK(intact(p[i], sizes[i], (unsigned)i));
        miura_free(p[i]);
    }
    CHECK_EQ(mm_test_reports, 0);
    CHECK(all_returned());
}

TEST(realloc_grows_and_shrinks_keeping_data)
{
    size_t size = 10;
    char *p;

    setup();
    p = miura_realloc(NULL, size);
    CHECK(p != NULL);
    fill(p, size, 99);
    for (int i = 0; i < 300; i++) {
        size_t next = rng() % 3 == 0 ? 1 + rng() % 40 : 1 + rng() % (rng() % 2 ? 3000 : 200000);
        size_t keep = next < size ? next : size;
        char *q = miura_realloc(p, next);
        CHECK(q != NULL);
        CHECK(intact(q, keep, 99));
        fill(q, next, 99);
        p = q;
        size = next;
        CHECK(heap_usable_size(p) >= size);
    }
    miura_free(p);

    /* a large block shrinks in place and gives pages back */
    p = miura_malloc(40 * 4096);
    fill(p, 40 * 4096, 5);
    size_t free_before = page_free_count();
    CHECK(miura_realloc(p, 10 * 4096 + 1) == p);
    CHECK_EQ(page_free_count(), free_before + 29);
    CHECK(intact(p, 10 * 4096 + 1, 5));
    CHECK_EQ(heap_usable_size(p), 11 * 4096);
    /* same class: stays */
    char *s = miura_malloc(100);
    CHECK(miura_realloc(s, 110) == s);
    miura_free(s);
    /* realloc(p, 0) frees */
    CHECK(miura_realloc(p, 0) == NULL);
    CHECK_EQ(mm_test_reports, 0);
    CHECK(all_returned());
}

TEST(calloc_zeroes_and_checks_overflow)
{
    setup();
    for (size_t size = 8; size < 20000; size = size * 3 + 1) {
        unsigned char *p = miura_malloc(size), *q;
        memset(p, 0xff, size);
        miura_free(p);
        q = miura_calloc(size, 1);
        CHECK(q != NULL);
        for (size_t i = 0; i < size; i++)
            CHECK(q[i] == 0);
        miura_free(q);
    }
    errno = 0;
    CHECK(miura_calloc(SIZE_MAX / 2, 3) == NULL);
    CHECK_EQ(errno, ENOMEM);
    errno = 0;
    CHECK(miura_calloc((size_t)1 << 33, (size_t)1 << 31) == NULL);
    CHECK_EQ(errno, ENOMEM);
    void *z = miura_calloc(0, 5);
    CHECK(z != NULL);
    miura_free(z);
    CHECK(all_returned());
}

TEST(aligned_alloc_alignments)
{
    void *p[200];
    int n = 0;

    setup();
    for (size_t align = 1; align <= 4 * MiB; align *= 2) {
        static const size_t sizes[] = {1, 24, 100, 2000, 5000, 70000};
        for (int i = 0; i < 6; i++) {
            void *q = miura_aligned_alloc(align, sizes[i]);
            CHECK(q != NULL);
            CHECK_EQ((uintptr_t)q & (align - 1), 0);
            CHECK_EQ((uintptr_t)q & 15, 0);
            CHECK(heap_usable_size(q) >= sizes[i]);
            fill(q, sizes[i], (unsigned)n);
            p[n++] = q;
        }
    }
    for (int i = 0; i < n; i++)
        miura_free(p[i]);
    void *z = miura_aligned_alloc(8192, 0); /* size 0 with a page-sized alignment */
    CHECK(z != NULL);
    CHECK_EQ((uintptr_t)z & 8191, 0);
    miura_free(z);
    errno = 0;
    CHECK(miura_aligned_alloc(24, 10) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(miura_aligned_alloc(0, 10) == NULL);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(mm_test_reports, 0);
    CHECK(all_returned());
}

TEST(double_free_is_reported_not_corrupting)
{
    struct heap_stats before, after;
    void *a, *b, *c, *big;

    setup();
    a = miura_malloc(64);
    b = miura_malloc(64);
    big = miura_malloc(3 * 4096);
    miura_free(a);
    heap_stats(&before);
    miura_free(a);
    CHECK_EQ(mm_test_reports, 1);
    heap_stats(&after);
    CHECK_EQ(after.double_frees, before.double_frees + 1);
    CHECK_EQ(after.live_allocations, before.live_allocations);
    CHECK_EQ(after.bytes_in_use, before.bytes_in_use);
    /* the freed slot is handed out once, not twice */
    a = miura_malloc(64);
    c = miura_malloc(64);
    CHECK(a != c && a != b && c != b);

    miura_free(big);
    miura_free(big); /* large double free */
    CHECK_EQ(mm_test_reports, 2);
    heap_stats(&after);
    CHECK_EQ(after.double_frees, before.double_frees + 2);
    CHECK(miura_realloc(big, 10) == NULL); /* realloc of freed memory */
    CHECK_EQ(mm_test_reports, 3);
    miura_free(a);
    miura_free(b);
    miura_free(c);
    CHECK_EQ(mm_test_reports, 3);
    CHECK(all_returned());
}

TEST(foreign_pointers_are_reported_not_corrupting)
{
    struct heap_stats before, after;
    char *a, *slot16, *large;
    int local;
    void *sys = malloc(32);
    void *raw_pages;

    setup();
    a = miura_malloc(100);
    slot16 = miura_malloc(16);
    large = miura_malloc(5 * 4096);
    raw_pages = page_alloc(2); /* someone else's pages */
    heap_stats(&before);

    miura_free(&local);           /* stack */
    miura_free(sys);              /* the system heap */
    miura_free(a + 8);            /* interior */
    miura_free(a + 1);            /* interior, unaligned */
    miura_free(large + 4096);     /* interior page of a large block */
    miura_free(large + 16);       /* interior of its first page */
    miura_free(raw_pages);        /* page_alloc'ed, not the heap's */
    miura_free(heap_mem);         /* the page allocator's metadata */
    miura_free(heap_mem + 12345); /* unaligned, metadata */
    CHECK_EQ(mm_test_reports, 9);
    miura_free((char *)((uintptr_t)slot16 & ~(uintptr_t)4095)); /* the slab header */
    CHECK_EQ(mm_test_reports, 10);
    miura_free(slot16 + 16); /* the next slot: free (never handed out) */
    CHECK_EQ(mm_test_reports, 11);
    CHECK_EQ(heap_usable_size(a + 8), 0);
    CHECK_EQ(mm_test_reports, 12);

    heap_stats(&after);
    CHECK_EQ(after.invalid_frees + after.double_frees,
             before.invalid_frees + before.double_frees + 12);
    CHECK_EQ(after.live_allocations, before.live_allocations);
    CHECK_EQ(after.bytes_in_use, before.bytes_in_use);
    CHECK_EQ(heap_usable_size(a), 112);
    miura_free(a);
    miura_free(slot16);
    miura_free(large);
    page_free(raw_pages, 2);
    free(sys);
    CHECK_EQ(mm_test_reports, 12);
    CHECK(all_returned());
}

TEST(out_of_memory_returns_null_enomem)
{
    void **ptrs;
    size_t n = 0, cap = 64 * MiB / 512 + 1000;
    struct heap_stats st;

    setup();
    errno = 0;
    CHECK(miura_malloc(SIZE_MAX) == NULL);
    CHECK_EQ(errno, ENOMEM);
    errno = 0;
    CHECK(miura_malloc(128 * MiB) == NULL);
    CHECK_EQ(errno, ENOMEM);
    errno = 0;
    CHECK(miura_aligned_alloc(1UL << 40, 10) == NULL);
    CHECK_EQ(errno, ENOMEM);

    ptrs = calloc(cap, sizeof(*ptrs));
    errno = 0;
    while (n < cap && (ptrs[n] = miura_malloc(n % 2 ? 512 : 3000)) != NULL)
        n++;
    CHECK(n < cap);
    CHECK_EQ(errno, ENOMEM);
    CHECK(page_free_count() < 2);
    heap_stats(&st);
    CHECK(st.failed_allocations >= 4);
    CHECK_EQ(st.live_allocations, n);
    for (size_t i = 0; i < n; i++)
        miura_free(ptrs[i]);
    free(ptrs);
    CHECK_EQ(mm_test_reports, 0);
    CHECK(all_returned());
    void *again = miura_malloc(100); /* works again */
    CHECK(again != NULL);
    miura_free(again);
    CHECK(all_returned());
}

/* With only single free pages left (every other page held), a class whose
 * slab is normally 8 pages long still gets a shorter slab. */
TEST(fragmented_memory_still_serves_every_class)
{
    size_t cap = heap_mem_size / 4096, n = 0;
    void **pages = calloc(cap, sizeof(*pages));

    setup();
    while (n < cap && (pages[n] = page_alloc(1)) != NULL)
        n++;
    for (size_t i = 0; i < n; i += 2)
        page_free(pages[i], 1);
    CHECK(page_alloc(2) == NULL); /* nothing contiguous is left */
    void *big = miura_malloc(2048), *mid = miura_malloc(1500), *small = miura_malloc(100);
    CHECK(big != NULL && mid != NULL && small != NULL);
    fill(big, 2048, 1);
    fill(mid, 1500, 2);
    fill(small, 100, 3);
    CHECK(intact(big, 2048, 1) && intact(mid, 1500, 2) && intact(small, 100, 3));
    miura_free(big);
    miura_free(mid);
    miura_free(small);
    for (size_t i = 1; i < n; i += 2)
        page_free(pages[i], 1);
    free(pages);
    CHECK_EQ(mm_test_reports, 0);
    CHECK(all_returned());
}

TEST(remote_frees)
{
    void *p[600];
    struct heap_stats st;

    setup();
    CHECK(all_returned());
    for (int i = 0; i < 600; i++) {
        p[i] = miura_malloc(i % 3 == 0 ? 32 : i % 3 == 1 ? 700 : 9000);
        fill(p[i], 32, (unsigned)i);
    }
    mm_test_cpu = 1;
    for (int i = 0; i < 600; i += 2)
        miura_free(p[i]);
    heap_stats(&st);
    CHECK_EQ(st.live_allocations, 300);
    CHECK_EQ(st.remote_frees, 200); /* the 9000-byte blocks are pages, not slots */
    /* a second free of a pending slot, remote or local, is a double free */
    miura_free(p[0]);
    CHECK_EQ(mm_test_reports, 1);
    mm_test_cpu = 0;
    miura_free(p[0]);
    CHECK_EQ(mm_test_reports, 2);
    mm_test_cpu = 2;
    for (int i = 1; i < 600; i += 2) {
        CHECK(intact(p[i], 32, (unsigned)i));
        miura_free(p[i]);
    }
    mm_test_cpu = 0;
    heap_stats(&st);
    CHECK_EQ(st.live_allocations, 0);
    CHECK(st.pages_held > 0); /* CPU 0 has not taken its slots back yet */
    heap_reclaim();
    CHECK_EQ(mm_test_reports, 2);
    CHECK(all_returned());
}

/* ---- random stress: ~100k operations on 4 fake CPUs */

struct live {
    unsigned char *p;
    size_t size;
    unsigned seed;
};

static size_t random_size(void)
{
    switch (rng() % 16) {
    case 0:
        return rng() % 65536;
    case 1:
        return rng() % 8 == 0 ? rng() % (512 * 1024) : rng() % 8192;
    default:
        return rng() % 2049;
    }
}

TEST(random_stress)
{
    enum { SLOTS = 3000, OPS = 100000 };
    static struct live live[SLOTS];
    struct heap_stats st;
    unsigned seed = 1;

    setup();
    heap_stats(&st);
    size_t double_frees_before = st.double_frees;
    memset(live, 0, sizeof(live));
    for (int op = 0; op < OPS; op++) {
        struct live *l = &live[rng() % SLOTS];
        mm_test_cpu = (unsigned)(rng() % NCPUS);
        if (l->p == NULL) {
            size_t size = random_size();
            l->p = rng() % 8 == 0 ? miura_aligned_alloc((size_t)1 << (rng() % 14), size)
                                  : miura_malloc(size);
            if (l->p == NULL) {
                heap_stats(&st);
                test_fail(__FILE__, __LINE__,
                          "op %d: malloc(%zu) failed; %zu bytes in use, %zu pages held, %zu free",
                          op, size, st.bytes_in_use, st.pages_held, page_free_count());
                return;
            }
            l->size = size;
            l->seed = seed++;
            fill(l->p, size, l->seed);
        } else if (rng() % 4 == 0) {
            size_t size = random_size(), keep = size < l->size ? size : l->size;
            unsigned char *q = miura_realloc(l->p, size);
            if (size == 0) {
                CHECK(q == NULL);
                l->p = NULL;
                continue;
            }
            CHECK(q != NULL);
            CHECK(intact(q, keep, l->seed));
            l->p = q;
            l->size = size;
            l->seed = seed++;
            fill(q, size, l->seed);
        } else {
            CHECK(intact(l->p, l->size, l->seed));
            miura_free(l->p);
            l->p = NULL;
        }
        if (op % 20000 == 0)
            CHECK_EQ(page_check(), 0);
    }
    for (int i = 0; i < SLOTS; i++) {
        if (live[i].p != NULL) {
            CHECK(intact(live[i].p, live[i].size, live[i].seed));
            mm_test_cpu = (unsigned)(rng() % NCPUS);
            miura_free(live[i].p);
        }
    }
    heap_stats(&st);
    CHECK(st.remote_frees > 10000);
    CHECK_EQ(st.double_frees, double_frees_before);
    CHECK_EQ(mm_test_reports, 0);
    CHECK(all_returned());
}

/* ---- two real threads freeing each other's blocks */

enum { HANDOFF = 20000 };
static void *handoff[2][HANDOFF];
static int handoff_count[2];
static pthread_mutex_t handoff_lock = PTHREAD_MUTEX_INITIALIZER;
static int handoff_failed; /* set by a thread that gives up, so the other stops waiting */

static void *thread_main(void *arg)
{
    int me = (int)(intptr_t)arg, other = 1 - me, given = 0, taken = 0;

    mm_test_cpu = (unsigned)me;
    while ((given < HANDOFF || taken < HANDOFF) &&
           !__atomic_load_n(&handoff_failed, __ATOMIC_RELAXED)) {
        if (given < HANDOFF) {
            void *p = miura_malloc(16 + (size_t)(given % 40) * 48);
            if (p == NULL) {
                __atomic_store_n(&handoff_failed, 1, __ATOMIC_RELAXED);
                return (void *)1;
            }
            memset(p, me + 1, 16);
            pthread_mutex_lock(&handoff_lock);
            handoff[other][handoff_count[other]++] = p;
            pthread_mutex_unlock(&handoff_lock);
            given++;
        }
        void *q = NULL;
        pthread_mutex_lock(&handoff_lock);
        if (taken < handoff_count[me])
            q = handoff[me][taken++];
        pthread_mutex_unlock(&handoff_lock);
        if (q != NULL) {
            if (((unsigned char *)q)[15] != other + 1) {
                __atomic_store_n(&handoff_failed, 1, __ATOMIC_RELAXED);
                return (void *)2;
            }
            miura_free(q);
        }
    }
    heap_trim();
    return NULL;
}

TEST(two_threads_remote_frees)
{
    pthread_t t[2];
    void *r[2];

    setup();
    CHECK(all_returned());
    handoff_count[0] = handoff_count[1] = 0;
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, thread_main, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(t[i], &r[i]) == 0);
    CHECK(r[0] == NULL && r[1] == NULL);
    CHECK_EQ(mm_test_reports, 0);
    CHECK(all_returned());
}
