/* SPDX-License-Identifier: BSD-2-Clause */
/* memmap_normalize: the VMM's memory map to sorted, merged RAM ranges. */
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/memmap.h"
#include "test.h"

#define KiB 1024ull
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

TEST(qemu_microvm_map)
{
    /* What QEMU gives a 128 MiB microvm, unsorted on purpose. */
    struct hvm_memmap_entry map[] = {
        {1 * MiB, 127 * MiB, 1, 0},
        {0, 640 * KiB, 1, 0},
        {0xfeff8000ull, 0x8000, 2, 0},
        {640 * KiB, 384 * KiB, 2, 0},
    };
    struct mem_region out[8];
    unsigned dropped = 99;
    unsigned n = memmap_normalize(map, 4, out, 8, &dropped);
    CHECK_EQ(n, 2);
    CHECK_EQ(dropped, 0);
    CHECK_EQ(out[0].base, 0);
    CHECK_EQ(out[0].len, 640 * KiB);
    CHECK_EQ(out[1].base, 1 * MiB);
    CHECK_EQ(out[1].len, 127 * MiB);
}

TEST(empty_wrapping_and_partial_pages_dropped)
{
    struct hvm_memmap_entry map[] = {
        {4096, 0, 1, 0},                 /* empty */
        {UINT64_MAX - 4095, 8192, 1, 0}, /* wraps */
        {100, 4000, 1, 0},               /* no whole page */
        {4097, 3 * 4096, 1, 0},          /* trimmed to [8192, 16384) */
        {UINT64_MAX - 100, 50, 1, 0},    /* near the top, no page */
    };
    struct mem_region out[8];
    unsigned n = memmap_normalize(map, 5, out, 8, NULL);
    CHECK_EQ(n, 1);
    CHECK_EQ(out[0].base, 8192);
    CHECK_EQ(out[0].len, 8192);
}

TEST(overlapping_and_adjacent_merge)
{
    struct hvm_memmap_entry map[] = {
        {8 * MiB, 4 * MiB, 1, 0},  {0, 1 * MiB, 1, 0},       {1 * MiB, 1 * MiB, 1, 0},
        {4 * MiB, 2 * MiB, 1, 0},  {5 * MiB, 4 * MiB, 1, 0}, {20 * MiB, 1 * MiB, 1, 0},
        {3 * MiB, 18 * MiB, 1, 0}, /* bridges everything from 3 MiB on */
    };
    struct mem_region out[8];
    unsigned n = memmap_normalize(map, 7, out, 8, NULL);
    CHECK_EQ(n, 2);
    CHECK_EQ(out[0].base, 0);
    CHECK_EQ(out[0].len, 2 * MiB);
    CHECK_EQ(out[1].base, 3 * MiB);
    CHECK_EQ(out[1].len, 18 * MiB);
}

TEST(too_many_ranges_reported)
{
    struct hvm_memmap_entry map[10];
    for (int i = 0; i < 10; i++)
        map[i] = (struct hvm_memmap_entry){(uint64_t)i * 2 * MiB, MiB, 1, 0};
    struct mem_region out[4];
    unsigned dropped;
    unsigned n = memmap_normalize(map, 10, out, 4, &dropped);
    CHECK_EQ(n, 4);
    CHECK_EQ(dropped, 6);
    for (unsigned i = 1; i < n; i++)
        CHECK(out[i - 1].base + out[i - 1].len < out[i].base);
}

/* Against a model: a page bitmap over 256 pages, random maps. */
TEST(random_maps_match_page_model)
{
    srand(12345);
    for (int round = 0; round < 20000; round++) {
        enum { PAGES = 256 };
        unsigned char ram[PAGES] = {0};
        struct hvm_memmap_entry map[12];
        unsigned n = 1 + (unsigned)(rand() % 12);
        for (unsigned i = 0; i < n; i++) {
            uint64_t a = (uint64_t)(rand() % (PAGES * 4096));
            uint64_t len = (uint64_t)(rand() % (64 * 4096));
            uint32_t type = (rand() % 4) ? 1 : 2;
            if (a + len > PAGES * 4096)
                len = PAGES * 4096 - a;
            map[i] = (struct hvm_memmap_entry){a, len, type, 0};
            if (type != 1)
                continue;
            uint64_t b = (a + 4095) / 4096, e = (a + len) / 4096;
            for (uint64_t p = b; p < e; p++)
                ram[p] = 1;
        }
        struct mem_region out[16];
        unsigned dropped;
        unsigned got = memmap_normalize(map, n, out, 16, &dropped);
        CHECK_EQ(dropped, 0);
        unsigned char seen[PAGES] = {0};
        for (unsigned i = 0; i < got; i++) {
            CHECK(out[i].len > 0);
            CHECK(out[i].base % 4096 == 0 && out[i].len % 4096 == 0);
            if (i > 0)
                CHECK(out[i - 1].base + out[i - 1].len < out[i].base); /* sorted, merged */
            for (uint64_t p = out[i].base / 4096; p < (out[i].base + out[i].len) / 4096; p++)
                seen[p] = 1;
        }
        CHECK(memcmp(seen, ram, PAGES) == 0);
    }
}
