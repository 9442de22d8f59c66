/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The per-CPU slab heap (see heap.h).
 *
 * Page descriptors tie addresses to the heap: every page of a slab has tag
 * HEAP_TAG_SLAB and owner = its slab header; the first page of a large block
 * has tag HEAP_TAG_LARGE and word = its page count (its other pages keep tag
 * 0, so pointers into them are foreign). A slab's alloc bitmap is written
 * only by its owner CPU; pending marks slots another CPU has pushed on the
 * owner's remote-free list and not yet been taken back, or that the owner
 * is freeing right now, and is changed with atomic read-modify-write by
 * every CPU: every free claims it first (slot_claim).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/inbox.h"
#include "lib/libc_name.h"
#include "mm/heap.h"
#include "mm/mm_port.h"
#include "mm/page.h"

#define HEAP_TAG_SLAB  1
#define HEAP_TAG_LARGE 2
#define SLAB_MAGIC     0x51ab51abu
#define SLAB_HEADER    128 /* bytes reserved for struct slab */
#define SLAB_MAX_SLOTS 256
#define SLAB_MAX_PAGES 8

static const uint16_t class_size[] = {16,  32,  48,  64,   80,   96,   112,  128,
                                      160, 192, 224, 256,  320,  384,  448,  512,
                                      640, 768, 896, 1024, 1280, 1536, 1792, 2048};
#define NCLASSES (sizeof(class_size) / sizeof(class_size[0]))

enum slab_list { SLAB_ON_NONE, SLAB_ON_PARTIAL, SLAB_ON_EMPTY };

struct slab {
    struct slab *next, *prev; /* the class cache's partial list */
    uint32_t magic;
    uint16_t cpu;                          /* owner */
    uint8_t cls;                           /* size class index */
    uint8_t pages;                         /* slab length in pages */
    uint16_t size;                         /* slot size */
    uint16_t first;                        /* offset of slot 0 from the header */
    uint16_t nslots;                       /* slots in the slab */
    uint16_t nfree;                        /* slots with their alloc bit clear */
    uint8_t list;                          /* enum slab_list */
    uint32_t reciprocal;                   /* ceil(2^32 / size): slot index without a division */
    uint64_t alloc[SLAB_MAX_SLOTS / 64];   /* 1 = handed out; owner writes */
    uint64_t pending[SLAB_MAX_SLOTS / 64]; /* 1 = pushed on the remote-free list */
};
_Static_assert(sizeof(struct slab) <= SLAB_HEADER, "slab header too big");

struct class_cache {
    struct slab *partial; /* slabs with some slots free and some in use */
    struct slab *empty;   /* at most one slab with every slot free */
};

/* One CPU's heap. Counters are written only by their CPU (relaxed atomics,
 * so heap_stats may read them from anywhere); they are signed because a
 * large block can be freed on another CPU than the one that allocated it. */
struct heap_cpu {
    struct class_cache cache[NCLASSES];
    struct inbox remote; /* slots freed by other CPUs (overlaid by the node) */
    int64_t bytes, live, pages;
    int64_t double_frees, invalid_frees, remote_frees, failed;
} __attribute__((aligned(64)));

static struct heap_cpu heap_cpus[MIURA_MAX_CPUS];

#define STAT_ADD(hc, field, delta)                                                            \
    __atomic_store_n(&(hc)->field, __atomic_load_n(&(hc)->field, __ATOMIC_RELAXED) + (delta), \
                     __ATOMIC_RELAXED)

static struct heap_cpu *my_heap(void)
{
    unsigned cpu = mm_cpu_id();

    if (cpu >= MIURA_MAX_CPUS) {
        mm_report("heap: cpu id %u out of range", cpu);
        cpu = 0;
    }
    return &heap_cpus[cpu];
}

static unsigned size_class(size_t size)
{
    unsigned c;

    if (size <= 128)
        return size <= 16 ? 0 : (unsigned)((size + 15) / 16 - 1);
    for (c = 8; class_size[c] < size; c++)
        ;
    return c;
}

/* ---- slabs */

