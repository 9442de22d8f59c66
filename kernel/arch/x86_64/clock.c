/* SPDX-License-Identifier: BSD-2-Clause */
/* The clock line's discipline (see clock.h for the rules). */
#include "arch/x86_64/clock.h"

#define SLEW_SHIFT 34        /* rate change = phase error (ns) / 2^34: ~17 s to halve... */
#define SLEW_MAX   (1 << 23) /* ... of an error clamped to 8.4 ms: at most 2^-11 */

__attribute__((noinline)) uint64_t clock_line_ns(const struct clock_line *c, uint64_t tsc)
{
    int64_t d = (int64_t)(tsc - c->base_tsc);
    return c->base_ns + (uint64_t)(int64_t)(((__int128)d * (__int128)c->mult) >> 32);
}

void clock_line_start(struct clock_line *c, uint64_t tsc0, uint64_t mult)
{
    *c = (struct clock_line){.base_tsc = tsc0, .mult = mult, .freq = mult};
}

bool clock_line_sample(struct clock_line *c, uint64_t now, uint64_t tsc, int64_t ref_ns)
{
    c->base_ns = clock_line_ns(c, now);
    c->base_tsc = now;
    if (!tsc) {
        if (!c->samples)
            c->wall_ns = ref_ns - (int64_t)c->base_ns;
        return false;
    }
    int64_t e = (int64_t)clock_line_ns(c, tsc) + c->wall_ns - ref_ns;
    /* A large error before a second sample has measured the rate is the
     * first guess's (the PIT's, which a stopped vCPU can throw far off), not
     * a jump of the reference: the anchor stays, and the rate comes from it. */
    if (!c->samples || ((e > CLOCK_STEP_NS || e < -CLOCK_STEP_NS) && c->samples > 1)) {
        c->anchor.tsc = tsc;
        c->anchor.ref_ns = ref_ns;
        c->samples = 0;
    }
    if (++c->samples <= CLOCK_ACQUIRE) {
        c->wall_ns -= e;
        e = 0;
    }
    uint64_t dt = tsc - c->anchor.tsc;
    int64_t dr = ref_ns - c->anchor.ref_ns;
    if ((int64_t)dt > 0 && dr > 0 && ((uint64_t)dr >> 32) < dt) {
        uint64_t f = clock_div32((uint64_t)dr, dt);
        if (c->samples > CLOCK_ACQUIRE) /* an eighth of the way: one late sample barely counts */
            f = c->freq + (uint64_t)((int64_t)(f - c->freq) >> 3);
        c->freq = f;
    }
    if (e > SLEW_MAX)
        e = SLEW_MAX;
    if (e < -SLEW_MAX)
        e = -SLEW_MAX;
    c->mult = c->freq - (uint64_t)(((int64_t)c->freq * e) >> SLEW_SHIFT);
    return c->samples == CLOCK_ACQUIRE;
}
