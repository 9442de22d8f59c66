# SPDX-License-Identifier: BSD-2-Clause
# The probe paths of virtio-mmio, the virtio core and the vsock, fs and console
# drivers, on emulated device registers, with every failure injected.
UNIT_TESTS += virtio_probe
virtio_probe_SRCS := $(virtio_SRCS) $(virtio_mmio_SRCS) $(virtio_vsock_SRCS) $(virtio_fs_SRCS) \
	$(virtio_console_SRCS) \
	$(filter %/cmdline.c %/getarg.c,$(lib_SRCS)) tests/unit/test_virtio_probe.c
virtio_probe_LIBS := -Wl,--wrap=malloc,--wrap=calloc,--wrap=free
