/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtio-pci transport (virtio 1.2 §4.1), modern devices only.
 *
 * A virtio function (vendor 0x1af4, device 0x1000-0x107f) is driven through
 * its virtio capabilities: common configuration, notifications, ISR status
 * and device configuration, each a window into one of its memory BARs.
 * A transitional device (0x1000-0x103f) is driven through those too; a
 * legacy-only one (no common configuration capability) is refused with one
 * line. Interrupts: MSI-X when the function has it (table entry 0 for
 * configuration changes, one entry per queue as far as the table goes,
 * each a vector of its own on the boot CPU's local APIC), else INTx through
 * the IOAPIC pin the firmware wrote into the Interrupt Line register,
 * level-triggered and shared between devices.
 */
#ifndef MIURA_DRIVERS_VIRTIO_PCI_H
#define MIURA_DRIVERS_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/pci/pci.h"

/* A window into a BAR, checked to lie inside it (absolute address). */
struct virtio_pci_window {
    uint64_t addr;
    uint32_t length;
};

/* What the capability list says, checked. */
struct virtio_pci_caps {
    bool common_found, notify_found, isr_found, device_found;
    struct virtio_pci_window common, notify, isr, device;
    uint32_t notify_multiplier;
    /* MSI-X: table entries (0: none usable), the table's address, and the
     * capability's offset in config space. */
    unsigned msix_entries;
    uint64_t msix_table;
    unsigned msix_cap;
};

/*
 * Reads the virtio capabilities (and MSI-X's) of p into *caps. Each is
 * checked: the capability fits in config space (cap_len at least its
 * structure's size), names BAR 0-5, the BAR is usable (pci_bar_get), and
 * offset + length lies inside it; the common structure is at least
 * VIRTIO_PCI_COMMON_LEN bytes and 4-byte aligned, the notify one at least
 * 2 bytes with a multiplier of 0 or a power of two from 2. The first
 * capability of each type that passes is used; others are ignored. Returns
 * 0 if the common and notify structures were found, -ENODEV if not
 * (caps then says what was found: a legacy-only device has neither).
 */
int virtio_pci_read_caps(struct pci_device *p, struct virtio_pci_caps *caps);

/* The transport's PCI driver record (for host tests that call its probe). */
extern const struct pci_driver virtio_pci_driver;

#endif
