/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The clock while it is being disciplined: until the reference has given
 * samples=N samples (default 20, past the acquisition), reads the monotonic
 * clock back to back (sleeping 1 ms now and then, so that timers run across
 * the rate changes too) and checks that it never goes backwards; once a
 * second prints what the clock says of itself. Without a reference it stops
 * after N seconds. tests/e2e/clock.sh reads the lines:
 *   clock: t=MS source=rtc|kvmclock|none samples=N tsc_khz=K realtime=S.NNNNNNNNN
 *   clock: N reads over S s, never backwards   (or: clock: backwards by X ns)
 */
#include <stdio.h>
#include <stdlib.h>

#include "arch/x86_64/arch.h"
#include "miura/miura.h"

static void status(uint64_t now)
{
    struct time_status s;
    time_status(&s);
    int64_t rt = clock_realtime_ns();
    printf("clock: t=%llu source=%s samples=%u tsc_khz=%llu realtime=%lld.%09lld\n",
           (unsigned long long)(now / 1000000), s.source, s.samples, (unsigned long long)s.tsc_khz,
           (long long)(rt / 1000000000), (long long)(rt % 1000000000));
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const char *arg = miura_getarg("samples");
    unsigned want = arg ? (unsigned)strtoul(arg, NULL, 10) : 20;
    struct time_status s;
    uint64_t start = miura_clock_ns(), prev = start, next_status = start, reads = 0;
    for (;;) {
        for (int i = 0; i < 1000; i++, reads++) {
            uint64_t now = miura_clock_ns();
            if (now < prev) {
                printf("clock: backwards by %llu ns after %llu reads\n",
                       (unsigned long long)(prev - now), (unsigned long long)reads);
                return 1;
            }
            prev = now;
        }
        if (prev >= next_status) {
            status(prev - start);
            next_status += 1000000000;
        }
        time_status(&s);
        if (s.samples >= want || (s.samples == 0 && prev - start >= want * 1000000000ull))
            break;
        thread_sleep_ms(1);
    }
    status(prev - start);
    printf("clock: %llu reads over %llu s, never backwards\n", (unsigned long long)reads,
           (unsigned long long)((prev - start) / 1000000000));
    return 0;
}
