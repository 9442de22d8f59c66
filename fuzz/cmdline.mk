# SPDX-License-Identifier: BSD-2-Clause
FUZZERS += cmdline
cmdline_SRCS := fuzz/cmdline.c $(filter %/cmdline.c,$(lib_SRCS))
