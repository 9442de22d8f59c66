# SPDX-License-Identifier: BSD-2-Clause
UNIT_TESTS += net_proto
net_proto_SRCS := kernel/net/vsock_conn.c kernel/net/vsock_proto.c kernel/net/socket.c \
	tests/unit/net_fake.c tests/unit/test_net_proto.c
