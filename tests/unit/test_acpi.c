/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The ACPI table parser on tables built here as QEMU q35 lays them out
 * (RSDP 2.0 -> XSDT -> MADT, MCFG), then on broken ones: checksums,
 * lengths, entries that run past their table, tables that cannot be mapped,
 * more entries than the limits.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "arch/x86_64/acpi/acpi.h"
#include "test.h"

#define MEM_BASE 0x000e0000u
#define MEM_LEN  0x4000u
#define RSDP     (MEM_BASE + 0x100)
#define RSDT     (MEM_BASE + 0x180)
#define XSDT     (MEM_BASE + 0x200)
#define MADT     (MEM_BASE + 0x400)
#define MCFG     (MEM_BASE + 0x800)

static uint8_t mem[MEM_LEN];

static const void *map(void *ctx, uint64_t paddr, uint64_t len)
{
    (void)ctx;
    if (paddr < MEM_BASE || len > MEM_LEN || paddr - MEM_BASE > MEM_LEN - len)
        return NULL;
    return mem + (paddr - MEM_BASE);
}

static uint8_t *at(uint32_t paddr)
{
    return mem + (paddr - MEM_BASE);
}
static void put8(uint32_t paddr, uint8_t v)
{
    *at(paddr) = v;
}
static void put16(uint32_t paddr, uint16_t v)
{
    memcpy(at(paddr), &v, 2);
}
static void put32(uint32_t paddr, uint32_t v)
{
    memcpy(at(paddr), &v, 4);
}
static void put64(uint32_t paddr, uint64_t v)
{
    memcpy(at(paddr), &v, 8);
}

static void fix_sum(uint32_t paddr, uint32_t len, uint32_t sum_at)
{
    uint8_t s = 0;
    put8(sum_at, 0);
    for (uint32_t i = 0; i < len; i++)
        s = (uint8_t)(s + *at(paddr + i));
    put8(sum_at, (uint8_t)-s);
}

/* A table header; the checksum is fixed by seal() once the body is in. */
static void header(uint32_t paddr, const char *sig, uint32_t len)
{
    memcpy(at(paddr), sig, 4);
    put32(paddr + 4, len);
    put8(paddr + 8, 1);
    memcpy(at(paddr + 10), "MIURA ", 6);
}
static void seal(uint32_t paddr)
{
    uint32_t len;
    memcpy(&len, at(paddr + 4), 4);
    fix_sum(paddr, len, paddr + 9);
}

static uint32_t madt_len;

/* MADT: CPUs with APIC IDs 0 and 5 (x2APIC entry) and a disabled one, an
 * IOAPIC, the two overrides QEMU writes (IRQ 0 -> GSI 2, IRQ 9 level). */
static void build_madt(void)
{
    uint32_t e = MADT + 44;
    put32(MADT + 36, 0xfee00000u);
    put8(e, 0), put8(e + 1, 8), put8(e + 2, 0), put8(e + 3, 0), put32(e + 4, 1);
    e += 8;
    put8(e, 0), put8(e + 1, 8), put8(e + 2, 1), put8(e + 3, 1), put32(e + 4, 0); /* off */
    e += 8;
    put8(e, 9), put8(e + 1, 16), put32(e + 4, 5), put32(e + 8, 1), put32(e + 12, 2);
    e += 16;
    put8(e, 1), put8(e + 1, 12), put8(e + 2, 0), put32(e + 4, 0xfec00000u), put32(e + 8, 0);
    e += 12;
    put8(e, 2), put8(e + 1, 10), put8(e + 2, 0), put8(e + 3, 0), put32(e + 4, 2), put16(e + 8, 0);
    e += 10;
    put8(e, 2), put8(e + 1, 10), put8(e + 2, 0), put8(e + 3, 9), put32(e + 4, 9), put16(e + 8, 0xd);
    e += 10;
    put8(e, 4), put8(e + 1, 6); /* a local APIC NMI: skipped */
    e += 6;
    madt_len = e - MADT;
    header(MADT, "APIC", madt_len);
    seal(MADT);
}