static void partial_push(struct class_cache *cc, struct slab *s)
{
    s->prev = NULL;
    s->next = cc->partial;
    if (cc->partial != NULL)
        cc->partial->prev = s;
    cc->partial = s;
    s->list = SLAB_ON_PARTIAL;
}

static void partial_remove(struct class_cache *cc, struct slab *s)
{
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        cc->partial = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
    s->list = SLAB_ON_NONE;
}

static struct slab *slab_create(struct heap_cpu *hc, unsigned cls)
{
    unsigned size = class_size[cls], align = size & -size, first, pages, nslots;
    struct slab *s;

    /* Slots are aligned to the largest power of two dividing the size, so
     * the power-of-two classes also serve aligned_alloc. */
    first = (SLAB_HEADER + align - 1) & ~(align - 1);
    for (pages = 1; pages < SLAB_MAX_PAGES && (pages * PAGE_SIZE - first) / size < 8; pages *= 2)
        ;
    /* When memory is fragmented and no block that long is free, a shorter
     * slab (down to one slot) still serves the allocation. */
    while ((s = page_alloc(pages)) == NULL) {
        if (pages == 1 || (pages / 2 * PAGE_SIZE - first) / size < 1)
            return NULL;
        pages /= 2;
    }
    nslots = (unsigned)((pages * PAGE_SIZE - first) / size);
    if (nslots > SLAB_MAX_SLOTS)
        nslots = SLAB_MAX_SLOTS;
    *s = (struct slab){.magic = SLAB_MAGIC,
                       .cpu = (uint16_t)(hc - heap_cpus),
                       .cls = (uint8_t)cls,
                       .pages = (uint8_t)pages,
                       .size = (uint16_t)size,
                       .first = (uint16_t)first,
                       .nslots = (uint16_t)nslots,
                       .nfree = (uint16_t)nslots,
                       .reciprocal = (uint32_t)((((uint64_t)1 << 32) + size - 1) / size)};
    for (unsigned i = 0; i < pages; i++) {
        struct page_desc *d = page_desc_of((char *)s + i * PAGE_SIZE);
        d->u.owner = s;
        d->tag = HEAP_TAG_SLAB;
    }
    STAT_ADD(hc, pages, pages);
    return s;
}

static void slab_release(struct heap_cpu *hc, struct slab *s)
{
    unsigned pages = s->pages;

    for (unsigned i = 0; i < pages; i++) {
        struct page_desc *d = page_desc_of((char *)s + i * PAGE_SIZE);
        d->u.owner = NULL;
        d->tag = 0;
    }
    s->magic = 0;
    page_free(s, pages);
    STAT_ADD(hc, pages, -(int64_t)pages);
}

/* Bookkeeping after a slot of s (owned by hc) became free. An empty slab
 * stays on the partial list while it is the class's only one there (so a
 * malloc/free pair does not cycle pages); otherwise it becomes the class's
 * cached empty slab, or goes back to the page allocator. */
static void slot_freed(struct heap_cpu *hc, struct slab *s)
{
    struct class_cache *cc = &hc->cache[s->cls];

    s->nfree++;
    if (s->nfree == 1 && s->nslots > 1) { /* was full */
        partial_push(cc, s);
        return;
    }
    if (s->nfree < s->nslots)
        return;
    if (s->list == SLAB_ON_PARTIAL) {
        if (cc->partial == s && s->next == NULL)
            return;
        partial_remove(cc, s);
    }
    if (cc->empty == NULL) {
        cc->empty = s;
        s->list = SLAB_ON_EMPTY;
    } else {
        slab_release(hc, s);
    }
}

/* offset / s->size for offsets within a slab (< 2^15): with sizes below
 * 2^12 the rounding error of the reciprocal stays under 2^-17, far below
 * the 1/size gap to the next integer, so the quotient is exact. */
static unsigned slot_index(const struct slab *s, uintptr_t offset)
{
    return (unsigned)(((uint64_t)offset * s->reciprocal) >> 32);
}

static int slot_bit_set(const uint64_t *map, unsigned idx)
{
    return (__atomic_load_n(&map[idx / 64], __ATOMIC_ACQUIRE) >> (idx % 64)) & 1;
}

