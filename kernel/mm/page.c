/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The buddy page allocator (see page.h for the contract).
 *
 * A region is [base, base + npages pages). Its first meta_pages pages hold a
 * struct page_region (free lists) and desc[npages]. A free block of order k
 * is 2^k pages whose first page's physical frame number is a multiple of
 * 2^k; its head page is PAGE_FREE_HEAD and sits on the region's list for k,
 * its other pages are PAGE_FREE. Buddies merge as soon as both are free, so
 * no two free buddies of the same order ever coexist.
 *
 * Descriptors are set up lazily, so that boot does not pay O(RAM): a region
 * starts with its first PAGE_GROW_MIN pages ready (on the free lists); the
 * rest [ready, npages) is free but not yet described, and is made ready (all
 * of it) when an allocation first finds no block, or by page_prepare().
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/mm_port.h"
#include "mm/page.h"
#include "miura/miura.h"

#define PAGE_NONE     UINT32_MAX
#define PAGE_GROW_MIN 1024u /* pages ready when a region is added (4 MiB) */

struct page_region {
    struct page_region *next; /* regions sorted by base */
    uint64_t base_pfn;        /* frame number of desc[0] (the header's page) */
    uint32_t npages;          /* pages described, metadata included */
    uint32_t meta_pages;      /* desc[0 .. meta_pages) are PAGE_RESERVED */
    uint32_t ready;           /* desc[0 .. ready) are valid; the rest is free, undescribed */
    uint32_t nonempty;        /* bit k set: free_head[k] is not PAGE_NONE */
    uint32_t free_head[PAGE_MAX_ORDER + 1];
    uint32_t free_tail[PAGE_MAX_ORDER + 1];
    struct page_desc desc[];
};

static struct page_region *regions; /* published with release, read with acquire */
static size_t free_pages;
static size_t total_pages;
static size_t min_free_pages; /* low-water mark since the last region was added */

static unsigned floor_log2(uint64_t x)
{
    return 63u - (unsigned)__builtin_clzll(x);
}

static unsigned ceil_log2(uint64_t x)
{
    return x <= 1 ? 0 : floor_log2(x - 1) + 1;
}

static void *page_address(const struct page_region *r, uint32_t idx)
{
    return (void *)(uintptr_t)((r->base_pfn + idx) << PAGE_SHIFT);
}

/* ---- free lists */

static void free_list_push(struct page_region *r, uint32_t idx, unsigned order)
{
    struct page_desc *d = &r->desc[idx];
    uint32_t head = r->free_head[order];

    d->state = PAGE_FREE_HEAD;
    d->order = (uint8_t)order;
    if (head == PAGE_NONE) {
        d->u.free.prev = d->u.free.next = PAGE_NONE;
        r->free_head[order] = r->free_tail[order] = idx;
    } else if (idx < head) {
        /* Blocks below the head go in front, others at the back: allocation
         * takes from the front, so it keeps to low addresses and leaves the
         * high ones to coalesce into big blocks. */
        d->u.free.prev = PAGE_NONE;
        d->u.free.next = head;
        r->desc[head].u.free.prev = idx;
        r->free_head[order] = idx;
    } else {
        uint32_t tail = r->free_tail[order];
        d->u.free.next = PAGE_NONE;
        d->u.free.prev = tail;
        r->desc[tail].u.free.next = idx;
        r->free_tail[order] = idx;
    }
    r->nonempty |= 1u << order;
}

/* Takes the free block headed by idx off its list; its head becomes PAGE_FREE. */
static void free_list_remove(struct page_region *r, uint32_t idx)
{
    struct page_desc *d = &r->desc[idx];
    unsigned order = d->order;

    if (d->u.free.prev != PAGE_NONE)
        r->desc[d->u.free.prev].u.free.next = d->u.free.next;
    else
        r->free_head[order] = d->u.free.next;
    if (d->u.free.next != PAGE_NONE)
        r->desc[d->u.free.next].u.free.prev = d->u.free.prev;
    else
        r->free_tail[order] = d->u.free.prev;
    if (r->free_head[order] == PAGE_NONE)
        r->nonempty &= ~(1u << order);
    d->state = PAGE_FREE;
}

