/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz: the identity range parsers. The input is both a subordinate id file
 * (subid_find for "miura" and uid "998") and, NUL-terminated, a
 * $MIURA_ID_RANGE value (id_range_parse). Whatever they accept must be a range
 * of ids within 1..IDRANGE_ID_MAX, and a found line must really be there.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/idrange.h"

static int in_range(uint64_t start, uint64_t count)
{
    return start >= 1 && count >= 1 && start + count - 1 <= IDRANGE_ID_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t start, count;
    int r = subid_find((const char *)data, size, "miura", "998", &start, &count);
    if (r < -1 || r > 1)
        abort();
    if (r == 1) {
        if (!in_range(start, count))
            abort();
        int named = size >= 6 && memmem(data, size, "miura:", 6) != NULL;
        int numbered = size >= 4 && memmem(data, size, "998:", 4) != NULL;
        if (!named && !numbered)
            abort();
    }
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct id_range range;
    if (id_range_parse(s, &range) == 0) {
        if (!in_range(range.uid, range.count) || !in_range(range.gid, range.count))
            abort();
        if (strspn(s, "0123456789:") != strlen(s))
            abort();
    }
    free(s);
    return 0;
}
