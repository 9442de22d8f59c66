# SPDX-License-Identifier: BSD-2-Clause
# net: the Networking unit: vsock protocol (connections, credit, timers) and
# the socket API. The virtio-vsock driver implements vsock_transport.h.
COMPONENTS += net
net_SRCS := kernel/net/vsock_conn.c kernel/net/vsock_proto.c kernel/net/socket.c \
	kernel/net/net_kernel.c kernel/drivers/vsock/virtio_vsock.c
net_DEPS := fd lib mm sched virtio
