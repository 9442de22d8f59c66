/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The VMM's memory map (PVH hvm_memmap_table_entry) turned into a sorted,
 * merged list of usable RAM ranges. Pure logic: unit-tested and fuzzed on
 * the host, because the map comes from outside.
 */
#ifndef MIURA_ARCH_MEMMAP_H
#define MIURA_ARCH_MEMMAP_H

#include <stdint.h>

struct hvm_memmap_entry {
    uint64_t addr, size;
    uint32_t type, reserved;
};
#define HVM_MEMMAP_TYPE_RAM 1

struct mem_region {
    uint64_t base, len;
};

/*
 * Reads n map entries (any order, possibly overlapping, empty or wrapping
 * past 2^64) and writes the RAM ranges to out[0..max): sorted by base,
 * overlapping and adjacent ranges merged, empty and wrapping ones dropped.
 * Ranges are trimmed to whole 4 KiB pages. Returns the number written; RAM
 * beyond `max` ranges is reported through *dropped (may be NULL).
 */
unsigned memmap_normalize(const struct hvm_memmap_entry *map, unsigned n, struct mem_region *out,
                          unsigned max, unsigned *dropped);

#endif
