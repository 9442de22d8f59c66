/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The guest side of the ACPI reader (acpi.h): the tables are parsed on
 * first use from the RSDP the PVH start info named, each mapped read-only
 * where it lies (firmware keeps them outside RAM).
 */
#include <stdio.h>

#include "arch/x86_64/acpi/acpi.h"
#include "arch/x86_64/arch.h"

static struct acpi_info info;
static int state; /* 0: not read yet, 1: usable, -1: no ACPI */

static const void *map_firmware(void *ctx, uint64_t paddr, uint64_t len)
{
    (void)ctx;
    return paging_map(paddr, len, PAGING_FIRMWARE) == 0 ? (const void *)(uintptr_t)paddr : NULL;
}

const struct acpi_info *acpi_tables(void)
{
    if (state == 0) {
        state = -1;
        if (boot_rsdp && acpi_parse(boot_rsdp, map_firmware, NULL, &info) == 0)
            state = 1;
        if (info.problem)
            printf("acpi: %s\n", info.problem);
    }
    return state > 0 ? &info : NULL;
}

unsigned acpi_madt_cpus(uint32_t *ids, unsigned max)
{
    const struct acpi_info *a = acpi_tables();
    if (!a)
        return 0;
    for (unsigned i = 0; i < a->ncpus && i < max; i++)
        ids[i] = a->cpu_apic_ids[i];
    return a->ncpus;
}

/* smp.c's CPU list where the image reads ACPI (its weak default: none). */
unsigned smp_madt_cpus(uint8_t *ids, unsigned max)
{
    uint32_t all[ACPI_MAX_CPUS];
    unsigned n = acpi_madt_cpus(all, ACPI_MAX_CPUS), kept = 0;
    if (n > ACPI_MAX_CPUS)
        n = ACPI_MAX_CPUS;
    for (unsigned i = 0; i < n && kept < max; i++)
        if (all[i] < 0xff) /* xAPIC IDs: what INIT-SIPI and our IPIs address */
            ids[kept++] = (uint8_t)all[i];
    if (kept > 1)
        printf("acpi: %u CPUs in the MADT\n", kept);
    return kept;
}

unsigned acpi_isa_irq(unsigned irq, bool *level, bool *active_low)
{
    const struct acpi_info *a = acpi_tables();
    *level = *active_low = false; /* ISA: edge-triggered, active-high */
    for (unsigned i = 0; a && i < a->noverrides; i++) {
        if (a->overrides[i].source != irq)
            continue;
        uint16_t f = a->overrides[i].flags;
        *active_low = (f & 3) == 3;
        *level = ((f >> 2) & 3) == 3;
        return a->overrides[i].gsi;
    }
    return irq;
}

const struct acpi_mcfg *acpi_mcfg_for_bus(unsigned bus)
{
    const struct acpi_info *a = acpi_tables();
    for (unsigned i = 0; a && i < a->nmcfg; i++)
        if (a->mcfg[i].segment == 0 && bus >= a->mcfg[i].bus_start && bus <= a->mcfg[i].bus_end)
            return &a->mcfg[i];
    return NULL;
}
