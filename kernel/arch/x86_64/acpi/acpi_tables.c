/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The ACPI table parser (contract in acpi.h): RSDP (ACPI 6.5 §5.2.5), XSDT
 * or RSDT (§5.2.7, §5.2.8), MADT (§5.2.12) and MCFG (PCI Firmware 3.2
 * §4.1.2). Pure: memory comes through the map callback, nothing is
 * printed, so the host tests and the fuzz target run it as the guest does.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "arch/x86_64/acpi/acpi.h"

#define RSDP_V1_LEN     20
#define RSDP_V2_LEN     36
#define RSDP_MAX_LEN    4096
#define SDT_HEADER_LEN  36
#define MADT_ENTRIES    44 /* header, local APIC address, flags */
#define MCFG_ENTRIES    44 /* header, 8 reserved bytes */
#define MCFG_ENTRY_LEN  16
#define MADT_LAPIC      0
#define MADT_IOAPIC     1
#define MADT_OVERRIDE   2
#define MADT_LAPIC_ADDR 5
#define MADT_X2APIC     9
#define LAPIC_ENABLED   1u

static uint8_t u8_at(const uint8_t *p, unsigned off)
{
    return p[off];
}
static uint16_t u16_at(const uint8_t *p, unsigned off)
{
    uint16_t v;
    memcpy(&v, p + off, sizeof(v)); /* tables are packed: fields are unaligned */
    return v;
}
static uint32_t u32_at(const uint8_t *p, unsigned off)
{
    uint32_t v;
    memcpy(&v, p + off, sizeof(v));
    return v;
}
static uint64_t u64_at(const uint8_t *p, unsigned off)
{
    uint64_t v;
    memcpy(&v, p + off, sizeof(v));
    return v;
}

