/* SPDX-License-Identifier: BSD-2-Clause */
/* kernel/lib/string.c and strtol.c against glibc. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/libc_name.h"
#include "test.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int sign(int x)
{
    return (x > 0) - (x < 0);
}

TEST(memcpy_memset_all_sizes_and_offsets)
{
    unsigned char src[300], dst[300], want[300];

    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (unsigned char)(i * 7 + 3);
    for (size_t off = 0; off < 9; off++) {
        for (size_t n = 0; n + off + 16 < sizeof(dst); n += 1 + n / 8) {
            memset(dst, 0xAA, sizeof(dst));
            memset(want, 0xAA, sizeof(want));
            memcpy(want + off, src + 3, n);
            CHECK(miura_memcpy(dst + off, src + 3, n) == dst + off);
            CHECK(memcmp(dst, want, sizeof(dst)) == 0);

            memset(want + off, 0x5c, n);
            CHECK(miura_memset(dst + off, 0x15c, n) == dst + off); /* c is converted to a byte */
            CHECK(memcmp(dst, want, sizeof(dst)) == 0);
        }
    }
}

TEST(memmove_overlaps_both_ways)
{
    unsigned char buf[200], want[200];

    for (int round = 0; round < 5000; round++) {
        size_t a = rng() % 100, b = rng() % 100, n = rng() % 100;
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = want[i] = (unsigned char)rng();
        memmove(want + a, want + b, n);
        CHECK(miura_memmove(buf + a, buf + b, n) == buf + a);
        CHECK(memcmp(buf, want, sizeof(buf)) == 0);
    }
    /* direction flag is clear again after a backward copy */
    memcpy(buf, "abcdef", 6);
    miura_memmove(buf + 1, buf, 5);
    miura_memcpy(buf + 10, buf, 3);
    CHECK(memcmp(buf, "aabcde", 6) == 0);
    CHECK(memcmp(buf + 10, "aab", 3) == 0);
}

TEST(compare_and_search)
{
    static const char *const words[] = {"",  "a",    "ab",    "abc", "abd", "B",
                                        "b", "\xff", "a\x80", "ABC", "AbD", "abcdef"};
    const size_t nwords = sizeof(words) / sizeof(words[0]);

    for (size_t i = 0; i < nwords; i++) {
        for (size_t j = 0; j < nwords; j++) {
            const char *x = words[i], *y = words[j];
            CHECK_EQ(sign(miura_strcmp(x, y)), sign(strcmp(x, y)));
            CHECK_EQ(sign(miura_strcasecmp(x, y)), sign(strcasecmp(x, y)));
            for (size_t n = 0; n < 5; n++) {
                CHECK_EQ(sign(miura_strncmp(x, y, n)), sign(strncmp(x, y, n)));
                CHECK_EQ(sign(miura_strncasecmp(x, y, n)), sign(strncasecmp(x, y, n)));
                if (n <= strlen(x) + 1 && n <= strlen(y) + 1)
                    CHECK_EQ(sign(miura_memcmp(x, y, n)), sign(memcmp(x, y, n)));
            }
            CHECK(miura_strstr(x, y) == strstr(x, y));
        }
    }
    const char *s = "hello, world";
    CHECK(miura_strchr(s, 'o') == s + 4);
    CHECK(miura_strrchr(s, 'o') == s + 8);
    CHECK(miura_strchr(s, 'z') == NULL);
    CHECK(miura_strrchr(s, 'z') == NULL);
    CHECK(miura_strchr(s, '\0') == s + 12);
    CHECK(miura_strrchr(s, '\0') == s + 12);
    CHECK(miura_memchr(s, 'w', 12) == s + 7);
    CHECK(miura_memchr(s, 'w', 7) == NULL);
    CHECK(miura_memchr(s, 'h' + 256, 3) == s);
    CHECK_EQ(miura_strlen(s), 12);
    CHECK_EQ(miura_strlen(""), 0);
    CHECK_EQ(miura_strnlen(s, 5), 5);
    CHECK_EQ(miura_strnlen(s, 100), 12);
    CHECK(miura_strstr(s, "world") == s + 7);
    CHECK(miura_strstr(s, "worlds") == NULL);
}