static void report_freed(struct heap_cpu *hc, const char *op, const void *p, const void *caller)
{
    mm_report("%s(%p): memory already freed (double free?), caller %p", op, p, caller);
    STAT_ADD(hc, double_frees, 1);
}

/* Takes back what other CPUs freed for hc. */
static void remote_drain(struct heap_cpu *hc)
{
    struct inbox_node *node;

    if (inbox_is_empty(&hc->remote))
        return;
    /* The order of the batch does not matter: each slot is taken on its own. */
    node = inbox_take_all(&hc->remote);
    while (node != NULL) {
        struct inbox_node *next = node->next;
        struct slab *s = page_desc_of(node)->u.owner;
        unsigned idx = slot_index(s, (uintptr_t)((char *)node - ((char *)s + s->first)));
        uint64_t bit = 1ULL << (idx % 64);

        if (!slot_bit_set(s->alloc, idx)) { /* cannot be: every free claims first */
            report_freed(hc, "free", node, NULL);
        } else {
            __atomic_store_n(&s->alloc[idx / 64], s->alloc[idx / 64] & ~bit, __ATOMIC_RELAXED);
            /* Release: a later free of this slot on another CPU that sees
             * pending clear also sees alloc clear (and reports it). */
            __atomic_fetch_and(&s->pending[idx / 64], ~bit, __ATOMIC_RELEASE);
            slot_freed(hc, s);
        }
        node = next;
    }
}

/* ---- allocation */

static void *fail_enomem(struct heap_cpu *hc)
{
    STAT_ADD(hc, failed, 1);
    errno = ENOMEM;
    return NULL;
}

/* Slow path: a slab with a free slot for cls, or NULL. */
static struct slab *refill(struct heap_cpu *hc, unsigned cls)
{
    struct class_cache *cc = &hc->cache[cls];
    struct slab *s;

    remote_drain(hc);
    if (cc->partial != NULL)
        return cc->partial;
    s = cc->empty;
    if (s != NULL)
        cc->empty = NULL;
    else
        s = slab_create(hc, cls);
    if (s != NULL)
        partial_push(cc, s);
    return s;
}

static void *slab_alloc(unsigned cls)
{
    struct heap_cpu *hc = my_heap();
    struct class_cache *cc = &hc->cache[cls];
    struct slab *s = cc->partial;
    unsigned w = 0, idx;

    if (s == NULL) {
        s = refill(hc, cls);
        if (s == NULL)
            return fail_enomem(hc);
    }
    while (s->alloc[w] == UINT64_MAX)
        w++;
    idx = w * 64 + (unsigned)__builtin_ctzll(~s->alloc[w]);
    /* Relaxed: only this CPU writes alloc; remote readers need no order here. */
    __atomic_store_n(&s->alloc[w], s->alloc[w] | (1ULL << (idx % 64)), __ATOMIC_RELAXED);
    s->nfree--;
    if (s->nfree == 0)
        partial_remove(cc, s);
    STAT_ADD(hc, bytes, s->size);
    STAT_ADD(hc, live, 1);
    return (char *)s + s->first + (size_t)idx * s->size;
}

static void *large_alloc(size_t size, size_t align)
{
    struct heap_cpu *hc = my_heap();
    size_t npages;
    void *p;

    if (size > SIZE_MAX - (PAGE_SIZE - 1) || (size + PAGE_SIZE - 1) / PAGE_SIZE > UINT32_MAX)
        return fail_enomem(hc);
    npages = size == 0 ? 1 : (size + PAGE_SIZE - 1) / PAGE_SIZE; /* aligned_alloc(8192, 0) */
    p = page_alloc_aligned(npages, align < PAGE_SIZE ? PAGE_SIZE : align);
    if (p == NULL)
        return fail_enomem(hc);
    struct page_desc *d = page_desc_of(p);
    d->word = (uint32_t)npages;
    __atomic_store_n(&d->tag, HEAP_TAG_LARGE, __ATOMIC_RELEASE);
    STAT_ADD(hc, bytes, (int64_t)(npages * PAGE_SIZE));
    STAT_ADD(hc, live, 1);
    STAT_ADD(hc, pages, (int64_t)npages);
    return p;
}