static void build(void)
{
    memset(mem, 0, sizeof(mem));
    memcpy(at(RSDP), "RSD PTR ", 8);
    memcpy(at(RSDP + 9), "MIURA ", 6);
    put8(RSDP + 15, 2);
    put32(RSDP + 16, RSDT);
    put32(RSDP + 20, 36);
    put64(RSDP + 24, XSDT);
    fix_sum(RSDP, 20, RSDP + 8);
    fix_sum(RSDP, 36, RSDP + 32);

    header(XSDT, "XSDT", 36 + 3 * 8);
    put64(XSDT + 36, MEM_BASE + 0x1000); /* a FACP: not read */
    put64(XSDT + 44, MADT);
    put64(XSDT + 52, MCFG);
    header(MEM_BASE + 0x1000, "FACP", 36);
    seal(MEM_BASE + 0x1000);
    seal(XSDT);
    header(RSDT, "RSDT", 36 + 2 * 4);
    put32(RSDT + 36, MADT);
    put32(RSDT + 40, MCFG);
    seal(RSDT);

    build_madt();
    header(MCFG, "MCFG", 44 + 16);
    put64(MCFG + 44, 0xb0000000u);
    put16(MCFG + 52, 0);
    put8(MCFG + 54, 0);
    put8(MCFG + 55, 0xff);
    seal(MCFG);
}

TEST(q35_tables)
{
    struct acpi_info a;
    build();
    CHECK_EQ(acpi_parse(RSDP, map, NULL, &a), 0);
    CHECK(a.problem == NULL);
    CHECK_EQ(a.revision, 2);
    CHECK(a.has_madt && a.has_mcfg);
    CHECK_EQ(a.lapic_address, 0xfee00000u);
    CHECK_EQ(a.ncpus, 2);
    CHECK_EQ(a.cpu_apic_ids[0], 0);
    CHECK_EQ(a.cpu_apic_ids[1], 5);
    CHECK_EQ(a.nioapics, 1);
    CHECK_EQ(a.ioapics[0].address, 0xfec00000u);
    CHECK_EQ(a.noverrides, 2);
    CHECK_EQ(a.overrides[0].source, 0);
    CHECK_EQ(a.overrides[0].gsi, 2);
    CHECK_EQ(a.overrides[1].source, 9);
    CHECK_EQ(a.overrides[1].flags, 0xd);
    CHECK_EQ(a.nmcfg, 1);
    CHECK_EQ(a.mcfg[0].base, 0xb0000000u);
    CHECK_EQ(a.mcfg[0].bus_end, 0xff);
    CHECK_EQ(a.dropped, 0);
}

TEST(rsdt_before_acpi2)
{
    struct acpi_info a;
    build();
    put8(RSDP + 15, 0);
    fix_sum(RSDP, 20, RSDP + 8);
    CHECK_EQ(acpi_parse(RSDP, map, NULL, &a), 0);
    CHECK_EQ(a.revision, 0);
    CHECK(a.has_madt && a.has_mcfg);
    CHECK_EQ(a.ncpus, 2);
}

TEST(broken_roots)
{
    struct acpi_info a;
    build();
    CHECK_EQ(acpi_parse(0, map, NULL, &a), -EINVAL);
    CHECK(a.problem != NULL);
    CHECK_EQ(acpi_parse(RSDP + 4, map, NULL, &a), -EINVAL); /* no signature */
    put8(RSDP + 10, 'X');                                   /* checksums now wrong */
    CHECK_EQ(acpi_parse(RSDP, map, NULL, &a), -EINVAL);
    CHECK_STR(a.problem, "the RSDP checksum is wrong");
    put32(RSDP + 20, 0x10000); /* a 2.0 length past the limit */
    fix_sum(RSDP, 20, RSDP + 8);
    CHECK_EQ(acpi_parse(RSDP, map, NULL, &a), -EINVAL);
    CHECK_STR(a.problem, "the ACPI 2.0 RSDP is malformed");
    put32(RSDP + 20, 36);
    put8(RSDP + 33, 1); /* the extended checksum */
    CHECK_EQ(acpi_parse(RSDP, map, NULL, &a), -EINVAL);
    CHECK_STR(a.problem, "the ACPI 2.0 RSDP is malformed");

    build();
    put32(XSDT + 4, 0xffffffffu); /* the XSDT's length */
    CHECK_EQ(acpi_parse(RSDP, map, NULL, &a), -EINVAL);
    CHECK_STR(a.problem, "a table's length is out of bounds");
    build();
    put32(XSDT + 4, MEM_LEN); /* in bounds, but past what can be mapped */
    CHECK_EQ(acpi_parse(RSDP, map, NULL, &a), -EINVAL);
    CHECK_STR(a.problem, "a table cannot be mapped");
    build();
    put8(XSDT + 20, 1); /* the checksum */
    CHECK_EQ(acpi_parse(RSDP, map, NULL, &a), -EINVAL);
    CHECK_STR(a.problem, "a table's checksum is wrong");
    build();
    put64(RSDP + 24, 0x7fff0000u); /* the XSDT is nowhere */
    fix_sum(RSDP, 36, RSDP + 32);
    CHECK_EQ(acpi_parse(RSDP, map, NULL, &a), -EINVAL);
    CHECK_STR(a.problem, "no usable XSDT");
}

