# SPDX-License-Identifier: BSD-2-Clause
APPS += hello
hello_SRCS := apps/hello/main.c
hello_COMPONENTS := sched

# hello with the virtio-pci transport (and so PCI and ACPI), for bench/boot's
# q35 column: the boot cost of finding devices on a PCI machine.
APPS += hello_pci
hello_pci_SRCS := $(hello_SRCS)
hello_pci_COMPONENTS := $(hello_COMPONENTS) virtio_pci
