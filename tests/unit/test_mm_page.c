/* SPDX-License-Identifier: BSD-2-Clause */
/* kernel/mm/page.c: the buddy allocator over host memory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "miura/miura.h"
#include "mm/page.h"
#include "mm_shim.h"
#include "test.h"

#define MiB (1024UL * 1024)

static uint64_t rng_state = 0x853c49e6748fea9bULL;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A fresh allocator over one region of `size` bytes; returns its base. */
static char *fresh(size_t size)
{
    static char *mem;
    static size_t mem_size;

    page_reset();
    if (mem != NULL)
        munmap(mem, mem_size);
    mem = mm_test_memory(size);
    mem_size = size;
    page_add_region((uintptr_t)mem, size);
    page_prepare(); /* a canonical state to compare against */
    return mem;
}

/* The same state: min_free_pages is history (a low-water mark), not state. */
static int same_stats(const struct page_stats *a, const struct page_stats *b)
{
    struct page_stats x = *a, y = *b;
    x.min_free_pages = y.min_free_pages = 0;
    return memcmp(&x, &y, sizeof(x)) == 0;
}

TEST(region_setup)
{
    char *mem = fresh(16 * MiB);
    struct page_stats st;
    size_t total = page_total_count();

    /* 4096 pages, minus the header and 4096 * 16 bytes of descriptors */
    CHECK(total >= 4096 - 18 && total < 4096);
    CHECK_EQ(page_free_count(), total);
    CHECK_EQ(page_check(), 0);
    page_stats(&st);
    CHECK_EQ(st.regions, 1);
    CHECK_EQ(st.free_pages, total);
    CHECK(page_desc_of(mem) == NULL); /* metadata */
    CHECK(page_desc_of(mem + 16 * MiB) == NULL);
    CHECK(page_desc_of(mem - 1) == NULL);
    CHECK(page_desc_of(mem + 16 * MiB - 1) != NULL);
    /* the last page is inside the region's biggest free block, not its head */
    CHECK_EQ(page_desc_of(mem + 16 * MiB - 1)->state, PAGE_FREE);
}

TEST(alloc_free_restores_initial_state)
{
    char *mem = fresh(16 * MiB);
    struct page_stats initial, now;
    void *ptrs[400];
    size_t sizes[400];

    page_stats(&initial);
    for (int round = 0; round < 20; round++) {
        int n = 0;
        for (; n < 400; n++) {
            sizes[n] = 1 + rng() % (rng() % 4 == 0 ? 200 : 8);
            ptrs[n] = page_alloc(sizes[n]);
            if (ptrs[n] == NULL)
                break;
            CHECK(((uintptr_t)ptrs[n] & 4095) == 0);
            CHECK((char *)ptrs[n] >= mem && (char *)ptrs[n] + sizes[n] * 4096 <= mem + 16 * MiB);
            struct page_desc *d = page_desc_of(ptrs[n]);
            CHECK(d != NULL && d->state == PAGE_ALLOCATED && d->tag == 0 && d->u.owner == NULL);
            memset(ptrs[n], n & 0xff, sizes[n] * 4096); /* we own all of it */
            d->tag = 7;                                 /* the owner's fields are ours */
        }
        CHECK_EQ(page_check(), 0);
        /* free in random order, some in pieces */
        for (int i = n - 1; i > 0; i--) {
            int j = (int)(rng() % (uint64_t)(i + 1));
            void *tp = ptrs[i];
            size_t ts = sizes[i];
            ptrs[i] = ptrs[j], sizes[i] = sizes[j];
            ptrs[j] = tp, sizes[j] = ts;
        }
        for (int i = 0; i < n; i++) {
            unsigned char *p = ptrs[i];
            CHECK(p[0] == p[sizes[i] * 4096 - 1]); /* nobody else wrote here */
            if (sizes[i] >= 3 && rng() % 2) {
                size_t cut = 1 + rng() % (sizes[i] - 2);
                page_free(p + cut * 4096, sizes[i] - cut);
                page_free(p, cut);
            } else {
                page_free(p, sizes[i]);
            }
        }
        CHECK_EQ(page_check(), 0);
        page_stats(&now);
        CHECK(same_stats(&now, &initial));
    }
    CHECK_EQ(mm_test_reports, 0);
}

