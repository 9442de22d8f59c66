# SPDX-License-Identifier: BSD-2-Clause
# The descriptor layer with two fake kinds (not "fd": that is the component's name).
UNIT_TESTS += lib_fd
lib_fd_SRCS := $(fd_SRCS) $(filter %/posix_result.c,$(lib_SRCS)) tests/unit/test_lib_fd.c
