# SPDX-License-Identifier: BSD-2-Clause
# The host library (host/common/lib.mk): port lines, --publish, numbers, options,
# the accept gate, the control socket.
UNIT_TESTS += host_common
host_common_SRCS := $(hostcommon_SRCS) tests/unit/test_host_common.c
host_common_LIBS := -lpthread
