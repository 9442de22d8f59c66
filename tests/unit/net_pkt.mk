# SPDX-License-Identifier: BSD-2-Clause
# Net's packets over the fake device: the control packet pool, owed control
# packets, per-socket wait queues.
UNIT_TESTS += net_pkt
net_pkt_SRCS := $(NET_UNIT_SRCS) tests/unit/test_net_pkt.c
