/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Application processors: the CPU list, start-up, and what CPUs send each
 * other (wake-ups, TLB shootdowns, the stop of a panic).
 *
 * The CPU list comes from ACPI's MADT in images that read ACPI (the PCI
 * ones: q35, pc, Cloud Hypervisor), else from the MP table (Firecracker and
 * Cloud Hypervisor write one; SeaBIOS one of only the CPUs it started), unless QEMU's fw_cfg
 * counts more CPUs (qboot on microvm writes no table): then APIC IDs
 * 0..n-1, right for QEMU's -smp N without a sockets/cores/threads layout
 * that leaves gaps (a CPU that does not answer is reported, and no CPU
 * after it is started). CPU 0 is the one that booted. Each
 * other is started in turn with INIT, SIPI (and a second SIPI if it has not
 * checked in within 10 ms): it runs ap.S, then ap_main here on a stack of
 * its own, loads its descriptor tables and LAPIC, and hands over to the
 * Process unit (kmain_ap), which says when it is online.
 *
 * Spinlocks (spin_lock) disable interrupts, so a CPU waiting for one could
 * not take the interrupt of a TLB shootdown: every spin loop polls for one
 * (smp_poll). A panic stops the other CPUs with an NMI so that its report
 * is the only output.
 */
#include <stdio.h>
#include <string.h>

#include "arch/x86_64/arch.h"
#include "arch/x86_64/mptable.h"
#include "miura/miura.h"

#define ICR_INIT         0x4500u /* INIT, level assert */
#define ICR_SIPI         0x4600u /* start-up, level assert */
#define ICR_NMI          0x0400u
#define ICR_ALL_BUT_SELF (3u << 18)
#define AP_STACK_SIZE    (16 * 1024)

extern const char ap_trampoline[], ap_trampoline_end[];
extern size_t const gdt_cpu_bytes;

static uint8_t cpu_apic[MIURA_MAX_CPUS];
static unsigned cpus_found = 1, cpus_online = 1;

/* Read by ap.S and ap_main: the CPU being started. */
uint64_t ap_boot_stack;
static void *ap_block;
static unsigned ap_cpu;
static volatile int ap_checked_in;

static volatile int stopping;
static unsigned stopped;
static struct spinlock tlb_lock = SPINLOCK_INIT(LOCK_TLB);
static volatile uint64_t tlb_gen;
static volatile uint64_t tlb_done[MIURA_MAX_CPUS];

static void tlb_interrupt(void *arg);

/* ---- the CPU list */

/* The MADT's xAPIC IDs, from the acpi component when the image has it. */
__attribute__((weak)) unsigned smp_madt_cpus(uint8_t *ids, unsigned max)
{
    (void)ids, (void)max;
    return 0;
}

static void cpu_list_read(void)
{
    uint8_t ids[MIURA_MAX_CPUS];
    unsigned n = smp_madt_cpus(ids, MIURA_MAX_CPUS);
    /* The floating pointer is in the EBDA's first KiB, the last KiB of base
     * memory or the BIOS area; the table it names is read only if it lies
     * in those pages too (paging.c maps them read-only; all VMMs put it
     * there). */
    uint32_t cfg = n ? 0 : mptable_find((const uint8_t *)0x9fc00, 0x400);
    if (!n && !cfg)
        cfg = mptable_find((const uint8_t *)FIRMWARE_BIOS, 0x100000 - FIRMWARE_BIOS);
    if (cfg >= FIRMWARE_BIOS && cfg < 0x100000)
        n = mptable_cpus((const uint8_t *)(uintptr_t)cfg, 0x100000 - cfg, ids, MIURA_MAX_CPUS);
    else if (cfg >= FIRMWARE_EBDA_PAGE && cfg < FIRMWARE_EBDA_PAGE + PAGE_SIZE)
        n = mptable_cpus((const uint8_t *)(uintptr_t)cfg, FIRMWARE_EBDA_PAGE + PAGE_SIZE - cfg, ids,
                         MIURA_MAX_CPUS);
    /* SeaBIOS lists only the CPUs it saw start itself; QEMU's fw_cfg count
     * (1 on other VMMs) is the floor, with APIC IDs in order. */
    if (n < platform_cpu_count())
        for (n = 0; n < platform_cpu_count(); n++)
            ids[n] = (uint8_t)n;
    cpu_apic[0] = (uint8_t)lapic_id();
    for (unsigned i = 0; i < n; i++) {
        unsigned j = 0;
        while (j < cpus_found && cpu_apic[j] != ids[i])
            j++;
        if (j == cpus_found) /* not the boot CPU, not seen before */
            cpu_apic[cpus_found++] = ids[i];
    }
}

unsigned platform_cpus_online(void)
{
    return cpus_online;
}

/* ---- start-up */

static bool wait_check_in(uint64_t ns)
{
    uint64_t end = clock_ns() + ns;
    while (!ap_checked_in)
        if (clock_ns() > end)
            return false;
    return true;
}

_Noreturn void ap_main(void)
{
    gdt_init_cpu(ap_block);
    idt_load();
    lapic_init_cpu();
    kmain_ap(ap_cpu);
}

void smp_cpu_online(void)
{
    ap_checked_in = 1;
}

/* irq_cpu=N: the CPU that takes device interrupts unless a device or
 * queue has its own (irq_cpu.NAME, virtio.c), and runs the threads that
 * serve them, where a driver has one. */
static unsigned irq_cpu_index;

