# SPDX-License-Identifier: BSD-2-Clause
# The virtio-pci transport with the virtio core and a test driver, on a fake
# function whose BARs are host memory (common configuration emulated).
UNIT_TESTS += virtio_pci_probe
virtio_pci_probe_SRCS := $(virtio_SRCS) $(filter %/pci.c,$(pci_SRCS)) $(virtio_pci_SRCS) \
	$(filter %/cmdline.c %/getarg.c,$(lib_SRCS)) tests/unit/test_virtio_pci.c
