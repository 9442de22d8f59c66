# SPDX-License-Identifier: BSD-2-Clause
UNIT_TESTS += arch_mptable
arch_mptable_SRCS := $(filter %/mptable.c,$(arch_SRCS)) tests/unit/test_arch_mptable.c