/* ---- blocks */

/* Frees the aligned block [idx, idx + 2^order), whose pages are already
 * PAGE_FREE, merging it with its buddies. */
static void free_block(struct page_region *r, uint32_t idx, unsigned order)
{
    while (order < PAGE_MAX_ORDER) {
        uint64_t pfn = r->base_pfn + idx;
        uint64_t buddy_pfn = pfn ^ (1ULL << order);
        uint64_t buddy;

        if (buddy_pfn < r->base_pfn)
            break;
        buddy = buddy_pfn - r->base_pfn;
        if (buddy + (1ULL << order) > r->ready)
            break;
        if (r->desc[buddy].state != PAGE_FREE_HEAD || r->desc[buddy].order != order)
            break;
        free_list_remove(r, (uint32_t)buddy);
        if (buddy < idx)
            idx = (uint32_t)buddy;
        order++;
    }
    free_list_push(r, idx, order);
}

/* Frees [idx, idx + count) as the largest aligned blocks that fit. */
static void free_range(struct page_region *r, uint32_t idx, uint64_t count)
{
    for (uint64_t i = 0; i < count; i++)
        r->desc[idx + i].state = PAGE_FREE;
    while (count > 0) {
        uint64_t pfn = r->base_pfn + idx;
        unsigned order = floor_log2(count);
        if (pfn != 0 && (unsigned)__builtin_ctzll(pfn) < order)
            order = (unsigned)__builtin_ctzll(pfn);
        if (order > PAGE_MAX_ORDER)
            order = PAGE_MAX_ORDER;
        free_block(r, idx, order);
        idx += 1u << order;
        count -= 1ULL << order;
    }
}

/* ---- regions */

static struct page_region *region_of(uint64_t addr)
{
    uint64_t pfn = addr >> PAGE_SHIFT;

    for (struct page_region *r = __atomic_load_n(&regions, __ATOMIC_ACQUIRE); r != NULL;
         r = r->next) {
        if (pfn < r->base_pfn)
            return NULL; /* sorted: no later region can hold it */
        if (pfn - r->base_pfn < r->npages)
            return r;
    }
    return NULL;
}

static int overlaps_existing(uint64_t first_pfn, uint64_t end_pfn)
{
    for (struct page_region *r = regions; r != NULL; r = r->next) {
        if (first_pfn < r->base_pfn + r->npages && r->base_pfn < end_pfn)
            return 1;
    }
    return 0;
}

static void insert_sorted(struct page_region *nr)
{
    struct page_region **link = &regions;

    while (*link != NULL && (*link)->base_pfn < nr->base_pfn)
        link = &(*link)->next;
    nr->next = *link;
    /* Release: page_desc_of on other CPUs sees a fully built region. */
    __atomic_store_n(link, nr, __ATOMIC_RELEASE);
}

