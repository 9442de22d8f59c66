# SPDX-License-Identifier: BSD-2-Clause
# virtio_vsock: the virtio-vsock device driver, the transport under the
# Networking unit (it implements net/vsock_transport.h).
COMPONENTS += virtio_vsock
virtio_vsock_SRCS := kernel/drivers/vsock/virtio_vsock.c
virtio_vsock_DEPS := virtio net sched mm lib