TEST(low_water_mark)
{
    fresh(16 * MiB);
    struct page_stats st;
    size_t free0 = page_free_count();
    page_stats(&st);
    CHECK_EQ(st.min_free_pages, free0);
    void *a = page_alloc(10), *b = page_alloc(3);
    CHECK(a && b);
    page_free(a, 10);
    void *c = page_alloc(5); /* fewer than the 13 held at the lowest point */
    page_stats(&st);
    CHECK_EQ(st.min_free_pages, free0 - 13);
    page_free(b, 3);
    page_free(c, 5);
    page_stats(&st);
    CHECK_EQ(st.free_pages, free0);
    CHECK_EQ(st.min_free_pages, free0 - 13);
    struct miura_mem_info m;
    miura_mem_info(&m);
    CHECK_EQ(m.free_bytes, (uint64_t)free0 * 4096);
    CHECK_EQ(m.min_free_bytes, (uint64_t)(free0 - 13) * 4096);
    CHECK_EQ(m.total_bytes, (uint64_t)page_total_count() * 4096);
}

TEST(alignment)
{
    fresh(64 * MiB);
    static const size_t aligns[] = {4096, 8192, 65536, 2 * MiB, 16 * MiB};
    struct page_stats initial, now;
    void *p[5][3];

    page_stats(&initial);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 5; i++) {
            size_t npages = round == 0 ? 1 : round == 1 ? 3 : 17;
            p[i][round] = page_alloc_aligned(npages, aligns[i]);
            CHECK(p[i][round] != NULL);
            CHECK_EQ((uintptr_t)p[i][round] & (aligns[i] - 1), 0);
        }
    }
    CHECK(page_alloc_aligned(1, 0) == NULL);
    CHECK(page_alloc_aligned(1, 2048) == NULL);
    CHECK(page_alloc_aligned(1, 4096 + 4096 / 2) == NULL);
    CHECK(page_alloc_aligned(1, (size_t)1 << 63) == NULL);
    CHECK(page_alloc_aligned(0, 4096) == NULL);
    CHECK_EQ(page_check(), 0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 5; i++)
            page_free(p[i][round], round == 0 ? 1 : round == 1 ? 3 : 17);
    }
    page_stats(&now);
    CHECK(same_stats(&now, &initial));
    CHECK_EQ(mm_test_reports, 0);
}

TEST(bad_frees_are_reported_and_ignored)
{
    char *mem = fresh(16 * MiB);
    struct page_stats before, after;
    char *a = page_alloc(4), *b;
    int reports = mm_test_reports;
    static char outside[3 * 4096];

    CHECK(a != NULL);
    page_stats(&before);

    page_free(a + 4096, 1); /* a sub-range: fine */
    CHECK_EQ(mm_test_reports, reports);
    CHECK_EQ(page_free_count(), before.free_pages + 1);
    page_free(a + 4096, 1); /* again: double free */
    CHECK_EQ(mm_test_reports, reports + 1);
    page_free(a, 4); /* overlaps the freed page: whole call ignored */
    CHECK_EQ(mm_test_reports, reports + 2);
    CHECK_EQ(page_free_count(), before.free_pages + 1);
    page_free(a + 8, 1); /* unaligned */
    CHECK_EQ(mm_test_reports, reports + 3);
    page_free((void *)(((uintptr_t)outside + 4095) & ~(uintptr_t)4095), 1); /* not ours */
    CHECK_EQ(mm_test_reports, reports + 4);
    page_free(mem, 1); /* metadata */
    CHECK_EQ(mm_test_reports, reports + 5);
    page_free(mem + 16 * MiB - 4096, 2); /* runs past the region */
    CHECK_EQ(mm_test_reports, reports + 6);
    page_free(mem + 16 * MiB - 4096, 1); /* a free page */
    CHECK_EQ(mm_test_reports, reports + 7);
    page_free(NULL, 1);
    CHECK_EQ(mm_test_reports, reports + 8);
    page_free(a, 0); /* nothing */
    CHECK_EQ(mm_test_reports, reports + 8);
    CHECK_EQ(page_check(), 0);

    page_free(a, 1);
    page_free(a + 2 * 4096, 2);
    CHECK_EQ(mm_test_reports, reports + 8);
    page_stats(&after);
    CHECK_EQ(after.free_pages, before.free_pages + 4);
    b = page_alloc(4); /* the same four pages come back whole */
    CHECK(b == a);
    page_free(b, 4);
    CHECK_EQ(page_check(), 0);
    mm_test_reports = 0;
}