void page_add_region(uint64_t base, uint64_t len)
{
    uint64_t end = len > UINT64_MAX - base ? UINT64_MAX : base + len;
    uint64_t first_pfn, end_pfn, npages, meta_bytes, meta_pages;
    struct page_region *r;

    if (base > UINT64_MAX - (PAGE_SIZE - 1))
        return; /* not even one whole page above base */
    first_pfn = (base + PAGE_SIZE - 1) >> PAGE_SHIFT;
    end_pfn = end >> PAGE_SHIFT;
    if (first_pfn == 0)
        first_pfn = 1; /* page 0 would be the NULL pointer */
    if (end_pfn > ((uint64_t)UINTPTR_MAX >> PAGE_SHIFT))
        end_pfn = (uint64_t)UINTPTR_MAX >> PAGE_SHIFT;
    if (end_pfn <= first_pfn)
        return;
    npages = end_pfn - first_pfn;
    if (npages > UINT32_MAX - 1) {
        mm_report("page: region at %#llx of %llu pages cut to %u pages", (unsigned long long)base,
                  (unsigned long long)npages, UINT32_MAX - 1);
        npages = UINT32_MAX - 1;
        end_pfn = first_pfn + npages;
    }
    meta_bytes = sizeof(struct page_region) + npages * sizeof(struct page_desc);
    meta_pages = (meta_bytes + PAGE_SIZE - 1) >> PAGE_SHIFT;
    if (npages <= meta_pages)
        return; /* too small to be worth its metadata */

    mm_lock();
    if (overlaps_existing(first_pfn, end_pfn)) {
        mm_unlock();
        mm_report("page: region [%#llx, %#llx) overlaps a region already added; ignored",
                  (unsigned long long)base, (unsigned long long)end);
        return;
    }
    r = (struct page_region *)(uintptr_t)(first_pfn << PAGE_SHIFT);
    r->next = NULL;
    r->base_pfn = first_pfn;
    r->npages = (uint32_t)npages;
    r->meta_pages = (uint32_t)meta_pages;
    r->nonempty = 0;
    r->ready =
        (uint32_t)(npages - meta_pages > PAGE_GROW_MIN ? meta_pages + PAGE_GROW_MIN : npages);
    for (unsigned k = 0; k <= PAGE_MAX_ORDER; k++)
        r->free_head[k] = r->free_tail[k] = PAGE_NONE;
    for (uint64_t i = 0; i < meta_pages; i++) {
        r->desc[i] = (struct page_desc){.state = PAGE_RESERVED};
    }
    for (uint64_t i = meta_pages; i < r->ready; i++)
        r->desc[i] = (struct page_desc){.state = PAGE_FREE};
    free_range(r, (uint32_t)meta_pages, r->ready - meta_pages);
    free_pages += npages - meta_pages;
    total_pages += npages - meta_pages;
    min_free_pages = free_pages;
    insert_sorted(r);
    mm_unlock();
}

/* ---- allocation */

/* Finds the region with the smallest free block of order >= order. */
static struct page_region *find_block(unsigned order, unsigned *found)
{
    struct page_region *best = NULL;
    unsigned best_order = PAGE_MAX_ORDER + 1;

    for (struct page_region *r = regions; r != NULL; r = r->next) {
        uint32_t mask = r->nonempty & ~((1u << order) - 1);
        if (mask != 0 && (unsigned)__builtin_ctz(mask) < best_order) {
            best_order = (unsigned)__builtin_ctz(mask);
            best = r;
            if (best_order == order)
                break;
        }
    }
    *found = best_order;
    return best;
}

/* Describes the rest of region r and puts it on the free lists. */
static void make_ready(struct page_region *r)
{
    uint32_t first = r->ready;
    uint64_t add = r->npages - first;
    for (uint64_t i = first; i < first + add; i++)
        r->desc[i] = (struct page_desc){.state = PAGE_FREE};
    __atomic_store_n(&r->ready, r->npages, __ATOMIC_RELEASE);
    free_range(r, first, add);
}

/* Makes the first region that is not fully ready ready (all of it at once,
 * so block placement is what it would have been). False if none is left. */
static bool grow(void)
{
    for (struct page_region *r = regions; r != NULL; r = r->next) {
        if (r->ready < r->npages) {
            make_ready(r);
            return true;
        }
    }
    return false;
}

void page_prepare(void)
{
    mm_lock();
    while (grow())
        ;
    mm_unlock();
}

