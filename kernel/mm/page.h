/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The physical page allocator: a binary buddy allocator over the usable RAM
 * regions of the memory map. Physical memory is identity-mapped, so pages are
 * handed out as pointers.
 *
 * Each region keeps its own metadata in its first pages: a header with the
 * free lists and one struct page_desc per page of the region (16 bytes per
 * 4 KiB, 0.4%). Blocks are aligned to their size in physical addresses, so
 * an aligned request is a request for a bigger order. Freeing coalesces
 * buddies at once: with every page free, the free lists hold exactly the
 * maximal aligned blocks of each region again.
 *
 * Within an order, free lists keep lower blocks in front and allocation takes
 * from the front, which keeps small allocations low and leaves high memory
 * to coalesce.
 *
 * Cost: allocation and free are O(regions + log pages) plus O(npages) to mark
 * the pages of the request; all calls but page_desc_of take mm_lock().
 * Adding a region writes its descriptors: 16 bytes per page (256 MiB for
 * 64 GiB of RAM), so a very large guest pays for that at boot.
 */
#ifndef MIURA_MM_PAGE_H
#define MIURA_MM_PAGE_H

#include <stddef.h>
#include <stdint.h>

#define PAGE_SHIFT     12
#define PAGE_SIZE      ((size_t)1 << PAGE_SHIFT)
#define PAGE_MAX_ORDER 31 /* a block has at most 2^31 pages (8 TiB) */

enum page_state {
    PAGE_FREE = 0,  /* inside a free block, not its first page */
    PAGE_FREE_HEAD, /* first page of a free block: `order` and list links valid */
    PAGE_ALLOCATED, /* handed out by page_alloc; owner fields belong to its user */
    PAGE_RESERVED,  /* the region's own metadata */
};

/*
 * One per page. The page allocator owns `state` and `order`, and the list
 * links of free blocks. While a page is PAGE_ALLOCATED, `owner`, `tag` and
 * `word` belong to whoever allocated it (the heap records its slabs there);
 * page_alloc sets them to NULL/0 on every page it hands out.
 */
struct page_desc {
    union {
        struct {
            uint32_t next, prev; /* region page indexes; PAGE_NONE ends the list */
        } free;
        void *owner;
    } u;
    uint8_t state; /* enum page_state */
    uint8_t order; /* PAGE_FREE_HEAD: the block has 2^order pages */
    uint8_t tag;   /* PAGE_ALLOCATED: the owner's */
    uint8_t reserved;
    uint32_t word; /* PAGE_ALLOCATED: the owner's */
};

/*
 * Adds usable RAM [base, base + len): any alignment (trimmed inward to whole
 * pages), any order of calls, zero-length allowed. Page 0 is never used (its
 * address would be NULL). A region too small for its own metadata plus one
 * page is ignored; one that overlaps a region already added is reported and
 * ignored. The caller passes only RAM that nothing else uses (not the kernel
 * image, boot page tables, or the boot information and command line the
 * VMM placed in RAM), already mapped (identity) and writable.
 */
void page_add_region(uint64_t base, uint64_t len);

/* npages contiguous pages, 4 KiB aligned; NULL when npages is 0 or no free
 * block is big enough. The contents are not cleared. */
void *page_alloc(size_t npages);

/* Page descriptors are set up lazily: a region starts with its first 4 MiB
 * ready and the rest is described when an allocation first needs it (so boot
 * does not pay O(RAM)). page_prepare() describes everything now, for
 * appliances that want no such pause later and for a canonical state. */
void page_prepare(void);

/* Like page_alloc with the first page aligned to `align`, a power of two >=
 * 4096 (NULL otherwise). */
void *page_alloc_aligned(size_t npages, size_t align);

/*
 * Returns npages pages at p. (p, npages) must be an allocation or a sub-range
 * of one (an allocation may be given back in pieces). If any page of the
 * range is not allocated (double free), lies outside every region, or p is
 * not page-aligned, the call is reported with mm_report and ignores the
 * whole range.
 */
void page_free(void *p, size_t npages);

size_t page_free_count(void);  /* pages currently free */
size_t page_total_count(void); /* pages managed (all regions, without metadata) */

/* The descriptor of the page holding address p, or NULL if p is not in a
 * managed page (outside every region, or in a region's metadata). Lock-free;
 * regions are only ever added. A free page not described yet gets a shared
 * PAGE_FREE descriptor that nobody may write. */
struct page_desc *page_desc_of(const void *p);

/* ---- inspection (tests, debugging) */

struct page_stats {
    size_t free_pages;
    size_t total_pages;
    size_t min_free_pages; /* fewest free since boot: total - this is the peak in use */
    size_t regions;
    size_t free_blocks[PAGE_MAX_ORDER + 1]; /* free blocks of each order */
};
void page_stats(struct page_stats *out);

/* Checks every invariant of every region (O(pages)): block states, list
 * links and counts, full coalescing, the free-page count. Returns 0, or -1
 * after reporting the first violation with mm_report. */
int page_check(void);

#ifdef MIURA_HOST_TEST
/* Forgets every region (their memory belongs to the test again). */
void page_reset(void);
#endif

#endif