void *LIBC_NAME(malloc)(size_t size)
{
    if (size > HEAP_MAX_SMALL)
        return large_alloc(size, PAGE_SIZE);
    return slab_alloc(size_class(size));
}

void *LIBC_NAME(calloc)(size_t nmemb, size_t size)
{
    size_t total;
    void *p;

    if (__builtin_mul_overflow(nmemb, size, &total))
        return fail_enomem(my_heap());
    p = LIBC_NAME(malloc)(total);
    if (p != NULL)
        memset(p, 0, total);
    return p;
}

void *LIBC_NAME(aligned_alloc)(size_t alignment, size_t size)
{
    unsigned cls;

    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        errno = EINVAL;
        return NULL;
    }
    if (alignment <= 16)
        return LIBC_NAME(malloc)(size);
    if (size > HEAP_MAX_SMALL || alignment > HEAP_MAX_SMALL)
        return large_alloc(size, alignment);
    /* A class whose slots are aligned enough: size a multiple of alignment
     * (the power-of-two classes always qualify). */
    for (cls = size_class(size < alignment ? alignment : size);
         (class_size[cls] & (alignment - 1)) != 0; cls++)
        ;
    return slab_alloc(cls);
}

/* ---- free */

/* What a pointer is, as far as the heap can tell. */
struct block {
    struct page_desc *desc;
    struct slab *slab; /* NULL for a large block */
    unsigned idx;      /* slot index */
    size_t size;       /* usable bytes */
};

enum lookup_result { BLOCK_OK, BLOCK_FOREIGN, BLOCK_FREED };

/* Finds the heap block p starts. Liveness of slab slots is checked by the
 * caller (it depends on which CPU asks). */
static enum lookup_result lookup(const void *p, struct block *b)
{
    struct page_desc *d = page_desc_of(p);
    struct slab *s;
    uintptr_t offset;

    if (d == NULL)
        return BLOCK_FOREIGN;
    b->desc = d;
    if (d->state == PAGE_FREE || d->state == PAGE_FREE_HEAD)
        return BLOCK_FREED; /* a heap block whose pages went back, or never heap memory */
    if (d->state != PAGE_ALLOCATED)
        return BLOCK_FOREIGN;
    switch (__atomic_load_n(&d->tag, __ATOMIC_ACQUIRE)) {
    case HEAP_TAG_LARGE:
        if (((uintptr_t)p & (PAGE_SIZE - 1)) != 0)
            return BLOCK_FOREIGN;
        b->slab = NULL;
        b->size = (size_t)d->word * PAGE_SIZE;
        return BLOCK_OK;
    case HEAP_TAG_SLAB:
        s = d->u.owner;
        if (s == NULL || s->magic != SLAB_MAGIC)
            return BLOCK_FOREIGN;
        if ((uintptr_t)p < (uintptr_t)s + s->first)
            return BLOCK_FOREIGN; /* the slab header */
        offset = (uintptr_t)p - ((uintptr_t)s + s->first);
        if (offset >= (uintptr_t)s->pages * PAGE_SIZE)
            return BLOCK_FOREIGN;
        b->idx = slot_index(s, offset);
        if ((uintptr_t)b->idx * s->size != offset || b->idx >= s->nslots)
            return BLOCK_FOREIGN; /* an interior pointer, or the slab's unused tail */
        b->slab = s;
        b->size = s->size;
        return BLOCK_OK;
    default:
        return BLOCK_FOREIGN;
    }
}

/* Reports a lookup failure of operation `op` on p; returns NULL. */
static void *report_bad(struct heap_cpu *hc, const char *op, const void *p, enum lookup_result r,
                        const void *caller)
{
    if (r == BLOCK_FREED) {
        report_freed(hc, op, p, caller);
    } else {
        mm_report("%s(%p): not a pointer from malloc, caller %p", op, p, caller);
        STAT_ADD(hc, invalid_frees, 1);
    }
    return NULL;
}

static int slot_live(const struct block *b)
{
    return slot_bit_set(b->slab->alloc, b->idx) && !slot_bit_set(b->slab->pending, b->idx);
}

