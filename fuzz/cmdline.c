/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzzes the kernel command line parser: arbitrary bytes are split into
 * words, looked up and parsed as numbers. Besides the sanitizers, it checks
 * the contracts: the word count is bounded, every word lies inside the buffer
 * and has no quote left, the key of every word is found, lookups return
 * pointers into words.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cmdline.h"

#define MAX_WORDS 32

static void check(int ok)
{
    if (!ok)
        abort();
}

static void parse_number_chain(const char *s)
{
    /* "SIZE@BASE:IRQ" style: parse numbers separated by single characters. */
    for (int i = 0; i < 4 && *s != '\0'; i++) {
        uint64_t v;
        int n = cmdline_u64(s, &v);
        if (n < 0)
            return;
        check(n > 0 && (size_t)n <= strlen(s));
        s += n;
        if (*s == '\0')
            return;
        s++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf, *end;
    char *words[MAX_WORDS];
    int max, n;

    if (size == 0)
        return 0;
    max = data[0] % (MAX_WORDS + 2) - 1; /* -1 .. MAX_WORDS */
    buf = malloc(size);
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    end = buf + size - 1;

    parse_number_chain(buf);
    n = cmdline_split(buf, words, max);
    check(n >= 0 && n <= (max > 0 ? max : 0));
    for (int i = 0; i < n; i++) {
        check(words[i] >= buf && words[i] <= end);
        check(words[i] + strlen(words[i]) <= end);
        check(strchr(words[i], '"') == NULL); /* quotes removed; quoted blanks stay */
    }
    for (int i = 0; i < n; i++) {
        char key[32];
        size_t k = strcspn(words[i], "=");
        const char *v;
        if (k >= sizeof(key))
            k = sizeof(key) - 1;
        memcpy(key, words[i], k);
        key[k] = '\0';
        v = cmdline_value(words, n, key);
        if (strlen(words[i]) < sizeof(key)) /* the key is exact: it must be found */
            check(v != NULL);
        if (v != NULL) {
            int inside = 0;
            for (int j = 0; j < n; j++)
                inside |= v >= words[j] && v <= words[j] + strlen(words[j]);
            check(inside);
            parse_number_chain(v);
        }
        parse_number_chain(words[i]);
    }
    (void)cmdline_value(words, n, "virtio_mmio.device");
    (void)cmdline_value(words, n, "");
    free(buf);
    return 0;
}
