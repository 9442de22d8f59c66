/* SPDX-License-Identifier: BSD-2-Clause */
/* kernel/lib/cmdline.c: splitting, lookup, numbers, hostile input. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cmdline.h"
#include "test.h"

/* Splits a copy of line into words; the joined words ("|"-separated) go to
 * out. Returns the count. */
static int split_joined(const char *line, int max, char *out, size_t outsize)
{
    char buf[256];
    char *words[16];
    int n;

    snprintf(buf, sizeof(buf), "%s", line);
    n = cmdline_split(buf, words, max);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t len = strlen(out);
        snprintf(out + len, outsize - len, "%s%s", i ? "|" : "", words[i]);
    }
    return n;
}

#define SPLITS_TO(line, max, count, joined)                       \
    do {                                                          \
        char j_[512];                                             \
        CHECK_EQ(split_joined(line, max, j_, sizeof(j_)), count); \
        CHECK_STR(j_, joined);                                    \
    } while (0)

TEST(split_plain)
{
    SPLITS_TO("console=ttyS0 quiet", 16, 2, "console=ttyS0|quiet");
    SPLITS_TO("  a \t b\t\tc  ", 16, 3, "a|b|c");
    SPLITS_TO("a\nb\r\nc", 16, 3, "a|b|c");
    SPLITS_TO("", 16, 0, "");
    SPLITS_TO(" \t \n ", 16, 0, "");
    SPLITS_TO("x", 16, 1, "x");
}

TEST(split_quotes)
{
    SPLITS_TO("a \"b c\" d", 16, 3, "a|b c|d");
    SPLITS_TO("key=\"x y\" z", 16, 2, "key=x y|z");
    SPLITS_TO("\"a\"b\"c\"", 16, 1, "abc");
    SPLITS_TO("\"\" x", 16, 2, "|x");
    SPLITS_TO("\"unterminated quote and more", 16, 1, "unterminated quote and more");
    SPLITS_TO("a \"", 16, 2, "a|");
    SPLITS_TO("\"\t\"", 16, 1, "\t");
}

TEST(split_limits)
{
    char buf[64] = "one two three four";
    char *words[4];

    SPLITS_TO("a b c d e", 2, 2, "a|b");
    SPLITS_TO("a b c", 3, 3, "a|b|c");
    SPLITS_TO("a b c", 0, 0, "");
    SPLITS_TO("a b c", -1, 0, "");
    CHECK_EQ(cmdline_split(NULL, words, 4), 0);
    CHECK_EQ(cmdline_split(buf, NULL, 4), 0);
    /* words after max_words stay untouched */
    CHECK_EQ(cmdline_split(buf, words, 2), 2);
    CHECK_STR(words[1], "two");
    CHECK_STR(buf + 8, "three four");
}

TEST(value_lookup)
{
    char buf[] = "mem=64M quiet debug= mem=128M virtio_mmio.device=512@0xfeb00e00:12 keyx=1 "
                 "=empty a=b=c";
    char *words[16];
    int n = cmdline_split(buf, words, 16);

    CHECK_EQ(n, 8);
    CHECK_STR(cmdline_value(words, n, "mem"), "128M"); /* the last one wins */
    CHECK_STR(cmdline_value(words, n, "quiet"), "");
    CHECK_STR(cmdline_value(words, n, "debug"), "");
    CHECK_STR(cmdline_value(words, n, "virtio_mmio.device"), "512@0xfeb00e00:12");
    CHECK_STR(cmdline_value(words, n, "a"), "b=c");
    CHECK_STR(cmdline_value(words, n, ""), "empty");
    CHECK(cmdline_value(words, n, "key") == NULL);
    CHECK(cmdline_value(words, n, "Mem") == NULL);
    CHECK(cmdline_value(words, n, "me") == NULL);
    CHECK(cmdline_value(words, n, "a=b") == NULL);
    CHECK(cmdline_value(words, n, "absent") == NULL);
    CHECK(cmdline_value(words, 1, "mem") != NULL);
    CHECK_STR(cmdline_value(words, 1, "mem"), "64M"); /* only the first word searched */
    CHECK(cmdline_value(words, 0, "mem") == NULL);
    CHECK(cmdline_value(NULL, 3, "mem") == NULL);
    CHECK(cmdline_value(words, n, NULL) == NULL);
}

#define U64_IS(s, consumed, value)               \
    do {                                         \
        uint64_t v_ = 0xdeadbeef;                \
        CHECK_EQ(cmdline_u64(s, &v_), consumed); \
        CHECK(v_ == (uint64_t)(value));          \
    } while (0)

#define U64_FAILS(s, err)                      \
    do {                                       \
        uint64_t v_ = 77;                      \
        CHECK_EQ(cmdline_u64(s, &v_), -(err)); \
        CHECK_EQ(v_, 77);                      \
    } while (0)

