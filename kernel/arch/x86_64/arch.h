/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the arch code offers the other kernel units (internal interface).
 */
#ifndef MIURA_ARCH_H
#define MIURA_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/memmap.h"
#include "mm/page.h" /* PAGE_SIZE */

/*
 * ---- boot (boot.c). The PVH entry (pvh.S) calls kmain(start_info), which
 * the Process unit defines: it calls serial_init, sets up its per-CPU state,
 * then arch_init, and starts threads. New threads begin in thread_start
 * (switch.S), which calls the Process unit's thread_entry().
 */
void kmain(uint32_t start_info);
/* Copies the start info, command line and memory map, then sets up
 * descriptors, paging, interrupt controllers and time. */
void arch_init(uint32_t start_info);
#define MAX_MEM_REGIONS 32
extern struct mem_region boot_ram[MAX_MEM_REGIONS]; /* usable RAM, sorted, merged */
extern unsigned boot_ram_count;
extern uint64_t boot_tsc; /* TSC at the PVH entry's first instruction */
extern char boot_cmdline[];
extern uint64_t boot_rsdp; /* ACPI RSDP from the start info; 0 without ACPI */
/* The command line as words: boot_argv[0] is "miura", then one per word
 * (at most BOOT_MAX_ARGS), then NULL: main's argv. */
#define BOOT_MAX_ARGS 64
extern char *boot_argv[BOOT_MAX_ARGS + 2];
extern int boot_argc;

/* ---- application processors (smp.c, ap.S) */
/* Starts every other CPU the VMM gives; returns how many CPUs are online.
 * Each runs kmain_ap(cpu) (the Process unit's), which calls smp_cpu_online
 * once it can take wake-ups. */
unsigned smp_start(void);
/* The default CPU for device interrupts (kernel command line irq_cpu=N,
 * default 0; read by smp_start; drivers may route elsewhere), and the
 * local APIC ID of CPU `cpu` (< platform_cpus_online()). */
unsigned irq_cpu(void);
unsigned irq_cpu_apic(unsigned cpu);
/* The MADT's xAPIC IDs (acpi.c in images that read ACPI; else none). */
unsigned smp_madt_cpus(uint8_t *ids, unsigned max);
_Noreturn void kmain_ap(unsigned cpu);
void smp_cpu_online(void);
unsigned platform_cpus_online(void);
void smp_wake(unsigned cpu); /* VECTOR_WAKE to that CPU */
void tlb_shootdown(void);    /* every other CPU flushes its TLB; waits */
void smp_poll(void);         /* in spin loops: answers a shootdown */
void smp_stop_others(void);  /* a panic: halt the others (NMI) */
bool smp_stopped(void);
_Noreturn void smp_halt(void); /* a stopped CPU, in its NMI handler */

/*
 * Per-CPU data is behind %gs (the Process unit's struct cpu): offset 0 a
 * pointer to itself, 8 the CPU index, 12 the mask of spinlock levels held.
 */
#define ARCH_CPU_INDEX 8
#define ARCH_CPU_LOCKS 12
static inline unsigned arch_cpu_index(void)
{
    unsigned v;
    __asm__ volatile("movl %%gs:8, %0" : "=r"(v));
    return v;
}
static inline unsigned arch_cpu_locks(void)
{
    unsigned v;
    __asm__ volatile("movl %%gs:12, %0" : "=r"(v));
    return v;
}
static inline void arch_cpu_set_locks(unsigned v)
{
    __asm__ volatile("movl %0, %%gs:12" : : "r"(v) : "memory");
}

/*
 * Spinlocks, for state more than one CPU touches. spin_lock disables
 * interrupts and returns the flags spin_unlock restores. Each lock has a
 * level; a CPU takes locks only in increasing level (checked: a panic names
 * the levels), and the scheduler never switches away from a thread holding
 * one (checked). docs/kernel.md lists the levels and what each guards.
 */
enum lock_level { LOCK_PAGING, LOCK_MM, LOCK_TLB, LOCK_SCHED, LOCK_CLOCK, LOCK_CONSOLE };
struct spinlock {
    int locked;
    unsigned level;
};
#define SPINLOCK_INIT(level) \
    {                        \
        0, (level)           \
    }
uint64_t spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l, uint64_t flags);

/* ---- console (serial.c) */
void serial_init(void);
void console_write(const char *s, size_t n);

/* ---- power (power.c): status is the appliance's exit status. */
#define MIURA_EXIT_CRASH 100 /* status used for a crash or panic */
_Noreturn void arch_poweroff(int status);
_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- descriptors and traps (gdt.c, trap.c) */
void gdt_init(void);
void gdt_init_cpu(void *block); /* an AP's: gdt_cpu_bytes, zeroed */
void idt_init(void);
void idt_load(void);
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};
typedef void (*irq_handler_fn)(void *arg);
/* Routes IOAPIC pin `gsi` to fn(arg), run in interrupt context with
 * interrupts off on CPU `cpu` (< platform_cpus_online(); irq_cpu() unless
 * the device has its own); the handler must only acknowledge and wake.
 * Returns 0, -EINVAL (no such pin) or -EBUSY (pin taken). */
