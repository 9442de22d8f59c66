# SPDX-License-Identifier: BSD-2-Clause
# net's sources are #included by the test (bound to the Miura heap).
UNIT_TESTS += net_mem
net_mem_SRCS := $(mm_SRCS) $(fd_SRCS) $(filter %/posix_result.c,$(lib_SRCS)) tests/unit/mm_shim.c \
	tests/unit/net_fake.c tests/unit/test_net_mem.c
