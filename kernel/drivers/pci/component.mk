# SPDX-License-Identifier: BSD-2-Clause
# pci: configuration space (ECAM from the ACPI MCFG, or ports 0xCF8/0xCFC),
# enumeration behind bridges, BARs and capabilities; drivers register with
# MIURA_DRIVER(pci, ...). The virtio-pci transport is its one driver.
COMPONENTS += pci
pci_SRCS := kernel/drivers/pci/pci.c kernel/drivers/pci/pci_config.c
pci_DEPS := acpi arch lib mm
