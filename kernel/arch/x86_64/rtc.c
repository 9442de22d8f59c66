/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The CMOS RTC (ports 0x70/0x71): the reference that disciplines the clock
 * when the hypervisor offers none (tsc.c), and the first, rough realtime.
 *
 * The RTC counts whole seconds; its update-ended interrupt (IRQ 8) marks the
 * instant a second begins, so each interrupt is one sample "realtime was S.0
 * at this TSC value", late by the interrupt's latency and never early. QEMU
 * sets the RTC from the host's clock truncated to the second when the VM
 * starts and runs it on the host's realtime clock: the RTC trails the host by
 * that constant fraction of a second (0 to 1 s), and follows the host's
 * rate. Without an RTC (the bus reads all ones) there is no realtime.
 */
#include "arch/x86_64/arch.h"
#include "miura/miura.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71

#define RTC_GSI          8
#define RTC_REG_B_24H    0x02 /* register B: 24-hour mode */
#define RTC_REG_B_BINARY 0x04 /* binary, not BCD */
#define RTC_REG_B_UIE    0x10 /* update-ended interrupt enable */
#define RTC_REG_C_UF     0x10 /* register C: an update ended */

static uint8_t cmos(uint8_t reg)
{
    outb(CMOS_INDEX, reg | 0x80); /* keep NMIs masked */
    return inb(CMOS_DATA);
}

static void cmos_write(uint8_t reg, uint8_t v)
{
    outb(CMOS_INDEX, reg | 0x80);
    outb(CMOS_DATA, v);
}

/* Days from 1970-01-01 to the first of each month of a common year. */
static const uint16_t month_days[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};

/* The RTC's time in Unix seconds, or INT64_MIN without one. The VMM computes
 * each register as it is read; reading sec and min again catches a read
 * that straddled a second. */
static int64_t rtc_now(void)
{
    uint8_t r[10]; /* sec, -, min, -, hour, -, weekday, day, month, year */
    for (int tries = 0; tries < 5; tries++) {
        for (unsigned i = 0; i < 10; i++)
            r[i] = cmos((uint8_t)i);
        if (r[0] == cmos(0x00) && r[2] == cmos(0x02))
            break;
    }
    if (r[0] == 0xff && r[9] == 0xff)
        return INT64_MIN; /* no RTC: the bus reads all ones */
    if (!(cmos(0x0b) & RTC_REG_B_BINARY))
        for (unsigned i = 0; i < 10; i++)
            r[i] = (uint8_t)((r[i] & 15) + (r[i] >> 4) * 10);
    /* Years 2000-2099 (the RTC's two digits): every fourth is leap. 10957
     * days from 1970 to 2000. A month out of range reads some month. */
    unsigned y = r[9], days = 10957 + 365 * y + (y + 3) / 4 + month_days[(r[8] - 1u) % 12] +
                              (r[8] > 2 && y % 4 == 0) + r[7] - 1u;
    return (int64_t)days * 86400 + r[4] * 3600 + r[2] * 60 + r[0];
}

/* One sample: the RTC's time now, at TSC value tsc (0: the present, rough).
 * The RTC's seconds begin at an unknown fraction of the host's (see above):
 * realtime is taken half a second ahead of it, the middle, so that it is
 * within half a second of the host's instead of up to a whole one behind. */
static __attribute__((noinline)) bool rtc_sample(uint64_t tsc)
{
    int64_t now = rtc_now();
    if (now == INT64_MIN)
        return false;
    clock_sample(tsc, now * 1000000000 + 500000000);
    return true;
}

static void rtc_interrupt(void *unused)
{
    (void)unused;
    uint64_t tsc = rdtsc();
    if (cmos(0x0c) & RTC_REG_C_UF) /* reading register C acknowledges */
        rtc_sample(tsc);           /* just updated: stable for a second */
}

void rtc_discipline_start(void)
{
    /* 24-hour mode (a VMM computes the registers as they are read, in the
     * mode set now) and the update-ended interrupt, masked at the IOAPIC
     * unless routed below; register C is read first, so that an update flag
     * left from long ago does not raise it at once. Realtime until the first
     * edge: the RTC's current second, up to 1 s behind. */
    cmos(0x0c);
    cmos_write(0x0b, cmos(0x0b) | RTC_REG_B_24H | RTC_REG_B_UIE);
    if (rtc_sample(0))
        irq_route(RTC_GSI, false, irq_cpu(), rtc_interrupt, NULL);
}

int64_t miura_realtime_s(void)
{
    int64_t ns = clock_realtime_ns();
    return ns == INT64_MIN ? INT64_MIN : ns / 1000000000;
}
