# SPDX-License-Identifier: BSD-2-Clause
UNIT_TESTS += net_data
net_data_SRCS := kernel/net/vsock_conn.c kernel/net/vsock_proto.c kernel/net/socket.c \
	tests/unit/net_fake.c tests/unit/test_net_data.c
