/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Page tables: an identity map of RAM and of the MMIO window below 4 GiB.
 *
 * The boot code maps the low 1 GiB with 2 MiB pages. paging_init rebuilds
 * that map from the memory map: RAM is read-write and no-execute, the
 * 0xfe000000-0xffffffff window (LAPIC, IOAPIC, virtio-mmio) uncached and
 * no-execute, everything else absent. The 2 MiB pages holding the image are
 * split into 4 KiB pages so that text is read-only and executable, rodata
 * read-only, data and bss no-execute; page 0 stays absent (NULL dereferences
 * fault) and so does the guard page below the boot stack. RAM above 4 GiB is
 * mapped with page-table pages taken from the page allocator. Later,
 * paging_map adds what drivers find: PCI configuration space and BARs
 * (uncached) and firmware tables (read-only), anywhere below 2^47.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86_64/arch.h"
#include "mm/page.h"

#define PTE_P    (1ull << 0)
#define PTE_W    (1ull << 1)
#define PTE_PWT  (1ull << 3)
#define PTE_PCD  (1ull << 4)
#define PTE_PS   (1ull << 7)
#define PTE_NX   (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull

#define MMIO_WINDOW_BASE 0xfe000000ull
#define GIB              (1ull << 30)
#define MIB2             (2ull << 20)

extern uint64_t pvh_boot_pml4[512], pvh_boot_pdpt[512], pvh_boot_pd[4][512];
extern uint32_t cpu_has_nx;
extern char __image_start[], __text_end[], __rodata_end[], __image_end[];
extern char boot_stack_guard[];

static uint64_t nx_bit;
/* Page tables for splitting the image's 2 MiB pages before the page
 * allocator exists (the image is far smaller than 4 MiB). */
static uint64_t early_tables[2][512] __attribute__((aligned(4096)));
static unsigned early_tables_used;

static uint64_t *table_alloc(void)
{
    uint64_t *t;
    if (early_tables_used < 2)
        t = early_tables[early_tables_used++];
    else
        t = page_alloc(1);
    if (t)
        memset(t, 0, PAGE_SIZE);
    return t;
}

/* Returns the PD entry for addr (NULL above the mapped range). */
static uint64_t *pd_entry(uintptr_t addr)
{
    uint64_t pdpte = pvh_boot_pdpt[(addr >> 30) & 511];
    if ((addr >> 39) != 0 || !(pdpte & PTE_P))
        return NULL;
    uint64_t *pd = (uint64_t *)(pdpte & PTE_ADDR);
    return &pd[(addr >> 21) & 511];
}

/* Replaces a 2 MiB mapping by a table of 512 4 KiB pages with the same
 * attributes; returns the 4 KiB entry for addr. */
static uint64_t *pte_for(uintptr_t addr)
{
    uint64_t *pde = pd_entry(addr);
    if (!pde || !(*pde & PTE_P))
        return NULL;
    if (*pde & PTE_PS) {
        uint64_t *pt = table_alloc();
        if (!pt)
            return NULL;
        uint64_t base = *pde & PTE_ADDR & ~(MIB2 - 1);
        uint64_t attrs = *pde & ~PTE_ADDR & ~PTE_PS;
        for (unsigned i = 0; i < 512; i++)
            pt[i] = (base + (uint64_t)i * PAGE_SIZE) | attrs;
        /* Directory entries stay permissive; the leaves decide. */
        *pde = (uint64_t)pt | PTE_P | PTE_W;
        write_cr3(read_cr3());
    }
    uint64_t *pt = (uint64_t *)(*pde & PTE_ADDR);
    return &pt[(addr >> 12) & 511];
}

static void set_page(uintptr_t addr, uint64_t attrs)
{
    uint64_t *pte = pte_for(addr);
    if (!pte)
        panic("paging: cannot map %#lx", (unsigned long)addr);
    *pte = (addr & PTE_ADDR) | attrs;
}

bool paging_is_mapped(uintptr_t addr)
{
    uint64_t *pde = pd_entry(addr);
    if (!pde || !(*pde & PTE_P))
        return false;
    if (*pde & PTE_PS)
        return true;
    uint64_t *pt = (uint64_t *)(*pde & PTE_ADDR);
    return pt[(addr >> 12) & 511] & PTE_P;
}

/* Page table changes, from any CPU. A change that takes a mapping away
 * (a guard) is shot down on the other CPUs before it counts. */
static struct spinlock paging_lock = SPINLOCK_INIT(LOCK_PAGING);

