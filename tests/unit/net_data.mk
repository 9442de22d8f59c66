# SPDX-License-Identifier: BSD-2-Clause
# The net unit's protocol and socket layer over a fake transport and port
# (net_fake.c), with the descriptor layer. NET_UNIT_SRCS also serves the
# other net tests (this file is read first) and the vsock_packet fuzzer.
NET_UNIT_SRCS := $(filter-out %/net_kernel.c,$(net_SRCS)) $(fd_SRCS) \
	$(filter %/posix_result.c,$(lib_SRCS)) tests/unit/net_fake.c
UNIT_TESTS += net_data
net_data_SRCS := $(NET_UNIT_SRCS) tests/unit/test_net_data.c