unsigned irq_cpu(void)
{
    return irq_cpu_index;
}

unsigned irq_cpu_apic(unsigned cpu)
{
    return cpu_apic[cpu];
}

static unsigned cpus_start(void);

unsigned smp_start(void)
{
    unsigned n = cpus_start();
    irq_cpu_index = miura_getarg_uint("irq_cpu", 0, 0, n - 1);
    if (irq_cpu_index)
        printf("smp: device interrupts to CPU %u\n", irq_cpu_index);
    return n;
}

static unsigned cpus_start(void)
{
    cpu_list_read();
    if (cpus_found == 1)
        return 1;
    irq_set_vector_handler(VECTOR_TLB, tlb_interrupt, NULL);
    clock_ns(); /* started here, by one CPU, before the others can read it */
    memcpy((void *)AP_TRAMPOLINE, ap_trampoline, (size_t)(ap_trampoline_end - ap_trampoline));
    size_t pages = (gdt_cpu_bytes + AP_STACK_SIZE + PAGE_SIZE - 1) / PAGE_SIZE;
    for (unsigned i = 1; i < cpus_found; i++) {
        uint8_t *block = page_alloc(pages);
        if (!block) {
            printf("smp: no memory to start CPU %u\n", i);
            break;
        }
        memset(block, 0, pages * PAGE_SIZE);
        ap_block = block;
        ap_boot_stack = (uint64_t)block + pages * PAGE_SIZE;
        ap_cpu = i;
        ap_checked_in = 0;
        lapic_ipi(cpu_apic[i], ICR_INIT);
        lapic_ipi(cpu_apic[i], ICR_SIPI | AP_TRAMPOLINE >> 12);
        if (!wait_check_in(10000000)) {
            lapic_ipi(cpu_apic[i], ICR_SIPI | AP_TRAMPOLINE >> 12);
            if (!wait_check_in(1000000000)) {
                /* It may still start later on this block: never reuse it. */
                printf("smp: CPU %u (APIC ID %u) did not start\n", i, cpu_apic[i]);
                break;
            }
        }
        cpus_online = i + 1;
    }
    return cpus_online;
}

/* ---- what CPUs send each other */

void smp_wake(unsigned cpu)
{
    lapic_ipi(cpu_apic[cpu], VECTOR_WAKE);
}

/* With interrupts off: a spin loop's call (coop_take spins with them on)
 * that read the generation before a shootdown's IPI came in, and was
 * interrupted by it after, stored its older generation over the newer one
 * the IPI had acknowledged; the shooting CPU then waited for ever (a thread
 * creation at --cpus 2 under connection churn hung the web server). */
void smp_poll(void)
{
    uint64_t flags = irq_save();
    unsigned me = arch_cpu_index();
    uint64_t gen = tlb_gen;
    if (tlb_done[me] != gen) {
        write_cr3(read_cr3());
        tlb_done[me] = gen;
    }
    irq_restore(flags);
}

static void tlb_interrupt(void *arg)
{
    (void)arg;
    smp_poll();
}

/* Every other CPU flushes its TLB; returns when all have. */
void tlb_shootdown(void)
{
    if (cpus_online == 1)
        return;
    uint64_t flags = spin_lock(&tlb_lock);
    uint64_t gen = ++tlb_gen;
    tlb_done[arch_cpu_index()] = gen;
    lapic_ipi(0, VECTOR_TLB | ICR_ALL_BUT_SELF);
    for (unsigned i = 0; i < cpus_online; i++)
        while (tlb_done[i] != gen)
            cpu_relax();
    spin_unlock(&tlb_lock, flags);
}

/* A panic: the other CPUs halt in their NMI handler (smp_halt); the report
 * waits for them (at most ~2^32 TSC ticks: one wedged with NMIs blocked
 * does not keep it from being printed). */
void smp_stop_others(void)
{
    /* Set even when alone: the console then writes without its lock, which
     * the panicking code may hold. */
    if (__atomic_exchange_n(&stopping, 1, __ATOMIC_SEQ_CST) || cpus_online == 1)
        return;
    lapic_ipi(0, ICR_NMI | ICR_ALL_BUT_SELF);
    uint64_t t0 = rdtsc();
    while (__atomic_load_n(&stopped, __ATOMIC_ACQUIRE) < cpus_online - 1 &&
           rdtsc() - t0 < 1ull << 32)
        cpu_relax();
}

_Noreturn void smp_halt(void)
{
    __atomic_fetch_add(&stopped, 1, __ATOMIC_RELEASE);
    for (;;)
        __asm__ volatile("cli; hlt");
}

bool smp_stopped(void)
{
    return stopping;
}

/* ---- spinlocks: interrupts off, and a per-CPU mask of the levels held
 * (%gs:ARCH_CPU_LOCKS) that checks the lock order and lets the scheduler
 * refuse to switch away from a thread holding one. */

uint64_t spin_lock(struct spinlock *l)
{
    uint64_t flags = irq_save();
    unsigned held = arch_cpu_locks();
    if (held >> l->level)
        panic("lock order: taking level %u with %#x held", l->level, held);
    while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED)) {
            cpu_relax();
            smp_poll();
        }
    arch_cpu_set_locks(held | 1u << l->level);
    return flags;
}

void spin_unlock(struct spinlock *l, uint64_t flags)
{
    arch_cpu_set_locks(arch_cpu_locks() & ~(1u << l->level));
    __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
    irq_restore(flags);
}
