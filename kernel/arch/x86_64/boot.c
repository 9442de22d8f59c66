/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kmain: from the PVH entry (boot.S) to the appliance's main().
 *
 * The hvm_start_info, command line and memory map live in memory the VMM
 * owns and we are about to hand to the page allocator, so they are copied
 * first. Then descriptors, paging, interrupt controllers and time; the boot
 * context becomes CPU 0's idle thread and an init thread runs the init hooks
 * and main().
 */
#include <stdio.h>
#include <string.h>

#include "arch/x86_64/arch.h"
#include "lib/cmdline.h"
#include "lib/init.h"
#include "miura/miura.h"
#include "sched/sched.h"

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
#define MAX_ARGS    64

struct mem_region boot_ram[MAX_MEM_REGIONS];
unsigned boot_ram_count;
uint64_t main_tsc;
char boot_cmdline[CMDLINE_MAX];
static char cmdline_words_buf[CMDLINE_MAX];
static char *argv[MAX_ARGS + 2];
static int argc;
static uint64_t ram_bytes;

extern int main(int argc, char **argv);
extern const struct init_hook __init_start[], __init_end[];

static void copy_start_info(uint32_t paddr)
{
    const struct hvm_start_info *si = (const struct hvm_start_info *)(uintptr_t)paddr;
    if (paddr == 0 || si->magic != HVM_START_MAGIC)
        panic("boot: no PVH start_info (magic %#x)", paddr ? si->magic : 0);
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

static void *init_thread(void *unused)
{
    (void)unused;
    for (const struct init_hook *h = __init_start; h < __init_end; h++) {
        int rc = h->fn();
        if (rc < 0)
            printf("init: %s failed: error %d\n", h->name,
                   -rc); /* no strerror table in every image */
    }
    main_tsc = rdtsc();
    /* Called through a volatile pointer so that link-time optimisation does
     * not inline main here: backtraces then show the appliance's main. */
    int (*volatile app_main)(int, char **) = main;
    int status = app_main(argc, argv);
    miura_poweroff(status);
}

void kmain(uint32_t start_info)
{
    serial_init();
    sched_init(); /* first: per-CPU state (errno, current thread) behind %gs */
    copy_start_info(start_info);
    gdt_init();
    idt_init();
    paging_init();
    lapic_init();
    ioapic_init();
    time_init();

    memcpy(cmdline_words_buf, boot_cmdline, sizeof(cmdline_words_buf));
    argv[0] = "miura";
    argc = 1 + cmdline_split(cmdline_words_buf, argv + 1, MAX_ARGS);
    argv[argc] = NULL;

    if (!thread_create(0, MAIN_STACK_SIZE, init_thread, NULL))
        panic("boot: cannot create the main thread");
    sched_idle_loop();
}

unsigned miura_cpu_count(void)
{
    return platform_cpu_count();
}

uint64_t miura_mem_bytes(void)
{
    return ram_bytes;
}

uint64_t miura_boot_ns(void)
{
    return tsc_to_ns(main_tsc - boot_tsc);
}

const char *miura_cmdline(void)
{
    return boot_cmdline;
}

const char *miura_getarg(const char *key)
{
    return cmdline_value(argv + 1, argc - 1, key);
}
