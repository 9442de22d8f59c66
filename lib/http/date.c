/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * HTTP dates (RFC 7231 §7.1.1.1) from and to unix seconds, in integer
 * arithmetic on the proleptic Gregorian calendar (no time.h in the guest).
 *
 * Days are counted from 1970-01-01 by splitting time into 400-year eras of
 * 146097 days, with years starting on March 1 so that the leap day is the last
 * day of a year.
 */
#include <stdio.h>
#include <string.h>

#include "miura/http.h"
#include "miura/http_chars.h"

static const char day_names[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
/* RFC 850's long day names are these, each followed by its tail here. */
static const char day_name_tails[7][7] = {"day", "day", "sday", "nesday", "rsday", "day", "urday"};
static const char month_names[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 of year y, month m (1..12), day d (1..31). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era, year_of_era, day_of_year, day_of_era;
    y -= m <= 2;
    era = floor_div(y, 400);
    year_of_era = y - era * 400;                                   /* 0..399 */
    day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* from March 1 */
    day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468; /* 719468: 0000-03-01 to 1970-01-01 */
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era, day_of_era, year_of_era, day_of_year, mp;
    z += 719468;
    era = floor_div(z, 146097);
    day_of_era = z - era * 146097; /* 0..146096 */
    year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    mp = (5 * day_of_year + 2) / 153; /* 0 = March */
    *d = (unsigned)(day_of_year - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = year_of_era + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

#define SECONDS_PER_DAY 86400

/* Written into a copy of the shape, digits from the seconds backwards, not
 * through snprintf: a response carries two dates, and formatting them was a
 * fifth of the guest's time per small request (docs/benchmarks.md). */
bool http_date_format(int64_t t, char *out)
{
    /* years 1..9999: from 0001-01-01 to 9999-12-31 23:59:59 */
    const int64_t min = -62135596800LL, max = 253402300799LL;
    int64_t days, y;
    unsigned m, d, secs;

    if (t < min || t > max)
        return false;
    days = floor_div(t, SECONDS_PER_DAY);
    secs = (unsigned)(t - days * SECONDS_PER_DAY);
    civil_from_days(days, &y, &m, &d);
    memcpy(out, "Sun, 00 Jan 0000 00:00:00 GMT", HTTP_DATE_LEN + 1);
    memcpy(out, day_names[days + 4 - floor_div(days + 4, 7) * 7] /* 1970-01-01: Thu */, 3);
    memcpy(out + 8, month_names[m - 1], 3);
    /* The numbers as one decimal DDYYYYhhmmss, its digits written from the
     * last to where each goes in the shape. */
    uint64_t n = ((uint64_t)d * 10000 + (uint64_t)y) * 1000000 + secs / 3600 * 10000 +
                 secs / 60 % 60 * 100 + secs % 60;
    for (const char *at = "\x18\x17\x15\x14\x12\x11\x0f\x0e\x0d\x0c\x06\x05"; *at; at++) {
        out[(unsigned char)*at] = (char)('0' + n % 10);
        n /= 10;
    }
    return true;
}

/* A cursor over the date being parsed; every step checks the bytes it reads. */
struct cursor {
    const char *s;
    size_t len, i;
};

static bool lit(struct cursor *c, const char *text)
{
    size_t n = strlen(text);
    if (c->len - c->i < n || memcmp(c->s + c->i, text, n) != 0)
        return false;
    c->i += n;
    return true;
}

static bool digits(struct cursor *c, size_t n, unsigned *value)
{
    unsigned v = 0;
    if (c->len - c->i < n)
        return false;
    for (size_t k = 0; k < n; k++) {
        unsigned char ch = (unsigned char)c->s[c->i + k];
        if (!http_is_digit(ch))
            return false;
        v = v * 10 + (ch - '0');
    }
    c->i += n;
    *value = v;
    return true;
}

static bool month(struct cursor *c, unsigned *m)
{
    for (unsigned k = 0; k < 12; k++) {
        if (lit(c, month_names[k])) {
            *m = k + 1;
            return true;
        }
    }
    return false;
}

/* HH:MM:SS */
static bool time_of_day(struct cursor *c, unsigned *h, unsigned *mi, unsigned *s)
{
    return digits(c, 2, h) && lit(c, ":") && digits(c, 2, mi) && lit(c, ":") && digits(c, 2, s) &&
           *h <= 23 && *mi <= 59 && *s <= 60; /* 60: leap second */
}

static bool date_to_unix(unsigned y, unsigned m, unsigned d, unsigned h, unsigned mi, unsigned s,
                         int64_t *t)
{
    if (y < 1 || d < 1 || d > days_in_month(y, m))
        return false;
    *t = days_from_civil(y, m, d) * SECONDS_PER_DAY + h * 3600 + mi * 60 + s;
    return true;
}

bool http_date_parse(const char *s, size_t len, int64_t *t)
{
    struct cursor c = {s, len, 0};
    unsigned y, m, d, h, mi, sec;
    int k = 0;

    /* Each form starts with a day name's first three letters (distinct for
     * the seven days); what follows them tells the forms apart. */
    while (k < 7 && !lit(&c, day_names[k]))
        k++;
    if (k == 7)
        return false;
    if (lit(&c, ", ")) {
        /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
        if (!digits(&c, 2, &d) || !lit(&c, " ") || !month(&c, &m) || !lit(&c, " ") ||
            !digits(&c, 4, &y))
            return false;
    } else if (lit(&c, " ")) {
        /* asctime: "Sun Nov  6 08:49:37 1994" (day as " 6" or "06") */
        if (!month(&c, &m) || !lit(&c, " "))
            return false;
        if (!lit(&c, " ") || !digits(&c, 1, &d)) {
            c.i = 8; /* after "Www Mon " */
            if (!digits(&c, 2, &d))
                return false;
        }
        return lit(&c, " ") && time_of_day(&c, &h, &mi, &sec) && lit(&c, " ") &&
               digits(&c, 4, &y) && c.i == len && date_to_unix(y, m, d, h, mi, sec, t);
    } else {
        /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
        if (!lit(&c, day_name_tails[k]) || !lit(&c, ", ") || !digits(&c, 2, &d) || !lit(&c, "-") ||
            !month(&c, &m) || !lit(&c, "-") || !digits(&c, 2, &y))
            return false;
        y = y < 70 ? 2000 + y : 1900 + y;
    }
    /* IMF-fixdate and RFC 850 end alike */
    return lit(&c, " ") && time_of_day(&c, &h, &mi, &sec) && lit(&c, " GMT") && c.i == len &&
           date_to_unix(y, m, d, h, mi, sec, t);
}