TEST(out_of_memory)
{
    fresh(4 * MiB);
    size_t total = page_total_count(), n = 0;
    struct page_stats initial, now;
    void **all = calloc(total + 1, sizeof(void *));

    page_stats(&initial);
    CHECK(page_alloc(total + 1) == NULL);
    CHECK(page_alloc((size_t)1 << 40) == NULL);
    CHECK(page_alloc(SIZE_MAX) == NULL);
    while ((all[n] = page_alloc(1)) != NULL) {
        n++;
        CHECK(n <= total);
    }
    CHECK_EQ(n, total);
    CHECK_EQ(page_free_count(), 0);
    CHECK(page_alloc(1) == NULL);
    CHECK_EQ(page_check(), 0);
    for (size_t i = 0; i < n; i += 2)
        page_free(all[i], 1);
    for (size_t i = 1; i < n; i += 2)
        page_free(all[i], 1);
    page_stats(&now);
    CHECK(same_stats(&now, &initial));
    free(all);
    CHECK_EQ(mm_test_reports, 0);
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return (x > y) - (x < y);
}

TEST(unsorted_odd_regions)
{
    char *mem;
    struct {
        size_t off, len;
    } parts[] = {
        {40 * MiB + 123, 3 * MiB - 777}, /* odd base and length */
        {2 * MiB, 8 * MiB},
        {20 * MiB, 0},        /* empty */
        {30 * MiB, 4096},     /* too small for its metadata */
        {12 * MiB + 5, 4096}, /* less than one whole page */
        {16 * MiB, 1 * MiB},  /* small */
        {8 * MiB, 4 * MiB},   /* overlaps the second: reported, ignored */
        {50 * MiB, 6 * MiB + 4095},
    };
    size_t nparts = sizeof(parts) / sizeof(parts[0]);
    uintptr_t *got;
    size_t total, n = 0;
    struct page_stats st;

    page_reset();
    mem = mm_test_memory(64 * MiB);
    mm_test_reports = 0;
    for (size_t i = 0; i < nparts; i++)
        page_add_region((uintptr_t)mem + parts[i].off, parts[i].len);
    CHECK_EQ(mm_test_reports, 1); /* the overlap */
    mm_test_reports = 0;
    page_stats(&st);
    CHECK_EQ(st.regions, 4);
    CHECK_EQ(page_check(), 0);
    total = page_total_count();
    /* whole pages given: 767 + 2048 + 256 + 1536 = 4607, less some metadata */
    CHECK(total > 4607 - 30 && total < 4607);

    got = calloc(total + 1, sizeof(*got));
    while ((got[n] = (uintptr_t)page_alloc(1)) != 0)
        n++;
    CHECK_EQ(n, total);
    qsort(got, n, sizeof(*got), cmp_ptr);
    for (size_t i = 0; i < n; i++) {
        int inside = 0;
        CHECK(i == 0 || got[i] != got[i - 1]);
        for (size_t j = 0; j < nparts; j++) {
            uintptr_t lo = (uintptr_t)mem + parts[j].off, hi = lo + parts[j].len;
            if (j == 6)
                continue; /* the ignored overlap */
            inside |= got[i] >= lo && got[i] + 4096 <= hi;
        }
        CHECK(inside);
    }
    for (size_t i = 0; i < n; i++)
        page_free((void *)got[i], 1);
    CHECK_EQ(page_free_count(), total);
    CHECK_EQ(page_check(), 0);
    free(got);
    munmap(mem, 64 * MiB);
    page_reset();
}

