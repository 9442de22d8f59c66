# SPDX-License-Identifier: BSD-2-Clause
# virtio_mmio: the virtio-mmio transport (QEMU microvm, Firecracker); finds
# devices on the kernel command line and hands them to the virtio core.
COMPONENTS += virtio_mmio
virtio_mmio_SRCS := kernel/drivers/virtio/mmio/mmio.c
virtio_mmio_DEPS := virtio arch lib mm
virtio_mmio_TRANSPORT := mmio
