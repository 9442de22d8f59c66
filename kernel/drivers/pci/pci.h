/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The PCI bus (PCI Local Bus 3.0, PCI-to-PCI Bridge 1.2, PCI Express 4.0
 * §7.2.2 for ECAM): configuration space, enumeration, BARs, capabilities,
 * and the drivers that claim functions.
 *
 * Configuration space is reached through ECAM (the ACPI MCFG's window,
 * segment 0) where there is one, else through the legacy ports 0xCF8/0xCFC
 * (QEMU pc), else there is no PCI (QEMU microvm). Firmware or the VMM has
 * assigned bus numbers and BARs (SeaBIOS on pc/q35, Cloud Hypervisor by
 * itself): Miura reads them and never reassigns.
 *
 * Enumeration walks bus 0 and, depth first, the secondary bus of every
 * PCI-to-PCI bridge, each bus at most once and only buses the access method
 * reaches; at most PCI_MAX_FUNCTIONS functions are kept. A function is
 * handed to the first registered driver (MIURA_DRIVER(pci, var)) whose
 * vendor and device range match.
 *
 * Nothing read from a device is trusted: a vendor of 0xffff means nothing
 * there, header types other than 0 and 1 are skipped, a bridge's secondary
 * bus must be above its own bus and not seen before, the capability walk
 * stops at a pointer outside 0x40..0xfc or one seen before, and a BAR is
 * usable only if sizing gives a power of two, its base is aligned to it,
 * non-zero and inside what can be mapped (PAGING_MAP_LIMIT).
 */
#ifndef MIURA_DRIVERS_PCI_H
#define MIURA_DRIVERS_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/init.h"

#define PCI_MAX_FUNCTIONS 64
#define PCI_CFG_SPACE     256u /* what both access methods reach */

/* Configuration header fields (type 0 unless said). */
#define PCI_VENDOR_ID        0x00
#define PCI_DEVICE_ID        0x02
#define PCI_COMMAND          0x04
#define PCI_STATUS           0x06
#define PCI_REVISION         0x08
#define PCI_HEADER_TYPE      0x0e
#define PCI_BAR0             0x10
#define PCI_SECONDARY_BUS    0x19 /* type 1 */
#define PCI_SUBSYSTEM_ID     0x2e
#define PCI_CAPABILITIES     0x34
#define PCI_INTERRUPT_LINE   0x3c
#define PCI_INTERRUPT_PIN    0x3d
#define PCI_COMMAND_MEMORY   (1u << 1)
#define PCI_COMMAND_MASTER   (1u << 2)
#define PCI_COMMAND_INTX_OFF (1u << 10)
#define PCI_STATUS_CAPS      (1u << 4)
#define PCI_CAP_ID_MSIX      0x11
#define PCI_CAP_ID_VENDOR    0x09
#define PCI_BARS             6

/* How configuration space is reached: one 1-, 2- or 4-byte access at an
 * offset aligned to its width, below PCI_CFG_SPACE. */
struct pci_config_ops {
    uint32_t (*read)(void *ctx, uint16_t bdf, unsigned offset, unsigned width);
    void (*write)(void *ctx, uint16_t bdf, unsigned offset, unsigned width, uint32_t value);
    void *ctx;
};

struct pci_bar {
    uint64_t base, size; /* size 0: not yet sized, or unusable */
    bool sized, usable;
};

struct pci_device {
    const struct pci_config_ops *cfg;
    uint16_t bdf; /* bus << 8 | device << 3 | function */
    uint16_t vendor, device;
    uint8_t revision, header_type;
    struct pci_bar bars[PCI_BARS];
    char name[16]; /* "pci 00:03.0" */
};

struct pci_driver {
    const char *name;
    uint16_t vendor;
    uint16_t device_min, device_max;
    /* The function is the driver's if it returns 0 (the pci_device then
     * lives as long as the image runs). */
    int (*probe)(struct pci_device *pdev);
};

/* Config space of a function (offsets aligned to the width). */
uint32_t pci_read32(const struct pci_device *p, unsigned offset);
uint16_t pci_read16(const struct pci_device *p, unsigned offset);
uint8_t pci_read8(const struct pci_device *p, unsigned offset);
void pci_write32(const struct pci_device *p, unsigned offset, uint32_t v);
void pci_write16(const struct pci_device *p, unsigned offset, uint16_t v);

/*
 * BAR `index` of a type 0 function: sizes it on first use (memory decoding
 * off meanwhile; a 64-bit BAR takes two slots) and returns it in *bar.
 * 0, -ENOENT (index out of range, the upper half of a 64-bit BAR, an I/O
 * BAR) or -EINVAL (unassigned, size 0 or not a power of two, base not
 * aligned, beyond what can be mapped).
 */
int pci_bar_get(struct pci_device *p, unsigned index, struct pci_bar *bar);

/*
 * The capability walk: the offset of the first capability after `after`
 * (0: from the start) whose id is `id` (0: any), 0 at the end of the list.
 * Stops at a pointer outside 0x40..0xfc or at one it has visited (a loop),
 * after at most (256 - 64) / 4 steps.
 */
unsigned pci_capability_next(const struct pci_device *p, unsigned after, uint8_t id);

/*
 * Walks bus bus_first and, behind bridges, buses up to bus_last through cfg,
 * calling found(cfg, bdf, arg) for each function present (header type 0 or
 * 1), at most PCI_MAX_FUNCTIONS times. Returns how many buses were walked.
 * Host tests run it on fake configuration spaces; the guest's init hook
 * hands each function to its driver.
 */
typedef void (*pci_found_fn)(const struct pci_config_ops *cfg, uint16_t bdf, void *arg);
unsigned pci_enumerate(const struct pci_config_ops *cfg, unsigned bus_first, unsigned bus_last,
                       pci_found_fn found, void *arg);

/* Reads a function's identity (vendor, device, revision, header type) into
 * *p and names it; its BARs are sized later, on use. */
void pci_device_init(struct pci_device *p, const struct pci_config_ops *cfg, uint16_t bdf);

/* The first registered driver for p, or NULL. */
const struct pci_driver *pci_driver_for(const struct pci_device *p);

#endif
