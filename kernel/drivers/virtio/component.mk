# SPDX-License-Identifier: BSD-2-Clause
# virtio: the transport-neutral device interface (virtio.h) and split
# virtqueues. A transport (virtio_mmio) and device drivers build on it.
COMPONENTS += virtio
virtio_SRCS := kernel/drivers/virtio/virtio.c kernel/drivers/virtio/virtqueue.c
virtio_DEPS := lib mm
