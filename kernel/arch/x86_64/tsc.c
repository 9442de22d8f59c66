/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Time: the TSC is the clock, read through the clock line (clock.h) and
 * disciplined by a reference after boot.
 *
 * Start (at the first use of the clock, so an appliance that never reads it
 * never pays for it): the TSC rate comes from the hypervisor's kvmclock
 * (pvclock) parameters, CPUID leaf 0x15 (crystal ratio) or the hypervisor
 * timing leaf 0x40000010; where none gives it (QEMU TCG) from 1 ms against
 * the PIT, which is only good to a few percent on a busy host (a stall of the
 * vCPU at one end of the window skews it either way) and is corrected within
 * the first seconds by the reference.
 *
 * Reference: kvmclock where KVM offers it (CPUID 0x40000000 "KVMKVMKVM",
 * feature CLOCKSOURCE2): each sample is the host's realtime, exact to the
 * microsecond (MSR_KVM_WALL_CLOCK_NEW rewritten for the host's current
 * offset, plus the pvclock system time), taken lazily when the clock is read
 * and the last sample is about a second old. Otherwise the CMOS RTC's second
 * edges (rtc.c), one interrupt a second.
 *
 * Samples change the line with interrupts off, and readers read it with
 * interrupts off: enough while CPU 0 is the only CPU that runs.
 */
#include <stdio.h>

#include "arch/x86_64/arch.h"
#include "arch/x86_64/clock.h"

#define PIT_HZ              1193182u
#define PIT_CH0             0x40
#define PIT_CMD             0x43
#define CALIBRATE_PIT_TICKS 1193u /* 1 ms: the read latency is a few us */

#define MSR_KVM_WALL_CLOCK_NEW   0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW  0x4b564d01
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)
#define KVM_SAMPLE_TICKS         (1ull << 31) /* resample after ~1 s (2^31 ticks) */

bool cpu_on_kvm;

/* The pvclock ABI shared by KVM and Xen: the hypervisor makes `version` odd
 * while it updates a structure. */
struct pvclock_vcpu_time_info {
    uint32_t version, pad0;
    uint64_t tsc_timestamp, system_time;
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags, pad[2];
} __attribute__((packed));
struct pvclock_wall_clock {
    uint32_t version, sec, nsec;
} __attribute__((packed));

static struct pvclock_vcpu_time_info pvti __attribute__((aligned(64)));
static struct pvclock_wall_clock pvwall __attribute__((aligned(64)));
static bool kvmclock;
static uint64_t kvm_sampled_tsc;

static struct clock_line line;
static uint64_t cpuid_mult;
static bool started;

static __attribute__((noinline)) uint64_t pvclock_mult(uint32_t mul, int8_t shift)
{
    return shift >= 0 ? (uint64_t)mul << shift : (uint64_t)mul >> -shift;
}

/* ---- the PIT fallback */

static uint16_t pit_read(void)
{
    outb(PIT_CMD, 0x00); /* latch channel 0 */
    uint8_t lo = inb(PIT_CH0);
    uint8_t hi = inb(PIT_CH0);
    return (uint16_t)(lo | (hi << 8));
}

/*
 * One measurement: TSC (and LAPIC timer) ticks over CALIBRATE_PIT_TICKS of
 * the PIT's 1.193182 MHz. A read that seems to go backwards (seen under
 * emulation) is ignored rather than taken for a wrap. The TSC is read around
 * every PIT read, so the window's two ends are placed to within one read;
 * a read that took more than an eighth of the window (the vCPU stopped: a
 * busy host deschedules it for milliseconds) cannot be placed: a stop
 * between the first PIT read and the TSC's once made the TSC look 13 times
 * slower than it is. Returns 1 for a good measurement, 0 for one with such
 * a stop in it (rough), -1 if the PIT does not count (absent).
 */
