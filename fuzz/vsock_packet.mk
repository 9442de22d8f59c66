# SPDX-License-Identifier: BSD-2-Clause
FUZZERS += vsock_packet
vsock_packet_SRCS := fuzz/vsock_packet.c kernel/net/vsock_conn.c kernel/net/vsock_proto.c \
	kernel/net/socket.c tests/unit/net_fake.c