/* Claims slot idx of s for a free: sets its pending bit, so that a second
 * free of it (on any CPU) finds the bit set. 0 when it was set already
 * (pushed by another CPU, or being freed there) or the slot is free. */
static int slot_claim(struct slab *s, unsigned idx)
{
    uint64_t bit = 1ULL << (idx % 64);

    if (__atomic_fetch_or(&s->pending[idx / 64], bit, __ATOMIC_ACQ_REL) & bit)
        return 0;
    if (slot_bit_set(s->alloc, idx))
        return 1;
    __atomic_fetch_and(&s->pending[idx / 64], ~bit, __ATOMIC_RELEASE);
    return 0;
}

static void free_large(struct heap_cpu *hc, void *p, struct block *b, const void *caller)
{
    size_t npages = b->desc->word;

    /* Exchange: of two racing frees of one block only one gets the tag. */
    if (__atomic_exchange_n(&b->desc->tag, 0, __ATOMIC_ACQ_REL) != HEAP_TAG_LARGE) {
        report_bad(hc, "free", p, BLOCK_FREED, caller);
        return;
    }
    STAT_ADD(hc, bytes, -(int64_t)(npages * PAGE_SIZE));
    STAT_ADD(hc, live, -1);
    STAT_ADD(hc, pages, -(int64_t)npages);
    page_free(p, npages);
}

static void free_remote(struct heap_cpu *hc, void *p, struct block *b, const void *caller)
{
    struct slab *s = b->slab;
    struct heap_cpu *owner = &heap_cpus[s->cpu];

    if (!slot_claim(s, b->idx)) {
        report_bad(hc, "free", p, BLOCK_FREED, caller);
        return;
    }
    STAT_ADD(hc, bytes, -(int64_t)b->size);
    STAT_ADD(hc, live, -1);
    STAT_ADD(hc, remote_frees, 1);
    /* The slot's first bytes become the node; the owner's take sees them.
     * Nothing of s may be touched after the push: the owner can take the
     * slot back, release the emptied slab and reuse its pages at once. */
    inbox_push(&owner->remote, p);
}

/* The owner claims the slot for the time it frees it, as free_remote
 * does: of a free here and one on another CPU at once, exactly one gets
 * the slot and the other is reported (without the claim both could pass
 * their checks, and the remote-free list would hold a slot the owner may
 * already have handed out again). Two uncontended atomics per free. */
static void free_local(struct heap_cpu *hc, void *p, struct block *b, const void *caller)
{
    struct slab *s = b->slab;
    uint64_t bit = 1ULL << (b->idx % 64);
    int emptied;

    if (!slot_claim(s, b->idx)) {
        report_bad(hc, "free", p, BLOCK_FREED, caller);
        return;
    }
    emptied = s->nfree + 1 == s->nslots; /* s may be released by slot_freed */

    __atomic_store_n(&s->alloc[b->idx / 64], s->alloc[b->idx / 64] & ~bit, __ATOMIC_RELAXED);
    /* release: a free that claims it next sees alloc clear */
    __atomic_fetch_and(&s->pending[b->idx / 64], ~bit, __ATOMIC_RELEASE);
    STAT_ADD(hc, bytes, -(int64_t)s->size);
    STAT_ADD(hc, live, -1);
    slot_freed(hc, s);
    if (emptied) /* a slab emptied: a good moment to take back remote frees */
        remote_drain(hc);
}

static void heap_free(void *p, const void *caller)
{
    struct heap_cpu *hc;
    struct block b;
    enum lookup_result r;

    if (p == NULL)
        return;
    hc = my_heap();
    r = lookup(p, &b);
    if (r != BLOCK_OK)
        report_bad(hc, "free", p, r, caller);
    else if (b.slab == NULL)
        free_large(hc, p, &b, caller);
    else if (b.slab->cpu != hc - heap_cpus)
        free_remote(hc, p, &b, caller);
    else
        free_local(hc, p, &b, caller);
}

void LIBC_NAME(free)(void *p)
{
    heap_free(p, __builtin_return_address(0));
}