TEST(large_sparse_region)
{
    /* 4 GiB of address space (not touched beyond the 16 MiB of descriptors):
     * high orders, a 1 GiB aligned allocation, and exact restoration. */
    size_t size = 4096 * MiB;
    char *mem = mm_test_memory(size);
    struct page_stats initial, now;
    void *big, *huge;

    page_reset();
    page_add_region((uintptr_t)mem, size);
    page_prepare();
    page_stats(&initial);
    CHECK(page_total_count() > 1048576 - 4200);
    big = page_alloc_aligned(262144, 1024 * MiB);
    CHECK(big != NULL);
    CHECK_EQ((uintptr_t)big & (1024 * MiB - 1), 0);
    huge = page_alloc(500000);
    CHECK(huge != NULL);
    CHECK(page_alloc(600000) == NULL);
    page_free(big, 262144);
    page_free((char *)huge + 4096 * 250000, 250000);
    page_free(huge, 250000);
    page_stats(&now);
    CHECK(same_stats(&now, &initial));
    CHECK_EQ(page_check(), 0);
    munmap(mem, size);
    page_reset();
    CHECK_EQ(mm_test_reports, 0);
}

/* Random allocations (with alignments) and random partial frees against a
 * model that records which pages are handed out: no page is ever handed out
 * twice, every page freed was handed out, the counts agree, and with all
 * pages back the free lists are the initial ones. */
TEST(random_against_model)
{
    enum { LIVE = 300 };
    size_t size = 32 * MiB, npages_region = size / 4096;
    char *mem = fresh(size);
    unsigned char *owned = calloc(npages_region, 1);
    struct {
        char *p;
        size_t n;
    } live[LIVE] = {{0}};
    struct page_stats initial, now;
    size_t out = 0, allocations = 0, max_out = 0;

    page_stats(&initial);
    for (int op = 0; op < 60000; op++) {
        int i = (int)(rng() % LIVE);
        if (live[i].p == NULL) {
            size_t n = 1 + rng() % (rng() % 8 == 0 ? 600 : 6);
            size_t align = (size_t)4096 << (rng() % 4 == 0 ? rng() % 10 : 0);
            char *p = page_alloc_aligned(n, align);
            if (p == NULL)
                continue; /* full or fragmented: fine, the model says nothing */
            CHECK_EQ((uintptr_t)p & (align - 1), 0);
            CHECK(p >= mem && p + n * 4096 <= mem + size);
            for (size_t k = 0; k < n; k++) {
                CHECK(!owned[(size_t)(p - mem) / 4096 + k]);
                owned[(size_t)(p - mem) / 4096 + k] = 1;
            }
            live[i].p = p;
            live[i].n = n;
            out += n;
            allocations++;
            if (out > max_out)
                max_out = out;
        } else {
            /* free a random piece: the head, the tail, or all of it */
            size_t cut = live[i].n > 1 ? rng() % live[i].n : 0;
            char *p = live[i].p;
            size_t n = live[i].n;
            if (cut == 0) {
                live[i].p = NULL;
            } else if (rng() % 2) { /* free the head [0, cut) */
                n = cut;
                live[i].p += cut * 4096;
                live[i].n -= cut;
            } else { /* free the tail [cut, n) */
                p += cut * 4096;
                n -= cut;
                live[i].n = cut;
            }
            for (size_t k = 0; k < n; k++)
                owned[(size_t)(p - mem) / 4096 + k] = 0;
            page_free(p, n);
            out -= n;
        }
        CHECK_EQ(page_free_count() + out, page_total_count());
        if (op % 5000 == 0)
            CHECK_EQ(page_check(), 0);
    }
    CHECK(allocations > 15000);
    CHECK(max_out > npages_region / 2); /* the region was well used */
    for (int i = 0; i < LIVE; i++) {
        if (live[i].p != NULL)
            page_free(live[i].p, live[i].n);
    }
    CHECK_EQ(mm_test_reports, 0);
    CHECK_EQ(page_check(), 0);
    page_stats(&now);
    CHECK(same_stats(&now, &initial));
    free(owned);
}