int irq_route(unsigned gsi, bool level_triggered, unsigned cpu, irq_handler_fn fn, void *arg);
/* Undoes a successful irq_route: masks the pin and forgets its handler. */
void irq_unroute(unsigned gsi);
void irq_set_vector_handler(unsigned vector, irq_handler_fn fn, void *arg);
/*
 * Message-signalled interrupts (MSI, MSI-X): takes a free device vector,
 * routes it to fn(arg) (interrupt context, as for irq_route) and fills msg
 * with what the device must write to raise it on the local APIC whose ID is
 * dest_apic (fixed delivery, edge-triggered). Returns the vector, -EINVAL
 * (dest_apic beyond xAPIC's 8-bit IDs) or -EBUSY (none free: the vectors
 * IRQ_VECTOR_BASE.. that no IOAPIC pin uses are shared by all devices).
 * irq_msi_free(vector) forgets the handler; mask the device's entry first.
 */
#define MSI_ADDRESS_BASE 0xfee00000u
#define MSI_MAX_APIC_ID  0xffu
struct msi_message {
    uint64_t address;
    uint32_t data;
};
int irq_msi_alloc(unsigned dest_apic, irq_handler_fn fn, void *arg, struct msi_message *msg);
void irq_msi_free(unsigned vector);
/* Crash report and power-off for an unhandled trap. */
_Noreturn void trap_crash(const struct trap_frame *f, const char *why);
void backtrace_print(uint64_t rbp, uint64_t rip);

/* ---- paging (paging.c) */
void paging_init(void);
/* Makes the page at addr not present (guard) or present again (RW, NX). */
int paging_set_guard(uintptr_t addr, bool guard);
bool paging_is_mapped(uintptr_t addr);
/*
 * Identity-maps [base, base+len), outside RAM, for a driver: PAGING_MMIO for
 * device registers (read-write, uncached, never executable), PAGING_FIRMWARE
 * for firmware tables (read-only, never executable). Pages already mapped
 * stay as they are if they fit (any mapping can be read; registers need the
 * uncached window). Returns 0, -EINVAL (empty, wrapping, touching page 0,
 * beyond PAGING_MAP_LIMIT, or registers over RAM) or -ENOMEM (page tables);
 * on an error, what was mapped before it stays mapped.
 */
#define PAGING_MMIO      0
#define PAGING_FIRMWARE  1
#define PAGING_MAP_LIMIT (1ull << 47) /* the lower canonical half: identity-mappable */
int paging_map(uint64_t base, uint64_t len, int kind);

/* ---- interrupt controllers (lapic.c, ioapic.c) */
void lapic_init(void);
void lapic_init_cpu(void);
void lapic_ipi(unsigned dest_apic, uint32_t icr);
void lapic_eoi(void);
unsigned lapic_id(void);
void ioapic_init(void);
int ioapic_route(unsigned gsi, unsigned vector, bool level, unsigned dest_apic);
void ioapic_mask(unsigned gsi);
bool ioapic_has_gsi(unsigned gsi); /* some IOAPIC has this pin */

/* ---- time (tsc.c, clock.c, rtc.c; timer in lapic.c) */
void time_init(void);
uint64_t clock_ns(void); /* monotonic, since boot; never steps */
/* Realtime ns since the Unix epoch, INT64_MIN while there is none. */
int64_t clock_realtime_ns(void);
/* A reference sample: realtime was ref_ns at TSC value tsc (0: roughly
 * now, only until the first real sample). Interrupts off. */
void clock_sample(uint64_t tsc, int64_t ref_ns);
/* The RTC discipline (rtc.c): started by the clock when there is no kvmclock. */
void rtc_discipline_start(void);
struct time_status {
    const char *source; /* "kvmclock", "rtc" or "none" */
    unsigned samples;   /* reference samples since the last (re)start */
    uint64_t tsc_khz;   /* the TSC rate as measured against the reference */
};
void time_status(struct time_status *s);
uint64_t tsc_to_ns(uint64_t ticks);
/* One-shot timer: raises VECTOR_TIMER at (or soon after) deadline_ns;
 * 0 cancels. Replaces any earlier setting. */
void timer_arm(uint64_t deadline_ns);
uint64_t ns_to_tsc(uint64_t ns); /* once the clock has started */
bool lapic_timer_needs_rate(void);
void lapic_timer_set_rate(uint64_t hz);
uint32_t lapic_timer_calibration_start(void);
uint32_t lapic_timer_calibration_read(void);

/* ---- platform (fwcfg.c) */
unsigned platform_cpu_count(void);

#endif
