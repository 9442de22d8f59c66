/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ACPI tables (ACPI 6.5 §5.2): what Miura reads of them, for any unit.
 *
 * Found from the RSDP the PVH start info names (QEMU pc/q35, Cloud
 * Hypervisor; QEMU microvm runs with acpi=off and has none). Only three
 * tables are read: the XSDT (or the RSDT before ACPI 2.0) to find the
 * others, the MADT (CPUs, IOAPICs, interrupt source overrides) and the MCFG
 * (where PCI configuration space is memory-mapped). AML (DSDT, SSDTs) is
 * never read.
 *
 * Every table is checked before use: signature, length (at least a header,
 * at most ACPI_TABLE_MAX, inside what could be mapped) and checksum; a
 * table that fails is skipped as if absent and the first problem is kept
 * as a phrase. Every entry of the MADT and MCFG is checked against its
 * table's length and its type's size; lists longer than the limits below
 * are cut (and counted), never overflowed.
 *
 * Guest API (acpi.c): the tables are read once, on the first call of any
 * of these, after paging is up (they map the tables read-only). Without
 * ACPI each behaves as for an empty table.
 */
#ifndef MIURA_ARCH_ACPI_H
#define MIURA_ARCH_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#define ACPI_MAX_CPUS      64 /* MIURA_MAX_CPUS */
#define ACPI_MAX_IOAPICS   8
#define ACPI_MAX_OVERRIDES 16
#define ACPI_MAX_MCFG      4
#define ACPI_MAX_TABLES    64      /* XSDT/RSDT entries looked at */
#define ACPI_TABLE_MAX     0x10000 /* bytes: the longest XSDT, MADT or MCFG read */

struct acpi_ioapic {
    uint8_t id;
    uint32_t address;
    uint32_t gsi_base;
};

/* MADT Interrupt Source Override: ISA IRQ `source` is GSI `gsi`; flags are
 * MPS INTI flags (bits 0-1 polarity: 1 high, 3 low; bits 2-3 trigger mode:
 * 1 edge, 3 level; 0 means the bus's default). */
struct acpi_override {
    uint8_t source;
    uint32_t gsi;
    uint16_t flags;
};

/* One MCFG entry: configuration space of buses bus_start..bus_end of a
 * segment, 1 MiB per bus from base (for bus_start). */
struct acpi_mcfg {
    uint64_t base;
    uint16_t segment;
    uint8_t bus_start, bus_end;
};

struct acpi_info {
    uint8_t revision; /* the RSDP's: 0 for ACPI 1.0 (RSDT), 2 and up (XSDT) */
    bool has_madt, has_mcfg;
    uint64_t lapic_address;
    unsigned ncpus; /* enabled processors, Local APIC and Local x2APIC entries */
    uint32_t cpu_apic_ids[ACPI_MAX_CPUS];
    unsigned nioapics;
    struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
    unsigned noverrides;
    struct acpi_override overrides[ACPI_MAX_OVERRIDES];
    unsigned nmcfg;
    struct acpi_mcfg mcfg[ACPI_MAX_MCFG];
    unsigned dropped;    /* entries beyond the limits above */
    const char *problem; /* the first problem met (a constant phrase), or NULL */
};

/*
 * Makes [paddr, paddr+len) readable and returns a pointer to it, or NULL
 * if it cannot be (the guest maps it read-only; tests and the fuzz target
 * serve it from a buffer). What it returns is read, never written.
 */
typedef const void *(*acpi_map_fn)(void *ctx, uint64_t paddr, uint64_t len);

/*
 * The parser, pure (host-tested and fuzzed): reads the tables reachable
 * from the RSDP at rsdp into *out. Returns 0, or -EINVAL when the RSDP or
 * the XSDT/RSDT is unusable (then *out has nothing but a problem). A MADT
 * or MCFG that fails its checks is left out (has_madt/has_mcfg false) with
 * out->problem saying why; the first of each that passes is used.
 */
int acpi_parse(uint64_t rsdp, acpi_map_fn map, void *ctx, struct acpi_info *out);

/* ---- guest API (acpi.c) */

/* The parsed tables, or NULL without ACPI (no RSDP, or it failed its
 * checks; a line on the console says why). */
const struct acpi_info *acpi_tables(void);
/*
 * The local APIC IDs of the enabled processors, in MADT order: writes at
 * most max of them to ids (which may be NULL when max is 0) and returns how
 * many the MADT lists (up to ACPI_MAX_CPUS); 0 without a MADT.
 */
unsigned acpi_madt_cpus(uint32_t *ids, unsigned max);
/* The GSI an ISA IRQ arrives on (an override's, else the same number),
 * and whether it is level-triggered and active-low. */
unsigned acpi_isa_irq(unsigned irq, bool *level, bool *active_low);
/* The MCFG entry covering segment 0, bus `bus`, or NULL. */
const struct acpi_mcfg *acpi_mcfg_for_bus(unsigned bus);

#endif
