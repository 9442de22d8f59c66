/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The heap behind malloc/calloc/realloc/free/aligned_alloc (include/libc/
 * stdlib.h has their contract). This header is for the kernel and tests.
 *
 * Sizes up to HEAP_MAX_SMALL bytes come from size classes served by per-CPU
 * caches of slabs: a slab is 1-8 pages carved into equal slots, with a
 * header and allocation bitmap in its first bytes, and belongs to the CPU
 * that made it. malloc and free of a CPU's own slots touch only that CPU's
 * caches: no lock, no atomic read-modify-write. A slot freed on another CPU
 * is pushed (lock-free) on the owner's remote-free list; the owner takes
 * those back when it next runs short of slots in a class (or in
 * heap_reclaim). Each class keeps at most two empty slabs per CPU (one
 * cached, one as its last partial slab); others go back to the page
 * allocator at once. Bigger requests are whole pages from
 * page_alloc and go straight back on free.
 *
 * Calls must come from thread context: the per-CPU caches rely on a thread
 * not being preempted on its CPU in the middle of a call (the scheduler is
 * cooperative), so interrupt handlers must not allocate or free.
 *
 * Misuse (double free, a pointer the heap did not hand out, an interior
 * pointer) is detected from the page descriptors and slab bitmaps, reported
 * with mm_report and counted; the heap's state is not changed by it.
 */
#ifndef MIURA_MM_HEAP_H
#define MIURA_MM_HEAP_H

#include <stddef.h>

#define HEAP_MAX_SMALL 2048 /* largest size class; above: whole pages */

struct heap_stats {
    size_t bytes_in_use;       /* usable bytes of live allocations (slot or page sizes) */
    size_t live_allocations;   /* allocations not yet freed */
    size_t pages_held;         /* pages the heap holds: slabs (also cached empty ones), large */
    size_t double_frees;       /* frees of memory that was already free (reported) */
    size_t invalid_frees;      /* frees of pointers the heap never returned (reported) */
    size_t remote_frees;       /* slots freed by a CPU other than their owner */
    size_t failed_allocations; /* returned NULL for lack of memory */
};

/* Sums every CPU's counters; exact when no other CPU is inside the heap. */
void heap_stats(struct heap_stats *out);

/* The calling CPU takes back the slots other CPUs freed for it. */
void heap_reclaim(void);

/* heap_reclaim, then the calling CPU's cached empty slabs go back to the
 * page allocator. With nothing allocated and every CPU trimmed, the heap
 * holds no pages. */
void heap_trim(void);

/* Usable size of a live allocation (>= what was asked), or 0 after
 * reporting if p is not one. */
size_t heap_usable_size(const void *p);

#endif