TEST(copies)
{
    char buf[16];

    memset(buf, 'X', sizeof(buf));
    CHECK(miura_strcpy(buf, "abc") == buf);
    CHECK(memcmp(buf, "abc\0XX", 6) == 0);

    memset(buf, 'X', sizeof(buf));
    CHECK(miura_strncpy(buf, "abc", 6) == buf);
    CHECK(memcmp(buf, "abc\0\0\0X", 7) == 0); /* padded with NULs to n */
    memset(buf, 'X', sizeof(buf));
    miura_strncpy(buf, "abcdef", 3);
    CHECK(memcmp(buf, "abcX", 4) == 0); /* no terminator when src is longer */

    memset(buf, 'X', sizeof(buf));
    CHECK_EQ(miura_strlcpy(buf, "abcdef", 4), 6);
    CHECK(memcmp(buf, "abc\0X", 5) == 0);
    CHECK_EQ(miura_strlcpy(buf, "ab", sizeof(buf)), 2);
    CHECK_STR(buf, "ab");
    buf[0] = 'Q';
    CHECK_EQ(miura_strlcpy(buf, "ab", 0), 2);
    CHECK_EQ(buf[0], 'Q');

    char *d = miura_strdup("duplicate me");
    CHECK(d != NULL);
    CHECK_STR(d, "duplicate me");
    free(d);
    d = miura_strndup("duplicate me", 3);
    CHECK(d != NULL);
    CHECK_STR(d, "dup");
    free(d);
    d = miura_strndup("ab", 10);
    CHECK_STR(d, "ab");
    free(d);
}

TEST(strerror_matches_linux)
{
    int known = 0;

    for (int e = 0; e < 200; e++) {
        const char *name = miura_strerrorname_np(e);
        if (name == NULL) {
            CHECK_STR(miura_strerror(e), "Unknown error");
            continue;
        }
        known++;
        CHECK_STR(miura_strerror(e), strerror(e));
        if (e != 0)
            CHECK_STR(name, strerrorname_np(e));
    }
    CHECK_EQ(known, 69); /* the 68 numbers in include/libc/errno.h, and 0 */
    CHECK_STR(miura_strerror(ENOENT), "No such file or directory");
    CHECK_STR(miura_strerrorname_np(ECONNRESET), "ECONNRESET");
    CHECK_STR(miura_strerror(-1), "Unknown error");
}

/* Compares one strto* call with glibc: value, end pointer and errno. */
#define STRTO_SAME(fn, s, base)                                                                  \
    do {                                                                                         \
        char *end_w, *end_g;                                                                     \
        int errno_w, errno_g;                                                                    \
        errno = 0;                                                                               \
        __typeof__(fn(s, NULL, 0)) w = fn(s, &end_w, base);                                      \
        errno_w = errno;                                                                         \
        errno = 0;                                                                               \
        __typeof__(fn(s, NULL, 0)) g = miura_##fn(s, &end_g, base);                              \
        errno_g = errno;                                                                         \
        if (errno_w == EINVAL) /* bad base: glibc leaves *end alone, we set it to s */           \
            end_w = (char *)(s);                                                                 \
        if (w != g || end_w != end_g || errno_w != errno_g) {                                    \
            test_fail(__FILE__, __LINE__,                                                        \
                      #fn "(\"%s\", %d): glibc %lld end+%td errno %d, miura %lld end+%td errno " \
                          "%d",                                                                  \
                      s, base, (long long)w, end_w - (s), errno_w, (long long)g, end_g - (s),    \
                      errno_g);                                                                  \
            return;                                                                              \
        }                                                                                        \
    } while (0)

TEST(strtol_table)
{
    static const char *const inputs[] = {"0",
                                         "-0",
                                         "+0",
                                         "42",
                                         "  \t\n42xyz",
                                         "-42",
                                         "0x1f",
                                         "0X1F",
                                         "0x",
                                         "0xg",
                                         "010",
                                         "08",
                                         "9223372036854775807",
                                         "9223372036854775808",
                                         "-9223372036854775808",
                                         "-9223372036854775809",
                                         "18446744073709551615",
                                         "18446744073709551616",
                                         "-18446744073709551615",
                                         "99999999999999999999999999",
                                         "-1",
                                         "",
                                         "   ",
                                         "-",
                                         "+",
                                         "zz",
                                         "Zz",
                                         "1e3",
                                         "0b101",
                                         "  -0x10",
                                         "+-1",
                                         "0x0x1"};
    static const int bases[] = {0, 2, 8, 10, 16, 36, 1, 37, -1};

    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
            STRTO_SAME(strtol, inputs[i], bases[b]);
            STRTO_SAME(strtoul, inputs[i], bases[b]);
            STRTO_SAME(strtoll, inputs[i], bases[b]);
            STRTO_SAME(strtoull, inputs[i], bases[b]);
        }
        CHECK_EQ(miura_atoi(inputs[i]), atoi(inputs[i]));
    }
    CHECK_EQ(miura_abs(-5), 5);
    CHECK_EQ(miura_abs(5), 5);
    CHECK_EQ(miura_abs(0), 0);
}

TEST(strtol_random)
{
    static const char alphabet[] = " \t+-0123456789abcdefxXzZ9";
    char s[32];

    for (int round = 0; round < 100000; round++) {
        size_t len = rng() % 24;
        int base = (int)(rng() % 38);
        for (size_t i = 0; i < len; i++)
            s[i] = alphabet[rng() % (sizeof(alphabet) - 1)];
        s[len] = '\0';
        if (base == 1)
            base = 0;
        STRTO_SAME(strtol, s, base);
        STRTO_SAME(strtoull, s, base);
    }
}
