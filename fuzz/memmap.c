/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz memmap_normalize with arbitrary VMM memory maps; check its promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/memmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hvm_memmap_entry map[64];
    unsigned n = (unsigned)(size / sizeof(map[0]));
    if (n > 64)
        n = 64;
    memcpy(map, data, n * sizeof(map[0]));
    struct mem_region out[8];
    unsigned dropped;
    unsigned got = memmap_normalize(map, n, out, 8, &dropped);
    if (got > 8)
        abort();
    for (unsigned i = 0; i < got; i++) {
        if (out[i].len == 0 || (out[i].base & 4095) || (out[i].len & 4095))
            abort();
        if (out[i].base + out[i].len < out[i].base)
            abort();
        if (i > 0 && out[i - 1].base + out[i - 1].len >= out[i].base)
            abort();
    }
    return 0;
}
