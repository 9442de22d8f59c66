# SPDX-License-Identifier: BSD-2-Clause
# net's sources are #included by the test (bound to the Miura heap).
UNIT_TESTS += net_mem
net_mem_SRCS := kernel/mm/heap.c kernel/mm/page.c tests/unit/mm_shim.c tests/unit/net_fake.c \
	tests/unit/test_net_mem.c
