/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Local APIC (xAPIC, MMIO) and its one-shot timer. The timer uses
 * TSC-deadline mode where the CPU offers it; otherwise one-shot counting at
 * the rate time_init found (from CPUID or calibrated against the PIT).
 * The legacy 8259 PICs are masked for good.
 */
#include "arch/x86_64/arch.h"
#include "arch/x86_64/clock.h"

#define LAPIC_ID         0x020
#define LAPIC_EOI        0x0b0
#define LAPIC_SVR        0x0f0
#define LAPIC_ICR_LOW    0x300
#define LAPIC_ICR_HIGH   0x310
#define ICR_PENDING      (1u << 12)
#define LAPIC_LVT_TIMER  0x320
#define LAPIC_LVT_LINT0  0x350
#define LAPIC_LVT_LINT1  0x360
#define LAPIC_LVT_ERROR  0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR  0x390
#define LAPIC_TIMER_DIV  0x3e0
#define LVT_MASKED       (1u << 16)
#define LVT_TSC_DEADLINE (2u << 17)
#define LVT_NMI          (4u << 8)

static volatile uint32_t *lapic;
static bool tsc_deadline;
static uint64_t lapic_hz;     /* one-shot mode: timer ticks per second (divide by 1) */
static uint64_t lapic_per_ns; /* the same as a 32.32 factor per ns */

static uint32_t lapic_read(unsigned reg)
{
    return lapic[reg / 4];
}
static void lapic_write(unsigned reg, uint32_t v)
{
    lapic[reg / 4] = v;
}

void lapic_init(void)
{
    /* Mask both 8259s: every interrupt comes through the IOAPIC. */
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    lapic = (volatile uint32_t *)(uintptr_t)(rdmsr(MSR_APIC_BASE) & 0xfffff000u);
    lapic_init_cpu();
}

/* This CPU's LAPIC (every CPU's is at the same address). */
void lapic_init_cpu(void)
{
    uint32_t a, b, c, d;

    wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1u << 11)); /* global enable */
    lapic_write(LAPIC_SVR, 0x100 | VECTOR_SPURIOUS);         /* software enable */
    lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
    lapic_write(LAPIC_LVT_LINT1, LVT_NMI);
    lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
    lapic_write(LAPIC_TIMER_DIV, 0xb); /* divide by 1 */

    cpuid(1, 0, &a, &b, &c, &d);
    tsc_deadline = c & (1u << 24);
    lapic_write(LAPIC_LVT_TIMER, VECTOR_TIMER | (tsc_deadline ? LVT_TSC_DEADLINE : 0));
    lapic_write(LAPIC_TIMER_INIT, 0);
}

/* Sends an interprocessor interrupt: icr is the ICR's low word (vector,
 * delivery mode, level, shorthand), dest the APIC ID unless a shorthand. */
void lapic_ipi(unsigned dest, uint32_t icr)
{
    uint64_t flags = irq_save();
    while (lapic_read(LAPIC_ICR_LOW) & ICR_PENDING)
        cpu_relax();
    lapic_write(LAPIC_ICR_HIGH, dest << 24);
    lapic_write(LAPIC_ICR_LOW, icr);
    irq_restore(flags);
}

void lapic_eoi(void)
{
    lapic_write(LAPIC_EOI, 0);
}

unsigned lapic_id(void)
{
    return lapic_read(LAPIC_ID) >> 24;
}

bool lapic_timer_needs_rate(void)
{
    return !tsc_deadline && lapic_hz == 0;
}

void lapic_timer_set_rate(uint64_t hz)
{
    lapic_hz = hz;
    lapic_per_ns = clock_div32(hz, 1000000000u); /* hz / 1e9, 32.32 */
}

/* Starts a free-running count for calibration; returns the start value. */
uint32_t lapic_timer_calibration_start(void)
{
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
    lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
    return 0xffffffffu;
}

uint32_t lapic_timer_calibration_read(void)
{
    uint32_t v = lapic_read(LAPIC_TIMER_CUR);
    lapic_write(LAPIC_TIMER_INIT, 0);
    lapic_write(LAPIC_LVT_TIMER, VECTOR_TIMER);
    return v;
}

void timer_arm(uint64_t deadline_ns)
{
    uint64_t delta = 0;
    if (deadline_ns) {
        uint64_t now = clock_ns();
        delta = deadline_ns > now ? deadline_ns - now : 0;
    }
    if (tsc_deadline) {
        /* The clock's rate may be slewed since: a deadline a few ppm early
         * fires, finds nothing expired, and is armed again. */
        wrmsr(MSR_TSC_DEADLINE, deadline_ns ? rdtsc() + ns_to_tsc(delta) + 1 : 0);
        return;
    }
    if (deadline_ns == 0) {
        lapic_write(LAPIC_TIMER_INIT, 0);
        return;
    }
    uint64_t ticks = clock_scale(delta, lapic_per_ns);
    if (ticks == 0)
        ticks = 1;
    if (ticks > 0xffffffffu)
        ticks = 0xffffffffu; /* fires early; the scheduler re-arms */
    lapic_write(LAPIC_TIMER_INIT, (uint32_t)ticks);
}
