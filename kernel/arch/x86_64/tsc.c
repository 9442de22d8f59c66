/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Time: the TSC is the clock. Its rate comes from CPUID leaf 0x15 (crystal
 * ratio) or the hypervisor timing leaf 0x40000010 (TSC and APIC bus kHz).
 * Where neither gives it (TCG, some VMMs) we calibrate against the PIT, once,
 * lazily at the first use of the clock so that an appliance's boot does not
 * wait for it; the console says so when it happens.
 */
#include <stdio.h>

#include "arch/x86_64/arch.h"

#define PIT_HZ              1193182u
#define PIT_CH0             0x40
#define PIT_CMD             0x43
#define CALIBRATE_PIT_TICKS 1193u /* 1 ms: the read latency is a few us */

static uint64_t tsc_hz;
static uint64_t tsc_ns_mult; /* ns = ticks * mult >> 32 */
static uint64_t ns_tsc_mult; /* ticks = ns * mult >> 32 */
static bool calibrated;

/* hz / 1e9 as a 32.32 fixed-point factor, exact to the last bit for any hz. */
uint64_t time_rate_per_ns(uint64_t hz)
{
    return ((hz / 1000000000u) << 32) + (((hz % 1000000000u) << 32) / 1000000000u);
}

uint64_t time_scale(uint64_t value, uint64_t mult)
{
    return (uint64_t)(((unsigned __int128)value * mult) >> 32);
}

static void set_tsc_hz(uint64_t hz)
{
    tsc_hz = hz;
    tsc_ns_mult = (1000000000ull << 32) / hz;
    ns_tsc_mult = time_rate_per_ns(hz);
    calibrated = true;
}

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
 * emulation) is ignored rather than taken for a wrap. Returns false if the
 * PIT does not count (absent).
 */
static bool calibrate_once(bool need_lapic, uint64_t *tsc_ticks, uint32_t *lapic_ticks)
{
    outb(PIT_CMD, 0x34); /* channel 0, lo/hi, mode 2, binary */
    outb(PIT_CH0, 0);
    outb(PIT_CH0, 0); /* reload 65536 */
    uint16_t prev = pit_read();
    uint32_t lapic_start = need_lapic ? lapic_timer_calibration_start() : 0;
    uint64_t t0 = rdtsc();
    uint32_t elapsed = 0;
    /* Bounded: a missing PIT reads constant, and we give up. */
    for (uint32_t spins = 0; elapsed < CALIBRATE_PIT_TICKS && spins < 20000000u; spins++) {
        uint16_t now = pit_read();
        uint16_t step = (uint16_t)(prev - now);
        if (step < 0x8000) { /* counting down, possibly across the reload */
            elapsed += step;
            prev = now;
        }
    }
    uint64_t t1 = rdtsc();
    uint32_t lapic_end = need_lapic ? lapic_timer_calibration_read() : 0;
    outb(PIT_CMD, 0x30); /* mode 0, no count: the PIT stops */
    if (elapsed < CALIBRATE_PIT_TICKS)
        return false;
    *tsc_ticks = (t1 - t0) * PIT_HZ / elapsed;
    *lapic_ticks = (uint32_t)((uint64_t)(lapic_start - lapic_end) * PIT_HZ / elapsed);
    return true;
}

/* The fallback. Results outside 100 MHz..100 GHz are measured again. */
static void calibrate(void)
{
    bool need_lapic = lapic_timer_needs_rate();
    uint64_t hz = 0;
    uint32_t lapic = 0;
    for (int attempt = 0; attempt < 5; attempt++) {
        if (!calibrate_once(need_lapic, &hz, &lapic)) {
            hz = 0;
            break;
        }
        if (hz >= 100000000ull && hz <= 100000000000ull)
            break;
        hz = 0;
    }
    if (hz == 0) {
        printf("time: no usable PIT to calibrate the TSC against; assuming 1 GHz\n");
        set_tsc_hz(1000000000u);
        if (need_lapic)
            lapic_timer_set_rate(1000000000u);
        return;
    }
    set_tsc_hz(hz);
    if (need_lapic)
        lapic_timer_set_rate(lapic ? lapic : 1000000000u);
    printf("time: TSC %llu kHz, calibrated against the PIT (no CPUID frequency leaf)\n",
           (unsigned long long)(tsc_hz / 1000));
}

void time_init(void)
{
    uint32_t a, b, c, d, max;

    cpuid(0, 0, &max, &b, &c, &d);
    if (max >= 0x15) {
        cpuid(0x15, 0, &a, &b, &c, &d);
        if (a && b && c) {
            set_tsc_hz((uint64_t)c * b / a);
            lapic_timer_set_rate(c); /* the APIC timer runs on the crystal */
            return;
        }
    }
    cpuid(1, 0, &a, &b, &c, &d);
    if (c & (1u << 31)) { /* running under a hypervisor */
        cpuid(0x40000000, 0, &max, &b, &c, &d);
        if (max >= 0x40000010) {
            cpuid(0x40000010, 0, &a, &b, &c, &d);
            if (a) {
                set_tsc_hz((uint64_t)a * 1000);
                if (b)
                    lapic_timer_set_rate((uint64_t)b * 1000);
                return;
            }
        }
    }
    /* Calibration waits until the clock is first used. */
}

static inline void ensure_calibrated(void)
{
    if (__builtin_expect(!calibrated, 0)) {
        uint64_t flags = irq_save();
        if (!calibrated)
            calibrate();
        irq_restore(flags);
    }
}

uint64_t tsc_to_ns(uint64_t ticks)
{
    ensure_calibrated();
    return time_scale(ticks, tsc_ns_mult);
}

uint64_t ns_to_tsc(uint64_t ns)
{
    ensure_calibrated();
    return time_scale(ns, ns_tsc_mult);
}

uint64_t clock_ns(void)
{
    return tsc_to_ns(rdtsc() - boot_tsc);
}

uint64_t miura_clock_ns(void)
{
    return clock_ns();
}

uint64_t time_tsc_hz(void)
{
    ensure_calibrated();
    return tsc_hz;
}