static int calibrate_once(bool need_lapic, uint64_t *tsc_ticks, uint32_t *lapic_ticks)
{
    outb(PIT_CMD, 0x34); /* channel 0, lo/hi, mode 2, binary */
    outb(PIT_CH0, 0);
    outb(PIT_CH0, 0); /* reload 65536 */
    uint64_t t0 = rdtsc();
    uint32_t lapic_start = need_lapic ? lapic_timer_calibration_start() : 0;
    uint16_t prev = pit_read();
    uint64_t last = rdtsc(), slowest = last - t0;
    uint32_t elapsed = 0;
    /* Bounded: a missing PIT reads constant, and we give up. */
    for (uint32_t spins = 0; elapsed < CALIBRATE_PIT_TICKS && spins < 20000000u; spins++) {
        uint16_t now = pit_read();
        uint64_t t = rdtsc();
        slowest = t - last > slowest ? t - last : slowest;
        last = t;
        uint16_t step = (uint16_t)(prev - now);
        if (step < 0x8000) { /* counting down, possibly across the reload */
            elapsed += step;
            prev = now;
        }
    }
    uint32_t lapic_end = need_lapic ? lapic_timer_calibration_read() : 0;
    uint64_t t1 = rdtsc();
    slowest = t1 - last > slowest ? t1 - last : slowest;
    outb(PIT_CMD, 0x30); /* mode 0, no count: the PIT stops */
    if (elapsed < CALIBRATE_PIT_TICKS)
        return -1;
    *tsc_ticks = (t1 - t0) * PIT_HZ / elapsed;
    *lapic_ticks = (uint32_t)((uint64_t)(lapic_start - lapic_end) * PIT_HZ / elapsed);
    return slowest <= (t1 - t0) / 8; /* the TSC ticks: every x86-64 CPU's does */
}

/* The TSC rate (unless mult already gives it) and the LAPIC timer's (if it
 * needs one) from the PIT, measured again while a measurement had a stop in
 * it (up to 8 times; then the last one stands, and the reference corrects it
 * within seconds); without a PIT, 1 GHz. */
static uint64_t calibrate(uint64_t mult)
{
    bool need_lapic = lapic_timer_needs_rate();
    uint64_t hz;
    uint32_t lapic;
    int got = 0;
    for (int tries = 0; got == 0 && tries < 8; tries++)
        got = calibrate_once(need_lapic, &hz, &lapic);
    if (got < 0)
        hz = lapic = 1000000000u; /* no PIT: say 1 GHz */
    if (need_lapic)
        lapic_timer_set_rate(lapic);
    return mult ? mult : clock_div32(1000000000u, hz);
}

/* ---- kvmclock */

/* The host's realtime in ns at TSC value *tsc. The wall clock structure is
 * written at the moment of the MSR write, with the host's realtime minus
 * kvmclock at that moment (KVM's msr.rst). */
static int64_t kvmclock_read(uint64_t *tsc)
{
    uint32_t v;
    int64_t sys;
    /* Filled in during the write itself, so its version is even after it
     * (one CPU: nothing else writes this MSR meanwhile). */
    wrmsr(MSR_KVM_WALL_CLOCK_NEW, (uintptr_t)&pvwall);
    int64_t wall = (int64_t)pvwall.sec * 1000000000 + pvwall.nsec;
    do {
        v = __atomic_load_n(&pvti.version, __ATOMIC_ACQUIRE);
        *tsc = rdtsc();
        sys = (int64_t)(pvti.system_time +
                        clock_scale(*tsc - pvti.tsc_timestamp,
                                    pvclock_mult(pvti.tsc_to_system_mul, pvti.tsc_shift)));
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
    } while ((v & 1) || v != __atomic_load_n(&pvti.version, __ATOMIC_RELAXED));
    return wall + sys;
}

/* Interrupts off. */
static void kvmclock_sample(void)
{
    uint64_t tsc;
    int64_t ref = kvmclock_read(&tsc);
    clock_sample(tsc, ref);
    kvm_sampled_tsc = tsc;
}

/* ---- start and read */

