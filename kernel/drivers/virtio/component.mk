# virtio: the transport interface, virtio-mmio, split virtqueues.
COMPONENTS += virtio
virtio_SRCS := kernel/drivers/virtio/virtio.c kernel/drivers/virtio/mmio.c \
	kernel/drivers/virtio/virtqueue.c
virtio_DEPS := arch lib mm sched
