/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtio-pci capability walk (virtio 1.2 §4.1.4): every value read from
 * config space is checked before it becomes a window the transport maps.
 * Pure (config space through pci_config_ops): fuzzed and host-tested.
 */
#include <errno.h>
#include <string.h>

#include "abi/virtio.h"
#include "drivers/virtio/pci/virtio_pci.h"

#define MSIX_CONTROL    2 /* offsets within the MSI-X capability */
#define MSIX_TABLE      4
#define MSIX_CAP_LEN    12
#define MSIX_TABLE_SIZE 0x7ffu
#define MSIX_BIR        7u
#define MSIX_ENTRY_LEN  16u

/* The window a capability at cap describes, if it lies inside a usable BAR. */
static bool window_of(struct pci_device *p, unsigned cap, struct virtio_pci_window *w)
{
    uint8_t bar = pci_read8(p, cap + VIRTIO_PCI_CAP_BAR);
    uint32_t offset = pci_read32(p, cap + VIRTIO_PCI_CAP_OFFSET);
    uint32_t length = pci_read32(p, cap + VIRTIO_PCI_CAP_LENGTH);
    struct pci_bar b;
    if (bar >= PCI_BARS || pci_bar_get(p, bar, &b) < 0)
        return false;
    if ((uint64_t)offset + length > b.size) /* 64-bit sum: no wrap */
        return false;
    w->addr = b.base + offset;
    w->length = length;
    return true;
}

static void read_msix(struct pci_device *p, struct virtio_pci_caps *caps)
{
    unsigned cap = pci_capability_next(p, 0, PCI_CAP_ID_MSIX);
    struct pci_bar b;
    if (!cap || cap + MSIX_CAP_LEN > PCI_CFG_SPACE)
        return;
    unsigned entries = (pci_read16(p, cap + MSIX_CONTROL) & MSIX_TABLE_SIZE) + 1;
    uint32_t table = pci_read32(p, cap + MSIX_TABLE);
    uint64_t offset = table & ~MSIX_BIR;
    if (pci_bar_get(p, table & MSIX_BIR, &b) < 0 || offset + entries * MSIX_ENTRY_LEN > b.size)
        return;
    caps->msix_entries = entries;
    caps->msix_table = b.base + offset;
    caps->msix_cap = cap;
}

int virtio_pci_read_caps(struct pci_device *p, struct virtio_pci_caps *caps)
{
    memset(caps, 0, sizeof(*caps));
    for (unsigned cap = 0; (cap = pci_capability_next(p, cap, PCI_CAP_ID_VENDOR)) != 0;) {
        uint8_t cap_len = pci_read8(p, cap + 2), type = pci_read8(p, cap + VIRTIO_PCI_CAP_CFG_TYPE);
        unsigned need =
            type == VIRTIO_PCI_CAP_NOTIFY_CFG ? VIRTIO_PCI_NOTIFY_CAP_LEN : VIRTIO_PCI_CAP_LEN;
        struct virtio_pci_window w;
        if (cap_len < need || cap + need > PCI_CFG_SPACE || !window_of(p, cap, &w))
            continue;
        switch (type) {
        case VIRTIO_PCI_CAP_COMMON_CFG:
            if (caps->common_found || w.length < VIRTIO_PCI_COMMON_LEN || (w.addr & 3))
                break;
            caps->common = w;
            caps->common_found = true;
            break;
        case VIRTIO_PCI_CAP_NOTIFY_CFG: {
            uint32_t mul = pci_read32(p, cap + VIRTIO_PCI_CAP_NOTIFY_MUL);
            if (caps->notify_found || w.length < 2 || (w.addr & 1) || mul == 1 || (mul & (mul - 1)))
                break;
            caps->notify = w;
            caps->notify_multiplier = mul;
            caps->notify_found = true;
            break;
        }
        case VIRTIO_PCI_CAP_ISR_CFG:
            if (caps->isr_found || w.length < 1)
                break;
            caps->isr = w;
            caps->isr_found = true;
            break;
        case VIRTIO_PCI_CAP_DEVICE_CFG:
            if (caps->device_found)
                break;
            caps->device = w;
            caps->device_found = true;
            break;
        default:
            break; /* PCI config access, shared memory, vendor data: not used */
        }
    }
    read_msix(p, caps);
    return caps->common_found && caps->notify_found ? 0 : -ENODEV;
}
