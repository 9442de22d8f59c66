# SPDX-License-Identifier: BSD-2-Clause
UNIT_TESTS += net_proto
net_proto_SRCS := $(NET_UNIT_SRCS) tests/unit/test_net_proto.c
