/* SPDX-License-Identifier: BSD-2-Clause */
#include "common/number.h"

int parse_digits(const char *s, uint64_t max, uint64_t *v)
{
    uint64_t x = 0;
    int n = 0;
    while (s[n] >= '0' && s[n] <= '9') {
        uint64_t d = (uint64_t)(s[n] - '0');
        if (d > max || x > (max - d) / 10) /* x * 10 + d > max, without overflow */
            return -1;
        x = x * 10 + d;
        n++;
    }
    if (n == 0)
        return -1;
    *v = x;
    return n;
}

int parse_decimal(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
    uint64_t x;
    int n = parse_digits(s, max, &x);
    if (n < 0 || s[n] != '\0' || x < min)
        return -1;
    *v = x;
    return 0;
}