/* The largest guest the design names: 64 GiB (address space only; the
 * 256 MiB of descriptors are the only memory written). */
TEST(sixty_four_gib)
{
    size_t size = (size_t)64 << 30;
    char *mem = mm_test_memory(size);
    struct page_stats initial, now;
    void *half, *page;

    page_reset();
    page_add_region((uintptr_t)mem, size);
    page_prepare();
    page_stats(&initial);
    CHECK(page_total_count() > (size / 4096) * 99 / 100);
    CHECK(page_total_count() < size / 4096);
    half = page_alloc((size_t)1 << 23); /* 32 GiB */
    CHECK(half != NULL);
    CHECK_EQ((uintptr_t)half & (((size_t)32 << 30) - 1), 0);
    page = page_alloc(1);
    CHECK(page != NULL);
    CHECK(page_desc_of(page)->state == PAGE_ALLOCATED);
    page_free(half, (size_t)1 << 23);
    page_free(page, 1);
    page_stats(&now);
    CHECK(same_stats(&now, &initial));
    munmap(mem, size);
    page_reset();
    CHECK_EQ(mm_test_reports, 0);
}

TEST(hostile_region_arguments)
{
    struct page_stats st;

    page_reset();
    mm_test_reports = 0;
    /* none of these leaves a whole page beyond its metadata, so none may
     * touch memory (they would crash here) */
    page_add_region(UINT64_MAX, 1);
    page_add_region(UINT64_MAX, UINT64_MAX);
    page_add_region(UINT64_MAX - 4096, UINT64_MAX);
    page_add_region(UINT64_MAX - 2 * 4096 + 1, 2 * 4096); /* one page below 2^64 */
    page_add_region(0, 4096);                             /* page 0 only: never used */
    page_add_region(0, 0);
    page_add_region(4095, 4097);
    page_add_region(4097, 8190);
    page_stats(&st);
    CHECK_EQ(st.regions, 0);
    CHECK_EQ(page_total_count(), 0);
    CHECK(page_alloc(1) == NULL);
    CHECK(page_desc_of((void *)4096) == NULL);
    CHECK_EQ(page_check(), 0);
    CHECK_EQ(mm_test_reports, 0);
}

/* A region starts with 4 MiB described; the rest is described when first
 * needed. Everything is still allocatable, and the accounting holds. */
TEST(lazy_descriptors)
{
    size_t size = 64 * MiB;
    char *mem = mm_test_memory(size);
    struct page_stats before, after;

    page_reset();
    page_add_region((uintptr_t)mem, size);
    size_t total = page_total_count();
    CHECK(total > 16000);
    CHECK_EQ(page_free_count(), total);
    CHECK_EQ(page_check(), 0);
    page_stats(&before);
    size_t listed = 0;
    for (unsigned k = 0; k <= PAGE_MAX_ORDER; k++)
        listed += before.free_blocks[k] << k;
    CHECK(listed <= 1024); /* only the first 4 MiB on the free lists */

    /* Taking every page one by one forces the rest to be described. */
    void **all = calloc(total, sizeof(void *));
    for (size_t i = 0; i < total; i++) {
        all[i] = page_alloc(1);
        CHECK(all[i] != NULL);
    }
    CHECK(page_alloc(1) == NULL);
    CHECK_EQ(page_free_count(), 0);
    CHECK(page_desc_of(all[total - 1]) != NULL);
    for (size_t i = 0; i < total; i++)
        page_free(all[i], 1);
    CHECK_EQ(page_free_count(), total);
    CHECK_EQ(page_check(), 0);
    page_stats(&after);
    free(all);
    /* Fully coalesced: the same blocks as the region described at once. */
    struct page_stats canonical;
    page_reset();
    page_add_region((uintptr_t)mem, size);
    page_prepare();
    page_stats(&canonical);
    CHECK(same_stats(&after, &canonical));
    munmap(mem, size);
    page_reset();
    CHECK_EQ(mm_test_reports, 0);
}
