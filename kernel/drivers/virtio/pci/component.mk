# SPDX-License-Identifier: BSD-2-Clause
# virtio_pci: the virtio-pci transport, modern devices (QEMU pc/q35, Cloud
# Hypervisor); a PCI driver that hands each device to the virtio core.
COMPONENTS += virtio_pci
virtio_pci_SRCS := kernel/drivers/virtio/pci/caps.c kernel/drivers/virtio/pci/virtio_pci.c
virtio_pci_DEPS := virtio pci acpi arch lib mm
virtio_pci_TRANSPORT := pci
