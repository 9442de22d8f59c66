# SPDX-License-Identifier: BSD-2-Clause
UNIT_TESTS += arch_memmap
arch_memmap_SRCS := $(filter %/memmap.c,$(arch_SRCS)) tests/unit/test_arch_memmap.c
