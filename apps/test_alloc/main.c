/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Memory unit stress in a real guest. Prints what it measured; the host
 * (tests/e2e/alloc.sh) checks that every byte came back, that misuse was
 * reported and survived, and that exhaustion gave NULL.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "miura/miura.h"
#include "mm/heap.h"
#include "mm/page.h"

#define SLOTS 4096
#define OPS   200000

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static size_t random_size(void)
{
    uint64_t r = next_random();
    switch (r % 16) {
    case 0:
        return 2049 + (r >> 8) % (256 * 1024); /* large: straight from pages */
    case 1:
    case 2:
        return 257 + (r >> 8) % 1792;
    default:
        return 1 + (r >> 8) % 256;
    }
}

static void *slot[SLOTS];
static size_t slot_size[SLOTS];

static uint8_t pattern(size_t i, size_t k)
{
    return (uint8_t)(i * 31 + k * 7 + 1);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct heap_stats hs, hs0;
    heap_stats(&hs0); /* the running threads' own allocations */
    size_t pages_before = page_free_count();
    unsigned corrupt = 0, allocs = 0, frees = 0;

    for (unsigned op = 0; op < OPS; op++) {
        size_t i = next_random() % SLOTS;
        if (slot[i]) {
            for (size_t k = 0; k < slot_size[i]; k += 61)
                if (((uint8_t *)slot[i])[k] != pattern(i, k))
                    corrupt++;
            if (next_random() % 4 == 0) { /* grow or shrink, keeping the prefix */
                size_t n = random_size();
                uint8_t *p = realloc(slot[i], n);
                if (!p) {
                    printf("realloc failed\n");
                    return 1;
                }
                size_t keep = n < slot_size[i] ? n : slot_size[i];
                for (size_t k = 0; k < keep; k += 61)
                    if (p[k] != pattern(i, k))
                        corrupt++;
                for (size_t k = 0; k < n; k++)
                    p[k] = pattern(i, k);
                slot[i] = p;
                slot_size[i] = n;
                continue;
            }
            free(slot[i]);
            slot[i] = NULL;
            frees++;
        } else {
            size_t n = random_size();
            uint8_t *p = (next_random() % 8) ? malloc(n) : calloc(1, n);
            if (!p || ((uintptr_t)p & 15)) {
                printf("bad allocation %p of %zu\n", (void *)p, n);
                return 1;
            }
            for (size_t k = 0; k < n; k++)
                p[k] = pattern(i, k);
            slot[i] = p;
            slot_size[i] = n;
            allocs++;
        }
    }
    for (size_t i = 0; i < SLOTS; i++)
        free(slot[i]);
    heap_trim();
    heap_stats(&hs);
    printf("stress: %u allocations, %u frees, %u corrupt bytes\n", allocs, frees, corrupt);
    printf("stress: heap grew by %ld pages, %ld bytes in use, %ld live\n",
           (long)(hs.pages_held - hs0.pages_held), (long)(hs.bytes_in_use - hs0.bytes_in_use),
           (long)(hs.live_allocations - hs0.live_allocations));
    printf("stress: free pages before %zu after %zu\n", pages_before, page_free_count());

    /* aligned_alloc honours its alignment. */
    int misaligned = 0;
    for (size_t a = 16; a <= 65536; a *= 2) {
        void *p = aligned_alloc(a, a * 3);
        if (!p || ((uintptr_t)p & (a - 1)))
            misaligned++;
        free(p);
    }
    printf("aligned_alloc: %d misaligned\n", misaligned);

    /* Misuse is reported and changes nothing. */
    char *p = malloc(40);
    free(p);
    free(p); /* double free */
    static char not_heap[64];
    free(not_heap); /* foreign pointer */
    char *q = malloc(100);
    free(q + 8); /* interior pointer */
    free(q);
    heap_stats(&hs);
    printf("misuse: %zu double frees, %zu invalid frees reported\n", hs.double_frees,
           hs.invalid_frees);

    /* Exhaustion: NULL with ENOMEM, and everything comes back afterwards. */
    heap_trim(); /* cached empty slabs back first, so the counts compare */
    size_t before = page_free_count();
    void *chunks[4096];
    unsigned n = 0;
    errno = 0;
    while (n < 4096 && (chunks[n] = malloc(1 << 20)) != NULL)
        n++;
    int oom_errno = errno;
    unsigned n_max = n;
    void *big = malloc((size_t)1 << 40);
    while (n > 0)
        free(chunks[--n]);
    heap_trim();
    size_t after = page_free_count();
    printf("oom: %u MiB allocated, last malloc NULL with errno %d, huge malloc %s\n", n_max,
           oom_errno, big ? "non-NULL" : "NULL");
    printf("oom: free pages before %zu after %zu\n", before, after);

    /* Every free page can be had one by one, the RAM below the image (under
     * 1 MiB) included, never page 0 or a page of the image; each is written
     * (it is mapped read-write) and chained through its first word. */
    extern char __image_start[], __image_end[];
    uintptr_t lowest = UINTPTR_MAX, in_image = 0;
    size_t got = 0, free_now = page_free_count();
    void *chain = NULL;
    for (void *pg; (pg = page_alloc(1)) != NULL; got++) {
        uintptr_t a = (uintptr_t)pg;
        if (a < lowest)
            lowest = a;
        if (a < 4096 || (a >= (uintptr_t)__image_start && a < (uintptr_t)__image_end))
            in_image++;
        memset(pg, 0xa5, 4096);
        *(void **)pg = chain;
        chain = pg;
    }
    while (chain) {
        void *next = *(void **)chain;
        page_free(chain, 1);
        chain = next;
    }
    printf("pages: %zu of %zu free pages handed out one by one, lowest %#lx, %lu in page 0 or "
           "the image\n",
           got, free_now, (unsigned long)lowest, (unsigned long)in_image);
    printf("test_alloc: done\n");
    return 0;
}
