# SPDX-License-Identifier: BSD-2-Clause
FUZZERS += pci_caps
pci_caps_SRCS := fuzz/pci_caps.c $(filter %/pci.c,$(pci_SRCS)) kernel/drivers/virtio/pci/caps.c