void time_init(void)
{
    uint32_t a, b, c, d, max;

    cpuid(0, 0, &max, &b, &c, &d);
    if (max >= 0x15) {
        cpuid(0x15, 0, &a, &b, &c, &d);
        if (a && b && c) {
            cpuid_mult = clock_div32(1000000000ull * a, (uint64_t)c * b); /* TSC: c*b/a Hz */
            lapic_timer_set_rate(c); /* the APIC timer runs on the crystal */
        }
    }
    cpuid(1, 0, &a, &b, &c, &d);
    if (!(c & (1u << 31))) /* not under a hypervisor */
        return;
    /* The hypervisor's leaves (KVM's; with Hyper-V's interface also shown,
     * they move to 0x40000100 and are not looked for). */
    cpuid(0x40000000, 0, &max, &b, &c, &d);
    if (b == 0x4b4d564b && c == 0x564b4d56 && d == 0x4d) { /* "KVMKVMKVM\0\0\0" */
        cpu_on_kvm = true;
        cpuid(0x40000001, 0, &a, &b, &c, &d);
        if (a & KVM_FEATURE_CLOCKSOURCE2) {
            /* KVM fills the structure in before the write returns. */
            wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uintptr_t)&pvti | 1); /* bit 0: on */
            cpuid_mult = pvclock_mult(pvti.tsc_to_system_mul, pvti.tsc_shift);
            kvmclock = true;
            return;
        }
    }
    if (max >= 0x40000010 && !cpuid_mult) {
        cpuid(0x40000010, 0, &a, &b, &c, &d);
        if (a) {
            cpuid_mult = clock_div32(1000000u, a); /* a: TSC kHz */
            if (b)
                lapic_timer_set_rate((uint64_t)b * 1000); /* b: APIC bus kHz */
        }
    }
}

/* Interrupts off. */
static void clock_start(void)
{
    uint64_t mult = cpuid_mult;
    if (!mult || lapic_timer_needs_rate())
        mult = calibrate(mult);
    clock_line_start(&line, boot_tsc, mult);
    started = true;
    if (kvmclock)
        kvmclock_sample();
    else
        rtc_discipline_start();
}

/* Monotonic and realtime ns, read together, under a lock so that no sample
 * changes the line meanwhile. The TSCs of all CPUs are taken to be in step
 * (KVM keeps them so; TCG has one). */
static struct spinlock clock_lock = SPINLOCK_INIT(LOCK_CLOCK);

/* From the RTC's interrupt, or from the clock's own start and reads, which
 * hold the lock already. */
void clock_sample(uint64_t tsc, int64_t ref_ns)
{
    bool held = arch_cpu_locks() & 1u << LOCK_CLOCK;
    uint64_t flags = held ? 0 : spin_lock(&clock_lock);
    if (clock_line_sample(&line, rdtsc(), tsc, ref_ns))
        printf("time: TSC %llu kHz by %s\n", (unsigned long long)clock_div32(1000000u, line.freq),
               kvmclock ? "kvmclock" : "RTC");
    if (!held)
        spin_unlock(&clock_lock, flags);
}

static uint64_t clock_read(int64_t *wall)
{
    uint64_t flags = spin_lock(&clock_lock);
    if (__builtin_expect(!started, 0))
        clock_start();
    else if (kvmclock && rdtsc() - kvm_sampled_tsc > KVM_SAMPLE_TICKS)
        kvmclock_sample();
    uint64_t ns = clock_line_ns(&line, rdtsc());
    *wall = line.wall_ns;
    spin_unlock(&clock_lock, flags);
    return ns;
}

uint64_t clock_ns(void)
{
    int64_t wall;
    return clock_read(&wall);
}

int64_t clock_realtime_ns(void)
{
    int64_t wall;
    uint64_t ns = clock_read(&wall);
    return wall ? (int64_t)ns + wall : INT64_MIN;
}

uint64_t miura_clock_ns(void)
{
    return clock_ns();
}

uint64_t tsc_to_ns(uint64_t ticks)
{
    clock_ns(); /* starts the clock */
    return clock_scale(ticks, line.mult);
}

uint64_t ns_to_tsc(uint64_t ns)
{
    if (ns > (1ull << 42)) /* ~73 min; the caller's timer fires early and re-arms */
        ns = 1ull << 42;
    return clock_div32(ns, line.mult);
}

void time_status(struct time_status *s)
{
    clock_ns(); /* starts the clock */
    uint64_t flags = spin_lock(&clock_lock);
    s->source = kvmclock ? "kvmclock" : line.wall_ns ? "rtc" : "none";
    s->samples = line.samples;
    s->tsc_khz = clock_div32(1000000u, line.freq); /* 1e6 / (ns per tick) */
    spin_unlock(&clock_lock, flags);
}