TEST(numbers)
{
    U64_IS("0", 1, 0);
    U64_IS("123", 3, 123);
    U64_IS("010", 3, 10);
    U64_IS("0x1F", 4, 31);
    U64_IS("0Xabc", 5, 0xabc);
    U64_IS("4K", 2, 4096);
    U64_IS("4k", 2, 4096);
    U64_IS("64M", 3, 64ULL << 20);
    U64_IS("2G", 2, 2ULL << 30);
    U64_IS("3t", 2, 3ULL << 40);
    U64_IS("0x10K", 5, 0x10ULL << 10);
    U64_IS("5KB", 2, 5120); /* stops after the one suffix */
    U64_IS("18446744073709551615", 20, UINT64_MAX);
    U64_IS("0xffffffffffffffff", 18, UINT64_MAX);
    U64_IS("16777215T", 9, 16777215ULL << 40);
    U64_IS("12 rest", 2, 12);
    U64_FAILS("", EINVAL);
    U64_FAILS("x", EINVAL);
    U64_FAILS("0x", EINVAL);
    U64_FAILS("0xg", EINVAL);
    U64_FAILS("-1", EINVAL);
    U64_FAILS(" 1", EINVAL);
    U64_FAILS("K", EINVAL);
    U64_FAILS("18446744073709551616", ERANGE);
    U64_FAILS("0x10000000000000000", ERANGE);
    U64_FAILS("16777216T", ERANGE);
    U64_FAILS("99999999999999999999999999999", ERANGE);
    CHECK_EQ(cmdline_u64(NULL, NULL), -EINVAL);
}

TEST(numbers_virtio_mmio_word)
{
    const char *s = "512@0xfeb00e00:12";
    uint64_t size, base, irq;
    int n;

    n = cmdline_u64(s, &size);
    CHECK_EQ(n, 3);
    CHECK_EQ(s[n], '@');
    s += n + 1;
    n = cmdline_u64(s, &base);
    CHECK_EQ(n, 10);
    CHECK_EQ(s[n], ':');
    s += n + 1;
    n = cmdline_u64(s, &irq);
    CHECK_EQ(n, 2);
    CHECK_EQ(s[n], '\0');
    CHECK_EQ(size, 512);
    CHECK_EQ(base, 0xfeb00e00);
    CHECK_EQ(irq, 12);
}

/* A straightforward model of the split rules, writing into fresh memory. */
static int model_split(const char *in, char out[][64], int max)
{
    int n = 0;
    size_t i = 0;

    for (;;) {
        while (strchr(" \t\r\n", in[i]) != NULL && in[i] != '\0')
            i++;
        if (in[i] == '\0' || n == max)
            return n;
        size_t len = 0;
        int quoted = 0;
        while (in[i] != '\0' && (quoted || strchr(" \t\r\n", in[i]) == NULL)) {
            if (in[i] == '"')
                quoted = !quoted;
            else if (len < 63)
                out[n][len++] = in[i];
            i++;
        }
        out[n][len] = '\0';
        n++;
    }
}

TEST(split_matches_model_on_random_input)
{
    static const char alphabet[] = "ab \t\"\"=\n\r\x01\xff";
    uint64_t state = 88172645463325252ULL;
    char in[48], buf[48];
    char model[40][64];
    char *words[40];

    for (int round = 0; round < 50000; round++) {
        size_t len;
        int max, n, m;
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        len = state % 40;
        max = (int)((state >> 20) % 30);
        for (size_t i = 0; i < len; i++) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            in[i] = alphabet[state % (sizeof(alphabet) - 1)];
        }
        in[len] = '\0';
        memcpy(buf, in, len + 1);
        n = cmdline_split(buf, words, max);
        m = model_split(in, model, max);
        CHECK_EQ(n, m);
        for (int i = 0; i < n; i++) {
            CHECK(words[i] >= buf && words[i] < buf + len + 1);
            CHECK_STR(words[i], model[i]);
        }
    }
}

TEST(long_hostile_line)
{
    size_t len = 1 << 20;
    char *buf = malloc(len + 1);
    char *words[64];
    int n;

    CHECK(buf != NULL);
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)(1 + (i * 2654435761u >> 7) % 255); /* every byte but NUL */
    buf[len] = '\0';
    n = cmdline_split(buf, words, 64);
    CHECK(n >= 1 && n <= 64);
    for (int i = 0; i < n; i++) {
        CHECK(words[i] >= buf && words[i] <= buf + len);
        CHECK(words[i] + strlen(words[i]) <= buf + len);
        CHECK(strchr(words[i], '"') == NULL);
    }
    (void)cmdline_value(words, n, "x");

    /* one huge quoted word */
    memset(buf, 'a', len);
    buf[0] = '"';
    buf[len] = '\0';
    CHECK_EQ(cmdline_split(buf, words, 64), 1);
    CHECK_EQ(strlen(words[0]), len - 1);
    free(buf);
}
