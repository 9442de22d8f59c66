/* SPDX-License-Identifier: BSD-2-Clause */
/* The MP table readers: Firecracker-shaped tables, SeaBIOS-shaped ones,
 * and broken ones (checksums, lengths, unknown entries, limits). */
#include <string.h>

#include "arch/x86_64/mptable.h"
#include "test.h"

static void fix_sum(uint8_t *p, size_t n, size_t at)
{
    unsigned s = 0;
    p[at] = 0;
    for (size_t i = 0; i < n; i++)
        s += p[i];
    p[at] = (uint8_t)(0x100 - (s & 0xff));
}

/* A configuration table with `cpus` processor entries (APIC IDs from ids,
 * flags from flags) followed by a bus and an IOAPIC entry. */
static size_t make_table(uint8_t *t, unsigned cpus, const uint8_t *ids, const uint8_t *flags)
{
    memset(t, 0, 512);
    memcpy(t, "PCMP", 4);
    t[6] = 4; /* revision 1.4 */
    size_t off = 44;
    for (unsigned i = 0; i < cpus; i++, off += 20) {
        t[off] = 0;
        t[off + 1] = ids[i];
        t[off + 2] = 0x14;
        t[off + 3] = flags[i];
    }
    t[off] = 1; /* bus */
    off += 8;
    t[off] = 2; /* IOAPIC */
    off += 8;
    t[4] = (uint8_t)off;
    t[5] = (uint8_t)(off >> 8);
    t[34] = (uint8_t)(cpus + 2);
    fix_sum(t, off, 7);
    return off;
}

static void make_float(uint8_t *f, uint32_t cfg)
{
    memset(f, 0, 16);
    memcpy(f, "_MP_", 4);
    f[4] = (uint8_t)cfg;
    f[5] = (uint8_t)(cfg >> 8);
    f[6] = (uint8_t)(cfg >> 16);
    f[7] = (uint8_t)(cfg >> 24);
    f[8] = 1;
    f[9] = 4;
    fix_sum(f, 16, 10);
}

TEST(finds_the_floating_pointer_on_16_byte_boundaries)
{
    uint8_t mem[1024];
    memset(mem, 0, sizeof(mem));
    make_float(mem + 0x3f0, 0x9fc40);
    CHECK_EQ(mptable_find(mem, sizeof(mem)), 0x9fc40);
    /* the same bytes off the boundary are not looked at */
    uint8_t odd[1024];
    memset(odd, 0, sizeof(odd));
    make_float(odd + 0x3e8, 0x9fc40);
    CHECK_EQ(mptable_find(odd, sizeof(odd)), 0);
    /* a structure cut by the end of the area is not read */
    CHECK_EQ(mptable_find(mem, 0x3f8), 0);
}

TEST(floating_pointer_checks)
{
    uint8_t f[16];
    make_float(f, 0x1234);
    f[10]++; /* checksum */
    CHECK_EQ(mptable_find(f, 16), 0);
    make_float(f, 0x1234);
    f[8] = 2; /* length 2 x 16 bytes: not 1.1/1.4 */
    fix_sum(f, 16, 10);
    CHECK_EQ(mptable_find(f, 16), 0);
    make_float(f, 0x1234);
    f[11] = 6; /* a default configuration: no table */
    fix_sum(f, 16, 10);
    CHECK_EQ(mptable_find(f, 16), 0);
}

TEST(firecracker_shaped_table)
{
    uint8_t t[512], ids[8];
    const uint8_t want[] = {0, 1, 2, 3}, flags[] = {3, 1, 1, 1};
    size_t len = make_table(t, 4, want, flags);
    CHECK_EQ(mptable_cpus(t, len, ids, 8), 4);
    CHECK(memcmp(ids, want, 4) == 0);
}

TEST(disabled_cpus_and_the_limit)
{
    uint8_t t[512], ids[8];
    const uint8_t want[] = {0, 2, 4, 6, 8}, flags[] = {3, 0, 1, 1, 1};
    size_t len = make_table(t, 5, want, flags);
    CHECK_EQ(mptable_cpus(t, len, ids, 8), 4);
    CHECK_EQ(ids[1], 4);
    memset(ids, 0xee, sizeof(ids));
    CHECK_EQ(mptable_cpus(t, len, ids, 2), 2);
    CHECK_EQ(ids[2], 0xee);
}

TEST(broken_tables_are_not_trusted)
{
    uint8_t t[512], ids[8];
    const uint8_t want[] = {0, 1}, flags[] = {3, 1};
    size_t len = make_table(t, 2, want, flags);
    CHECK_EQ(mptable_cpus(t, len - 1, ids, 8), 0); /* longer than what can be read */
    t[7]++;
    CHECK_EQ(mptable_cpus(t, len, ids, 8), 0); /* checksum */
    len = make_table(t, 2, want, flags);
    t[44 + 20] = 9; /* an unknown entry type: its length is unknown */
    fix_sum(t, len, 7);
    CHECK_EQ(mptable_cpus(t, len, ids, 8), 0);
    len = make_table(t, 2, want, flags);
    t[34] = 200; /* more entries than bytes: stops at the table's end */
    fix_sum(t, len, 7);
    CHECK_EQ(mptable_cpus(t, len, ids, 8), 2);
    t[4] = 20; /* shorter than a header */
    t[5] = 0;
    fix_sum(t, 20, 7);
    CHECK_EQ(mptable_cpus(t, len, ids, 8), 0);
    memcpy(t, "PCMX", 4);
    CHECK_EQ(mptable_cpus(t, len, ids, 8), 0);
    CHECK_EQ(mptable_cpus(t, 10, ids, 8), 0);
}

TEST(a_processor_entry_cut_by_the_end_is_refused)
{
    uint8_t t[512], ids[8];
    const uint8_t want[] = {0, 1}, flags[] = {3, 1};
    make_table(t, 2, want, flags);
    size_t len = 44 + 20 + 10; /* the second processor entry half inside */
    t[4] = (uint8_t)len;
    t[5] = 0;
    fix_sum(t, len, 7);
    CHECK_EQ(mptable_cpus(t, len, ids, 8), 0);
}
