/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz the ACPI table parser: the input is firmware memory from physical
 * address 0x1000 on, the RSDP at its start. Checks the parser's promises:
 * counts within their arrays, MCFG entries well formed, and (ASan) no read
 * outside what the map callback handed out.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/acpi/acpi.h"

#define BASE 0x1000u

struct region {
    const uint8_t *data;
    size_t size;
};

/* The parser maps each of at most 64 tables at most 4 times, and the root 4 times. */
#define MAX_COPIES 512
static uint8_t *copies[MAX_COPIES];
static unsigned ncopies;

static const void *map(void *ctx, uint64_t paddr, uint64_t len)
{
    const struct region *r = ctx;
    if (paddr < BASE || len > r->size || paddr - BASE > r->size - len)
        return NULL;
    /* A copy of exactly len bytes, so ASan sees any read past it. */
    if (ncopies == MAX_COPIES)
        abort(); /* more maps than tables: a loop */
    uint8_t *c = malloc(len ? len : 1);
    memcpy(c, r->data + (paddr - BASE), len);
    copies[ncopies++] = c;
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct region r = {data, size};
    struct acpi_info a;
    int rc = acpi_parse(BASE, map, &r, &a);
    while (ncopies)
        free(copies[--ncopies]);
    if (rc != 0 && (a.has_madt || a.has_mcfg || !a.problem))
        abort();
    if (a.ncpus > ACPI_MAX_CPUS || a.nioapics > ACPI_MAX_IOAPICS ||
        a.noverrides > ACPI_MAX_OVERRIDES || a.nmcfg > ACPI_MAX_MCFG)
        abort();
    for (unsigned i = 0; i < a.nmcfg; i++)
        if (a.mcfg[i].bus_end < a.mcfg[i].bus_start || (a.mcfg[i].base & 0xfffff) ||
            a.mcfg[i].base == 0)
            abort();
    return 0;
}
