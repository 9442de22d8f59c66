# SPDX-License-Identifier: BSD-2-Clause
FUZZERS += mptable
mptable_SRCS := fuzz/mptable.c $(filter %/mptable.c,$(arch_SRCS))
