/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The clock line and its discipline: pure arithmetic on TSC values and
 * reference samples, no hardware access (unit-tested on the host).
 *
 * Monotonic time is a line in the TSC, ns = base_ns + (tsc - base_tsc) *
 * mult / 2^32, and realtime is that plus wall_ns. A reference clock (the
 * hypervisor's, or the RTC at its second edges) gives samples "the reference
 * read ref_ns at this TSC value". Each sample moves the line's base to the
 * present before it changes anything, so the line stays continuous: monotonic
 * time is never stepped, only its rate changes.
 *
 * - The first sample sets wall_ns (realtime steps to the reference) and is
 *   the anchor the rate is measured from.
 * - The next CLOCK_ACQUIRE - 1 samples (acquisition, the first seconds) also
 *   step wall_ns, and set the rate to the reference's since the anchor.
 * - After that the rate moves an eighth of the way to the reference's since
 *   the anchor at each sample, so that one sample taken late (interrupt
 *   latency, the vCPU descheduled) barely counts; and the phase error is
 *   slewed out: the rate moves by at most 2^-11 (488 ppm) more, removing
 *   about 1/17 of the error a second. Realtime never steps.
 * - A phase error beyond CLOCK_STEP_NS (the reference jumped: host clock set,
 *   VM paused and resumed) steps wall_ns and starts acquisition again; at
 *   the second sample it is the first guess of the rate that was wrong (a
 *   calibration against the PIT while the vCPU stopped), and the rate is
 *   measured from the anchor as usual.
 */
#ifndef MIURA_ARCH_CLOCK_H
#define MIURA_ARCH_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define CLOCK_ACQUIRE 16
#define CLOCK_STEP_NS 1000000000ll

struct clock_sample {
    uint64_t tsc;
    int64_t ref_ns;
};

struct clock_line {
    uint64_t base_tsc, base_ns;
    uint64_t mult;    /* ns per TSC tick, 32.32 fixed point, slew included */
    uint64_t freq;    /* the reference's ns per tick as measured, 32.32 */
    int64_t wall_ns;  /* realtime = monotonic + wall_ns; 0: no realtime yet */
    unsigned samples; /* since the last (re)start of acquisition */
    struct clock_sample anchor;
};

/* value * mult / 2^32, for mult a 32.32 factor. */
static inline uint64_t clock_scale(uint64_t value, uint64_t mult)
{
    return (uint64_t)(((unsigned __int128)value * mult) >> 32);
}

/* (num << 32) / den; the caller ensures num >> 32 < den (no overflow). */
static inline uint64_t clock_div32(uint64_t num, uint64_t den)
{
    uint64_t q, r;
    __asm__("divq %4" : "=a"(q), "=d"(r) : "a"(num << 32), "d"(num >> 32), "rm"(den));
    return q;
}

/* The line's value at tsc (which may lie before base_tsc). */
uint64_t clock_line_ns(const struct clock_line *c, uint64_t tsc);

/* Starts the line at ns 0 = tsc0, running at mult (32.32 ns per tick). */
void clock_line_start(struct clock_line *c, uint64_t tsc0, uint64_t mult);

/* Takes one reference sample (ref_ns at TSC value tsc <= now); now is the
 * TSC at this call, where the line's base moves. tsc 0 is a rough sample of
 * the present (a reference with no edge yet): it only sets realtime, and only
 * before the first real sample. Returns true when this sample ended the
 * acquisition. */
bool clock_line_sample(struct clock_line *c, uint64_t now, uint64_t tsc, int64_t ref_ns);

#endif
