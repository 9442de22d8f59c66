# SPDX-License-Identifier: BSD-2-Clause
# Test appliance for the Networking unit: a vsock echo server (and client).
APPS += test_echo
test_echo_SRCS := apps/test_echo/main.c
test_echo_COMPONENTS := sched net virtio_vsock virtio_mmio virtio_pci
