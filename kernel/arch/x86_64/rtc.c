/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Wall-clock time from the CMOS RTC (ports 0x70/0x71), read once at first
 * use and then advanced by the TSC clock. QEMU microvm has the RTC unless
 * started with rtc=off; without one the answer is INT64_MIN.
 */
#include "arch/x86_64/arch.h"
#include "miura/miura.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71

static int64_t rtc_epoch; /* realtime at clock_ns() == 0 */
static bool rtc_read;

static uint8_t cmos(uint8_t reg)
{
    outb(CMOS_INDEX, reg | 0x80); /* keep NMIs masked */
    return inb(CMOS_DATA);
}

static unsigned bcd(uint8_t v, bool binary)
{
    return binary ? v : (v & 15u) + (v >> 4) * 10u;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int64_t rtc_now(void)
{
    uint8_t sec, min, hour, day, mon, year, status_b;
    /* Wait out an update in progress (bounded), then read twice until stable. */
    for (int i = 0; i < 100000 && (cmos(0x0a) & 0x80); i++)
        cpu_relax();
    for (int tries = 0; tries < 5; tries++) {
        sec = cmos(0x00), min = cmos(0x02), hour = cmos(0x04);
        day = cmos(0x07), mon = cmos(0x08), year = cmos(0x09);
        if (sec == cmos(0x00) && min == cmos(0x02))
            break;
    }
    status_b = cmos(0x0b);
    if (sec == 0xff && year == 0xff)
        return INT64_MIN; /* no RTC: the bus reads all ones */
    bool binary = status_b & 0x04;
    bool pm = !(status_b & 0x02) && (hour & 0x80);
    unsigned h = bcd(hour & 0x7f, binary) % 24;
    if (pm)
        h = (h % 12) + 12;
    unsigned m = bcd(mon, binary), d = bcd(day, binary);
    if (m < 1 || m > 12 || d < 1 || d > 31)
        return INT64_MIN;
    int64_t y = 2000 + bcd(year, binary);
    return days_from_civil(y, m, d) * 86400 + h * 3600 + bcd(min, binary) * 60 + bcd(sec, binary);
}

int64_t miura_realtime_s(void)
{
    if (!rtc_read) {
        int64_t now = rtc_now();
        rtc_epoch = now == INT64_MIN ? INT64_MIN : now - (int64_t)(clock_ns() / 1000000000u);
        rtc_read = true;
    }
    if (rtc_epoch == INT64_MIN)
        return INT64_MIN;
    return rtc_epoch + (int64_t)(clock_ns() / 1000000000u);
}
