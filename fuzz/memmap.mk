# SPDX-License-Identifier: BSD-2-Clause
FUZZERS += memmap
memmap_SRCS := fuzz/memmap.c $(filter %/memmap.c,$(arch_SRCS))
