/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The guest's way to PCI configuration space, and the init hook that
 * enumerates and hands functions to drivers (pci.h).
 *
 * ECAM (PCIe 4.0 §7.2.2) when the ACPI MCFG has a window for segment 0:
 * the window is mapped uncached, 1 MiB per bus, and every access is one
 * MMIO load or store. Otherwise the legacy mechanism (PCI 3.0 §3.2.2.3.2):
 * an address written to port 0xCF8, data through 0xCFC-0xCFF, first checked
 * to be there (0xCF8 reads back what was written), which QEMU pc has and
 * microvm has not. Config space is only touched from threads at init, never
 * from interrupt handlers, so the port pair needs no lock on one CPU.
 */
#include <stdio.h>
#include <stdlib.h>

#include "arch/x86_64/acpi/acpi.h"
#include "arch/x86_64/arch.h"
#include "drivers/pci/pci.h"

#define PORT_ADDRESS 0xcf8
#define PORT_DATA    0xcfc
#define PORT_ENABLE  0x80000000u

static uintptr_t ecam_base; /* the address of bus 0's space (may be below the window) */

static uint32_t ecam_read(void *ctx, uint16_t bdf, unsigned offset, unsigned width)
{
    (void)ctx;
    uintptr_t a = ecam_base + ((uintptr_t)bdf << 12) + offset;
    return width == 4 ? mmio_read32(a) : width == 2 ? mmio_read16(a) : mmio_read8(a);
}

static void ecam_write(void *ctx, uint16_t bdf, unsigned offset, unsigned width, uint32_t v)
{
    (void)ctx;
    uintptr_t a = ecam_base + ((uintptr_t)bdf << 12) + offset;
    if (width == 4)
        mmio_write32(a, v);
    else if (width == 2)
        mmio_write16(a, (uint16_t)v);
    else
        mmio_write8(a, (uint8_t)v);
}

static void port_select(uint16_t bdf, unsigned offset)
{
    outl(PORT_ADDRESS, PORT_ENABLE | (uint32_t)bdf << 8 | (offset & 0xfc));
}

static uint32_t port_read(void *ctx, uint16_t bdf, unsigned offset, unsigned width)
{
    (void)ctx;
    port_select(bdf, offset);
    uint16_t data = (uint16_t)(PORT_DATA + (offset & 3));
    return width == 4 ? inl(data) : width == 2 ? inw(data) : inb(data);
}

static void port_write(void *ctx, uint16_t bdf, unsigned offset, unsigned width, uint32_t v)
{
    (void)ctx;
    port_select(bdf, offset);
    uint16_t data = (uint16_t)(PORT_DATA + (offset & 3));
    if (width == 4)
        outl(data, v);
    else if (width == 2)
        outw(data, (uint16_t)v);
    else
        outb(data, (uint8_t)v);
}

static const struct pci_config_ops ecam_ops = {.read = ecam_read, .write = ecam_write};
static const struct pci_config_ops port_ops = {.read = port_read, .write = port_write};

static bool ports_present(void)
{
    uint32_t old = inl(PORT_ADDRESS);
    outl(PORT_ADDRESS, PORT_ENABLE);
    bool ok = inl(PORT_ADDRESS) == PORT_ENABLE;
    outl(PORT_ADDRESS, old);
    return ok;
}

static void found(const struct pci_config_ops *cfg, uint16_t bdf, void *arg)
{
    (void)arg;
    struct pci_device probe;
    pci_device_init(&probe, cfg, bdf);
    const struct pci_driver *drv = pci_driver_for(&probe);
    if (!drv)
        return;
    struct pci_device *p = malloc(sizeof(*p));
    if (!p) {
        printf("%s: out of memory; left alone\n", probe.name);
        return;
    }
    *p = probe;
    if (drv->probe(p) != 0)
        free(p); /* the driver undid what it did */
}

static int pci_init(void)
{
    const struct acpi_mcfg *m = acpi_mcfg_for_bus(0);
    if (m) {
        uint64_t span = ((uint64_t)m->bus_end - m->bus_start + 1) << 20;
        if (paging_map(m->base, span, PAGING_MMIO) == 0) {
            ecam_base = (uintptr_t)(m->base - ((uint64_t)m->bus_start << 20));
            pci_enumerate(&ecam_ops, m->bus_start, m->bus_end, found, NULL);
            return 0;
        }
        printf("pci: the MCFG window %#llx cannot be mapped; trying ports\n",
               (unsigned long long)m->base);
    }
    if (ports_present())
        pci_enumerate(&port_ops, 0, 255, found, NULL);
    return 0;
}
MIURA_INIT(INIT_LEVEL_BUS, pci_init);