TEST(broken_tables_left_out)
{
    struct acpi_info a;
    build();
    put8(MADT + 50, 0x55); /* the MADT's checksum breaks: MCFG still read */
    CHECK_EQ(acpi_parse(RSDP, map, NULL, &a), 0);
    CHECK(!a.has_madt && a.has_mcfg);
    CHECK_EQ(a.ncpus, 0);
    CHECK_STR(a.problem, "a table's checksum is wrong");

    build();
    put8(MADT + 44 + 1, 0); /* the first entry's length: 0 would never advance */
    seal(MADT);
    CHECK_EQ(acpi_parse(RSDP, map, NULL, &a), 0);
    CHECK_STR(a.problem, "a MADT entry runs past the table");
    CHECK_EQ(a.ncpus, 0);

    build();
    put8(MADT + 44 + 8 + 8 + 16 + 1, 200); /* the IOAPIC entry runs past the end */
    seal(MADT);
    CHECK_EQ(acpi_parse(RSDP, map, NULL, &a), 0);
    CHECK_EQ(a.ncpus, 2); /* what came before it stands */
    CHECK_EQ(a.nioapics, 0);
    CHECK_STR(a.problem, "a MADT entry runs past the table");

    build();
    put8(MADT + 44 + 8 + 8 + 1, 8); /* the x2APIC entry too short for its type */
    put8(MADT + 44 + 8 + 8 + 8, 0x7f), put8(MADT + 44 + 8 + 8 + 9, 8); /* filler */
    seal(MADT);
    CHECK_EQ(acpi_parse(RSDP, map, NULL, &a), 0);
    CHECK_STR(a.problem, "a MADT entry is too short for its type");
    CHECK_EQ(a.ncpus, 1);
    CHECK_EQ(a.nioapics, 1); /* the walk went on */

    build();
    put32(MADT + 4, 40); /* shorter than a MADT can be */
    seal(MADT);
    CHECK_EQ(acpi_parse(RSDP, map, NULL, &a), 0);
    CHECK(!a.has_madt);
    CHECK_STR(a.problem, "the MADT is too short");

    build();
    put8(MCFG + 54, 9), put8(MCFG + 55, 8); /* bus_end below bus_start */
    seal(MCFG);
    CHECK_EQ(acpi_parse(RSDP, map, NULL, &a), 0);
    CHECK_EQ(a.nmcfg, 0);
    CHECK_STR(a.problem, "an MCFG entry is malformed");
    build();
    put64(MCFG + 44, 0xb0000800u); /* not 1 MiB aligned */
    seal(MCFG);
    CHECK_EQ(acpi_parse(RSDP, map, NULL, &a), 0);
    CHECK_EQ(a.nmcfg, 0);
    build();
    put64(MCFG + 44, 0xfffffffffff00000ull); /* wraps */
    seal(MCFG);
    CHECK_EQ(acpi_parse(RSDP, map, NULL, &a), 0);
    CHECK_EQ(a.nmcfg, 0);
}

TEST(limits_cut_not_overflowed)
{
    struct acpi_info a;
    build();
    /* A MADT of ACPI_MAX_CPUS + 10 enabled CPUs and 10 IOAPICs. */
    uint32_t e = MADT + 44;
    for (unsigned i = 0; i < ACPI_MAX_CPUS + 10; i++, e += 8)
        put8(e, 0), put8(e + 1, 8), put8(e + 2, (uint8_t)i), put8(e + 3, (uint8_t)i),
            put32(e + 4, 1);
    for (unsigned i = 0; i < ACPI_MAX_IOAPICS + 2; i++, e += 12)
        put8(e, 1), put8(e + 1, 12), put8(e + 2, (uint8_t)i), put32(e + 4, 0xfec00000u),
            put32(e + 8, 24 * i);
    header(MADT, "APIC", e - MADT);
    seal(MADT);
    CHECK(e - MADT < 0x400); /* stays clear of the MCFG */
    CHECK_EQ(acpi_parse(RSDP, map, NULL, &a), 0);
    CHECK_EQ(a.ncpus, ACPI_MAX_CPUS);
    CHECK_EQ(a.nioapics, ACPI_MAX_IOAPICS);
    CHECK_EQ(a.dropped, 12);
    CHECK_EQ(a.cpu_apic_ids[ACPI_MAX_CPUS - 1], ACPI_MAX_CPUS - 1);
}