static bool checksum_ok(const uint8_t *p, uint32_t len)
{
    uint8_t sum = 0;
    for (uint32_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return sum == 0;
}

static void note(struct acpi_info *out, const char *problem)
{
    if (!out->problem)
        out->problem = problem;
}

/* The table at paddr with signature sig, whole and checked, or NULL (with
 * a problem noted if it has the signature but fails a check). */
static const uint8_t *table_at(uint64_t paddr, const char *sig, acpi_map_fn map, void *ctx,
                               struct acpi_info *out, uint32_t *len)
{
    const uint8_t *h = map(ctx, paddr, SDT_HEADER_LEN);
    if (!h || memcmp(h, sig, 4) != 0)
        return NULL;
    *len = u32_at(h, 4);
    if (*len < SDT_HEADER_LEN || *len > ACPI_TABLE_MAX) {
        note(out, "a table's length is out of bounds");
        return NULL;
    }
    const uint8_t *t = map(ctx, paddr, *len);
    if (!t) {
        note(out, "a table cannot be mapped");
        return NULL;
    }
    if (!checksum_ok(t, *len)) {
        note(out, "a table's checksum is wrong");
        return NULL;
    }
    return t;
}

static void add_cpu(struct acpi_info *out, uint32_t apic_id, uint32_t flags)
{
    if (!(flags & LAPIC_ENABLED))
        return; /* absent, or online-capable but not started by firmware */
    if (out->ncpus == ACPI_MAX_CPUS) {
        out->dropped++;
        return;
    }
    out->cpu_apic_ids[out->ncpus++] = apic_id;
}

/* Minimum length of each MADT entry type we read. */
static unsigned madt_entry_min(uint8_t type)
{
    switch (type) {
    case MADT_LAPIC:
        return 8;
    case MADT_IOAPIC:
        return 12;
    case MADT_OVERRIDE:
        return 10;
    case MADT_LAPIC_ADDR:
        return 12;
    case MADT_X2APIC:
        return 16;
    default:
        return 2;
    }
}

static void parse_madt(const uint8_t *t, uint32_t len, struct acpi_info *out)
{
    if (len < MADT_ENTRIES) {
        note(out, "the MADT is too short");
        return;
    }
    out->has_madt = true;
    out->lapic_address = u32_at(t, 36);
    for (uint32_t off = MADT_ENTRIES; off + 2 <= len;) {
        uint8_t type = u8_at(t, off), elen = u8_at(t, off + 1);
        if (elen < 2 || elen > len - off) {
            note(out, "a MADT entry runs past the table");
            return;
        }
        if (elen < madt_entry_min(type)) {
            note(out, "a MADT entry is too short for its type");
            off += elen;
            continue;
        }
        const uint8_t *e = t + off;
        switch (type) {
        case MADT_LAPIC:
            add_cpu(out, u8_at(e, 3), u32_at(e, 4));
            break;
        case MADT_X2APIC:
            add_cpu(out, u32_at(e, 4), u32_at(e, 8));
            break;
        case MADT_IOAPIC:
            if (out->nioapics == ACPI_MAX_IOAPICS) {
                out->dropped++;
                break;
            }
            out->ioapics[out->nioapics++] = (struct acpi_ioapic){
                .id = u8_at(e, 2), .address = u32_at(e, 4), .gsi_base = u32_at(e, 8)};
            break;
        case MADT_OVERRIDE:
            if (u8_at(e, 2) != 0) /* bus 0 is ISA, the only one defined */
                break;
            if (out->noverrides == ACPI_MAX_OVERRIDES) {
                out->dropped++;
                break;
            }
            out->overrides[out->noverrides++] = (struct acpi_override){
                .source = u8_at(e, 3), .gsi = u32_at(e, 4), .flags = u16_at(e, 8)};
            break;
        case MADT_LAPIC_ADDR:
            out->lapic_address = u64_at(e, 4);
            break;
        default:
            break; /* NMI sources and others: not needed */
        }
        off += elen;
    }
}

static void parse_mcfg(const uint8_t *t, uint32_t len, struct acpi_info *out)
{
    if (len < MCFG_ENTRIES) {
        note(out, "the MCFG is too short");
        return;
    }
    out->has_mcfg = true;
    for (uint32_t off = MCFG_ENTRIES; off + MCFG_ENTRY_LEN <= len; off += MCFG_ENTRY_LEN) {
        struct acpi_mcfg m = {.base = u64_at(t, off),
                              .segment = u16_at(t, off + 8),
                              .bus_start = u8_at(t, off + 10),
                              .bus_end = u8_at(t, off + 11)};
        uint64_t span = ((uint64_t)m.bus_end - m.bus_start + 1) << 20;
        if (m.bus_end < m.bus_start || m.base == 0 || (m.base & ((1u << 20) - 1)) ||
            m.base + span < m.base) {
            note(out, "an MCFG entry is malformed");
            continue;
        }
        if (out->nmcfg == ACPI_MAX_MCFG) {
            out->dropped++;
            continue;
        }
        out->mcfg[out->nmcfg++] = m;
    }
}

/* The RSDP: the XSDT's address (*wide) or the RSDT's, 0 if unusable. */
static uint64_t root_table(uint64_t rsdp, acpi_map_fn map, void *ctx, struct acpi_info *out,
                           bool *wide)
{
    const uint8_t *r = rsdp ? map(ctx, rsdp, RSDP_V1_LEN) : NULL;
    if (!r || memcmp(r, "RSD PTR ", 8) != 0) {
        note(out, "no RSDP signature");
        return 0;
    }
    if (!checksum_ok(r, RSDP_V1_LEN)) {
        note(out, "the RSDP checksum is wrong");
        return 0;
    }
    out->revision = u8_at(r, 15);
    *wide = false;
    if (out->revision >= 2) {
        const uint8_t *r2 = map(ctx, rsdp, RSDP_V2_LEN);
        uint32_t len = r2 ? u32_at(r2, 20) : 0;
        if (len < RSDP_V2_LEN || len > RSDP_MAX_LEN || !(r2 = map(ctx, rsdp, len)) ||
            !checksum_ok(r2, len)) {
            note(out, "the ACPI 2.0 RSDP is malformed");
            return 0;
        }
        uint64_t xsdt = u64_at(r2, 24);
        if (xsdt) {
            *wide = true;
            return xsdt;
        }
    }
    return u32_at(r, 16);
}

int acpi_parse(uint64_t rsdp, acpi_map_fn map, void *ctx, struct acpi_info *out)
{
    memset(out, 0, sizeof(*out));
    bool wide = false;
    uint64_t root = root_table(rsdp, map, ctx, out, &wide);
    uint32_t len;
    const uint8_t *t = root ? table_at(root, wide ? "XSDT" : "RSDT", map, ctx, out, &len) : NULL;
    if (!t) {
        note(out, wide ? "no usable XSDT" : "no usable RSDT");
        return -EINVAL;
    }
    unsigned width = wide ? 8 : 4, n = (len - SDT_HEADER_LEN) / width;
    if (n > ACPI_MAX_TABLES) {
        out->dropped += n - ACPI_MAX_TABLES;
        n = ACPI_MAX_TABLES;
    }
    for (unsigned i = 0; i < n; i++) {
        unsigned off = SDT_HEADER_LEN + i * width;
        uint64_t paddr = wide ? u64_at(t, off) : u32_at(t, off);
        const uint8_t *sub;
        uint32_t sub_len;
        if (!out->has_madt && (sub = table_at(paddr, "APIC", map, ctx, out, &sub_len)))
            parse_madt(sub, sub_len, out);
        else if (!out->has_mcfg && (sub = table_at(paddr, "MCFG", map, ctx, out, &sub_len)))
            parse_mcfg(sub, sub_len, out);
    }
    return 0;
}
