# SPDX-License-Identifier: BSD-2-Clause
UNIT_TESTS += lib_cmdline
lib_cmdline_SRCS := $(filter %/cmdline.c,$(lib_SRCS)) tests/unit/test_lib_cmdline.c
