/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz the MP table readers with arbitrary firmware memory: they must stay
 * inside the bytes given and never write more IDs than asked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/mptable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes: reading past it is caught by ASan. */
    uint8_t *mem = malloc(size ? size : 1);
    memcpy(mem, data, size);
    uint32_t cfg = mptable_find(mem, size);
    (void)cfg;
    uint8_t ids[5];
    memset(ids, 0xee, sizeof(ids));
    unsigned n = mptable_cpus(mem, size, ids, 4);
    if (n > 4 || ids[4] != 0xee)
        abort();
    free(mem);
    return 0;
}
