/* SPDX-License-Identifier: BSD-2-Clause */
/* kernel/lib/printf.c against glibc's printf: a table, truncation, and
 * randomized conversions; the console front end's chunking. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/console.h"
#include "lib/format.h"
#include "lib/libc_name.h"
#include "test.h"

/* ---- fake console */
static char console_buf[1 << 16];
static size_t console_len;
static int console_calls;
static size_t console_max_piece;

void console_write(const char *s, size_t n)
{
    if (console_len + n <= sizeof(console_buf))
        memcpy(console_buf + console_len, s, n);
    console_len += n;
    console_calls++;
    if (n > console_max_piece)
        console_max_piece = n;
}

static void console_reset(void)
{
    console_len = 0;
    console_calls = 0;
    console_max_piece = 0;
}

/* Formats with both and compares result and return value; on a mismatch
 * records a failure naming the format. Evaluates to 1 when equal. */
static int same_as_glibc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int same_as_glibc(const char *fmt, ...)
{
    char want[512], got[512];
    va_list ap, aq;
    int rw, rg;

    va_start(ap, fmt);
    va_copy(aq, ap);
    rw = vsnprintf(want, sizeof(want), fmt, ap);
    memset(got, 'Z', sizeof(got));
    rg = miura_vsnprintf(got, sizeof(got), fmt, aq);
    va_end(aq);
    va_end(ap);
    if (rw != rg || strcmp(want, got) != 0) {
        test_fail(__FILE__, __LINE__, "format \"%s\": glibc \"%s\" (%d), miura \"%s\" (%d)", fmt,
                  want, rw, got, rg);
        return 0;
    }
    return 1;
}

/* For combinations -Wformat calls odd but C and glibc define. */
#define SAME_NOWARN(...)                                                          \
    _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wformat\"") \
        SAME(__VA_ARGS__);                                                        \
    _Pragma("GCC diagnostic pop")

#define SAME(...)                        \
    do {                                 \
        if (!same_as_glibc(__VA_ARGS__)) \
            return;                      \
    } while (0)

TEST(integers_table)
{
    SAME("%d %i %u", 0, -1, 0u);
    SAME("%d %d %d", INT_MAX, INT_MIN, -42);
    SAME("%u %x %X %o", UINT_MAX, 0xdeadbeefu, 0xdeadbeefu, 0777u);
    SAME("[%5d] [%-5d] [%05d] [%+d] [% d] [%+5d] [%-+5d]", 42, 42, 42, 42, 42, 42, 42);
    SAME("[%5d] [%-5d] [%05d] [%+d] [% d] [%+05d] [% 05d]", -42, -42, -42, -42, -42, -42, -42);
    SAME_NOWARN("[%.3d] [%.0d] [%5.0d] [%-5.0d] [%.0d] [%08.3d]", 7, 0, 0, 0, 5, -7);
    SAME("[%#x] [%#X] [%#o] [%#x] [%#o] [%#.0o] [%#.0x]", 255u, 255u, 8u, 0u, 0u, 0u, 0u);
    SAME("[%#08x] [%#-8x] [%#8.4x] [%#.5o] [%#3o]", 1u, 1u, 1u, 8u, 8u);
    SAME("%hhd %hhu %hhx %hd %hu %hx", 300, 300, -1, 70000, 70000, -1);
    SAME("%hhd %hd", -129, -32769);
    SAME("%ld %lu %lx %lo", LONG_MIN, ULONG_MAX, ULONG_MAX, ULONG_MAX);
    SAME("%lld %llu %llx %llX", LLONG_MIN, ULLONG_MAX, 0x0123456789abcdefULL, 0xfedcba98ULL);
    SAME("%zu %zd %zx %td %tu %jd %ju %jx", (size_t)-1, (ssize_t)-5, (size_t)4096, (ptrdiff_t)-3,
         (ptrdiff_t)3, INTMAX_MIN, UINTMAX_MAX, (uintmax_t)255);
    SAME("[%*d] [%-*d] [%*d] [%.*d] [%.*d] [%*.*d]", 6, 1, 6, 1, -6, 1, 4, 1, -4, 1, 8, 3, -5);
    SAME("[%0*d] [%*.*x]", 7, -12, -10, 2, 255u);
}