int paging_set_guard(uintptr_t addr, bool guard)
{
    uint64_t flags = spin_lock(&paging_lock);
    uint64_t *pte = pte_for(addr & ~(uintptr_t)(PAGE_SIZE - 1));
    if (pte) {
        *pte = (addr & PTE_ADDR) | (guard ? 0 : (PTE_P | PTE_W | nx_bit));
        invlpg(addr);
        if (guard)
            tlb_shootdown();
    }
    spin_unlock(&paging_lock, flags);
    return pte ? 0 : -1;
}

/* Gives RAM in [lo, hi) to the page allocator, minus page 0 (the NULL
 * guard), the page application processors start in (AP_TRAMPOLINE) and the
 * image. Memory below the image (the 640 KiB under 1 MiB on a
 * PC) counts: everything the boot read from there (start_info, memory map,
 * command line) was copied first, and with a few MiB of RAM it is a sixth. */
static void add_ram(uint64_t lo, uint64_t hi)
{
    uint64_t img_lo = (uint64_t)__image_start, img_hi = (uint64_t)__image_end;
    if (lo < AP_TRAMPOLINE + PAGE_SIZE)
        lo = AP_TRAMPOLINE + PAGE_SIZE;
    for (unsigned i = 0; i < boot_ram_count; i++) {
        uint64_t b = boot_ram[i].base, e = b + boot_ram[i].len;
        if (b < lo)
            b = lo;
        if (e > hi)
            e = hi;
        if (b < e && b < img_lo) /* the part below the image */
            page_add_region(b, (e < img_lo ? e : img_lo) - b);
        if (b < img_hi)
            b = img_hi;
        if (b < e)
            page_add_region(b, e - b);
    }
}

void paging_init(void)
{
    nx_bit = cpu_has_nx ? PTE_NX : 0;

    /* 1. The low 4 GiB: RAM, the MMIO window, nothing else. The PDs for
     * it are the boot's four; the boot code filled only the first. */
    uint64_t image_2m_end = ((uint64_t)__image_end + MIB2 - 1) & ~(MIB2 - 1);
    /* The entries mapping the image (executable until split below) stay
     * as they are: we are running on them. */
    memset(&pvh_boot_pd[0][image_2m_end / MIB2], 0, PAGE_SIZE - image_2m_end / MIB2 * 8);
    for (unsigned i = 1; i < 4; i++)
        pvh_boot_pdpt[i] = (uint64_t)pvh_boot_pd[i] | PTE_P | PTE_W;
    for (unsigned i = 0; i < boot_ram_count; i++) {
        uint64_t b = boot_ram[i].base & ~(MIB2 - 1), e = boot_ram[i].base + boot_ram[i].len;
        if (b < image_2m_end)
            b = image_2m_end;
        for (uint64_t a = b; a < e && a < MMIO_WINDOW_BASE; a += MIB2)
            pvh_boot_pd[a / GIB][(a % GIB) / MIB2] = a | PTE_P | PTE_W | PTE_PS | nx_bit;
    }
    for (uint64_t a = MMIO_WINDOW_BASE; a < 4 * GIB; a += MIB2)
        pvh_boot_pd[3][(a % GIB) / MIB2] = a | PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT | nx_bit;
    write_cr3(read_cr3());

    /* 2. The image and the first 2 MiB in 4 KiB pages: page 0 and what is
     * not RAM (the legacy hole below 1 MiB) unmapped but for the firmware's
     * tables (the EBDA's page and the BIOS area, read-only), RAM read-write and
     * never executable, the image by section. */
    uint64_t *pt = pte_for(0); /* splits the first 2 MiB; entry 0 of its table */
    if (!pt)
        panic("paging: cannot map the first 2 MiB");
    /* Each entry is written once with its final value: the code, stack and
     * tables we run on are in this range and must never be unmapped. */
    unsigned r = 0; /* boot_ram is sorted and merged: walk it alongside */
    for (unsigned i = 0; i < 512; i++) {
        uint64_t a = (uint64_t)i * PAGE_SIZE, v = 0;
        while (r < boot_ram_count && boot_ram[r].base + boot_ram[r].len < a + PAGE_SIZE)
            r++;
        if (a >= (uint64_t)__image_start && a < (uint64_t)__text_end)
            v = a | PTE_P;
        else if (a >= (uint64_t)__image_start && a < (uint64_t)__rodata_end)
            v = a | PTE_P | nx_bit;
        else if (a != 0 && r < boot_ram_count && a >= boot_ram[r].base)
            v = a | PTE_P | PTE_W | nx_bit;
        else if (a == FIRMWARE_EBDA_PAGE || (a >= FIRMWARE_BIOS && a < 0x100000))
            v = a | PTE_P | nx_bit; /* read-only: where the MP table is (smp.c) */
        pt[i] = v;
    }
    for (uintptr_t a = MIB2; a < (uintptr_t)__rodata_end; a += PAGE_SIZE) /* a big image */
        set_page(a, a < (uintptr_t)__text_end ? PTE_P : PTE_P | nx_bit);
    for (uintptr_t a = MIB2; a < (uintptr_t)__image_end; a += PAGE_SIZE)
        if (a >= (uintptr_t)__rodata_end)
            set_page(a, PTE_P | PTE_W | nx_bit);
    set_page((uintptr_t)boot_stack_guard, 0);
    write_cr3(read_cr3());

    /* 3. RAM below 4 GiB feeds the page allocator; then RAM above it is
     * mapped (2 MiB pages, tables from that allocator) and added. */
    add_ram(0, 4 * GIB);
    for (unsigned i = 0; i < boot_ram_count; i++) {
        uint64_t b = boot_ram[i].base, e = b + boot_ram[i].len;
        if (e <= 4 * GIB)
            continue;
        if (b < 4 * GIB)
            b = 4 * GIB;
        if (e > 512 * GIB) {
            printf("paging: RAM above 512 GiB ignored\n");
            e = 512 * GIB;
        }
        for (uint64_t a = b & ~(MIB2 - 1); a < e; a += MIB2) {
            uint64_t *pdpte = &pvh_boot_pdpt[a >> 30];
            if (!(*pdpte & PTE_P)) {
                uint64_t *pd = table_alloc();
                if (!pd)
                    panic("paging: no memory for page tables");
                *pdpte = (uint64_t)pd | PTE_P | PTE_W;
            }
            *pd_entry(a) = a | PTE_P | PTE_W | PTE_PS | nx_bit;
        }
    }
    write_cr3(read_cr3());
    add_ram(4 * GIB, ~0ull);
}

