/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * miura_getarg_uint: a numeric command-line argument with a default and a
 * range, as every appliance reads its settings. Only miura_getarg, strtoul
 * and printf: the Linux build of an appliance compiles this same file.
 */
#include <stdio.h>
#include <stdlib.h>

#include "miura/miura.h"

unsigned miura_getarg_uint(const char *key, unsigned def, unsigned min, unsigned max)
{
    const char *v = miura_getarg(key);
    if (!v)
        return def;
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (*v < '0' || *v > '9' || *end != 0 || n < min || n > max) {
        printf("miura: bad %s=%s (want %u..%u); using %u\n", key, v, min, max, def);
        return def;
    }
    return (unsigned)n;
}