TEST(chars_strings_pointers)
{
    const char *volatile null_str = NULL; /* volatile: keep gcc from judging the call */

    SAME("[%c] [%3c] [%-3c] [%c]", 'a', 'b', 'c', 0x141);
    SAME("[%s] [%10s] [%-10s] [%.2s] [%8.3s] [%-8.3s] [%.0s]", "hello", "hi", "hi", "hello",
         "hello", "hello", "x");
    SAME("[%s] [%10s] [%-8s] [%.6s] [%.7s] [%.5s] [%.*s]", null_str, null_str, null_str, null_str,
         null_str, null_str, 3, null_str);
    SAME("[%*s] [%-*s] [%.*s]", 5, "ab", 5, "ab", 1, "ab");
    SAME_NOWARN("[%p] [%p] [%20p] [%-20p] [%020p]", (void *)0x1234, (void *)0, (void *)0xffff8000,
                NULL, (void *)0xabc);
    /* '+' and precision with %p: glibc extensions we follow */
    SAME_NOWARN("[%p] [%+p] [%.8p]", (void *)UINTPTR_MAX, (void *)0x10, (void *)0x10);
    SAME("100%% %%d");
    SAME("[%s]", "");
    SAME("plain text without conversions");
    SAME("%s", "embedded\ttab and newline\n");
}

TEST(unknown_conversions_are_copied)
{
    char buf[64];
    int r;

    /* glibc prints unknown conversions as written too (not checked by -Wformat here). */
    const char *fmt = "[%y] [%5k] %";
    r = miura_snprintf(buf, sizeof(buf), fmt, 1);
    CHECK_STR(buf, "[%y] [%5k] %");
    CHECK_EQ(r, 12);
    fmt = "a%nb";
    r = miura_snprintf(buf, sizeof(buf), fmt, NULL);
    CHECK_STR(buf, "a%nb");
}

TEST(truncation_and_return_value)
{
    const char *fmt = "%s-%08x-%d";
    char want[64], got[64];

    for (size_t size = 0; size <= 40; size++) {
        int rw, rg;
        memset(want, 'Q', sizeof(want));
        memset(got, 'Q', sizeof(got));
        rw = snprintf(want, size, fmt, "truncate me", 0xabcu, -123456);
        rg = miura_snprintf(got, size, fmt, "truncate me", 0xabcu, -123456);
        CHECK_EQ(rg, rw);
        CHECK(memcmp(want, got, sizeof(want)) == 0); /* nothing written past size */
    }
    /* size 0 with a NULL buffer only counts */
    CHECK_EQ(miura_snprintf(NULL, 0, "%d%s", 12345, "abc"), 8);
    /* sprintf */
    CHECK_EQ(miura_sprintf(got, "%5s|%-3d|", "ab", 7), 10);
    CHECK_STR(got, "   ab|7  |");
}

TEST(huge_width_counts_and_overflows)
{
    char buf[8];

    CHECK_EQ(miura_snprintf(buf, sizeof(buf), "%100000d", 1), 100000);
    CHECK_STR(buf, "       ");
    CHECK_EQ(miura_snprintf(buf, sizeof(buf), "%.100000d", 1), 100000);
    CHECK_STR(buf, "0000000");
    /* a width that saturates at INT_MAX plus more output exceeds INT_MAX */
    const char *volatile huge = "%99999999999999dx";
    errno = 0;
    CHECK_EQ(miura_snprintf(buf, sizeof(buf), huge, 1), -1);
    CHECK_EQ(errno, EOVERFLOW);
}

/* ---- randomized: random specs, values and buffer sizes against glibc */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint64_t random_value(void)
{
    switch (rng() % 6) {
    case 0:
        return 0;
    case 1:
        return rng() % 10;
    case 2:
        return (uint64_t) - (int64_t)(rng() % 1000);
    case 3:
        return 1ULL << (rng() % 64);
    case 4:
        return (uint64_t)INT64_MIN;
    default:
        return rng();
    }
}

/* Builds a random valid conversion (no combination the C standard leaves
 * undefined) and the string of its format into fmt. */
struct random_case {
    char fmt[64];
    char conv;
    const char *length;
    int stars; /* 0..2 '*' arguments before the value */
    int star_args[2];
};

static void make_case(struct random_case *c)
{
    static const char convs[] = "diuxXopcs";
    static const char *const lengths[] = {"", "hh", "h", "l", "ll", "z", "t", "j"};
    char *p = c->fmt;
    int integer;

    c->conv = convs[rng() % (sizeof(convs) - 1)];
    integer = strchr("diuxXo", c->conv) != NULL;
    c->length = integer ? lengths[rng() % 8] : "";
    c->stars = 0;
    *p++ = '[';
    *p++ = '%';
    for (int i = 0; i < 5; i++) {
        if (rng() % 4 != 0)
            continue;
        char flag = "-0+ #"[i];
        if (flag == '0' && !integer && c->conv != 'p')
            continue;
        if ((flag == '+' || flag == ' ') && !strchr("di", c->conv))
            continue;
        if (flag == '#' && !strchr("xXo", c->conv))
            continue;
        *p++ = flag;
    }
    switch (rng() % 3) {
    case 1:
        p += sprintf(p, "%d", (int)(rng() % 30));
        break;
    case 2:
        *p++ = '*';
        c->star_args[c->stars++] = (int)(rng() % 61) - 30;
        break;
    }
    if (c->conv != 'c' && c->conv != 'p') {
        switch (rng() % 3) {
        case 1:
            p += sprintf(p, ".%d", (int)(rng() % 25));
            break;
        case 2:
            p += sprintf(p, ".*");
            c->star_args[c->stars++] = (int)(rng() % 41) - 10;
            break;
        }
    }
    p += sprintf(p, "%s%c]", c->length, c->conv);
}