/* The table an entry points at, made (zeroed, from the page allocator) when
 * the entry is empty; NULL if it maps a large page or memory ran out. */
static uint64_t *table_of(uint64_t *entry)
{
    if (!(*entry & PTE_P)) {
        uint64_t *t = table_alloc();
        if (!t)
            return NULL;
        *entry = (uint64_t)t | PTE_P | PTE_W;
    }
    return (*entry & PTE_PS) ? NULL : (uint64_t *)(*entry & PTE_ADDR);
}

/* May a page already mapped as `have` serve as `kind`? Firmware tables only
 * need to be readable; device registers must already be uncached (the MMIO
 * window), never RAM. */
static bool mapping_fits(uint64_t have, int kind)
{
    return kind == PAGING_FIRMWARE || (have & PTE_PCD);
}

int paging_map(uint64_t base, uint64_t len, int kind)
{
    uint64_t end = base + len;
    uint64_t attrs = PTE_P | nx_bit | (kind == PAGING_MMIO ? PTE_W | PTE_PCD | PTE_PWT : 0);
    if (len == 0 || end < base || end > PAGING_MAP_LIMIT || base < PAGE_SIZE)
        return -EINVAL;
    for (unsigned i = 0; kind == PAGING_MMIO && i < boot_ram_count; i++)
        if (base < boot_ram[i].base + boot_ram[i].len && boot_ram[i].base < end)
            return -EINVAL; /* a device claiming RAM */
    int rc = 0;
    uint64_t flags = spin_lock(&paging_lock);
    for (uint64_t a = base & ~(uint64_t)(PAGE_SIZE - 1); a < end;) {
        uint64_t *pdpt = table_of(&pvh_boot_pml4[a >> 39]);
        uint64_t *pd = pdpt ? table_of(&pdpt[(a >> 30) & 511]) : NULL;
        if (!pd) {
            rc = -ENOMEM;
            break;
        }
        uint64_t *pde = &pd[(a >> 21) & 511];
        if ((*pde & (PTE_P | PTE_PS)) == (PTE_P | PTE_PS)) { /* a 2 MiB page is there */
            if (!mapping_fits(*pde, kind)) {
                rc = -EINVAL;
                break;
            }
            a = (a | (MIB2 - 1)) + 1;
            continue;
        }
        if (!(*pde & PTE_P) && !(a & (MIB2 - 1)) && end - a >= MIB2) {
            *pde = a | attrs | PTE_PS;
            a += MIB2;
            continue;
        }
        uint64_t *pt = table_of(pde);
        if (!pt) {
            rc = -ENOMEM;
            break;
        }
        uint64_t *pte = &pt[(a >> 12) & 511];
        if ((*pte & PTE_P) && !mapping_fits(*pte, kind)) {
            rc = -EINVAL;
            break;
        }
        if (!(*pte & PTE_P))
            *pte = a | attrs;
        a += PAGE_SIZE;
    }
    write_cr3(read_cr3());
    spin_unlock(&paging_lock, flags);
    return rc;
}