void *page_alloc_aligned(size_t npages, size_t align)
{
    unsigned order, found;
    struct page_region *r;
    uint32_t idx;

    if (npages == 0 || align < PAGE_SIZE || (align & (align - 1)) != 0)
        return NULL;
    if (npages > (1ULL << PAGE_MAX_ORDER))
        return NULL;
    order = ceil_log2(npages);
    if (floor_log2(align) - PAGE_SHIFT > order)
        order = floor_log2(align) - PAGE_SHIFT;
    if (order > PAGE_MAX_ORDER)
        return NULL;

    mm_lock();
    while ((r = find_block(order, &found)) == NULL) {
        if (!grow()) {
            mm_unlock();
            return NULL;
        }
    }
    idx = r->free_head[found];
    free_list_remove(r, idx);
    while (found > order) { /* split: the upper halves go back to the lists */
        found--;
        free_list_push(r, idx + (1u << found), found);
    }
    for (size_t i = 0; i < npages; i++)
        r->desc[idx + i] = (struct page_desc){.state = PAGE_ALLOCATED};
    if (npages < (1ULL << order)) /* the block's tail was not asked for */
        free_range(r, idx + (uint32_t)npages, (1ULL << order) - npages);
    free_pages -= npages;
    if (free_pages < min_free_pages)
        min_free_pages = free_pages;
    mm_unlock();
    return page_address(r, idx);
}

void *page_alloc(size_t npages)
{
    return page_alloc_aligned(npages, PAGE_SIZE);
}

void page_free(void *p, size_t npages)
{
    uint64_t addr = (uintptr_t)p;
    struct page_region *r;
    uint64_t idx;

    if (npages == 0)
        return;
    if ((addr & (PAGE_SIZE - 1)) != 0) {
        mm_report("page_free(%p, %zu): not page-aligned; ignored", p, npages);
        return;
    }
    mm_lock();
    r = region_of(addr);
    idx = r != NULL ? (addr >> PAGE_SHIFT) - r->base_pfn : 0;
    if (r == NULL || idx < r->meta_pages || idx >= r->ready || npages > r->ready - idx) {
        mm_unlock();
        mm_report("page_free(%p, %zu): not in managed memory; ignored", p, npages);
        return;
    }
    for (size_t i = 0; i < npages; i++) {
        if (r->desc[idx + i].state != PAGE_ALLOCATED) {
            mm_unlock();
            mm_report("page_free(%p, %zu): page %p is not allocated (double free?); ignored", p,
                      npages, page_address(r, (uint32_t)(idx + i)));
            return;
        }
    }
    free_range(r, (uint32_t)idx, npages);
    free_pages += npages;
    mm_unlock();
}

size_t page_free_count(void)
{
    size_t n;

    mm_lock();
    n = free_pages;
    mm_unlock();
    return n;
}

size_t page_total_count(void)
{
    size_t n;

    mm_lock();
    n = total_pages;
    mm_unlock();
    return n;
}

struct page_desc *page_desc_of(const void *p)
{
    /* A free page not made ready yet. Zero is PAGE_FREE; it is never
     * written (owners write only the descriptors of allocated pages), so
     * every CPU may share it. */
    static struct page_desc undescribed;
    uint64_t addr = (uintptr_t)p;
    struct page_region *r = region_of(addr);
    uint64_t idx;

    if (r == NULL)
        return NULL;
    idx = (addr >> PAGE_SHIFT) - r->base_pfn;
    if (idx < r->meta_pages)
        return NULL;
    if (idx >= __atomic_load_n(&r->ready, __ATOMIC_ACQUIRE))
        return &undescribed;
    return &r->desc[idx];
}

/* ---- inspection */

void miura_mem_info(struct miura_mem_info *m)
{
    mm_lock();
    m->total_bytes = (uint64_t)total_pages * PAGE_SIZE;
    m->free_bytes = (uint64_t)free_pages * PAGE_SIZE;
    m->min_free_bytes = (uint64_t)min_free_pages * PAGE_SIZE;
    mm_unlock();
}