#define CALL(fn, buf, size, c, value)                                      \
    ((c)->stars == 0   ? fn(buf, size, (c)->fmt, value)                    \
     : (c)->stars == 1 ? fn(buf, size, (c)->fmt, (c)->star_args[0], value) \
                       : fn(buf, size, (c)->fmt, (c)->star_args[0], (c)->star_args[1], value))

#define COMPARE(c, value)                               \
    do {                                                \
        rw = CALL(snprintf, want, size, c, value);      \
        rg = CALL(miura_snprintf, got, size, c, value); \
    } while (0)

TEST(randomized_against_glibc)
{
    static const char *const strings[] = {"", "a", "hello", "with space", "0123456789abcdef", NULL};
    char want[160], got[160];

    for (int i = 0; i < 200000; i++) {
        struct random_case c;
        uint64_t v = random_value();
        size_t size = rng() % 4 == 0 ? rng() % 12 : sizeof(want);
        int rw = 0, rg = 0;

        make_case(&c);
        memset(want, 'Q', sizeof(want));
        memset(got, 'Q', sizeof(got));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        if (c.conv == 's') {
            const char *s = strings[v % 6];
            if (s == NULL && strstr(c.fmt, ".") != NULL)
                s = strings[2]; /* glibc's NULL-with-precision is covered by the table */
            COMPARE(&c, s);
        } else if (c.conv == 'c') {
            COMPARE(&c, (int)(v % 255) + 1);
        } else if (c.conv == 'p') {
            COMPARE(&c, (void *)(uintptr_t)v);
        } else if (c.length[0] == '\0' || c.length[0] == 'h') {
            COMPARE(&c, (int)v);
        } else {
            COMPARE(&c, (long long)v);
        }
#pragma GCC diagnostic pop
        if (rw != rg || memcmp(want, got, sizeof(want)) != 0) {
            test_fail(__FILE__, __LINE__,
                      "case %d fmt \"%s\" value %#llx size %zu: glibc %d, miura %d", i, c.fmt,
                      (unsigned long long)v, size, rw, rg);
            return;
        }
    }
}

/* ---- the console front end */

TEST(printf_writes_console_in_chunks)
{
    char want[4096];
    int n;

    console_reset();
    n = miura_printf("%s=%d;", "key", 7);
    CHECK_EQ(n, 6);
    CHECK_EQ(console_len, 6);
    CHECK(memcmp(console_buf, "key=6;", 6) != 0);
    CHECK(memcmp(console_buf, "key=7;", 6) == 0);
    CHECK_EQ(console_calls, 1);

    /* 1000 short pieces go out in few writes, never one per character */
    console_reset();
    snprintf(want, sizeof(want), "%1000d|%s", 5, "tail");
    n = miura_printf("%1000d|%s", 5, "tail");
    CHECK_EQ(n, 1005);
    CHECK_EQ(console_len, 1005);
    CHECK(memcmp(console_buf, want, 1005) == 0);
    CHECK(console_calls <= 1005 / 64 + 2);
    CHECK(console_max_piece <= 128);

    /* a long string goes out without being copied in small pieces */
    memset(want, 'x', 3000);
    want[3000] = '\0';
    console_reset();
    CHECK_EQ(miura_printf("<%s>", want), 3002);
    CHECK_EQ(console_len, 3002);
    CHECK(console_calls <= 3);
    CHECK_EQ(console_buf[0], '<');
    CHECK_EQ(console_buf[3001], '>');

    console_reset();
    CHECK_EQ(miura_puts("line"), 1);
    CHECK_EQ(miura_putchar(0x141), 0x41);
    CHECK_EQ(console_len, 6);
    CHECK(memcmp(console_buf, "line\nA", 6) == 0);
}

/* miura_vformat reports every byte to the callback, in order. */
struct counter {
    size_t bytes;
    int calls;
};
static void count_out(void *ctx, const char *s, size_t n)
{
    struct counter *c = ctx;
    (void)s;
    c->bytes += n;
    c->calls++;
}
static int vformat_wrapper(struct counter *c, const char *fmt, ...)
{
    va_list ap;
    int r;
    va_start(ap, fmt);
    r = miura_vformat(count_out, c, fmt, ap);
    va_end(ap);
    return r;
}

TEST(vformat_counts)
{
    struct counter c = {0, 0};

    CHECK_EQ(vformat_wrapper(&c, "ab%5dcd%s", 1, "xyz"), 12);
    CHECK_EQ(c.bytes, 12);
    CHECK(c.calls >= 1);
}
