/* SPDX-License-Identifier: BSD-2-Clause */
#include "arch/x86_64/memmap.h"

#include <stddef.h>

#define PAGE_MASK 4095ull

unsigned memmap_normalize(const struct hvm_memmap_entry *map, unsigned n, struct mem_region *out,
                          unsigned max, unsigned *dropped)
{
    unsigned count = 0, lost = 0;

    for (unsigned i = 0; i < n; i++) {
        if (map[i].type != HVM_MEMMAP_TYPE_RAM || map[i].size == 0)
            continue;
        uint64_t base = map[i].addr, end = map[i].addr + map[i].size;
        if (end < base)
            continue; /* wraps past 2^64 */
        if (base > UINT64_MAX - PAGE_MASK)
            continue;
        base = (base + PAGE_MASK) & ~PAGE_MASK;
        end &= ~PAGE_MASK;
        if (end <= base)
            continue;

        /* Insert sorted by base, merging with overlapping or adjacent ranges. */
        unsigned pos = 0;
        while (pos < count && out[pos].base + out[pos].len < base)
            pos++;
        if (pos < count && out[pos].base <= end) {
            uint64_t m_base = out[pos].base < base ? out[pos].base : base;
            uint64_t m_end = out[pos].base + out[pos].len;
            if (end > m_end)
                m_end = end;
            /* Swallow following ranges the merged one now reaches. */
            unsigned next = pos + 1;
            while (next < count && out[next].base <= m_end) {
                uint64_t e = out[next].base + out[next].len;
                if (e > m_end)
                    m_end = e;
                next++;
            }
            out[pos].base = m_base;
            out[pos].len = m_end - m_base;
            unsigned removed = next - pos - 1;
            for (unsigned j = pos + 1; j + removed < count; j++)
                out[j] = out[j + removed];
            count -= removed;
            continue;
        }
        if (count == max) {
            lost++;
            continue;
        }
        for (unsigned j = count; j > pos; j--)
            out[j] = out[j - 1];
        out[pos].base = base;
        out[pos].len = end - base;
        count++;
    }
    if (dropped)
        *dropped = lost;
    return count;
}