void page_stats(struct page_stats *out)
{
    *out = (struct page_stats){0};
    mm_lock();
    out->free_pages = free_pages;
    out->total_pages = total_pages;
    out->min_free_pages = min_free_pages;
    for (struct page_region *r = regions; r != NULL; r = r->next) {
        out->regions++;
        for (unsigned k = 0; k <= PAGE_MAX_ORDER; k++) {
            for (uint32_t i = r->free_head[k]; i != PAGE_NONE; i = r->desc[i].u.free.next)
                out->free_blocks[k]++;
        }
    }
    mm_unlock();
}

static int check_region(struct page_region *r, size_t *free_seen)
{
    size_t heads[PAGE_MAX_ORDER + 1] = {0};
    uint64_t i = 0;

    for (; i < r->meta_pages; i++) {
        if (r->desc[i].state != PAGE_RESERVED)
            goto bad;
    }
    while (i < r->ready) {
        struct page_desc *d = &r->desc[i];
        unsigned k = d->order;
        if (d->state == PAGE_ALLOCATED) {
            i++;
            continue;
        }
        if (d->state != PAGE_FREE_HEAD || k > PAGE_MAX_ORDER)
            goto bad;
        uint64_t pfn = r->base_pfn + i, buddy = (pfn ^ (1ULL << k)) - r->base_pfn;
        if ((pfn & ((1ULL << k) - 1)) != 0 || i + (1ULL << k) > r->ready)
            goto bad;
        if (k < PAGE_MAX_ORDER && (pfn ^ (1ULL << k)) >= r->base_pfn &&
            buddy + (1ULL << k) <= r->ready && r->desc[buddy].state == PAGE_FREE_HEAD &&
            r->desc[buddy].order == k)
            goto bad; /* two free buddies: not coalesced */
        for (uint64_t j = 1; j < (1ULL << k); j++) {
            if (r->desc[i + j].state != PAGE_FREE)
                goto bad;
        }
        heads[k]++;
        *free_seen += 1ULL << k;
        i += 1ULL << k;
    }
    for (unsigned k = 0; k <= PAGE_MAX_ORDER; k++) {
        size_t n = 0;
        uint32_t prev = PAGE_NONE;
        for (uint32_t j = r->free_head[k]; j != PAGE_NONE; j = r->desc[j].u.free.next) {
            if (j >= r->npages || r->desc[j].state != PAGE_FREE_HEAD || r->desc[j].order != k ||
                r->desc[j].u.free.prev != prev || ++n > heads[k])
                goto bad_list;
            prev = j;
        }
        if (n != heads[k] || prev != r->free_tail[k] || ((r->nonempty >> k) & 1) != (n != 0))
            goto bad_list;
    }
    *free_seen += r->npages - r->ready; /* free, not described yet */
    return 0;
bad:
    mm_report("page_check: region %#llx: bad page %llu (state %u order %u)",
              (unsigned long long)(r->base_pfn << PAGE_SHIFT), (unsigned long long)i,
              r->desc[i].state, r->desc[i].order);
    return -1;
bad_list:
    mm_report("page_check: region %#llx: free lists disagree with the pages",
              (unsigned long long)(r->base_pfn << PAGE_SHIFT));
    return -1;
}

int page_check(void)
{
    size_t free_seen = 0;
    int rc = 0;

    mm_lock();
    for (struct page_region *r = regions; r != NULL && rc == 0; r = r->next)
        rc = check_region(r, &free_seen);
    if (rc == 0 && free_seen != free_pages) {
        mm_report("page_check: %zu pages free in blocks, counter says %zu", free_seen, free_pages);
        rc = -1;
    }
    mm_unlock();
    return rc;
}

#ifdef MIURA_HOST_TEST
void page_reset(void)
{
    mm_lock();
    regions = NULL;
    free_pages = 0;
    total_pages = 0;
    min_free_pages = 0;
    mm_unlock();
}
#endif
