# SPDX-License-Identifier: BSD-2-Clause
# net: the Networking unit: vsock protocol (connections, credit, timers) and
# the socket API. A transport implements vsock_transport.h: the app lists it
# (virtio_vsock).
COMPONENTS += net
net_SRCS := kernel/net/vsock_conn.c kernel/net/vsock_proto.c kernel/net/socket.c \
	kernel/net/net_kernel.c kernel/net/listen.c
net_DEPS := fd lib mm sched
