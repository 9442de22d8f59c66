# SPDX-License-Identifier: BSD-2-Clause
UNIT_TESTS += lib_string
lib_string_SRCS := $(filter %/string.c %/strtol.c,$(lib_SRCS)) tests/unit/test_lib_string.c
