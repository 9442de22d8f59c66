# SPDX-License-Identifier: BSD-2-Clause
UNIT_TESTS += lib_printf
lib_printf_SRCS := $(filter %/printf.c,$(lib_SRCS)) tests/unit/test_lib_printf.c
