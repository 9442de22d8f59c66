/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * arch_init: the machine, from the PVH entry's start_info to interrupts and
 * time (the Process unit's kmain calls it, then starts threads).
 *
 * The hvm_start_info, command line and memory map live in memory the VMM
 * owns and we are about to hand to the page allocator, so they are copied
 * first. Then descriptors, paging, interrupt controllers and time, and the
 * command line split into words (argv for main).
 */
#include <stdio.h>
#include <string.h>

#include "arch/x86_64/arch.h"
#include "lib/cmdline.h"
#include "miura/miura.h"

/* Xen's hvm_start_info (PVH boot ABI). */
#define HVM_START_MAGIC 0x336ec578
struct hvm_start_info {
    uint32_t magic, version, flags, nr_modules;
    uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr;
    uint64_t memmap_paddr; /* version >= 1 */
    uint32_t memmap_entries, reserved;
};
#define MEMMAP_MAX_ENTRIES 1024

#define CMDLINE_MAX 4096

struct mem_region boot_ram[MAX_MEM_REGIONS];
unsigned boot_ram_count;
char boot_cmdline[CMDLINE_MAX];
uint64_t boot_rsdp;
static char cmdline_words_buf[CMDLINE_MAX];
char *boot_argv[BOOT_MAX_ARGS + 2];
int boot_argc;
static uint64_t ram_bytes;

static void copy_start_info(uint32_t paddr)
{
    const struct hvm_start_info *si = (const struct hvm_start_info *)(uintptr_t)paddr;
    if (paddr == 0 || si->magic != HVM_START_MAGIC)
        panic("boot: no PVH start_info (magic %#x)", paddr ? si->magic : 0);
    boot_rsdp = si->rsdp_paddr;
    if (si->cmdline_paddr) {
        const char *src = (const char *)(uintptr_t)si->cmdline_paddr;
        size_t n = strnlen(src, CMDLINE_MAX - 1);
        memcpy(boot_cmdline, src, n);
        boot_cmdline[n] = 0;
        if (src[n] != 0)
            printf("boot: command line longer than %d bytes truncated\n", CMDLINE_MAX - 1);
    }
    if (si->version < 1 || si->memmap_paddr == 0 || si->memmap_entries == 0)
        panic("boot: the VMM gave no memory map (PVH start_info version %u)", si->version);
    const struct hvm_memmap_entry *map =
        (const struct hvm_memmap_entry *)(uintptr_t)si->memmap_paddr;
    unsigned n = si->memmap_entries, dropped;
    if (n > MEMMAP_MAX_ENTRIES) {
        printf("boot: memory map of %u entries cut to %u\n", n, MEMMAP_MAX_ENTRIES);
        n = MEMMAP_MAX_ENTRIES;
    }
    boot_ram_count = memmap_normalize(map, n, boot_ram, MAX_MEM_REGIONS, &dropped);
    if (dropped)
        printf("boot: %u RAM ranges beyond the first %d ignored\n", dropped, MAX_MEM_REGIONS);
    ram_bytes = 0;
    for (unsigned i = 0; i < boot_ram_count; i++)
        ram_bytes += boot_ram[i].len;
}

void arch_init(uint32_t start_info)
{
    copy_start_info(start_info);
    gdt_init();
    idt_init();
    paging_init();
    lapic_init();
    ioapic_init();
    time_init();

    memcpy(cmdline_words_buf, boot_cmdline, sizeof(cmdline_words_buf));
    boot_argv[0] = "miura";
    boot_argc = 1 + cmdline_split(cmdline_words_buf, boot_argv + 1, BOOT_MAX_ARGS);
    boot_argv[boot_argc] = NULL;
}

unsigned miura_cpu_count(void)
{
    return platform_cpus_online();
}

uint64_t miura_mem_bytes(void)
{
    return ram_bytes;
}

const char *miura_cmdline(void)
{
    return boot_cmdline;
}

const char *miura_getarg(const char *key)
{
    return cmdline_value(boot_argv + 1, boot_argc - 1, key);
}
