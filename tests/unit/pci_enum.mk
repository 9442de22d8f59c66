# SPDX-License-Identifier: BSD-2-Clause
# PCI enumeration, BARs, capabilities and the virtio-pci capability reader
# on fake (and hostile) configuration spaces. (Not "pci": that is the
# component's name, and both would share <name>_SRCS.)
UNIT_TESTS += pci_enum
pci_enum_SRCS := $(filter %/pci.c,$(pci_SRCS)) kernel/drivers/virtio/pci/caps.c tests/unit/test_pci.c