void *LIBC_NAME(realloc)(void *p, size_t size)
{
    const void *caller = __builtin_return_address(0);
    struct heap_cpu *hc;
    struct block b;
    enum lookup_result r;
    void *n;

    if (p == NULL)
        return LIBC_NAME(malloc)(size);
    if (size == 0) { /* frees and returns NULL, as glibc does */
        heap_free(p, caller);
        return NULL;
    }
    hc = my_heap();
    r = lookup(p, &b);
    if (r == BLOCK_OK && b.slab != NULL && !slot_live(&b))
        r = BLOCK_FREED;
    if (r != BLOCK_OK) {
        errno = EINVAL;
        return report_bad(hc, "realloc", p, r, caller);
    }
    if (b.slab == NULL && size > HEAP_MAX_SMALL && size <= b.size) {
        /* A large block shrinks in place by giving back its tail pages. */
        size_t keep = (size + PAGE_SIZE - 1) / PAGE_SIZE, npages = b.desc->word;
        if (keep < npages) {
            b.desc->word = (uint32_t)keep;
            page_free((char *)p + keep * PAGE_SIZE, npages - keep);
            STAT_ADD(hc, bytes, -(int64_t)((npages - keep) * PAGE_SIZE));
            STAT_ADD(hc, pages, -(int64_t)(npages - keep));
        }
        return p;
    }
    if (b.slab != NULL && size <= b.size && size > b.size / 2)
        return p; /* still the right class, near enough */
    n = LIBC_NAME(malloc)(size);
    if (n == NULL)
        return NULL; /* p is untouched */
    memcpy(n, p, size < b.size ? size : b.size);
    heap_free(p, caller);
    return n;
}

size_t heap_usable_size(const void *p)
{
    struct block b;
    enum lookup_result r = lookup(p, &b);

    if (r == BLOCK_OK && b.slab != NULL && !slot_live(&b))
        r = BLOCK_FREED;
    if (r != BLOCK_OK) {
        report_bad(my_heap(), "heap_usable_size", p, r, __builtin_return_address(0));
        return 0;
    }
    return b.size;
}

/* ---- maintenance and statistics */

void heap_reclaim(void)
{
    remote_drain(my_heap());
}

void heap_trim(void)
{
    struct heap_cpu *hc = my_heap();

    remote_drain(hc);
    for (unsigned c = 0; c < NCLASSES; c++) {
        struct class_cache *cc = &hc->cache[c];
        struct slab *s = cc->partial, *next;
        for (; s != NULL; s = next) {
            next = s->next;
            if (s->nfree == s->nslots) {
                partial_remove(cc, s);
                slab_release(hc, s);
            }
        }
        s = cc->empty;
        if (s != NULL) {
            cc->empty = NULL;
            slab_release(hc, s);
        }
    }
}

void heap_stats(struct heap_stats *out)
{
    int64_t bytes = 0, live = 0, pages = 0, dfree = 0, invalid = 0, remote = 0, failed = 0;

    for (unsigned i = 0; i < MIURA_MAX_CPUS; i++) {
        struct heap_cpu *hc = &heap_cpus[i];
        bytes += __atomic_load_n(&hc->bytes, __ATOMIC_RELAXED);
        live += __atomic_load_n(&hc->live, __ATOMIC_RELAXED);
        pages += __atomic_load_n(&hc->pages, __ATOMIC_RELAXED);
        dfree += __atomic_load_n(&hc->double_frees, __ATOMIC_RELAXED);
        invalid += __atomic_load_n(&hc->invalid_frees, __ATOMIC_RELAXED);
        remote += __atomic_load_n(&hc->remote_frees, __ATOMIC_RELAXED);
        failed += __atomic_load_n(&hc->failed, __ATOMIC_RELAXED);
    }
    out->bytes_in_use = (size_t)bytes;
    out->live_allocations = (size_t)live;
    out->pages_held = (size_t)pages;
    out->double_frees = (size_t)dfree;
    out->invalid_frees = (size_t)invalid;
    out->remote_frees = (size_t)remote;
    out->failed_allocations = (size_t)failed;
}
